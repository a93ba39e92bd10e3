"""Puts one call together, from answer to record. The worker, the terminal console, the
tests and the benchmarks all build their calls here, so there is one wiring of a call:

```
start_call(settings, db, call, providers, vad)
  deps      = call_deps(...)            escalation (escalation/wiring.py), account access
                                        (accounts.py), the phase agents (agents/catalog.py)
  state     = new_call_state(...)       CallState, caller identified by number
  session   = build_session(...)        AgentSession[CallState] on the call's providers
  behaviours, one line each             transcript, call metrics, timers, provider
                                        switches, realtime rescue, call record (behaviours/),
                                        live board (live/publisher.py)
  record opened, session started on the greeting agent
```

`Call` is what the caller of `start_call` holds: the session, the state and the behaviours,
and `wait_closed()` for the record to be written after the session ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livekit.agents import AgentSession, room_io
from livekit.agents import vad as vad_mod
from livekit.agents.types import NOT_GIVEN
from livekit.agents.voice.turn import TurnHandlingOptions

from callcenter import end_of_turn
from callcenter.accounts import DatabaseAccounts
from callcenter.agents.catalog import CATALOG
from callcenter.agents.greeting import GreetingAgent
from callcenter.barge_in import PHONE_AEC_WARMUP_S
from callcenter.behaviours.call_metrics import CallMetrics
from callcenter.behaviours.call_record import CallRecorder
from callcenter.behaviours.provider_switches import ProviderSwitches
from callcenter.behaviours.realtime_rescue import RealtimeRescue
from callcenter.behaviours.timers import CallTimers
from callcenter.behaviours.transcript import Transcript
from callcenter.config import Settings
from callcenter.core.ports import (
    AccountAccess,
    AccountsUnavailable,
    CallDeps,
    CallerMatch,
    EscalationPort,
)
from callcenter.core.state import CallState, VerificationState
from callcenter.data import AccountLockouts, CallRecordStore, Database, Journal
from callcenter.escalation.wiring import build_escalation
from callcenter.framework import tool_schemas
from callcenter.live.bus import live_bus
from callcenter.live.publisher import LivePublisher
from callcenter.providers import Providers
from callcenter.telephony.sip import CallInfo
from callcenter.turn_taking import telephony_turn_handling

logger = logging.getLogger("callcenter.call")

MAX_TOOL_STEPS = 4
"""Tool calls the model may chain in one turn before it must answer."""


@dataclass
class Call:
    """One running call: its session, its state, and the behaviours attached to it."""

    session: AgentSession[CallState]
    state: CallState
    transcript: Transcript
    timers: CallTimers
    record: CallRecorder

    @property
    def closed(self) -> asyncio.Event:
        """Set once the session has closed and the record's write has begun."""
        return self.record.closed

    async def wait_closed(self) -> None:
        """Until the call record is written (after the session closed)."""
        await self.record.wait_closed()


def call_deps(
    settings: Settings,
    db: Database,
    *,
    escalation: EscalationPort | None = None,
    greeting_model: Any = None,
) -> CallDeps:
    """The services of one call: escalation (the production wiring unless given), account
    access over `db` (with the lockout policy from the settings), and the phase agents."""
    return CallDeps(
        settings=settings,
        escalation=escalation if escalation is not None else build_escalation(settings, db),
        accounts=account_access(settings, db),
        agents=CATALOG,
        greeting_model=greeting_model,
    )


def account_access(settings: Settings, db: Database) -> DatabaseAccounts:
    """Account access over `db`, with the lockout policy and the database timeout."""
    lockouts = AccountLockouts(
        db,
        failures=settings.lockout_failures,
        window=dt.timedelta(hours=settings.lockout_window_hours),
    )
    return DatabaseAccounts(db, lockouts, timeout_s=settings.database_timeout_s)


