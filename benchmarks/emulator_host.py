"""The provider emulators of N benchmark calls, in one process of their own.

The concurrency benchmark measures what the product costs per call. With the emulators
inside each call process, their CPU (websocket servers, SSE, synthesised audio, Deepgram's
energy endpointer) was charged to the call. Here one process, pinned to its own core where
the machine allows (`os.sched_setaffinity`), serves every call: a Deepgram, OpenAI and
ElevenLabs emulator per call (so each call's transcripts and LLM timestamps stay its own),
at the latencies of `benchmarks.latency.Latencies`.

Protocol (a `multiprocessing` connection to the parent, a queue from the call processes):
- the host sends `[(dg_url, oa_url, el_url), ...]` once its servers listen;
- each call process puts `(index, t0)` on the queue when its audio schedule starts, so the
  Deepgram emulator can transcribe the phrase being spoken;
- the parent sends `"results"`; the host answers `{"llm_times": [[...], ...], "cpu_s": ...}`
  (the LLM request arrival times per call, `perf_counter`) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue as queue_mod
import resource
import threading
import time
from typing import Any

from benchmarks.latency import REPLY, Latencies, turn_schedule
from tests.support.audio import phrase_text
from tests.support.emulators import DeepgramEmulator, ElevenLabsEmulator, OpenAIHTTPEmulator


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def host_main(
    n: int, n_turns: int, gap_s: float, lat: Latencies, cores: set[int] | None, conn: Any, q: Any
) -> None:
    if cores:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cores)
    asyncio.run(_serve(n, n_turns, gap_s, lat, conn, q))


async def _serve(n: int, n_turns: int, gap_s: float, lat: Latencies, conn: Any, q: Any) -> None:
    schedules: list[list[tuple[str, float, float]] | None] = [None] * n
    llm_times: list[list[float]] = [[] for _ in range(n)]

    def transcriber_for(i: int) -> Any:
        def transcribe(_index: int, _pcm: Any, _rate: int) -> str:
            # the phrase being spoken: the latest whose feed has started (as in-process)
            sched = schedules[i] or []
            now = time.perf_counter()
            started = [phrase for phrase, start, _eos in sched if start <= now]
            return phrase_text(started[-1]) if started else ""

        return transcribe

    def responder_for(i: int) -> Any:
        async def respond(_req: Any) -> str:
            llm_times[i].append(time.perf_counter())
            await asyncio.sleep(lat.llm_first_token)
            return REPLY

        return respond

    async with contextlib.AsyncExitStack() as stack:
        urls = []
        for i in range(n):
            oa = await stack.enter_async_context(OpenAIHTTPEmulator())
            dg = await stack.enter_async_context(
                DeepgramEmulator(final_delay=lat.stt_final, end_silence_ms=lat.stt_end_silence_ms)
            )
            el = await stack.enter_async_context(
                ElevenLabsEmulator(first_audio_latency=lat.tts_first_audio)
            )
            oa.chat.responder = responder_for(i)
            dg.transcriber = transcriber_for(i)
            urls.append((dg.base_url, oa.base_url, el.base_url))
        conn.send(urls)

        stop = threading.Event()

        def read_starts() -> None:
            while not stop.is_set():
                try:
                    index, t0 = q.get(timeout=0.2)
                except queue_mod.Empty:
                    continue
                schedules[index] = turn_schedule(t0, n_turns, gap_s)

        reader = threading.Thread(target=read_starts, daemon=True)
        reader.start()
        cpu0 = _cpu_s()
        loop = asyncio.get_running_loop()
        while True:
            ready = await loop.run_in_executor(None, conn.poll, 1.0)
            if ready and conn.recv() == "results":
                break
        stop.set()
        conn.send({"llm_times": llm_times, "cpu_s": _cpu_s() - cpu0})
