"""Barge-in on a phone call, at audio level (`callcenter.barge_in`).

The product's call (`start_call`: greeting agent on the pipeline, real Silero VAD at
8 kHz, the product's turn-taking) with its providers pointed at emulators; the agent says
a long line and the caller's audio (committed fixtures) is fed while it plays, in real
time, as it would arrive over the agent on a phone line. The handset output pauses and
resumes like LiveKit's room output.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callcenter.barge_in import INTERRUPTION, is_backchannel
from callcenter.config import Settings
from tests.fallbacks.support import MAYA, emulator_settings
from tests.support.audio import load_frames
from tests.support.emulators import (
    ChatRequest,
    DeepgramEmulator,
    ElevenLabsEmulator,
    OpenAIHTTPEmulator,
)
from tests.support.phone import PhoneCall, phone_call

RATE = 8000
LONG_LINE = (
    "Thanks for calling. Your order one zero zero one shipped on Monday with UPS, it is in "
    "transit, and it should arrive by Thursday afternoon at the address on your account."
)
"""~6 s at the TTS emulator's 40 ms a character: time for the caller to talk over it."""
ANSWER = "Sure, let me help with that."


Emulators = tuple[OpenAIHTTPEmulator, DeepgramEmulator, ElevenLabsEmulator]


@pytest.fixture
async def emulators() -> AsyncIterator[Emulators]:
    async with (
        OpenAIHTTPEmulator() as chat,
        # the client's own endpointing (our 100 ms), as Deepgram does
        DeepgramEmulator(end_silence_ms=None) as deepgram,
        ElevenLabsEmulator(first_audio_latency=0.15, ms_per_char=40) as eleven,
    ):
        chat.chat.responder = _responder
        yield chat, deepgram, eleven


def _responder(req: ChatRequest) -> str:
    # the greeting is the long line; any caller turn gets a short answer
    return ANSWER if req.last_message.get("role") == "user" else LONG_LINE


async def _greeting_playing(call: PhoneCall) -> None:
    segment = await call.ear.wait_playing(after=0)
    while segment.heard < 1.0:  # a second into the greeting
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_caller_talking_over_the_greeting_stops_it_and_is_answered(
    db_url: str, emulators: Emulators
) -> None:
    """On a SIP call there is no AEC warm-up: the caller is heard from the agent's first
    word. LiveKit's default for inbound SIP would drop the caller's audio for 3 s."""
    deepgram = emulators[1]
    deepgram.transcripts.append("I want to check on my order")
    async with phone_call(_settings(db_url, emulators), caller=MAYA, sip=True) as call:
        assert call.session.options.aec_warmup_duration is None
        await _greeting_playing(call)
        call.mic.say(load_frames("check_order.wav", sample_rate=RATE))
        await asyncio.wait_for(call.mic.spoken.wait(), 10)
        answer = await call.ear.wait_playing(after=1)
        await call.ear.wait_quiet()

    greeting = call.ear.segments[0]
    assert greeting.interrupted  # the caller was heard over it
    assert greeting.heard < greeting.seconds - 1.0  # it stopped early, not at its end
    assert greeting.finished is not None and greeting.finished < call.mic.ended_at
    assert call.user_lines() == ["I want to check on my order"]
    assert answer.started > call.mic.ended_at and not answer.interrupted


@pytest.mark.slow
async def test_without_the_phone_setting_the_framework_would_not_hear_the_caller(
    db_url: str, emulators: Emulators
) -> None:
    """Why `PHONE_AEC_WARMUP_S` exists: with LiveKit's default warm-up (3 s, what a non-SIP
    call keeps) the same words over the greeting reach the STT as silence."""
    deepgram = emulators[1]
    deepgram.transcripts.append("I want to check on my order")
    async with phone_call(_settings(db_url, emulators), caller=MAYA, sip=False) as call:
        assert call.session.options.aec_warmup_duration == 3.0
        await _greeting_playing(call)
        call.mic.say(load_frames("check_order.wav", sample_rate=RATE))
        await asyncio.wait_for(call.mic.spoken.wait(), 10)
        await call.ear.wait_quiet()
    assert not call.ear.segments[0].interrupted
    assert deepgram.utterances == [] and call.user_lines() == []


@pytest.mark.slow
async def test_a_single_word_still_stops_the_agent(db_url: str, emulators: Emulators) -> None:
    """`min_words=1` ignores noise, not words: "wait" alone stops the agent."""
    deepgram = emulators[1]
    deepgram.transcripts.append("wait")
    async with phone_call(_settings(db_url, emulators), caller=MAYA) as call:
        await _greeting_playing(call)
        call.mic.say(load_frames("wait.wav", sample_rate=RATE))
        await asyncio.wait_for(call.mic.spoken.wait(), 10)
        await call.ear.wait_playing(after=1)
        await call.ear.wait_quiet()
    assert INTERRUPTION["min_words"] == 1
    assert call.ear.segments[0].interrupted
    assert call.user_lines() == ["wait"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fixture", "said"), [("uh_huh.wav", "uh-huh"), ("okay.wav", "Okay."), ("right.wav", "right")]
)
async def test_a_backchannel_over_the_agent_does_not_stop_it(
    db_url: str,
    emulators: Emulators,
    fixture: str,
    said: str,
) -> None:
    chat, deepgram, _ = emulators
    deepgram.transcripts.append(said)
    assert is_backchannel(said)
    async with phone_call(_settings(db_url, emulators), caller=MAYA) as call:
        await _greeting_playing(call)
        call.mic.say(load_frames(fixture, sample_rate=RATE))
        await asyncio.wait_for(call.mic.spoken.wait(), 10)
        await call.ear.wait_quiet()
        await asyncio.sleep(1.5)  # anything the backchannel set off would have happened
        requests = len(chat.chat.requests)

    greeting = call.ear.segments[0]
    assert deepgram.utterances == [said]  # it was heard and transcribed...
    assert not greeting.interrupted and greeting.heard == pytest.approx(greeting.seconds)
    assert greeting.paused_for == 0.0  # ...and the agent did not even pause
    assert len(call.ear.segments) == 1  # no answer to it
    assert call.user_lines() == []
    assert requests == 1  # the greeting only


def _settings(db_url: str, emulators: Emulators) -> Settings:
    chat, deepgram, eleven = emulators
    return emulator_settings(
        db_url,
        openai_url=chat.base_url,
        deepgram_url=deepgram.base_url,
        elevenlabs_url=eleven.base_url,
    )
