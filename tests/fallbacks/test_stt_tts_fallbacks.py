"""STT and TTS chain faults at the adapter level, through the real plugins exactly as
`build_providers` chains them (Deepgram → OpenAI STT, ElevenLabs → OpenAI TTS), with the
call's provider-switch behaviour attached. Times to recovery are printed, never asserted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from livekit import rtc
from livekit.agents import APIConnectOptions, stt, tts
from livekit.agents.utils import http_context

from callcenter.behaviours.provider_switches import ProviderSwitches
from callcenter.core.state import CallState
from callcenter.providers import (
    DEEPGRAM_ENDPOINTING_MS,
    ELEVENLABS_OUTPUT_FORMAT,
    TTS_SAMPLE_RATE,
    Providers,
    build_providers,
)
from callcenter.telephony.audio import CALLER_SAMPLE_RATE
from callcenter.telephony.sip import CallInfo
from tests.fallbacks.support import MAYA, emulator_settings, load_vad
from tests.support.audio import load_frames, silence_frames
from tests.support.emulators import DeepgramEmulator, ElevenLabsEmulator, OpenAIHTTPEmulator

REPLY = "Your order 1001 has shipped and should arrive on Friday."


def report(row: str, seconds: float) -> None:
    print(f"\n[recovery] {row}: {seconds:.2f} s")


@asynccontextmanager
async def chains(
    db_url: str, openai: OpenAIHTTPEmulator, deepgram: DeepgramEmulator, eleven: ElevenLabsEmulator
) -> AsyncIterator[tuple[Providers, CallState]]:
    """The product's providers, with the call's provider-switch behaviour on a bare state."""
    settings = emulator_settings(
        db_url,
        openai_url=openai.base_url,
        deepgram_url=deepgram.base_url,
        elevenlabs_url=eleven.base_url,
    )
    async with http_context.open():
        providers = build_providers(settings, vad=load_vad())
        assert isinstance(providers.stt, stt.FallbackAdapter)
        assert isinstance(providers.tts, tts.FallbackAdapter)
        state = CallState(
            call=CallInfo.for_console(caller_e164=MAYA, call_id="fb-audio"),
            deps=None,  # type: ignore[arg-type]  # the switch recorder reads no deps
        )
        ProviderSwitches(state).attach(providers)
        try:
            yield providers, state
        finally:
            await providers.stt.aclose()
            await providers.tts.aclose()


async def transcribe(
    chain: stt.STT, frames: list[rtc.AudioFrame], *, timeout: float = 15.0
) -> tuple[list[stt.SpeechEvent], float]:
    """Push frames at 2x real time; stop at the first final transcript.

    Returns the events and the wall-clock time (`time.time()`) of that final.
    """
    stream = chain.stream()
    events: list[stt.SpeechEvent] = []
    final_at = 0.0

    async def feed() -> None:
        with contextlib.suppress(RuntimeError):
            for frame in frames:
                stream.push_frame(frame)
                await asyncio.sleep(frame.duration / 2)

    async def read() -> None:
        nonlocal final_at
        async for ev in stream:
            events.append(ev)
            if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT and ev.alternatives[0].text:
                final_at = time.time()
                return

    feeder = asyncio.create_task(feed())
    try:
        await asyncio.wait_for(read(), timeout)
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
        await stream.aclose()
    return events, final_at


def caller_audio(name: str) -> list[rtc.AudioFrame]:
    return silence_frames(300) + load_frames(name) + silence_frames(1200)


def finals(events: list[stt.SpeechEvent]) -> list[str]:
    return [
        ev.alternatives[0].text
        for ev in events
        if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT and ev.alternatives
    ]


async def test_stt_happy_path_deepgram_transcribes(
    db_url: str,
    primary: OpenAIHTTPEmulator,
    deepgram: DeepgramEmulator,
    elevenlabs: ElevenLabsEmulator,
) -> None:
    deepgram.transcripts.append("order number 1001")
    async with chains(db_url, primary, deepgram, elevenlabs) as (providers, state):
        events, _ = await transcribe(providers.stt, caller_audio("order_number.wav"))
    assert finals(events) == ["order number 1001"]
    assert primary.requests_for("/audio/transcriptions") == []
    assert state.provider_switches == []
    # the caller's 8 kHz as is, finalized after the product's endpointing silence
    query = deepgram.requests_for("/v1/listen")[0].query
    assert query["sample_rate"] == str(CALLER_SAMPLE_RATE)
    assert query["endpointing"] == str(DEEPGRAM_ENDPOINTING_MS)


async def test_stt_deepgram_dropped_mid_utterance_openai_transcribes(
    db_url: str,
    primary: OpenAIHTTPEmulator,
    deepgram: DeepgramEmulator,
    elevenlabs: ElevenLabsEmulator,
) -> None:
    deepgram.transcripts.append("DEEPGRAM never finishes this")
    deepgram.faults.close_after_chunks = 1  # the first event goes out, then the socket dies
    primary.transcripts.append("order number 1001")
    async with chains(db_url, primary, deepgram, elevenlabs) as (providers, state):
        events, final_at = await transcribe(providers.stt, caller_audio("order_number.wav"))
    assert finals(events) == ["order number 1001"]
    assert len(primary.requests_for("/audio/transcriptions")) == 1
    assert deepgram.utterances == []  # Deepgram never delivered a final
    [switch] = state.provider_switches
    assert switch.kind == "stt"
    assert switch.from_provider.startswith("Deepgram")
    assert switch.to_provider.endswith("/gpt-4o-mini-transcribe")
    # audio pushed at 2x real time: the fallback's final needs the rest of the utterance
    report("STT Deepgram dropped mid-utterance (drop -> fallback final)", final_at - switch.at)


async def synthesize(chain: tts.TTS, text: str) -> tuple[list[rtc.AudioFrame], float, bool]:
    """Stream `text` through `chain`; (frames, seconds to first audio, ended with an error)."""
    frames: list[rtc.AudioFrame] = []
    first = 0.0
    started = time.perf_counter()
    failed = False
    stream = chain.stream()
    stream.push_text(text)
    stream.end_input()
    try:
        async with stream:
            async for audio in stream:
                if not frames:
                    first = time.perf_counter() - started
                frames.append(audio.frame)
    except Exception:
        failed = True
    return frames, first, failed


def seconds(frames: list[rtc.AudioFrame]) -> float:
    return sum(f.duration for f in frames)


async def test_tts_happy_path_elevenlabs_speaks(
    db_url: str,
    primary: OpenAIHTTPEmulator,
    deepgram: DeepgramEmulator,
    elevenlabs: ElevenLabsEmulator,
) -> None:
    async with chains(db_url, primary, deepgram, elevenlabs) as (providers, state):
        frames, _, failed = await synthesize(providers.tts, REPLY)
    assert not failed and seconds(frames) > 1.0
    assert [s.text.strip() for s in elevenlabs.syntheses] == [REPLY]
    # raw PCM at the output rate: nothing to decode or resample on the way to the caller
    assert [s.output_format for s in elevenlabs.syntheses] == [ELEVENLABS_OUTPUT_FORMAT]
    assert {f.sample_rate for f in frames} == {TTS_SAMPLE_RATE}
    assert primary.requests_for("/audio/speech") == []
    assert state.provider_switches == []


async def test_tts_elevenlabs_5xx_before_reply_openai_speaks(
    db_url: str,
    primary: OpenAIHTTPEmulator,
    deepgram: DeepgramEmulator,
    elevenlabs: ElevenLabsEmulator,
) -> None:
    elevenlabs.faults.http_status = 503
    elevenlabs.faults.http_status_times = -1
    async with chains(db_url, primary, deepgram, elevenlabs) as (providers, state):
        frames, first_audio, failed = await synthesize(providers.tts, REPLY)
    report("TTS ElevenLabs 5xx before a reply (time to first audio)", first_audio)
    assert not failed
    # the whole reply is spoken by OpenAI TTS (60 ms a character in the emulator)
    assert seconds(frames) >= 0.9 * 0.06 * len(REPLY)
    [speech] = primary.requests_for("/audio/speech")
    assert speech.body["response_format"] == "pcm"
    assert {f.sample_rate for f in frames} == {TTS_SAMPLE_RATE}
    assert elevenlabs.syntheses == []
    [switch] = state.provider_switches
    assert switch.kind == "tts"
    assert switch.from_provider.lower().startswith("elevenlabs")
    assert switch.to_provider.endswith("/gpt-4o-mini-tts")  # OpenAI TTS (provider = its host)


async def test_tts_elevenlabs_drops_during_reply_next_reply_on_openai(
    db_url: str,
    primary: OpenAIHTTPEmulator,
    deepgram: DeepgramEmulator,
    elevenlabs: ElevenLabsEmulator,
) -> None:
    async with chains(db_url, primary, deepgram, elevenlabs) as (providers, state):
        # paced audio (about 100 ms a message): part of the reply is heard, then the socket dies
        elevenlabs.faults.chunk_delay = 0.05
        elevenlabs.faults.close_after_chunks = 10
        cut, _, cut_failed = await synthesize(providers.tts, REPLY)
        assert primary.requests_for("/audio/speech") == []  # the cut reply is not re-spoken
        elevenlabs.faults.reset()
        started = time.perf_counter()
        frames, first_audio, failed = await synthesize(providers.tts, "Anything else today?")
        recovery = time.perf_counter() - started
    report("TTS ElevenLabs dropped during a reply (next reply, time to first audio)", first_audio)
    print(f"[recovery] ...next reply fully synthesized in {recovery:.2f} s")
    # the interrupted reply keeps what was already heard, loses the rest, ends without error

    assert not cut_failed
    assert 0 < seconds(cut) < 0.06 * len(REPLY)
    # ... and the next reply is spoken by OpenAI TTS
    assert not failed and seconds(frames) > 0.5
    assert len(primary.requests_for("/audio/speech")) == 1
    [switch] = state.provider_switches
    assert switch.kind == "tts" and switch.to_provider.endswith("/gpt-4o-mini-tts")


async def test_tts_elevenlabs_stall_bounded_by_attempt_timeout(
    db_url: str,
    primary: OpenAIHTTPEmulator,
    deepgram: DeepgramEmulator,
    elevenlabs: ElevenLabsEmulator,
) -> None:
    elevenlabs.faults.stall = True  # handshake accepted, then no audio ever
    async with chains(db_url, primary, deepgram, elevenlabs) as (providers, state):
        # the session's default TTS conn options (10 s timeout) are capped by the chain
        stream_timeout = providers.tts._bounded(APIConnectOptions()).timeout  # type: ignore[attr-defined]
        frames, first_audio, failed = await synthesize(providers.tts, REPLY)
    report("TTS ElevenLabs stall before a reply (time to first audio)", first_audio)
    assert stream_timeout == 1.0
    assert not failed and seconds(frames) >= 0.9 * 0.06 * len(REPLY)
    assert len(primary.requests_for("/audio/speech")) == 1
    [switch] = state.provider_switches
    assert switch.kind == "tts" and switch.to_provider.endswith("/gpt-4o-mini-tts")
