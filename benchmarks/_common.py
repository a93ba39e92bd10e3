"""Shared helpers for the benchmark sections: percentiles, tables, JSON output."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for an empty list."""
    if not values:
        return math.nan
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
        "max": max(values) if values else math.nan,
    }


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for r, raw in zip(cells, rows, strict=True):
        out.append(
            "  ".join(
                c.rjust(w) if isinstance(v, (int, float)) else c.ljust(w)
                for c, w, v in zip(r, widths, raw, strict=True)
            )
        )
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.1f}"
    return str(v)


def machine() -> dict[str, Any]:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "mem_total": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(out_dir: Path, section: str, payload: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{section}.json"
    payload = {"section": section, "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def rss_mib() -> float:
    """VmRSS of this process in MiB (from /proc/self/status)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def memory_mib() -> dict[str, float]:
    """This process's memory in MiB: `rss` (every resident page), `pss` (shared pages divided
    among the processes sharing them: what N processes really add up to) and `uss` (pages
    only this process has), from /proc/self/smaps_rollup (Linux)."""
    out = {"rss": rss_mib(), "pss": math.nan, "uss": math.nan}
    try:
        fields = {}
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
            name, _, rest = line.partition(":")
            fields[name.strip()] = int(rest.split()[0]) / 1024
        out["pss"] = fields.get("Pss", math.nan)
        out["uss"] = fields.get("Private_Clean", 0.0) + fields.get("Private_Dirty", 0.0)
    except (OSError, ValueError, IndexError):
        pass
    return out
