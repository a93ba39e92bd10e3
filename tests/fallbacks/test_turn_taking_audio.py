"""Callers who pause are not cut off, at audio level (`callcenter.end_of_turn`).

The product's SIP call (greeting on the pipeline, verification task, real Silero VAD at
8 kHz) hears two turn-taking fixtures with pauses inside them: "um … I was wondering if you
could check my delivery" (900 ms after "um") and a ZIP code read "nine four one … zero
seven" (900 ms) while verification expects an identity factor, then "no … one zero zero
two" (900 ms after a bare "no", held a beat) while the orders agent expects an order
number. Each must reach the model as one turn. The previous release (Silero alone)
committed "um" and "nine four one" on their own, and a detector without the beat commits
the bare "no": `python -m benchmarks --only turns` measures them on the whole set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callcenter.end_of_turn import IDENTITY_FACTOR, ORDER_NUMBER
from callcenter.speech import digits_in
from tests.fallbacks.support import MAYA, emulator_settings
from tests.support.emulators import (
    ChatReply,
    ChatRequest,
    DeepgramEmulator,
    ElevenLabsEmulator,
    OpenAIHTTPEmulator,
    ToolCall,
)
from tests.support.phone import PhoneCall, phone_call
from tests.support.turn_fixtures import utterance

RATE = 8000
ENDPOINT_RMS = 150.0  # the STT emulator's threshold the fixtures are checked against


def respond(req: ChatRequest) -> object:
    tools = set(req.tool_names)
    if req.last_tool_output is not None:
        return ChatReply(text=f"OK: {req.last_tool_output[:80]}")
    if req.last_message.get("role") != "user":
        return "Thanks for calling, how can I help?"
    said = req.last_user_text.lower()
    if "route_to_orders" in tools and ("delivery" in said or "order" in said):
        return ToolCall("route_to_orders", {})
    if "check_zip_code" in tools and len(digits_in(said)) == 5:
        return ToolCall("check_zip_code", {"zip_code": digits_in(said)})
    return "Could you say that again?"


@pytest.fixture
async def emulators() -> AsyncIterator[tuple[OpenAIHTTPEmulator, DeepgramEmulator, str]]:
    async with (
        OpenAIHTTPEmulator() as chat,
        DeepgramEmulator(end_silence_ms=None, vad_threshold=ENDPOINT_RMS) as deepgram,
        ElevenLabsEmulator(first_audio_latency=0.15, ms_per_char=20) as eleven,
    ):
        chat.chat.responder = respond
        yield chat, deepgram, eleven.base_url


async def say(call: PhoneCall, name: str, deepgram: DeepgramEmulator) -> None:
    """The caller says fixture `name` (each of its segments is one STT utterance) and the
    agent answers it."""
    utt = utterance(name)
    deepgram.transcripts.extend(s.text for s in utt.segments)
    before = len(call.ear.segments)
    call.mic.say(utt.frames(sample_rate=RATE, frame_ms=20))
    await asyncio.wait_for(call.mic.spoken.wait(), 15)
    await call.ear.wait_playing(after=before)
    await call.ear.wait_quiet()


@pytest.mark.slow
async def test_paused_turns_reach_the_model_whole(
    db_url: str, emulators: tuple[OpenAIHTTPEmulator, DeepgramEmulator, str]
) -> None:
    chat, deepgram, eleven_url = emulators
    settings = emulator_settings(
        db_url,
        openai_url=chat.base_url,
        deepgram_url=deepgram.base_url,
        elevenlabs_url=eleven_url,
    )
    async with phone_call(settings, caller=MAYA) as call:
        await call.ear.wait_playing(after=0)
        await call.ear.wait_quiet()  # the greeting
        await say(call, "s12", deepgram)  # "um" … "I was wondering if you could check …"
        assert utterance("h03").expecting is IDENTITY_FACTOR
        await say(call, "h03", deepgram)  # "nine four one" … "zero seven"
        verified = call.state.verified
        assert utterance("h11").expecting is ORDER_NUMBER
        await say(call, "h11", deepgram)  # "no" … "one zero zero two": held a beat

    assert deepgram.utterances == [
        "um",
        "I was wondering if you could check my delivery",
        "nine four one",
        "zero seven",
        "no",
        "one zero zero two",
    ]
    assert call.user_lines() == [
        "um I was wondering if you could check my delivery",
        "nine four one zero seven",
        "no one zero zero two",
    ]
    assert verified
