"""Run the benchmark sections, print tables, write raw numbers to ``<out>/<section>.json``.

    uv run python -m benchmarks [--quick] [--out bench-results/]
        [--only latency,turns,handoff,concurrency,data,provisioning,console,caller_ear,sip_capacity]

Benchmarks are measurements, not tests: nothing here asserts a time. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
from pathlib import Path

SECTIONS = {
    "latency": "benchmarks.latency",
    "turns": "benchmarks.turns",
    "handoff": "benchmarks.handoff",
    "concurrency": "benchmarks.concurrency",
    "data": "benchmarks.data_queries",
    "provisioning": "benchmarks.provisioning_section",
    "console": "benchmarks.console_pages",
    "caller_ear": "benchmarks.caller_ear",
    "sip_capacity": "benchmarks.sip_capacity",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--out", default="bench-results", type=Path)
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    failed = []
    for name in wanted:
        print(f"\n===== {name} =====", flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(SECTIONS[name])
            asyncio.run(module.run(args.out, quick=args.quick))
        except ModuleNotFoundError as exc:
            print(f"[{name}] not available: {exc}")
            failed.append(name)
        except Exception as exc:  # keep going: one broken section must not hide the others
            import traceback

            traceback.print_exc()
            print(f"[{name}] FAILED: {exc!r}")
            failed.append(name)
        print(
            f"[{name}] {time.perf_counter() - t0:.1f} s; "
            f"raw numbers in {args.out / (name + '.json')}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
