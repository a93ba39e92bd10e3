"""Never a silence the caller has to fill (`callcenter.fillers`), through the emulators.

The product's session (`build_session` on `build_providers`: the OpenAI chat chain, the
Deepgram → OpenAI STT chain, the ElevenLabs → OpenAI TTS chain) in the orders phase for a
verified caller, the agent's audio played in real time on a handset. Stalls are injected
in the emulators: a slow model, a stalled model that the chain abandons for the fallback
model, a slow tool, a stalled OpenAI voice. Each test prints a `[silence]` line (longest
silence the caller heard), the figures quoted in docs/fallbacks.md; the assertions are on
what the caller hears and in which order, not on times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import AgentSession, APIConnectOptions, APITimeoutError, tts
from livekit.agents.testing import fake_job_context
from livekit.agents.utils import http_context

from callcenter.agents.orders import OrdersAgent
from callcenter.call import build_session
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import AccountRepository, Database
from callcenter.fillers import FILLER_AFTER_S, filler_lines
from callcenter.providers import build_providers
from callcenter.turn_taking import load_vad
from tests.callpath.helpers import FakeEscalation, make_state
from tests.fallbacks.support import (
    FALLBACK_MODEL,
    MAYA,
    PRIMARY_MODEL,
    emulator_settings,
)
from tests.support.emulators import (
    ChatReply,
    ChatRequest,
    ElevenLabsEmulator,
    OpenAIHTTPEmulator,
    ToolCall,
)
from tests.support.phone import PhoneEar

READ_BACK = "Order one zero zero one shipped with UPS and arrives Thursday."


def respond(req: ChatRequest) -> Any:
    tag = "FALLBACK" if req.model == FALLBACK_MODEL else "PRIMARY"
    if req.last_tool_output is not None:
        return ChatReply(text=f"{tag}: {READ_BACK}")
    if req.last_message.get("role") == "user" and "1001" in req.last_user_text:
        return ToolCall("lookup_order", {"order_number": "1001"})
    if req.last_message.get("role") == "user":
        return ChatReply(text=f"{tag}: Sure, what is the order number?")
    return ChatReply(text=f"{tag}: How can I help with your order?")


@dataclass
class Call:
    session: AgentSession[CallState]
    ear: PhoneEar
    eleven: ElevenLabsEmulator

    def spoken_after(self, index: int) -> list[str]:
        return [s.text.strip() for s in self.eleven.syntheses[index:]]

    def longest_silence(self, since: float) -> float:
        """Longest stretch after `since` with no agent audio playing (until the last
        segment started)."""
        gaps, cursor = [], since
        for seg in self.ear.segments:
            if seg.started < since:
                continue
            gaps.append(seg.started - cursor)
            cursor = seg.started + seg.heard + seg.paused_for
        return max(gaps) if gaps else float("inf")


@asynccontextmanager
async def orders_call(settings: Settings, eleven: ElevenLabsEmulator) -> AsyncIterator[Call]:
    """A verified caller in the orders phase, on the product's providers and session."""
    db = await Database.open(settings.database_url)
    try:
        state = await make_state(
            db, settings, FakeEscalation(), caller=MAYA, verified=True, phase=Phase.ORDERS
        )
        vad = load_vad()
        async with http_context.open():
            providers = replace(build_providers(settings, vad=vad), realtime=None)
            session = build_session(settings, providers, vad=vad, state=state)
            ear = PhoneEar()
            session.output.audio = ear
            with fake_job_context(room=rtc.Room()):
                await session.start(OrdersAgent(state))
                try:
                    await ear.wait_playing(after=0)
                    await ear.wait_quiet()  # the orders agent's opening line
                    yield Call(session, ear, eleven)
                finally:
                    await session.aclose()
    finally:
        await db.close()


def settings_for(
    db_url: str, chat: OpenAIHTTPEmulator, eleven: ElevenLabsEmulator, **kw: Any
) -> Settings:
    return emulator_settings(db_url, openai_url=chat.base_url, elevenlabs_url=eleven.base_url, **kw)


@pytest.fixture
async def emulators() -> AsyncIterator[tuple[OpenAIHTTPEmulator, ElevenLabsEmulator]]:
    async with (
        OpenAIHTTPEmulator() as chat,
        ElevenLabsEmulator(first_audio_latency=0.15, ms_per_char=30) as eleven,
    ):
        chat.chat.responder = respond
        yield chat, eleven


async def ask(call: Call, text: str) -> float:
    """The caller's turn (as text into the audio session); returns when it went in."""
    asked = time.perf_counter()
    call.session.generate_reply(user_input=text)
    return asked


async def answered(call: Call, containing: str, timeout: float = 15.0) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if any(containing in s for s in call.spoken_after(0)):
            await call.ear.wait_quiet()
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the agent never said {containing!r}: {call.spoken_after(0)}")


