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
import dataclasses
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


def _call_process(
    index: int,
    n_turns: int,
    barrier: Any,
    out: Any,
    urls: tuple[str, str, str] | None,
    starts: Any,
    cores: set[int] | None,
    delay_s: float = 0.0,
) -> None:
    try:
        from types import SimpleNamespace

        from benchmarks.latency import (
            GAP_S,
            Latencies,
            RemoteEmulators,
            _ours,
            caller_audio,
            drive_session,
        )
        from callcenter.telephony.audio import CALLER_SAMPLE_RATE
        from callcenter.turn_taking import process_vad

        if cores:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, cores)
        lat = Latencies()
        remote = None
        if urls is not None:
            dg, oa, el = (SimpleNamespace(base_url=u) for u in urls)
            remote = RemoteEmulators(
                dg=dg, oa=oa, el=el, started=lambda t0: starts.put((index, t0))
            )
        # what the worker's prewarm does in a job process before it takes a call (the
        # plugins came with the forkserver's preload, as in the worker)
        vad = process_vad()  # as the worker's prewarm: the forkserver's, inherited
        # the harness's own work (cutting the caller's audio into frames) before the calls
        # start, so a staggered call's set-up does not charge it to the calls already talking
        caller_audio(CALLER_SAMPLE_RATE)
        make_session = _ours(vad)  # the settings, read once per process as the worker does
        gc.freeze()
        idle = memory_mib()
        barrier.wait(timeout=600)
        time.sleep(delay_s)  # staggered arrivals (0: every call starts together)
        cpu0, t0 = _cpu_s(), time.perf_counter()
        run = asyncio.run(
            drive_session(
                f"call-{index}",
                make_session,
                n_turns=n_turns,
                lat=lat,
                sample_rate=CALLER_SAMPLE_RATE,
                gap_s=GAP_S,
                remote=remote,
            )
        )
        cpu, wall = _cpu_s() - cpu0, time.perf_counter() - t0
        out.put(
            {
                "index": index,
                "ok": True,
                "cpu_s": cpu,
                "wall_s": wall,
                **{f"{k}_mib": v for k, v in memory_mib().items()},
                **{f"{k}_idle_mib": v for k, v in idle.items()},
                "turns": [dataclasses.asdict(t) for t in run.turns],
            }
        )
    except Exception as exc:  # report, never hang the parent
        out.put({"index": index, "ok": False, "error": repr(exc)})
        with contextlib.suppress(Exception):
            barrier.abort()


def _analyse(result: dict[str, Any], llm_times: list[float] | None) -> dict[str, Any]:
    """The latency split of one call's turns (`benchmarks.latency.analyse`)."""
    from benchmarks.latency import Latencies, Run, Turn, analyse, assign_llm_times
    from callcenter.turn_taking import telephony_turn_handling

    run = Run(f"call-{result['index']}", [Turn(**t) for t in result["turns"]])
    if llm_times is not None:
        assign_llm_times(run, llm_times)
    options = telephony_turn_handling(has_stt=True)["preemptive_generation"]
    return analyse(run, Latencies(), preemptive_tts=bool(options.get("preemptive_tts")))


def core_split(separate: bool) -> tuple[set[int] | None, set[int] | None]:
    """(cores for the calls, cores for the emulators): the last core for the emulators when
    there are two or more and they run apart; None = leave the scheduler alone."""
    cores = sorted(os.sched_getaffinity(0))
    if not separate or len(cores) < 2:
        return None, None
    return set(cores[:-1]), {cores[-1]}


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


STAGGER_WINDOW_S = 5.0
"""With `stagger`, call i starts i/N of this later: about one turn (a phrase and the reply's
silence), so the calls' turns are spread as independent callers' would be. Without it every
call speaks and stops at the same instant: the worst case, and the earlier method."""


