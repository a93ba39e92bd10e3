"""N simultaneous calls, arranged as the worker runs them: one process per call.

Each call is a process forked by a forkserver that preloaded what LiveKit's worker preloads
on Linux (`job_process_context`), with the worker's prewarm (plugins, its own Silero VAD,
`gc.freeze`), our session (`callcenter.turn_taking`, `callcenter.providers` pointed at emulators),
and its own in-process provider emulators (so emulator CPU is counted in the call's CPU:
an upper bound). All N processes load first, then start talking together (a barrier), and
feed the same caller phrases in real time as `benchmarks.latency` does.

Per call: CPU seconds (`resource.getrusage`, user+sys) during the conversation divided by
its wall time (= share of one core), memory at the end (RSS, PSS = shared pages split among
the processes sharing them, USS = private pages; /proc/self/smaps_rollup), and the latency
split of every turn. N grows 1, 5, 10, 15, 20, 30, 40 and stops after the first N that misses a
turn, loses a call or whose p95 overhead exceeds BREAK_OVERHEAD_MS (it "breaks"); the
largest N with p95 overhead <= 50 ms and no missed turn is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing as mp
import os
import resource
import time
from pathlib import Path
from typing import Any

from benchmarks._common import memory_mib, pct, table, write_json

OVERHEAD_LIMIT_MS = 50.0
BREAK_OVERHEAD_MS = 500.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _call_process(index: int, n_turns: int, barrier: Any, out: Any) -> None:
    try:
        from benchmarks.latency import Latencies, _ours, analyse, drive_session
        from callcenter.telephony.audio import CALLER_SAMPLE_RATE
        from callcenter.turn_taking import load_vad, telephony_turn_handling

        lat = Latencies()
        # what the worker's prewarm does in a job process before it takes a call (the
        # plugins came with the forkserver's preload, as in the worker)
        vad = load_vad()  # this process's own VAD
        gc.freeze()
        idle = memory_mib()
        barrier.wait(timeout=600)
        cpu0, t0 = _cpu_s(), time.perf_counter()
        run = asyncio.run(
            drive_session(
                f"call-{index}",
                _ours(vad),
                n_turns=n_turns,
                lat=lat,
                sample_rate=CALLER_SAMPLE_RATE,
            )
        )
        cpu, wall = _cpu_s() - cpu0, time.perf_counter() - t0
        options = telephony_turn_handling(has_stt=True)["preemptive_generation"]
        res = analyse(run, lat, preemptive_tts=bool(options.get("preemptive_tts")))
        out.put(
            {
                "index": index,
                "ok": True,
                "cpu_s": cpu,
                "wall_s": wall,
                **{f"{k}_mib": v for k, v in memory_mib().items()},
                **{f"{k}_idle_mib": v for k, v in idle.items()},
                "missed": res["missed"],
                "overhead_ms": [r["overhead_ms"] for r in res["per_turn"] if not r["missed"]],
                "total_ms": [r["total_ms"] for r in res["per_turn"] if not r["missed"]],
            }
        )
    except Exception as exc:  # report, never hang the parent
        out.put({"index": index, "ok": False, "error": repr(exc)})
        with contextlib.suppress(Exception):
            barrier.abort()


def job_process_context() -> Any:
    """Processes started as LiveKit's worker starts job processes on Linux: forked by a
    forkserver that imported the registered plugins, `callcenter.worker.JOB_PROCESS_PRELOAD`
    and the framework's own warm-up (then froze them out of the GC), so they share that
    memory copy-on-write. The benchmark harness and emulators are preloaded too: they are
    not the product's memory."""
    from livekit.agents.plugin import Plugin

    import callcenter.worker  # registers the provider plugins, as the worker's main process

    callcenter.worker.skip_unused_local_inference()
    ctx = mp.get_context("forkserver")
    preload = list(
        dict.fromkeys(
            [p.package for p in Plugin.registered_plugins]
            + callcenter.worker.JOB_PROCESS_PRELOAD
            + ["benchmarks.latency"]
        )
    )
    ctx.set_forkserver_preload(
        [*preload, "livekit.agents.ipc._preload", "livekit.agents.ipc._preload_freeze"]
    )
    return ctx