@pytest.mark.slow
async def test_slow_model_caller_hears_a_filler_then_the_answer(
    db_url: str, emulators: tuple[OpenAIHTTPEmulator, ElevenLabsEmulator]
) -> None:
    chat, eleven = emulators
    async with orders_call(settings_for(db_url, chat, eleven, timeout_s=4.0), eleven) as call:
        before = len(eleven.syntheses)
        chat.faults.first_byte_delay = 3.0  # the model takes 3 s to start answering
        asked = await ask(call, "can you help me")
        await answered(call, "what is the order number")
        spoken = call.spoken_after(before)
        silence = call.longest_silence(asked)
    print(f"\n[silence] slow model (3 s to first token): longest silence {silence:.2f} s")
    assert spoken[0] in filler_lines()  # the caller heard "one moment" first...
    assert spoken[-1] == "PRIMARY: Sure, what is the order number?"  # ...then the answer
    assert sum(s in filler_lines() for s in spoken) == 1


@pytest.mark.slow
async def test_stalled_model_filler_while_the_chain_switches_to_the_fallback(
    db_url: str, emulators: tuple[OpenAIHTTPEmulator, ElevenLabsEmulator]
) -> None:
    """The primary model never answers; after the 4 s attempt budget the fallback model
    does. Today's gap: no filler played during the stall."""
    chat, eleven = emulators
    async with orders_call(settings_for(db_url, chat, eleven, timeout_s=4.0), eleven) as call:
        before = len(eleven.syntheses)
        chat.faults.stall = True  # the request in flight now never gets an answer
        chat.faults.path_contains = "/chat/completions"
        asked = await ask(call, "can you help me")
        await asyncio.sleep(FILLER_AFTER_S + 0.5)
        assert chat.chat.requests[-1].model == PRIMARY_MODEL
        chat.faults.reset()  # the fallback model's request (after 4 s) is answered
        await answered(call, "what is the order number")
        spoken = call.spoken_after(before)
        silence = call.longest_silence(asked)
    print(f"\n[silence] stalled model, fallback after 4 s: longest silence {silence:.2f} s")
    fillers = [s for s in spoken if s in filler_lines()]
    assert spoken[0] in filler_lines() and len(fillers) >= 1
    assert len(set(fillers)) == len(fillers)  # varied: no line twice in one wait
    assert spoken[-1] == "FALLBACK: Sure, what is the order number?"


@pytest.mark.slow
async def test_slow_tool_caller_hears_a_filler_while_it_runs(
    db_url: str,
    emulators: tuple[OpenAIHTTPEmulator, ElevenLabsEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat, eleven = emulators
    looked_up: list[float] = []
    original = AccountRepository.get_order

    async def slow_get_order(self: AccountRepository, number: str) -> Any:
        await asyncio.sleep(3.0)  # a database having a bad moment
        looked_up.append(time.perf_counter())
        return await original(self, number)

    monkeypatch.setattr(AccountRepository, "get_order", slow_get_order)
    async with orders_call(settings_for(db_url, chat, eleven), eleven) as call:
        before = len(eleven.syntheses)
        asked = await ask(call, "where is order 1001")
        await answered(call, READ_BACK)
        spoken = call.spoken_after(before)
        filler_started = next(s.started for s in call.ear.segments if s.started > asked)
        silence = call.longest_silence(asked)
    print(f"\n[silence] 3 s tool: longest silence {silence:.2f} s")
    assert spoken[0] in filler_lines()
    assert filler_started < looked_up[0]  # heard while the tool was still running
    assert spoken[-1] == f"PRIMARY: {READ_BACK}"


async def test_openai_voice_that_stalls_fails_within_the_provider_timeout(
    db_url: str, emulators: tuple[OpenAIHTTPEmulator, ElevenLabsEmulator]
) -> None:
    """The OpenAI TTS plugin asks for a 30 s read timeout; the product's client caps it at
    `CALLCENTER_PROVIDER_TIMEOUT_S`, so a stalled voice fails (and the chain moves on)
    instead of keeping the caller in silence."""
    chat, _ = emulators
    settings = emulator_settings(db_url, openai_url=chat.base_url, timeout_s=1.0)
    chat.faults.stall = True
    chat.faults.path_contains = "/audio/speech"
    async with http_context.open():
        voice = build_providers(settings, vad=load_vad()).tts
        assert isinstance(voice, tts.TTS)
        started = time.perf_counter()
        with pytest.raises(APITimeoutError):
            # the guard only stops a hang: without the cap this waits 30 s and trips it
            async with asyncio.timeout(10):
                # one attempt, as the TTS chain makes it (`BudgetedTTSFallback`)
                once = APIConnectOptions(max_retry=0, timeout=settings.provider_timeout_s)
                await voice.synthesize("Hello there.", conn_options=once).collect()
        elapsed = time.perf_counter() - started
    print(f"\n[silence] stalled OpenAI TTS gave up after {elapsed:.2f} s (T = 1 s)")
