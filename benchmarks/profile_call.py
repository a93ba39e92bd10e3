"""Where a call's CPU goes: one call, as the concurrency benchmark runs it, under py-spy.

    # 1. record: py-spy (a dev dependency; needs root or ptrace) is attached once the call is
    #    set up (imports, VAD load) and stopped when it ends, so only the call is sampled
    uv run python -m benchmarks.profile_call --turns 12 --profile bench-results/call.prof
    # 2. read it: CPU by component, then the hottest functions
    uv run python -m benchmarks.profile_call --summarise bench-results/call.prof
    # Silero per window: thread pool vs inline (callcenter/framework/silero_inline.py)
    uv run python -m benchmarks.profile_call --vad-handoff

The call is the product's session (`benchmarks.latency._ours`: our providers, Silero VAD,
turn-taking) fed 8 kHz caller audio in real time, with the provider emulators in another
process (`benchmarks.emulator_host`), pinned to another core when there is one. So every
sample py-spy takes in this process is the product's own cost: LiveKit's plumbing, Silero,
the plugins, the STT send, and our code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("importing modules (first use in the call)", ("<frozen importlib._bootstrap>",)),
    ("Silero VAD (inference + executor hand-off)", ("(silero/", "(onnxruntime/")),
    ("STT: Deepgram plugin (send/receive)", ("(deepgram/",)),
    ("TTS: ElevenLabs plugin", ("(elevenlabs/",)),
    ("LLM: OpenAI plugin and SDK", ("(openai/", "(httpx", "(httpcore")),
    ("our code (callcenter/)", ("(callcenter/",)),
    ("benchmark harness (feed, capture)", ("(benchmarks/",)),
    ("LiveKit agents: audio/voice plumbing", ("(agents/",)),
    ("LiveKit rtc (frames, FFI)", ("(rtc/",)),
    ("aiohttp / websockets", ("(aiohttp/", "(websockets/")),
    ("asyncio event loop", ("(asyncio/", "(selectors.py")),
]
"""A sample belongs to the first component whose marker appears anywhere in its stack."""


def summarise(path: Path, top: int = 30) -> str:
    """CPU by component and the hottest leaf functions, from py-spy's raw (collapsed) output."""
    by_component: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # the event loop's frames sit under every task: classify by what the loop runs
        for root in ("Handle._run (asyncio/events.py", "_run_once (asyncio/base_events.py"):
            if root in stack:
                stack = stack[stack.rindex(root) :]
                break
        total += count
        component = next(
            (name for name, markers in COMPONENTS if any(m in f"({stack}" for m in markers)),
            "other (interpreter, GC, threads)",
        )
        by_component[component] += count
        leaf = stack.split(";")[-1]
        leaves[re.sub(r"\s+", " ", leaf)[:110]] += count
    out = [f"{total} samples on CPU", "", f"{'component':45} {'share':>6}"]
    for name, n in by_component.most_common():
        out.append(f"{name:45} {n / total * 100:5.1f}%")
    out += ["", f"hottest functions (self time, top {top})"]
    for leaf, n in leaves.most_common(top):
        out.append(f"{n / total * 100:5.1f}%  {leaf}")
    return "\n".join(out)