def run_level(
    n: int, n_turns: int, *, separate: bool = True, stagger: bool = False
) -> dict[str, Any]:
    """N calls at once. `separate`: the emulators in their own process (on their own core
    when there are two or more), so the calls' CPU is the product's alone. `stagger`: spread
    the calls' start over `STAGGER_WINDOW_S`."""
    from benchmarks.emulator_host import host_main
    from benchmarks.latency import GAP_S, Latencies

    ctx = job_process_context()
    call_cores, emu_cores = core_split(separate)
    barrier = ctx.Barrier(n)
    out = ctx.Queue()
    starts = ctx.Queue()
    host = None
    urls: list[Any] = [None] * n
    if separate:
        parent_end, host_end = ctx.Pipe()
        host = ctx.Process(
            target=host_main,
            args=(n, n_turns, GAP_S, Latencies(), emu_cores, host_end, starts),
        )
        host.start()
        if not parent_end.poll(300):
            raise RuntimeError("the emulator host did not start")
        urls = parent_end.recv()
    procs = [
        ctx.Process(
            target=_call_process,
            args=(
                i,
                n_turns,
                barrier,
                out,
                urls[i],
                starts,
                call_cores,
                STAGGER_WINDOW_S * i / n if stagger else 0.0,
            ),
        )
        for i in range(n)
    ]
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
    llm_times: list[list[float]] | None = None
    emulator_cpu_s = float("nan")
    if host is not None:
        parent_end.send("results")
        reply = parent_end.recv() if parent_end.poll(60) else {}
        llm_times = reply.get("llm_times")
        emulator_cpu_s = reply.get("cpu_s", float("nan"))
        host.join(timeout=30)
        if host.is_alive():
            host.terminate()
    ok = [r for r in results if r.get("ok")]
    for r in ok:
        res = _analyse(r, llm_times[r["index"]] if llm_times is not None else None)
        r["missed"] = res["missed"]
        r["overhead_ms"] = [t["overhead_ms"] for t in res["per_turn"] if not t["missed"]]
        r["total_ms"] = [t["total_ms"] for t in res["per_turn"] if not t["missed"]]
    overheads = [x for r in ok for x in r["overhead_ms"]]
    totals = [x for r in ok for x in r["total_ms"]]
    missed = sum(r["missed"] for r in ok) + (n - len(ok)) * n_turns
    wall = max((r["wall_s"] for r in ok), default=float("nan"))
    return {
        "n": n,
        "separate_emulators": separate,
        "staggered": stagger,
        "call_cores": sorted(call_cores) if call_cores else None,
        "emulator_cores": sorted(emu_cores) if emu_cores else None,
        "calls_per_core": n / len(call_cores) if call_cores else n / (os.cpu_count() or 1),
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
        "emulator_cpu_pct_core": emulator_cpu_s / wall * 100 if host is not None else float("nan"),
        **{
            f"{kind}_per_call_mib": (sum(r[f"{kind}_mib"] for r in ok) / len(ok))
            if ok
            else float("nan")
            for kind in ("rss", "pss", "uss", "rss_idle", "pss_idle", "uss_idle")
        },
        "calls": results,
    }


def within_limits(data: list[dict[str, Any]]) -> tuple[int, list[int]]:
    """(the largest N whose p95 overhead is within `OVERHEAD_LIMIT_MS` with no missed turn
    and every call up, the smaller levels that were not): a level over the limit below the
    best one is printed beside it rather than hiding it."""
    good = [
        lvl["n"]
        for lvl in data
        if lvl["missed_turns"] == 0
        and lvl["calls_ok"] == lvl["n"]
        and lvl["overhead_p95_ms"] <= OVERHEAD_LIMIT_MS
    ]
    best = max(good, default=0)
    return best, [lvl["n"] for lvl in data if lvl["n"] < best and lvl["n"] not in good]