def run_level(n: int, n_turns: int) -> dict[str, Any]:
    ctx = job_process_context()
    barrier = ctx.Barrier(n)
    out = ctx.Queue()
    procs = [ctx.Process(target=_call_process, args=(i, n_turns, barrier, out)) for i in range(n)]
    for p in procs:
        p.start()
    results = []
    deadline = time.monotonic() + 900
    while len(results) < n and time.monotonic() < deadline:
        try:
            results.append(out.get(timeout=5))
        except Exception:
            if not any(p.is_alive() for p in procs) and out.empty():
                break
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
    ok = [r for r in results if r.get("ok")]
    overheads = [x for r in ok for x in r["overhead_ms"]]
    totals = [x for r in ok for x in r["total_ms"]]
    missed = sum(r["missed"] for r in ok) + (n - len(ok)) * n_turns
    return {
        "n": n,
        "calls_ok": len(ok),
        "errors": [r.get("error") for r in results if not r.get("ok")],
        "turns": n * n_turns,
        "missed_turns": missed,
        "overhead_p50_ms": pct(overheads, 50),
        "overhead_p95_ms": pct(overheads, 95),
        "total_p95_ms": pct(totals, 95),
        "cpu_per_call_pct_core": (sum(r["cpu_s"] / r["wall_s"] for r in ok) / len(ok) * 100)
        if ok
        else float("nan"),
        **{
            f"{kind}_per_call_mib": (sum(r[f"{kind}_mib"] for r in ok) / len(ok))
            if ok
            else float("nan")
            for kind in ("rss", "pss", "uss", "rss_idle", "pss_idle", "uss_idle")
        },
        "calls": results,
    }


def n_prev_best(best: int, data: list[dict[str, Any]]) -> int:
    """`best` stays monotonic: only extended while every smaller level was within limits."""
    ok = 0
    for lvl in data[:-1]:
        if lvl["missed_turns"] == 0 and lvl["overhead_p95_ms"] <= OVERHEAD_LIMIT_MS:
            ok = lvl["n"]
        else:
            break
    return ok if ok == best else -1


async def run(
    out_dir: Path,
    *,
    quick: bool = False,
    levels: list[int] | None = None,
    n_turns: int | None = None,
) -> dict[str, Any]:
    import callcenter.worker  # noqa: F401  (plugins register on the main thread, as in the worker)

    levels = levels or ([1, 2] if quick else [1, 5, 10, 15, 20, 30, 40])
    n_turns = n_turns or (3 if quick else 6)
    cores = os.cpu_count() or 1
    rows, data = [], []
    best = 0
    for n in levels:
        print(f"[concurrency] N={n}: {n} processes x {n_turns} turns ...", flush=True)
        lvl = await asyncio.to_thread(run_level, n, n_turns)
        data.append(lvl)
        rows.append(
            [
                n,
                lvl["calls_ok"],
                lvl["turns"],
                lvl["missed_turns"],
                lvl["overhead_p50_ms"],
                lvl["overhead_p95_ms"],
                lvl["total_p95_ms"],
                lvl["cpu_per_call_pct_core"],
                lvl["rss_per_call_mib"],
                lvl["pss_per_call_mib"],
                lvl["uss_per_call_mib"],
            ]
        )
        good = lvl["missed_turns"] == 0 and lvl["overhead_p95_ms"] <= OVERHEAD_LIMIT_MS
        if good and best == n_prev_best(best, data):
            best = n
        if lvl["missed_turns"] or lvl["calls_ok"] < n or lvl["overhead_p95_ms"] > BREAK_OVERHEAD_MS:
            print(
                f"[concurrency] N={n} breaks (p95 overhead {lvl['overhead_p95_ms']:.1f} ms, "
                f"missed {lvl['missed_turns']}, calls ok {lvl['calls_ok']}/{n}); stopping"
            )
            break
    print(f"\nConcurrent calls, one process per call, {cores} cores")
    print(
        table(
            [
                "N",
                "calls ok",
                "turns",
                "missed",
                "ovh p50",
                "ovh p95",
                "total p95",
                "CPU %core/call",
                "RSS MiB/call",
                "PSS MiB/call",
                "USS MiB/call",
            ],
            rows,
        )
    )
    print(
        f"largest N tested with p95 overhead <= {OVERHEAD_LIMIT_MS:.0f} ms and no missed turn: "
        f"{best} ({best / cores:.1f} per core; target >= 12 per core)"
    )
    payload = {
        "cores": cores,
        "n_turns": n_turns,
        "levels": data,
        "best_n": best,
        "best_per_core": best / cores,
    }
    write_json(out_dir, "concurrency", payload)
    return payload