async def _one_call(
    n_turns: int, urls: tuple[str, str, str], starts: Any, profile: Path | None
) -> dict[str, Any]:
    from benchmarks.latency import GAP_S, Latencies, RemoteEmulators, _ours, drive_session
    from callcenter.telephony.audio import CALLER_SAMPLE_RATE
    from callcenter.turn_taking import process_vad

    dg, oa, el = (SimpleNamespace(base_url=u) for u in urls)
    remote = RemoteEmulators(dg=dg, oa=oa, el=el, started=lambda t0: starts.put((0, t0)))
    vad = process_vad()  # the preloaded one, as in the worker
    import gc

    gc.freeze()  # as the worker's prewarm does
    spy = _start_py_spy(profile) if profile is not None else None
    threads0 = thread_cpu()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    try:
        run = await drive_session(
            "profile",
            _ours(vad),
            n_turns=n_turns,
            lat=Latencies(),
            sample_rate=CALLER_SAMPLE_RATE,
            gap_s=GAP_S,
            remote=remote,
        )
    finally:
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            spy.wait(timeout=60)
    wall = time.perf_counter() - t0
    threads1 = thread_cpu()
    by_thread: Counter[str] = Counter()
    names = {t.native_id: t.name for t in threading.enumerate()}
    for tid, (name, cpu_s) in threads1.items():
        label = "main (event loop)" if tid == os.getpid() else names.get(tid, f"native {name}")
        by_thread[label] += cpu_s - threads0.get(tid, (name, 0.0))[1]
    print("CPU by thread (% of a core):")
    for name, cpu_s in by_thread.most_common(12):
        print(f"  {cpu_s / wall * 100:5.2f}  {name}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"turns": len(run.turns), "wall_s": wall, "cpu_pct_core": cpu / wall * 100}


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds (user+sys) of each thread of this process, with its name (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
        except (OSError, ValueError, IndexError):
            continue
    return out


def _start_py_spy(out: Path) -> subprocess.Popen[bytes]:
    out.parent.mkdir(parents=True, exist_ok=True)
    spy_bin = Path(sys.executable).with_name("py-spy")
    cmd = [str(spy_bin) if spy_bin.exists() else "py-spy", "record", "--pid", str(os.getpid())]
    cmd += ["--gil", "--rate", "250", "--format", "raw", "-o", str(out)]
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached
    return spy


def profile_call(n_turns: int, profile: Path | None) -> None:
    import importlib
    import multiprocessing as mp

    import callcenter.worker  # plugins register, as in the worker

    for module in callcenter.worker.JOB_PROCESS_PRELOAD:  # what the forkserver preloads
        importlib.import_module(module)
    from benchmarks.concurrency import core_split
    from benchmarks.emulator_host import host_main
    from benchmarks.latency import GAP_S, Latencies

    call_cores, emu_cores = core_split(True)
    ctx = mp.get_context("spawn")
    parent_end, host_end = ctx.Pipe()
    starts = ctx.Queue()
    host = ctx.Process(
        target=host_main, args=(1, n_turns, GAP_S, Latencies(), emu_cores, host_end, starts)
    )
    host.start()
    urls = parent_end.recv()
    if call_cores:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, call_cores)
    try:
        result = asyncio.run(_one_call(n_turns, urls[0], starts, profile))
    finally:
        parent_end.send("results")
        with contextlib.suppress(Exception):
            parent_end.recv()
        host.join(timeout=30)
    print(
        f"one call, {result['turns']} turns in {result['wall_s']:.1f} s: "
        f"{result['cpu_pct_core']:.1f} % of a core (product only; emulators elsewhere)"
    )


def vad_handoff(windows: int = 2000) -> None:
    """CPU per Silero window at 8 kHz: the plugin's thread-pool hand-off against inline."""
    import numpy as np
    from livekit.plugins import silero
    from livekit.plugins.silero import onnx_model

    from callcenter.turn_taking import VAD_SAMPLE_RATE

    vad = silero.VAD.load(sample_rate=VAD_SAMPLE_RATE)
    model = onnx_model.OnnxModel(onnx_session=vad._onnx_session, sample_rate=VAD_SAMPLE_RATE)
    window = np.zeros(model.window_size_samples, dtype=np.float32)

    def cpu_ms() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return (r.ru_utime + r.ru_stime) * 1000

    async def measure() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        for _ in range(100):
            await loop.run_in_executor(None, model, window)
            model(window)
        c0 = cpu_ms()
        for _ in range(windows):
            await loop.run_in_executor(None, model, window)
        c1 = cpu_ms()
        for _ in range(windows):
            model(window)
        c2 = cpu_ms()
        return (c1 - c0) / windows, (c2 - c1) / windows

    executor, inline = asyncio.run(measure())
    print(
        f"Silero at {VAD_SAMPLE_RATE} Hz, {model.window_size_samples}-sample windows: "
        f"{executor:.3f} ms CPU per window through the thread pool, {inline:.3f} ms inline"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_call")
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--profile", type=Path, help="record the call with py-spy to this file")
    parser.add_argument("--summarise", type=Path, help="summarise a py-spy raw profile")
    parser.add_argument(
        "--vad-handoff", action="store_true", help="CPU per Silero window: thread pool vs inline"
    )
    args = parser.parse_args(argv)
    if args.vad_handoff:
        vad_handoff()
        return 0
    if args.summarise:
        print(summarise(args.summarise))
        return 0
    profile_call(args.turns, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