async def identify_caller(accounts: AccountAccess, call: CallInfo) -> CallerMatch | None:
    """The customer whose number matches the caller ID (not yet verified), if any.
    Raises `AccountsUnavailable` when the database cannot say."""
    if call.caller_e164 is None:
        return None
    return await accounts.identify(call.caller_e164)


async def new_call_state(call: CallInfo, deps: CallDeps) -> CallState:
    """A fresh state for `call`: caller identified by number, the verification budget from
    the settings. With the database unreachable the call still starts, without account
    services (the caller is offered a person or a callback)."""
    try:
        caller = await identify_caller(deps.accounts, call)
        available = True
    except AccountsUnavailable:
        logger.warning(
            "account services unavailable at call start", extra={"call_id": call.call_id}
        )
        caller, available = None, False
    return CallState(
        call=call,
        deps=deps,
        caller=caller,
        verification=VerificationState(max_attempts=deps.settings.verification_max_attempts),
        accounts_available=available,
    )


def build_session(
    settings: Settings,
    providers: Providers,
    *,
    vad: vad_mod.VAD | None,
    state: CallState | None = None,
    turn_handling: TurnHandlingOptions | None = None,
) -> AgentSession[CallState]:
    """The session: pipeline models, telephony turn-taking (inactivity is `CallTimers`').

    `state` is the call's userdata (a benchmark drives a bare session without one);
    `turn_handling` replaces the telephony turn-taking (benchmarks compare settings)."""
    # every agent's tool schemas are built once per process, not on every model request
    # (7-10 ms per request for a specialist; see callcenter/framework/tool_schemas.py)
    tool_schemas.install()
    session = AgentSession[CallState](
        userdata=state if state is not None else NOT_GIVEN,
        llm=providers.llm,
        stt=providers.stt if providers.stt is not None else NOT_GIVEN,
        tts=providers.tts if providers.tts is not None else NOT_GIVEN,
        vad=vad if vad is not None else NOT_GIVEN,
        user_away_timeout=None,  # silence is `CallTimers`' (behaviours/timers.py)
        aec_warmup_duration=(
            PHONE_AEC_WARMUP_S if state is not None and state.call.is_sip else NOT_GIVEN
        ),
        max_tool_steps=MAX_TOOL_STEPS,
        turn_handling=turn_handling or telephony_turn_handling(has_stt=providers.stt is not None),
    )
    end_of_turn.attach(session)  # the turn detector asks the current agent what it expects
    return session


async def start_call(
    *,
    settings: Settings,
    db: Database,
    call: CallInfo,
    providers: Providers,
    vad: vad_mod.VAD | None,
    escalation: EscalationPort | None = None,
    room: Any = None,
    room_options: room_io.RoomOptions | None = None,
    before_start: Callable[[AgentSession[CallState]], None] | None = None,
) -> Call:
    """Identify the caller, open the record, and start the session on the greeting agent."""
    deps = call_deps(settings, db, escalation=escalation, greeting_model=providers.realtime)
    state = await new_call_state(call, deps)
    transcript = Transcript(state)
    numbers = CallMetrics()
    record = CallRecorder(
        state,
        CallRecordStore(db),
        transcript,
        journal=Journal(settings.journal_dir),
        db=db,
        metrics=numbers,
    )
    await record.open()

    session = build_session(settings, providers, vad=vad, state=state)
    transcript.attach(session)
    numbers.attach(session)
    timers = CallTimers(session, state).attach()
    ProviderSwitches(state).attach(providers)
    RealtimeRescue(session, state).attach(providers)
    record.attach(session)
    # the console's live board (callcenter/live), announced on Redis when configured
    LivePublisher(db, state, bus=live_bus(settings)).attach(session)

    logger.info(
        "call started",
        extra={
            "call_id": call.call_id,
            "sip": call.is_sip,
            "known_caller": state.caller is not None,
            "accounts_available": state.accounts_available,
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
    return Call(session=session, state=state, transcript=transcript, timers=timers, record=record)
