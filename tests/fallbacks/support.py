"""Shared helpers for the fallback tests: a chat responder that plays the model through the
product's flows, settings aimed at the emulators, and a text-mode call harness."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.testing import fake_job_context

from callcenter.call import Call, start_call
from callcenter.config import Settings, load_settings
from callcenter.core.state import CallState
from callcenter.data import CallRecordStore, Database
from callcenter.providers import Providers, build_providers
from callcenter.speech import digits_in
from callcenter.telephony.sip import CallInfo
from tests.support.emulators import ChatReply, ChatRequest, ToolCall

MAYA = "+14155550142"
PRIMARY_MODEL = "primary-model"
FALLBACK_MODEL = "fallback-model"


def flow_responder(tag: str) -> Any:
    """A chat `responder` that drives greeting → verification → orders like a model would.

    Every text reply starts with `tag`, so a test can tell which endpoint answered.
    """

    def respond(req: ChatRequest) -> Any:
        tools = set(req.tool_names)
        output = req.last_tool_output
        if output is not None:
            return ChatReply(text=f"{tag}: {output[:160]}")
        if req.last_message.get("role") != "user":
            return ChatReply(text=f"{tag}: thanks for calling, how can I help?")
        said = req.last_user_text.lower()
        digits = digits_in(said)
        if "check_zip_code" in tools and len(digits) == 5:
            return ToolCall("check_zip_code", {"zip_code": digits})
        if "lookup_order" in tools and digits:
            return ToolCall("lookup_order", {"order_number": digits})
        if "route_to_orders" in tools and ("order" in said or "package" in said):
            return ToolCall("route_to_orders", {})
        if "route_to_billing" in tools and "bill" in said:
            return ToolCall("route_to_billing", {})
        return ChatReply(text=f"{tag}: could you tell me more?")

    return respond


def emulator_settings(
    db_url: str,
    *,
    openai_url: str,
    fallback_url: str | None = None,
    deepgram_url: str | None = None,
    elevenlabs_url: str | None = None,
    timeout_s: float = 1.0,
    **extra: Any,
) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "CALLCENTER_PROVIDER_MODE": "auto",
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": openai_url,
        "OPENAI_LLM_MODEL": PRIMARY_MODEL,
        "OPENAI_LLM_FALLBACK_MODEL": FALLBACK_MODEL,
        "CALLCENTER_PROVIDER_TIMEOUT_S": str(timeout_s),
        "DATABASE_URL": db_url,
    }
    if fallback_url is not None:
        values["OPENAI_FALLBACK_BASE_URL"] = fallback_url
    if deepgram_url is not None:
        values["DEEPGRAM_API_KEY"] = "test"
        values["DEEPGRAM_BASE_URL"] = deepgram_url
    if elevenlabs_url is not None:
        values["ELEVEN_API_KEY"] = "test"
        values["ELEVENLABS_BASE_URL"] = elevenlabs_url
    values.update(extra)
    return load_settings(**values)


def load_vad() -> Any:
    from livekit.plugins import silero

    return silero.VAD.load()


@dataclass
class TextCall:
    session: AgentSession[CallState]
    state: CallState
    lifecycle: Call
    db: Database
    call_id: str
    started: float
    """`time.perf_counter()` when the call was answered (before `start_call`)."""

    def agent_lines(self) -> list[str]:
        from livekit.agents.llm import ChatMessage

        return [
            m.text_content or ""
            for m in self.session.history.items
            if isinstance(m, ChatMessage) and m.role == "assistant"
        ]

    async def first_agent_line(self, prefix: str = "", timeout: float = 10.0) -> tuple[str, float]:
        """The first agent line starting with `prefix`, and seconds from answering the call.

        Also waits for the agent to finish that turn (so the caller speaks after it)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            lines = [line for line in self.agent_lines() if line and line.startswith(prefix)]
            if lines:
                found = time.perf_counter() - self.started
                while time.perf_counter() < deadline and self.session.agent_state not in (
                    "listening",
                    "idle",
                ):
                    await asyncio.sleep(0.02)
                return lines[0], found
            await asyncio.sleep(0.02)
        raise AssertionError(f"the agent said nothing starting {prefix!r} within {timeout} s")

    async def say(self, text: str) -> tuple[str, float]:
        """One caller turn; (all assistant text of the turn, seconds until it finished)."""
        started = time.perf_counter()
        result = await self.session.run(user_input=text)
        elapsed = time.perf_counter() - started
        return assistant_text(result), elapsed

    async def record(self) -> dict[str, Any]:
        if not self.lifecycle.closed.is_set():
            await self.session.aclose()
        await self.lifecycle.wait_closed()
        rec = await CallRecordStore(self.db).get(self.call_id)
        assert rec is not None
        return rec.to_dict()


def assistant_text(result: Any) -> str:
    from livekit.agents.llm import ChatMessage

    parts = []
    for ev in result.events:
        item = getattr(ev, "item", None)
        if isinstance(item, ChatMessage) and item.role == "assistant" and item.text_content:
            parts.append(item.text_content)
    return " ".join(parts)


@asynccontextmanager
async def text_call(
    settings: Settings,
    *,
    providers: Providers | None = None,
    caller: str = MAYA,
    realtime: bool = False,
) -> AsyncIterator[TextCall]:
    """A whole call in text mode (no STT/TTS; realtime greeting only when `realtime`)."""
    db = await Database.open(settings.database_url)
    try:
        if providers is None:
            providers = build_providers(settings, vad=load_vad())
        providers = replace(
            providers, realtime=providers.realtime if realtime else None, stt=None, tts=None
        )
        call = CallInfo.for_console(caller_e164=caller, call_id=f"fb-{uuid.uuid4().hex[:8]}")
        started = time.perf_counter()
        with fake_job_context(room=rtc.Room()):
            running = await start_call(
                settings=settings,
                db=db,
                call=call,
                providers=providers,
                vad=None,
            )
            session, state, lifecycle = running.session, running.state, running
            tc = TextCall(session, state, lifecycle, db, call.call_id, started)
            try:
                yield tc
            finally:
                if not lifecycle.closed.is_set():
                    await session.aclose()
                await lifecycle.wait_closed()
    finally:
        await db.close()
