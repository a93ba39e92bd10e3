"""One call from answer to record: shared by the worker and the terminal console.

`start_call()` identifies the caller by number, opens the call record, builds the
`AgentSession[CallState]` on the call's providers and starts the greeting agent.
`CallLifecycle` owns what happens around the conversation: the transcript (redacted),
inactivity prompts, the maximum call duration, provider switches, and closing the
call record exactly once when the session ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession, llm, room_io
from livekit.agents import vad as vad_mod
from livekit.agents.types import NOT_GIVEN
from livekit.agents.voice.events import (
    CloseEvent,
    ConversationItemAddedEvent,
    UserStateChangedEvent,
)

from callcenter.agents.greeting import GreetingAgent
from callcenter.config import Settings
from callcenter.data import CallRecordStore, CustomerDirectory
from callcenter.data.database import Database
from callcenter.escalation.service import EscalationService
from callcenter.phases import Phase
from callcenter.providers import Providers, provider_name
from callcenter.redaction import redact
from callcenter.state import (
    CallDeps,
    CallerMatch,
    CallOutcome,
    CallState,
    ProviderSwitch,
)
from callcenter.telephony.sip import CallInfo
from callcenter.turn_taking import telephony_turn_handling

logger = logging.getLogger("callcenter.call")

INACTIVITY_PROMPTS = 1
"""How many "are you still there?" prompts before a silent call is ended."""


@dataclass
class TranscriptLine:
    role: str
    text: str
    phase: str
    at: float = field(default_factory=time.time)


async def identify_caller(db: Database, call: CallInfo) -> CallerMatch | None:
    """The customer whose number matches the caller ID (not yet verified), if any."""
    if call.caller_e164 is None:
        return None
    summary = await CustomerDirectory(db).find_by_phone(call.caller_e164)
    if summary is None:
        return None
    return CallerMatch(customer_id=summary.id, first_name=summary.first_name)


def build_session(
    state: CallState, providers: Providers, *, vad: vad_mod.VAD | None
) -> AgentSession[CallState]:
    """The session: pipeline models, telephony turn-taking, inactivity timeout."""
    settings = state.deps.settings
    return AgentSession[CallState](
        userdata=state,
        llm=providers.llm,
        stt=providers.stt if providers.stt is not None else NOT_GIVEN,
        tts=providers.tts if providers.tts is not None else NOT_GIVEN,
        vad=vad if vad is not None else NOT_GIVEN,
        user_away_timeout=settings.inactivity_timeout_s,
        max_tool_steps=4,
        turn_handling=telephony_turn_handling(has_stt=providers.stt is not None),
    )


class CallLifecycle:
    """Transcript, timers, provider switches and the call record for one session."""

    def __init__(self, session: AgentSession[CallState], state: CallState, db: Database) -> None:
        self.session = session
        self.state = state
        self.records = CallRecordStore(db)
        self.transcript: list[TranscriptLine] = []
        self.closed = asyncio.Event()
        self._away_prompts = 0
        self._timers: list[asyncio.Task[None]] = []
        self._record_task: asyncio.Task[None] | None = None

    def attach(self, providers: Providers) -> None:
        self.session.on("conversation_item_added", self._on_item)
        self.session.on("user_state_changed", self._on_user_state)
        self.session.on("close", self._on_close)
        self._watch_fallbacks(providers)
        if providers.realtime is not None:
            providers.realtime.on_exhausted = self.greeting_to_pipeline
        self._timers.append(asyncio.create_task(self._max_duration(), name="max-call-duration"))

    # --- transcript --------------------------------------------------------------------------
    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = item.text_content or ""
        if not text:
            return
        verifying = self.state.phase is Phase.VERIFICATION and item.role == "user"
        self.transcript.append(
            TranscriptLine(
                role="caller" if item.role == "user" else "agent",
                text=redact(text, secrets_phase=verifying),
                phase=self.state.phase.value,
            )
        )

    # --- inactivity and duration ------------------------------------------------------------
    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state != "away" or self.state.phase is Phase.ENDED:
            return
        if self._away_prompts < INACTIVITY_PROMPTS:
            self._away_prompts += 1
            self.session.say("Are you still there? I'm here whenever you're ready.")
            return
        self.end_politely(
            "I haven't heard from you, so I'll end the call now. Please call back anytime. "
            "Goodbye.",
            reason="inactivity",
        )

    async def _max_duration(self) -> None:
        await asyncio.sleep(self.state.deps.settings.max_call_duration_s)
        self.end_politely(
            "We've reached the maximum length for this call. Please call back if you need "
            "more help, or ask for a callback next time. Goodbye.",
            reason="maximum call duration",
        )

    def end_politely(self, goodbye: str, *, reason: str) -> None:
        """Say `goodbye`, record why, then hang up once it has been said."""
        if self.state.phase is Phase.ENDED:
            return
        self.state.end_reason = reason
        self.state.outcome = self.state.outcome or CallOutcome.ENDED
        self.state.transition(Phase.ENDED, reason=reason)
        handle = self.session.say(goodbye, allow_interruptions=False)
        handle.add_done_callback(lambda _: self.session.shutdown())

    # --- provider switches ----------------------------------------------------------------
    def _watch_fallbacks(self, providers: Providers) -> None:
        watched: tuple[tuple[str, Any, str, str, str], ...] = (
            ("llm", providers.llm, "llm_availability_changed", "llm", "_llm_instances"),
            ("stt", providers.stt, "stt_availability_changed", "stt", "_stt_instances"),
            ("tts", providers.tts, "tts_availability_changed", "tts", "_tts_instances"),
            (
                "realtime",
                providers.realtime,
                "realtime_availability_changed",
                "realtime_model",
                "_models",
            ),
        )
        for kind, component, event, attr, links in watched:
            if component is None or not hasattr(component, "on"):
                continue
            component.on(event, self._switch_recorder(kind, component, attr, links))

    def _switch_recorder(self, kind: Any, chain: Any, attr: str, links_attr: str) -> Any:
        """Record (and log, without PII) each link of `chain` that goes down or comes back.

        The framework's fallback adapters emit `<kind>_availability_changed` with the
        instance in `ev.<attr>`. The adapters try their links in order, so the provider
        taking over is the next link still marked available. (The realtime adapter keeps
        availability per session, so its next link is simply the next model.)
        """
        links: list[Any] = list(getattr(chain, links_attr, []) or [])
        statuses: list[Any] = list(getattr(chain, "_status", []) or [])

        def next_link(after: int) -> str:
            for index in range(after + 1, len(links)):
                if index >= len(statuses) or getattr(statuses[index], "available", True):
                    return provider_name(links[index])
            return "none (every link down)"

        def record(ev: Any) -> None:
            instance = getattr(ev, attr, None)
            label = provider_name(instance)
            if ev.available:
                logger.info(
                    "provider recovered",
                    extra={"call_id": self.state.call.call_id, "kind": kind, "provider": label},
                )
                return
            index = next((i for i, link in enumerate(links) if link is instance), len(links))
            to_provider = next_link(index)
            self.state.provider_switches.append(
                ProviderSwitch(
                    kind=kind, from_provider=label, to_provider=to_provider, reason="unavailable"
                )
            )
            logger.warning(
                "provider unavailable, falling back",
                extra={
                    "call_id": self.state.call.call_id,
                    "kind": kind,
                    "provider": label,
                    "to_provider": to_provider,
                },
            )

        return record

    def greeting_to_pipeline(self, error: llm.RealtimeModelError) -> None:
        """Every realtime model failed: the greeting agent continues on the pipeline."""
        from callcenter.handoff import spoken_history

        state = self.state
        state.deps.greeting_model = None
        state.provider_switches.append(
            ProviderSwitch(
                kind="greeting_to_pipeline",
                from_provider="realtime",
                to_provider="pipeline",
                reason=type(error.error).__name__,
            )
        )
        logger.warning(
            "realtime models down, greeting continues on the pipeline",
            extra={"call_id": state.call.call_id},
        )
        if isinstance(self.session.current_agent, GreetingAgent):
            self.session.update_agent(
                GreetingAgent(state, chat_ctx=spoken_history(self.session), resumed=True)
            )

    # --- end of call ------------------------------------------------------------------------
    def _on_close(self, ev: CloseEvent) -> None:
        for timer in self._timers:
            timer.cancel()
        if self.state.outcome is None:
            # nobody closed the call on purpose: the caller hung up (or the session failed)
            self.state.outcome = CallOutcome.FAILED if ev.error else CallOutcome.ABANDONED
            self.state.end_reason = self.state.end_reason or (
                "session error" if ev.error else "caller hung up"
            )
        if self.state.phase is not Phase.ENDED:
            self.state.transition(Phase.ENDED, reason=self.state.end_reason or "closed")
        self._record_task = asyncio.create_task(self.close_record())

    async def close_record(self) -> None:
        """Persist the final record (idempotent: the first close wins)."""
        if self.closed.is_set():
            return
        self.closed.set()
        state = self.state
        await self.records.close(
            state.call.call_id,
            outcome=state.outcome or CallOutcome.ENDED,
            transferred_to=state.transferred_to,
            data=state.record_data(),
            transcript=[
                {"role": t.role, "text": t.text, "phase": t.phase, "at": round(t.at, 3)}
                for t in self.transcript
            ],
            customer_id=state.verified_customer_id,
        )
        logger.info(
            "call record closed",
            extra={"call_id": state.call.call_id, "outcome": str(state.outcome)},
        )

    async def wait_closed(self) -> None:
        await self.closed.wait()
        if self._record_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._record_task


async def start_call(
    *,
    settings: Settings,
    db: Database,
    escalation: EscalationService,
    call: CallInfo,
    providers: Providers,
    vad: vad_mod.VAD | None,
    room: Any = None,
    room_options: room_io.RoomOptions | None = None,
    before_start: Callable[[AgentSession[CallState]], None] | None = None,
) -> tuple[AgentSession[CallState], CallState, CallLifecycle]:
    """Identify the caller, open the record, and start the session on the greeting agent."""
    caller = await identify_caller(db, call)
    await CallRecordStore(db).open(
        call.call_id, call.room_name, caller_e164=call.caller_e164, dialled_e164=call.dialled_e164
    )
    deps = CallDeps(
        settings=settings, db=db, escalation=escalation, greeting_model=providers.realtime
    )
    state = CallState(call=call, deps=deps, caller=caller)
    session = build_session(state, providers, vad=vad)
    lifecycle = CallLifecycle(session, state, db)
    lifecycle.attach(providers)
    logger.info(
        "call started",
        extra={
            "call_id": call.call_id,
            "sip": call.is_sip,
            "known_caller": caller is not None,
            "degraded": providers.degraded_only,
        },
    )
    if before_start is not None:
        before_start(session)
    kwargs: dict[str, Any] = {}
    if room is not None:
        kwargs["room"] = room
        if room_options is not None:
            kwargs["room_options"] = room_options
    await session.start(agent=GreetingAgent(state), **kwargs)
    return session, state, lifecycle
