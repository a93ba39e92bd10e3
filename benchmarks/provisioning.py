"""Benchmark setup_sip: plan and apply 100 numbers across 10 inbound trunks.

    uv run python -m benchmarks.provisioning [--numbers 100] [--trunks 10]

Runs the real CLI (`callcenter.provisioning.cli.run`) against the local LiveKit emulator
from `tests/support/emulators/livekit.py`, through the real `livekit-api` client, and prints
wall-clock times plus the number of list calls per resource type (expected: one each per
run, however many resources there are).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from callcenter.constants import AGENT_NAME
from callcenter.provisioning.cli import run
from tests.support.emulators.livekit import LiveKitEmulator


def write_rules(directory: Path, numbers: int, trunks: int) -> None:
    """inbound-NN.json x trunks (numbers spread evenly), one outbound, one dispatch rule."""
    per_trunk = -(-numbers // trunks)
    all_numbers = [f"+1202555{1000 + i:04d}" for i in range(numbers)]
    names = []
    for t in range(trunks):
        chunk = all_numbers[t * per_trunk : (t + 1) * per_trunk]
        if not chunk:
            break
        name = f"bench-inbound-{t:02d}"
        names.append(name)
        trunk = {
            "name": name,
            "numbers": chunk,
            "auth_username": "bench",
            "auth_password": "${BENCH_PASSWORD}",
        }
        (directory / f"inbound-{t:02d}.json").write_text(json.dumps({"trunk": trunk}))
    outbound = {
        "name": "bench-outbound",
        "address": "sip.carrier.example",
        "numbers": ["+12025550100"],
    }
    (directory / "outbound-bench.json").write_text(json.dumps({"trunk": outbound}))
    rule = {
        "name": "bench-callers",
        "trunk_ids": names,
        "rule": {"dispatch_rule_individual": {"room_prefix": "call-"}},
        "room_config": {"agents": [{"agent_name": AGENT_NAME}]},
    }
    (directory / "dispatch-bench.json").write_text(json.dumps({"dispatch_rule": rule}))


async def timed(label: str, server: LiveKitEmulator, argv: list[str], env: dict[str, str]) -> None:
    server.reset_calls()
    sink = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = await run(argv, env)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{label} failed with exit code {code}:\n{sink.getvalue()}")
    methods = Counter(c.method.split("/")[1] for c in server.calls)
    lists = {m: n for m, n in sorted(methods.items()) if m.startswith("List")}
    mutations = sum(n for m, n in methods.items() if not m.startswith("List"))
    print(
        f"{label:<28} {elapsed * 1000:8.1f} ms   mutating calls: {mutations:3d}   "
        f"list calls: {lists}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100)
    parser.add_argument("--trunks", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp)
        write_rules(rules, args.numbers, args.trunks)
        async with LiveKitEmulator() as server:
            env = {**server.env(), "BENCH_PASSWORD": "bench-secret"}
            common = ["--rules-dir", str(rules)]
            print(
                f"setup_sip benchmark: {args.numbers} numbers across {args.trunks} inbound "
                "trunks + 1 outbound trunk + 1 dispatch rule (local emulator)"
            )
            await timed("plan (empty project)", server, ["plan", *common], env)
            await timed("apply (empty project)", server, ["apply", *common], env)
            await timed("plan (converged)", server, ["plan", *common], env)
            await timed("apply (converged, no-op)", server, ["apply", *common], env)
            total = sum(len(t.numbers) for t in server.inbound.values())
            print(
                f"live state: {len(server.inbound)} inbound trunks holding {total} numbers, "
                f"{len(server.outbound)} outbound, {len(server.rules)} dispatch rule(s)"
            )


if __name__ == "__main__":
    asyncio.run(main())
