"""Contract: livekit-plugins-elevenlabs TTS (multi-stream websocket + HTTP stream) against the
ElevenLabs emulator."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIConnectOptions, APIStatusError, APITimeoutError
from livekit.plugins import elevenlabs

from tests.support.emulators import ElevenLabsEmulator

FAST = APIConnectOptions(max_retry=0, timeout=2.0, retry_interval=0.0)
TEXT = "Thanks for calling. Your order one zero zero one has shipped."


def _tts(
    emu: ElevenLabsEmulator, session: aiohttp.ClientSession, **kwargs: object
) -> elevenlabs.TTS:
    return elevenlabs.TTS(
        base_url=emu.base_url,
        api_key="test",
        voice_id="voice-test",
        model="eleven_flash_v2_5",
        http_session=session,
        **kwargs,  # type: ignore[arg-type]
    )


def _stats(frames: list[rtc.AudioFrame]) -> tuple[float, int]:
    dur = sum(f.samples_per_channel / f.sample_rate for f in frames)
    peak = max(int(np.abs(np.frombuffer(f.data, dtype=np.int16)).max()) for f in frames)
    return dur, peak


async def _stream(tts: elevenlabs.TTS, text: str) -> list[rtc.AudioFrame]:
    stream = tts.stream(conn_options=FAST)
    stream.push_text(text)
    stream.end_input()
    frames = [ev.frame async for ev in stream]
    await stream.aclose()
    return frames


@pytest.mark.parametrize("encoding,rate", [("pcm_16000", 16000), ("mp3_22050_32", 22050)])
async def test_stream_yields_real_audio(
    elevenlabs: ElevenLabsEmulator, http_session: aiohttp.ClientSession, encoding: str, rate: int
) -> None:
    tts = _tts(elevenlabs, http_session, encoding=encoding)
    t0 = time.perf_counter()
    frames = await _stream(tts, TEXT)
    elapsed = time.perf_counter() - t0
    dur, peak = _stats(frames)
    expected = len(TEXT) * 0.060  # emulator: 60 ms per character (both sentences)
    assert frames and all(f.sample_rate == rate for f in frames)
    assert peak > 1000, "audio must not be silence"
    assert expected * 0.8 < dur < expected * 1.3, (dur, expected)
    assert elapsed >= 0.15, "first-audio latency (150 ms) should be observable"
    ws = elevenlabs.requests_for("multi-stream-input")[0]
    assert ws.path == "/v1/text-to-speech/voice-test/multi-stream-input"
    assert ws.query["output_format"] == encoding and ws.query["model_id"] == "eleven_flash_v2_5"
    assert ws.headers.get("xi-api-key") == "test"
    assert elevenlabs.syntheses[0].text.split() == TEXT.split()
    await tts.aclose()


async def test_default_encoding_is_mp3_22050(
    elevenlabs: ElevenLabsEmulator, http_session: aiohttp.ClientSession
) -> None:
    tts = _tts(elevenlabs, http_session)
    frames = await _stream(tts, "Hello.")
    assert elevenlabs.requests_for("multi-stream-input")[0].query["output_format"] == "mp3_22050_32"
    assert _stats(frames)[1] > 1000
    await tts.aclose()


async def test_connection_is_reused_across_streams(
    elevenlabs: ElevenLabsEmulator, http_session: aiohttp.ClientSession
) -> None:
    tts = _tts(elevenlabs, http_session, encoding="pcm_16000")
    await _stream(tts, "First sentence.")
    await _stream(tts, "Second sentence.")
    assert elevenlabs.counts["contexts"] == 2
    assert elevenlabs.connection_count == 1
    await tts.aclose()


async def test_synthesize_uses_http_stream(
    elevenlabs: ElevenLabsEmulator, http_session: aiohttp.ClientSession
) -> None:
    tts = _tts(elevenlabs, http_session, encoding="pcm_22050")
    frames = [ev.frame async for ev in tts.synthesize("What is my balance?", conn_options=FAST)]
    dur, peak = _stats(frames)
    assert peak > 1000
    assert abs(dur - len("What is my balance?") * 0.060) < 0.15
    assert elevenlabs.counts["http_stream"] == 1
    assert elevenlabs.requests[0].query["output_format"] == "pcm_22050"
    await tts.aclose()


async def test_stall_times_out(
    elevenlabs: ElevenLabsEmulator, http_session: aiohttp.ClientSession
) -> None:
    elevenlabs.faults.stall = True
    tts = _tts(elevenlabs, http_session, encoding="pcm_16000")
    opts = APIConnectOptions(max_retry=0, timeout=0.5, retry_interval=0.0)
    stream = tts.stream(conn_options=opts)
    stream.push_text("Hello there.")
    stream.end_input()
    t0 = time.perf_counter()
    # plugin quirk (1.8.9): the per-context APITimeoutError is re-wrapped by
    # SynthesizeStream._run as APIStatusError("Could not synthesize", status_code=-1)
    with pytest.raises(APIStatusError) as exc:
        async for _ in stream:
            pass
    assert isinstance(exc.value.__cause__, APITimeoutError)
    assert 0.4 < time.perf_counter() - t0 < 3.0
    await stream.aclose()
    await tts.aclose()


async def test_closed_mid_reply_raises(
    elevenlabs: ElevenLabsEmulator, http_session: aiohttp.ClientSession
) -> None:
    elevenlabs.faults.close_after_chunks = 2
    tts = _tts(elevenlabs, http_session, encoding="pcm_16000")
    with pytest.raises(APIStatusError):
        await asyncio.wait_for(_stream(tts, TEXT), 5)
    await tts.aclose()


async def test_http_429_on_synthesize(
    elevenlabs: ElevenLabsEmulator, http_session: aiohttp.ClientSession
) -> None:
    elevenlabs.faults.http_status = 429
    tts = _tts(elevenlabs, http_session, encoding="pcm_16000")
    with pytest.raises(APIStatusError) as exc:
        async for _ in tts.synthesize("Hi", conn_options=FAST):
            pass
    assert exc.value.status_code == 429
    await tts.aclose()
