"""Shared values and fakes for the escalation tests (fixtures are in conftest.py).

The Twirp side is real: `EscalationManager` builds its default `LiveKitTransfers` over
`get_job_context().api` (the real `livekit-api` client), pointed by LIVEKIT_URL at the
emulator. Only the media (hold audio, the briefing conversation) is faked, because it
needs a LiveKit SFU.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.ports import CallDeps, CallerMatch
from callcenter.core.state import CallState
from callcenter.escalation.roster import Supervisor
from callcenter.escalation.warm import BriefingResult, ConsultDecision
from callcenter.telephony.sip import CallInfo
from callcenter.vocabulary import Intent
from tests.support.call_states import walk_to

TRUNK_ID = "ST_outbound_test"
CALLER_ROOM = "call-_14155550142-abc"
CALLER_IDENTITY = "sip_+14155550142"
CALLER_TRACK = "TR_caller_audio"
MONDAY_10AM_LA = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
"""Monday 10:00 in Los Angeles, 13:00 in New York: inside every default window."""
SUNDAY_10AM_LA = dt.datetime(2026, 11, 22, 18, 0, tzinfo=dt.UTC)

WEEKDAYS_9_17 = "mon-fri 09:00-17:00"


def sup(name: str, contact: str, skills: list[str], **kw: Any) -> Supervisor:
    return Supervisor.create(
        name=name,
        contact=contact,
        skills=skills,
        timezone=kw.pop("timezone", "America/Los_Angeles"),
        working_hours=kw.pop("working_hours", WEEKDAYS_9_17),
        **kw,
    )


ALEX = sup("Alex Rivera", "+14155550100", ["general"], priority=10)
PRIYA = sup("Priya Shah", "sip:billing-lead@pbx.example.com", ["billing"], priority=10)
OMAR = sup("Omar Haddad", "+14155550111", ["orders"], priority=20)
CARLA = sup("Carla Diaz", "+14155550122", ["orders"], priority=30)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "LIVEKIT_SIP_OUTBOUND_TRUNK": TRUNK_ID,
        "LIVEKIT_SIP_NUMBER": "+14155550199",
        "CALLCENTER_RINGING_TIMEOUT_S": 20,
        "CALLCENTER_MAX_TRANSFER_ATTEMPTS": 2,
        "CALLCENTER_BUSINESS_HOURS": "mon-fri 08:00-18:00",
        "CALLCENTER_BUSINESS_TIMEZONE": "America/Los_Angeles",
        "CALLCENTER_MERGE_MODE": "cloud",
        "CALLCENTER_TRANSFER_MODE": "warm",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# ----------------------------------------------------------------------------- fakes


@dataclass
class FakeLine:
    """The caller's side: records what the caller heard and the hold state."""

    events: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def said(self) -> list[str]:
        return [v for k, v in self.events if k == "say"]

    async def start_hold(self) -> None:
        self.events.append(("hold", True))

    async def stop_hold(self) -> None:
        self.events.append(("hold", False))

    async def say(self, text: str) -> None:
        self.events.append(("say", text))

    async def publish_only_to(self, identity: str | None) -> None:
        self.events.append(("publish_only_to", identity))


Decision = BriefingResult | Callable[[], Any]


@dataclass
class FakeLeg:
    script: Decision
    told: list[str] = field(default_factory=list)
    closed: bool = False

    async def brief(self) -> BriefingResult:
        if isinstance(self.script, BriefingResult):
            return self.script
        result = self.script()
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, BriefingResult)
        return result

    async def tell_supervisor(self, text: str) -> None:
        self.told.append(text)

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class FakeConsult:
    """Opens one `FakeLeg` per answered supervisor, following `decisions` in order."""

    decisions: list[Decision] = field(default_factory=list)
    opened: list[dict[str, str]] = field(default_factory=list)
    legs: list[FakeLeg] = field(default_factory=list)
    fail_with: Exception | None = None

    async def open(
        self, *, room: str, supervisor_identity: str, caller_identity: str, briefing: str
    ) -> FakeLeg:
        self.opened.append(
            {
                "room": room,
                "identity": supervisor_identity,
                "caller": caller_identity,
                "briefing": briefing,
            }
        )
        if self.fail_with is not None:
            raise self.fail_with
        leg = FakeLeg(self.decisions.pop(0) if self.decisions else CONNECT)
        self.legs.append(leg)
        return leg


CONNECT = BriefingResult(ConsultDecision.CONNECT)
DECLINE = BriefingResult(ConsultDecision.DECLINE, "in a meeting")
VOICEMAIL = BriefingResult(ConsultDecision.VOICEMAIL)
HUNG_UP = BriefingResult(ConsultDecision.HUNG_UP, "supervisor hung up")


@dataclass
class FakeSession:
    history: Any = None


@dataclass
class FakeCtx:
    """The parts of `RunContext` the manager uses."""

    userdata: CallState
    session: FakeSession = field(default_factory=FakeSession)


def make_state(
    *,
    is_sip: bool = True,
    in_room: bool = True,
    intent: Intent | None = "orders",
    verified: bool = True,
    caller_e164: str | None = "+14155550142",
    deps: CallDeps | None = None,
) -> CallState:
    call = CallInfo(
        call_id="SCL_call_1",
        room_name=CALLER_ROOM,
        participant_identity=CALLER_IDENTITY,
        is_sip=is_sip,
        caller_e164=caller_e164,
        in_room=in_room,
    )
    state = CallState(
        call=call,
        deps=deps,  # type: ignore[arg-type]  # the manager never reads the deps
        caller=CallerMatch(customer_id=1, first_name="Dana"),
    )
    # reach the phase a caller with `intent` is in, by the moves a call makes
    if verified and intent in ("orders", "billing"):
        walk_to(state, Phase.ORDERS if intent == "orders" else Phase.BILLING)
    elif verified:
        walk_to(state, Phase.GREETING, verified=True)
    elif intent is not None:
        walk_to(state, Phase.VERIFICATION, intent=intent)
    state.note("looked up order 1002")
    return state
