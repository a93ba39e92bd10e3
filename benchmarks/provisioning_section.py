"""`--only provisioning`: plan + apply of 100 numbers against the LiveKit emulator.

Reuses `benchmarks/provisioning.py` (rules writer and its timed CLI runs) and records the
wall-clock time of each step as JSON.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import provisioning as prov
from benchmarks._common import table, write_json
from tests.support.emulators.livekit import LiveKitEmulator


async def run(
    out_dir: Path, *, quick: bool = False, numbers: int = 100, trunks: int = 10
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp)
        prov.write_rules(rules, numbers, trunks)
        async with LiveKitEmulator() as server:
            env = {**server.env(), "BENCH_PASSWORD": "bench-secret"}
            common = ["--rules-dir", str(rules)]
            print(
                f"[provisioning] {numbers} numbers across {trunks} inbound trunks (local emulator)"
            )
            for label, argv in (
                ("plan (empty project)", ["plan", *common]),
                ("apply (empty project)", ["apply", *common]),
                ("plan (converged)", ["plan", *common]),
                ("apply (converged, no-op)", ["apply", *common]),
            ):
                t0 = time.perf_counter()
                await prov.timed(label, server, argv, env)
                ms = (time.perf_counter() - t0) * 1000
                calls = [c.method.split("/")[1] for c in server.calls]
                steps.append(
                    {
                        "step": label,
                        "ms": ms,
                        "mutating_calls": sum(1 for c in calls if not c.startswith("List")),
                        "list_calls": sum(1 for c in calls if c.startswith("List")),
                    }
                )
            live_numbers = sum(len(t.numbers) for t in server.inbound.values())
            live = {
                "inbound_trunks": len(server.inbound),
                "numbers": live_numbers,
                "outbound_trunks": len(server.outbound),
                "dispatch_rules": len(server.rules),
            }
    print()
    print(
        table(
            ["step", "ms", "mutating calls", "list calls"],
            [[s["step"], s["ms"], s["mutating_calls"], s["list_calls"]] for s in steps],
        )
    )
    payload = {"numbers": numbers, "trunks": trunks, "steps": steps, "live_state": live}
    write_json(out_dir, "provisioning", payload)
    return payload
