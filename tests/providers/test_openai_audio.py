"""Contract: the fallback providers openai.STT (/audio/transcriptions) and openai.TTS
(/audio/speech) against the OpenAI HTTP emulator, plus chat stream faults."""

from __future__ import annotations

import time

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    stt,
)
from livekit.agents.llm import ChatContext
from livekit.plugins import openai

from tests.support.audio import load_frames, phrase_text
from tests.support.emulators import OpenAIHTTPEmulator

FAST = APIConnectOptions(max_retry=0, timeout=2.0, retry_interval=0.0)


def _stats(frames: list[rtc.AudioFrame]) -> tuple[float, int]:
    dur = sum(f.samples_per_channel / f.sample_rate for f in frames)
    peak = max(int(np.abs(np.frombuffer(f.data, dtype=np.int16)).max()) for f in frames)
    return dur, peak


async def test_openai_stt_recognize(openai_http: OpenAIHTTPEmulator) -> None:
    openai_http.transcripts.append(phrase_text("pin.wav"))
    model = openai.STT(base_url=openai_http.base_url, api_key="test", use_realtime=False)
    frames = load_frames("pin.wav", sample_rate=16000)
    ev = await model.recognize(frames, conn_options=FAST)
    assert ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    assert ev.alternatives[0].text == "my pin is four four two one"
    req = openai_http.requests_for("/audio/transcriptions")[0]
    assert req.body["model"] == "gpt-4o-mini-transcribe"
    assert req.body["audio_bytes"] > 16000 * 2  # a WAV of > 1 s of 16 kHz audio
    await model.aclose()


async def test_openai_stt_503(openai_http: OpenAIHTTPEmulator) -> None:
    openai_http.faults.http_status = 503
    model = openai.STT(base_url=openai_http.base_url, api_key="test", use_realtime=False)
    with pytest.raises(APIStatusError) as exc:
        await model.recognize(load_frames("yes.wav"), conn_options=FAST)
    assert exc.value.status_code == 503
    await model.aclose()


@pytest.mark.parametrize(
    "tts_model,response_format",
    [("gpt-4o-mini-tts", "pcm"), ("gpt-4o-mini-tts", "mp3"), ("tts-1", "mp3")],
)
async def test_openai_tts_synthesize(
    openai_http: OpenAIHTTPEmulator, tts_model: str, response_format: str
) -> None:
    model = openai.TTS(
        model=tts_model,
        base_url=openai_http.base_url,
        api_key="test",
        response_format=response_format,  # type: ignore[arg-type]
    )
    text = "Let me transfer you to a person."
    frames = [ev.frame async for ev in model.synthesize(text, conn_options=FAST)]
    dur, peak = _stats(frames)
    assert peak > 1000
    assert abs(dur - len(text) * 0.060) < 0.2, dur
    body = openai_http.speech_requests[0]
    assert body["input"] == text and body["response_format"] == response_format
    # gpt-4o-mini-tts streams SSE events, tts-1 raw audio bytes
    assert body["stream_format"] == ("audio" if tts_model == "tts-1" else "sse")
    await model.aclose()


async def test_openai_tts_closed_mid_stream(openai_http: OpenAIHTTPEmulator) -> None:
    openai_http.faults.close_after_chunks = 1
    openai_http.faults.path_contains = "/audio/speech"
    model = openai.TTS(base_url=openai_http.base_url, api_key="test", response_format="pcm")
    with pytest.raises(APIConnectionError):
        async for _ in model.synthesize(
            "a sentence long enough for several chunks " * 3, conn_options=FAST
        ):
            pass
    await model.aclose()


@pytest.mark.slow
async def test_openai_tts_stall_times_out_after_30s(openai_http: OpenAIHTTPEmulator) -> None:
    """Plugin quirk: openai.TTS sends ``httpx.Timeout(30, connect=conn_options.timeout)``, so
    conn_options.timeout bounds only the TCP connect; a stalled response takes the hard-coded
    30 s read timeout to fail (as APITimeoutError). openai.STT.recognize does the same."""
    openai_http.faults.stall = True
    openai_http.faults.path_contains = "/audio/speech"
    model = openai.TTS(base_url=openai_http.base_url, api_key="test", response_format="pcm")
    t0 = time.perf_counter()
    with pytest.raises(APITimeoutError):
        async for _ in model.synthesize("hello", conn_options=FAST):
            pass
    assert 25 < time.perf_counter() - t0 < 40
    await model.aclose()


def _ctx() -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="user", content="hi")
    return ctx


async def test_chat_stream_closed_mid_reply(openai_http: OpenAIHTTPEmulator) -> None:
    openai_http.chat.script("This answer will be cut off in the middle of the sentence.")
    openai_http.faults.close_after_chunks = 2
    llm_ = openai.LLM(base_url=openai_http.base_url, api_key="test")
    got: list[str] = []
    with pytest.raises(APIConnectionError):
        async with llm_.chat(chat_ctx=_ctx(), conn_options=FAST) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    got.append(chunk.delta.content)
    assert got and "".join(got) != "This answer will be cut off in the middle of the sentence."
    await llm_.aclose()


async def test_chat_stall_times_out_fast(openai_http: OpenAIHTTPEmulator) -> None:
    """chat() passes ``httpx.Timeout(conn_options.timeout)`` to the request, so a stall fails
    after ``conn_options.timeout``."""
    openai_http.chat.script("never")
    openai_http.faults.stall = True
    llm_ = openai.LLM(base_url=openai_http.base_url, api_key="test")
    opts = APIConnectOptions(max_retry=0, timeout=0.5, retry_interval=0.0)
    t0 = time.perf_counter()
    with pytest.raises(APITimeoutError):
        async with llm_.chat(chat_ctx=_ctx(), conn_options=opts) as stream:
            async for _ in stream:
                pass
    assert 0.4 < time.perf_counter() - t0 < 3
    await llm_.aclose()


async def test_chat_first_byte_latency(openai_http: OpenAIHTTPEmulator) -> None:
    openai_http.chat.script("ok")
    openai_http.faults.first_byte_delay = 0.3
    llm_ = openai.LLM(base_url=openai_http.base_url, api_key="test")
    t0 = time.perf_counter()
    async with llm_.chat(chat_ctx=_ctx(), conn_options=FAST) as stream:
        text = "".join([c.delta.content async for c in stream if c.delta and c.delta.content])
    assert text == "ok"
    assert time.perf_counter() - t0 >= 0.3
    await llm_.aclose()