async def run(
    out_dir: Path,
    *,
    quick: bool = False,
    levels: list[int] | None = None,
    n_turns: int | None = None,
    separate: bool = True,
    stagger: bool = False,
) -> dict[str, Any]:
    import callcenter.worker  # noqa: F401  (plugins register on the main thread, as in the worker)

    levels = levels or ([1, 2] if quick else [1, 4, 8, 12, 16, 20, 24, 30])
    n_turns = n_turns or (3 if quick else 6)
    call_cores, emu_cores = core_split(separate)
    n_call_cores = len(call_cores) if call_cores else (os.cpu_count() or 1)
    where = (
        f"calls on core(s) {sorted(call_cores)}, emulators in their own process on core(s) "
        f"{sorted(emu_cores)}"
        if call_cores and emu_cores
        else "emulators in their own process, unpinned"
        if separate
        else "emulators inside each call process"
    ) + ("; calls staggered over one turn" if stagger else "; calls in lockstep")
    print(f"[concurrency] {where}", flush=True)
    rows, data = [], []
    for n in levels:
        print(f"[concurrency] N={n}: {n} processes x {n_turns} turns ...", flush=True)
        lvl = await asyncio.to_thread(run_level, n, n_turns, separate=separate, stagger=stagger)
        data.append(lvl)
        rows.append(
            [
                n,
                lvl["calls_per_core"],
                lvl["calls_ok"],
                lvl["turns"],
                lvl["missed_turns"],
                lvl["overhead_p50_ms"],
                lvl["overhead_p95_ms"],
                lvl["total_p95_ms"],
                lvl["cpu_per_call_pct_core"],
                lvl["emulator_cpu_pct_core"],
                lvl["rss_per_call_mib"],
                lvl["pss_per_call_mib"],
                lvl["uss_per_call_mib"],
            ]
        )
        if lvl["missed_turns"] or lvl["calls_ok"] < n or lvl["overhead_p95_ms"] > BREAK_OVERHEAD_MS:
            print(
                f"[concurrency] N={n} breaks (p95 overhead {lvl['overhead_p95_ms']:.1f} ms, "
                f"missed {lvl['missed_turns']}, calls ok {lvl['calls_ok']}/{n}); stopping"
            )
            break
    print(f"\nConcurrent calls, one process per call; {where}")
    print(
        table(
            [
                "N",
                "per core",
                "calls ok",
                "turns",
                "missed",
                "ovh p50",
                "ovh p95",
                "total p95",
                "CPU %core/call",
                "emu %core",
                "RSS MiB/call",
                "PSS MiB/call",
                "USS MiB/call",
            ],
            rows,
        )
    )
    best, over_below = within_limits(data)
    print(
        f"largest N tested with p95 overhead <= {OVERHEAD_LIMIT_MS:.0f} ms and no missed turn: "
        f"{best} on {n_call_cores} core(s) for calls ({best / n_call_cores:.1f} per core; "
        f"target >= 12 per core)"
        + (f"; smaller levels over the limit: {over_below}" if over_below else "")
    )
    payload = {
        "cores": os.cpu_count(),
        "call_cores": sorted(call_cores) if call_cores else None,
        "emulator_cores": sorted(emu_cores) if emu_cores else None,
        "separate_emulators": separate,
        "staggered": stagger,
        "n_turns": n_turns,
        "load_before": os.getloadavg(),
        "levels": data,
        "best_n": best,
        "best_per_core": best / n_call_cores,
    }
    write_json(out_dir, "concurrency-staggered" if stagger else "concurrency", payload)
    return payload


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.concurrency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--levels", help="comma-separated N, e.g. 8,12,16")
    parser.add_argument("--turns", type=int, help="turns per call (default 6)")
    parser.add_argument(
        "--in-process-emulators",
        action="store_true",
        help="the earlier method: each call process runs its own emulators",
    )
    parser.add_argument(
        "--stagger",
        action="store_true",
        help=f"spread the calls' start over {STAGGER_WINDOW_S:.0f} s (independent callers)",
    )
    parser.add_argument("--out", default="bench-results", type=Path)
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")] if args.levels else None
    asyncio.run(
        run(
            args.out,
            levels=levels,
            n_turns=args.turns,
            separate=not args.in_process_emulators,
            stagger=args.stagger,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
