"""N calls at once through the real SIP bridge into one production worker, counting failed calls.

    python -m benchmarks.sip_capacity --calls 10 --turns 3 [--stagger 0.5]
    python -m benchmarks --only sip_capacity [--quick]

The in-process capacity figure (`benchmarks.concurrency`) leaves out the network path; this
one puts N pjsua2 phones (`tests.e2e.sip_phone`, G.711 over RTP) through livekit-sip →
livekit-server → one `callcenter start` worker (`tests.e2e.fleet`: its capacity set above N
and the host's CPU left out of its load, so the worker itself takes every call), with the
product's own trunk and dispatch rule (`callcenter setup-sip apply`, as the e2e suite) on a
private stack (`scripts.livekit_local.start_private_stack`) and the provider emulators of
`benchmarks.caller_ear` in this process (fixed latencies of `benchmarks.latency.Latencies`,
every turn answered with its reply, the 440 Hz voice).

Each phone dials at once (or `--stagger` seconds after the previous), waits for the greeting,
says `--turns` of the committed caller phrases with 2.6 s between them, and records what it
hears. A call is failed when it was **not answered** (no 200 OK within 60 s), **no greeting
heard** (no 440 Hz in the recording before the caller's first phrase), or **dropped** (the
bridge hung up before the caller did). A turn is missed when no agent audio is heard after the
end of the caller's phrase and before the next one. Caller-ear first audio is
`benchmarks.caller_ear`'s measure: the end of the caller's speech as sent → the first 440 Hz
window in the caller's recording, on the phone's clock.

Worker cost, over the conversation (every call up, from the first phrase to the hang-ups):
CPU seconds of the worker's whole process group (the worker and its job processes: psutil)
divided by the wall time and N (share of one core per call), and RSS / PSS of the job
processes hosting calls at the moment every call was up, per call (PSS splits shared pages
among the processes sharing them; the idle warm processes and the main process excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import summary, table, write_json

FAILURES = ("not answered", "no greeting heard", "dropped")
HEARD_AS = "I want to check on my order"
"""What the emulated models hear in every turn: the first phrase's words (check_order.wav), a
finished request the product answers as soon as the caller stops. (Until 2026-11-30 this
benchmark used `benchmarks.caller_ear`'s "I have a question about my order": a topic
announced, which the product holds for its 1.2 s beat on purpose,
`callcenter.turn_taking.ENDPOINTING_BRIEF_HOLD_S`, so every turn measured that beat: the
~0.7 s a call alone took over the caller-ear benchmark's agent.)"""

GREETING_WAIT_S = 8.0
"""After the answer, the caller waits this long for the greeting before speaking."""


@dataclass
class CallResult:
    index: int
    failure: str | None = None
    detail: str = ""
    turns: list[dict[str, float] | None] = field(default_factory=list)
    greeting_ms: float | None = None
    """Answer → first agent audio heard (the greeting)."""
    talk_start: float = math.nan
    talk_end: float = math.nan
    """The caller's conversation (first phrase → last gap), wall clock."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sip_capacity", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--calls", type=_at_least_one, default=10, help="N calls (default 10)")
    parser.add_argument("--turns", type=_at_least_one, default=3, help="turns per call (3)")
    parser.add_argument(
        "--stagger",
        type=_not_negative,
        default=0.0,
        help="seconds between one call's dial and the next (default 0: all at once)",
    )
    parser.add_argument("--out", default="bench-results", type=Path)
    return parser.parse_args(argv)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give a whole number of at least 1")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds, 0 or more")
    return value


class GroupSampler:
    """CPU and memory of a worker's process group (psutil): the worker and its job processes."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self._gone: dict[int, float] = {}

    def processes(self) -> list[Any]:
        return [self.root, *self.root.children(recursive=True)]

    def cpu_s(self) -> float:
        total = 0.0
        for p in self.processes():
            with contextlib.suppress(Exception):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def call_memory(self) -> tuple[list[float], list[float]]:
        """RSS and PSS (MiB) of the worker's child processes that have done work (> 1 s of
        CPU): the job processes hosting calls, not the warm idle ones."""
        rss, pss = [], []
        for p in self.root.children(recursive=True):
            with contextlib.suppress(Exception):
                t = p.cpu_times()
                if t.user + t.system < 1.0:
                    continue  # a warm idle process, or a helper (inference, relay)
                info = p.memory_full_info()
                rss.append(info.rss / 2**20)
                pss.append(info.pss / 2**20)
        return rss, pss


async def _one_call(index: int, info: Any, n_turns: int, delay_s: float, tmp: Path) -> CallResult:
    """One caller: dial, wait for the greeting, say `n_turns` phrases, hang up, analyse."""
    from benchmarks.caller_ear import GAP_S, TONE_HZ, _turns, _wav_seconds
    from benchmarks.latency import PHRASES, speech_end_offset
    from scripts.livekit_local import free_udp_range, free_udp_tcp_port
    from tests.e2e.conftest import CARRIER_AUTH, INBOUND_NUMBER
    from tests.e2e.harness import ToneTrack
    from tests.e2e.sip_phone import SipPhone
    from tests.support.audio import FIXTURES_DIR

    await asyncio.sleep(delay_s)
    result = CallResult(index)
    record = tmp / f"call-{index:02d}.wav"
    eos: list[float] = []
    starts: list[float] = []
    async with SipPhone.start(
        f"call-{index:02d}",
        port=free_udp_tcp_port(),
        rtp_port=free_udp_range(20)[0],
        log_dir=tmp,
        user=f"+1415555{index:04d}",  # a distinct (unknown) caller per call
        auth=CARRIER_AUTH,
    ) as phone:
        await phone.call(f"sip:{INBOUND_NUMBER}@{info.sip_address}", record=record)
        try:
            answered = await phone.wait_for("confirmed", timeout=60)
            started = await phone.wait_for("recording_started", timeout=10)
        except AssertionError as exc:
            result.failure, result.detail = "not answered", str(exc).splitlines()[-1][:160]
            result.turns = [None] * n_turns
            return result
        await asyncio.sleep(GREETING_WAIT_S)
        result.talk_start = time.time()
        for i in range(n_turns):
            if phone.seen("disconnected"):
                break
            phrase = PHRASES[i % len(PHRASES)]
            played = await phone.play(FIXTURES_DIR / phrase)
            starts.append(played.t - started.t)
            eos.append(played.t - started.t + speech_end_offset(phrase))
            await asyncio.sleep(_wav_seconds(FIXTURES_DIR / phrase) + GAP_S)
        result.talk_end = time.time()
        dropped = phone.seen("disconnected")
        if not dropped:
            await phone.hangup()
        with contextlib.suppress(AssertionError):
            await phone.wait_for("recording_closed", timeout=20)
    if dropped:
        ev = dropped[0]
        result.failure = "dropped"
        result.detail = (
            f"after {ev.t - answered.t:.1f} s: {ev.data.get('code')} {ev.data.get('reason')}"
        )
    if not record.exists():
        result.failure = result.failure or "no greeting heard"
        result.detail = result.detail or "no recording"
        result.turns = [None] * n_turns
        return result
    first_phrase = starts[0] if starts else math.inf
    onset = ToneTrack.of(record, [TONE_HZ], window_s=0.02, hop_s=0.005).onset(TONE_HZ)
    if onset is None or onset > first_phrase:
        result.failure = result.failure or "no greeting heard"
    else:
        result.greeting_ms = (onset - (answered.t - started.t)) * 1000
    if eos:
        result.turns = _turns(record, started.t, eos, [*starts[1:], starts[-1] + 30], [])
    result.turns += [None] * (n_turns - len(result.turns))  # phrases never said: missed
    return result


async def _sample(sampler: GroupSampler, samples: list[tuple[float, float, float, int]]) -> None:
    """Every 0.5 s: (time, group CPU s, PSS MiB of the busy job processes, their count)."""
    while True:
        cpu = await asyncio.to_thread(sampler.cpu_s)
        _rss, pss = await asyncio.to_thread(sampler.call_memory)
        samples.append((time.time(), cpu, sum(pss), len(pss)))
        await asyncio.sleep(0.5)


def cost(
    samples: list[tuple[float, float, float, int]], results: list[CallResult], rss: list[float]
) -> dict[str, float]:
    """The worker's cost per call while every answered call talked (see the module docstring)."""
    talked = [r for r in results if not math.isnan(r.talk_start)]
    nan = {"cpu_pct_core_per_call": math.nan, "pss_mib_per_call": math.nan, "window_s": 0.0}
    if not talked:
        return {**nan, "rss_mib_per_call": math.nan}
    lo, hi = max(r.talk_start for r in talked), min(r.talk_end for r in talked)
    inside = [s for s in samples if lo <= s[0] <= hi]
    out = dict(nan)
    if len(inside) >= 2 and inside[-1][0] - inside[0][0] > 1.0:
        (t0, c0, _, _), (t1, c1, _, _) = inside[0], inside[-1]
        out["cpu_pct_core_per_call"] = (c1 - c0) / (t1 - t0) / len(talked) * 100
        out["window_s"] = t1 - t0
        per = [p / n for _, _, p, n in inside if n]
        out["pss_mib_per_call"] = max(per) if per else math.nan
    out["rss_mib_per_call"] = max(rss) if rss else math.nan
    return out


async def run(
    out_dir: Path,
    *,
    quick: bool = False,
    n_calls: int | None = None,
    n_turns: int | None = None,
    stagger_s: float = 0.0,
) -> dict[str, Any]:
    from benchmarks.caller_ear import BenchModel
    from benchmarks.latency import Latencies
    from callcenter.provisioning.cli import run as setup_sip
    from scripts.livekit_local import SERVER, SIP, find_binary, start_private_stack
    from tests.e2e.conftest import _seed, provisioning_env
    from tests.e2e.fleet import fleet_env, start_fleet, stop_fleet
    from tests.e2e.harness import Latencies as E2ELatencies
    from tests.e2e.harness import ProviderEmulators

    n = n_calls or (2 if quick else 10)
    turns = n_turns or (2 if quick else 3)
    for binary in (SERVER, SIP):
        path, why = find_binary(binary)
        if path is None:
            print(
                f"[sip_capacity] skipped: needs {binary.name} {binary.version}: {why} "
                "(`python scripts/livekit_local.py build`, or set "
                f"{binary.env_var})"
            )
            return {}
    lat = Latencies()
    tmp = Path(tempfile.mkdtemp(prefix="sip-capacity-"))
    load_before = os.getloadavg()
    stack, info = start_private_stack(tmp / "stack", sip=True, log=lambda *_: None)
    emus = ProviderEmulators(
        BenchModel(transcript=HEARD_AS),  # type: ignore[arg-type]
        E2ELatencies(lat.stt_final, lat.llm_first_token, lat.tts_first_audio),
    ).start()
    workers: list[Any] = []
    samples: list[tuple[float, float, float, int]] = []
    rss_seen: list[float] = []
    try:
        # the product's trunk and dispatch rule, as the e2e suite applies them (its plan to a
        # file: the table is what this prints); port 9 (discard) for the unused outbound trunk
        with open(tmp / "setup-sip.json", "w") as plan, contextlib.redirect_stdout(plan):
            code = await setup_sip(["apply", "--json"], provisioning_env(info.env(), 9))
        if code != 0:
            raise RuntimeError("callcenter setup-sip apply failed against the private stack")
        database_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        await _seed(database_url)
        env = fleet_env(info, emus, database_url, capacity=n + 2)
        print(f"[sip_capacity] starting one `callcenter start` worker (capacity {n + 2}) ...")
        workers = await asyncio.to_thread(start_fleet, env, tmp, ["worker"])
        sampler = GroupSampler(workers[0].pid)
        sampling = asyncio.create_task(_sample(sampler, samples))
        print(
            f"[sip_capacity] {n} SIP calls x {turns} turns"
            + (f", one every {stagger_s:g} s" if stagger_s else ", all dialled at once"),
            flush=True,
        )

        async def watched(i: int) -> CallResult:
            task = asyncio.create_task(_one_call(i, info, turns, i * stagger_s, tmp))
            while not task.done():
                await asyncio.sleep(1.0)
                rss, _ = await asyncio.to_thread(sampler.call_memory)
                rss_seen.extend(rss)
            return task.result()

        results = list(await asyncio.gather(*(watched(i) for i in range(n))))
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    finally:
        stop_fleet(workers)
        emus.stop()
        stack.down()
    load_after = os.getloadavg()
    return report(out_dir, results, n, turns, stagger_s, cost(samples, results, rss_seen), tmp, {
        "load_before": load_before, "load_after": load_after, "latencies_s": lat.__dict__,
    })  # fmt: skip


def report(
    out_dir: Path,
    results: list[CallResult],
    n: int,
    turns: int,
    stagger_s: float,
    costs: dict[str, float],
    tmp: Path,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Print the table (the shape of `benchmarks.concurrency`'s) and write the JSON."""
    failed = [r for r in results if r.failure]
    by_reason = {reason: sum(r.failure == reason for r in failed) for reason in FAILURES}
    all_turns = [t for r in results for t in r.turns]
    heard = [t["total"] for t in all_turns if t is not None]
    ear = summary(heard)
    greet = summary([r.greeting_ms for r in results if r.greeting_ms is not None])
    row = [
        n,
        f"{stagger_s:g} s",
        n - len(failed),
        len(failed),
        by_reason["not answered"],
        by_reason["no greeting heard"],
        by_reason["dropped"],
        len(all_turns),
        len(all_turns) - len(heard),
        ear["p50"],
        ear["p95"],
        greet["p50"],
        costs["cpu_pct_core_per_call"],
        costs["rss_mib_per_call"],
        costs["pss_mib_per_call"],
    ]
    print(
        f"\nConcurrent SIP calls: pjsua2 phones -> livekit-sip -> livekit-server -> one "
        f"`callcenter start` worker; {turns} turns per call; load average before "
        f"{extra['load_before'][0]:.2f}, after {extra['load_after'][0]:.2f}"
    )
    print(
        table(
            [
                "N",
                "stagger",
                "calls ok",
                "failed",
                "not answered",
                "no greeting",
                "dropped",
                "turns",
                "missed",
                "ear p50",
                "ear p95",
                "greet p50",
                "CPU %core/call",
                "RSS MiB/call",
                "PSS MiB/call",
            ],
            [row],
        )
    )
    print(
        "ear = end of the caller's speech -> first agent audio heard (ms); greet = answer -> "
        "the greeting heard (ms); CPU over the "
        f"{costs['window_s']:.1f} s when every answered call talked (worker process group); "
        "RSS/PSS: busy job processes"
    )
    for r in failed:
        print(f"  call {r.index:02d}: {r.failure}{': ' + r.detail if r.detail else ''}")
    print(f"recordings and logs: {tmp}")
    payload = {
        "n_calls": n,
        "n_turns": turns,
        "stagger_s": stagger_s,
        "calls_ok": n - len(failed),
        "failed": by_reason,
        "turns": len(all_turns),
        "missed_turns": len(all_turns) - len(heard),
        "caller_ear_ms": ear,
        "greeting_ms": greet,
        **costs,
        **extra,
        "calls": [r.__dict__ for r in results],
    }
    write_json(out_dir, "sip_capacity", payload)
    return payload


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    asyncio.run(run(args.out, n_calls=args.calls, n_turns=args.turns, stagger_s=args.stagger))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
