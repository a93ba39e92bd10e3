"""What the capacity work changed in a call process: Silero's inference runs inline (same
speech events as the plugin's own threaded stream), and the modules the SDKs would import on
a call's first request are preloaded."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from typing import Any

from livekit.agents import vad as vad_mod
from livekit.plugins import silero

from callcenter.framework.silero_inline import InlineSileroVAD, _InlineExecutorLoop
from callcenter.turn_taking import VAD_MIN_SILENCE_S, VAD_SAMPLE_RATE, load_vad
from tests.support.audio import load_frames, silence_frames


async def _speech_events(vad: Any) -> list[tuple[str, float]]:
    stream = vad.stream()
    frames = [
        *silence_frames(500, sample_rate=VAD_SAMPLE_RATE, frame_ms=50),
        *load_frames("check_order.wav", sample_rate=VAD_SAMPLE_RATE, frame_ms=50),
        *silence_frames(1500, sample_rate=VAD_SAMPLE_RATE, frame_ms=50),
    ]
    for frame in frames:
        stream.push_frame(frame)
    stream.end_input()
    events = []
    async for ev in stream:
        if ev.type in (vad_mod.VADEventType.START_OF_SPEECH, vad_mod.VADEventType.END_OF_SPEECH):
            events.append((ev.type.value, round(ev.timestamp, 2)))
    await stream.aclose()
    return events


async def test_inline_inference_gives_the_plugins_speech_events() -> None:
    vad = load_vad()
    assert isinstance(vad, InlineSileroVAD)
    stream = vad.stream()
    assert isinstance(stream._loop, _InlineExecutorLoop)
    await stream.aclose()
    stock = silero.VAD.load(sample_rate=VAD_SAMPLE_RATE, min_silence_duration=VAD_MIN_SILENCE_S)
    inline_events, stock_events = await asyncio.gather(_speech_events(vad), _speech_events(stock))
    assert [kind for kind, _ in inline_events] == ["start_of_speech", "end_of_speech"]
    assert inline_events == stock_events


async def test_inline_executor_passes_results_and_errors() -> None:
    loop = _InlineExecutorLoop(asyncio.get_running_loop())
    assert await loop.run_in_executor(None, lambda x: x * 2, 21) == 42

    def boom() -> None:
        raise ValueError("model failed")

    try:
        await loop.run_in_executor(None, boom)
    except ValueError as exc:
        assert str(exc) == "model failed"
    else:
        raise AssertionError("the error was swallowed")
    assert loop.time() > 0  # everything else is the real loop


FIRST_REQUEST = textwrap.dedent(
    """
    import asyncio, json, ssl, sys, time
    import callcenter.worker
    if sys.argv[1] == "preloaded":
        for name in callcenter.worker.JOB_PROCESS_PRELOAD:
            __import__(name)
    import httpcore2
    from pydantic._internal import _generate_schema
    from livekit.agents import llm
    from livekit.agents.utils import http_context
    from callcenter.config import Settings
    from callcenter.providers import build_providers
    from callcenter.turn_taking import load_vad
    from tests.support.emulators import DeepgramEmulator, ElevenLabsEmulator, OpenAIHTTPEmulator

    built = {"schemas": 0, "tls_contexts": 0}

    def counting(kind, fn):
        def wrapper(*args, **kwargs):
            built[kind] += 1
            return fn(*args, **kwargs)
        return wrapper

    # what a first request may build: pydantic schemas (the SDK's lazy models) and TLS
    # contexts (httpx2's, and the framework's aiohttp session's)
    _generate_schema.GenerateSchema.generate_schema = counting(
        "schemas", _generate_schema.GenerateSchema.generate_schema
    )
    httpcore2.default_ssl_context = counting("tls_contexts", httpcore2.default_ssl_context)
    ssl.create_default_context = counting("tls_contexts", ssl.create_default_context)

    async def main():
        async with OpenAIHTTPEmulator() as oa, DeepgramEmulator() as dg, ElevenLabsEmulator() as el:
            oa.chat.default_reply = "Hello there."
            before = set(sys.modules)
            cpu0 = time.process_time()
            async with http_context.open():
                http_context.http_session()
                settings = Settings(
                    _env_file=None, OPENAI_API_KEY="t", OPENAI_BASE_URL=oa.base_url,
                    DEEPGRAM_API_KEY="t", DEEPGRAM_BASE_URL=dg.base_url,
                    ELEVEN_API_KEY="t", ELEVENLABS_BASE_URL=el.base_url,
                )
                providers = build_providers(settings, vad=load_vad())
                ctx = llm.ChatContext()
                ctx.add_message(role="user", content="hi")
                async with providers.llm.chat(chat_ctx=ctx) as stream:
                    async for _ in stream:
                        pass
                async with providers.tts.stream() as tts:
                    tts.push_text("Hello there.")
                    tts.end_input()
                    async for _ in tts:
                        pass
                stt = providers.stt.stream()
                await asyncio.sleep(0.3)
                await stt.aclose()
            cpu_ms = (time.process_time() - cpu0) * 1000  # with the emulators' share
            late = sorted(set(sys.modules) - before)
            print(json.dumps({"late_modules": late, "cpu_ms": cpu_ms, **built}))

    asyncio.run(main())
    """
)


def _first_request(mode: str) -> dict[str, Any]:
    """Run a call process's first requests (chat, speech, transcription) against the
    emulators in a fresh interpreter: `preloaded` imports what the forkserver imports first,
    `cold` does not. What they imported and built on the way."""
    result = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, mode], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_calls_first_requests_import_nothing_the_forkserver_could_have() -> None:
    families = ("openai", "httpcore2", "httpx2", "h11", "anyio", "jiter", "truststore")
    late = [m for m in _first_request("preloaded")["late_modules"] if m.split(".")[0] in families]
    assert late == [], f"imported on a call's path; add to callcenter/preload.py: {late}"


def test_a_calls_first_requests_build_no_schema_and_no_tls_context() -> None:
    cold, preloaded = _first_request("cold"), _first_request("preloaded")
    # the probe sees the work when nothing was done ahead (the providers' shared TLS
    # context, the framework session's; the SDK's request and response models)
    assert cold["tls_contexts"] >= 2 and cold["schemas"] > 0, cold
    assert (preloaded["schemas"], preloaded["tls_contexts"]) == (0, 0), preloaded


SHARED_VAD = textwrap.dedent(
    """
    import asyncio, json, os, sys
    import callcenter.worker
    for name in callcenter.worker.JOB_PROCESS_PRELOAD:  # what LiveKit's forkserver does
        __import__(name)
    from livekit.plugins.silero import onnx_model
    from callcenter.turn_taking import process_vad
    from tests.ops.test_ops_capacity import _speech_events

    read, write = os.pipe()
    if os.fork() == 0:  # a job process
        sessions = []
        real = onnx_model.new_inference_session
        onnx_model.new_inference_session = lambda *a, **k: sessions.append(1) or real(*a, **k)
        vad = process_vad()  # the worker's prewarm
        events = asyncio.run(_speech_events(vad))
        os.write(write, json.dumps({"sessions_loaded": len(sessions), "events": events}).encode())
        os._exit(0)
    os.close(write)
    print(os.read(read, 65536).decode())
    """
)


async def test_a_job_process_uses_the_vad_loaded_in_the_forkserver() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SHARED_VAD], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    child = json.loads(result.stdout.strip().splitlines()[-1])
    # no model loaded in the job process: it runs the one the forkserver's preload loaded ...
    assert child["sessions_loaded"] == 0, child
    # ... and hears speech as a VAD loaded in the process itself does
    fresh = await _speech_events(load_vad())
    assert [tuple(e) for e in child["events"]] == fresh
    assert [kind for kind, _ in fresh] == ["start_of_speech", "end_of_speech"]
