"""Fixtures for the escalation tests: LiveKit emulator, fake job context, fakes for media.

The Twirp side is real: `EscalationManager` builds its default `LiveKitTransfers` over
`get_job_context().api` (the real `livekit-api` client), pointed by LIVEKIT_URL at the
emulator. Only the media (hold audio, the briefing conversation) is faked, because it
needs a LiveKit SFU.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from livekit import api, rtc
from livekit.agents.testing import fake_job_context
from livekit.agents.utils import http_context
from livekit.protocol.models import TrackInfo, TrackType

from callcenter.data import Database
from callcenter.escalation.attempts import HoldState
from callcenter.escalation.manager import EscalationManager
from callcenter.escalation.roster import StaticDirectory, Supervisor
from callcenter.escalation.wiring import build_escalation
from tests.escalation.helpers import (
    ALEX,
    CALLER_IDENTITY,
    CALLER_ROOM,
    CALLER_TRACK,
    MONDAY_10AM_LA,
    OMAR,
    TRUNK_ID,
    FakeConsult,
    FakeCtx,
    FakeLine,
    make_settings,
    make_state,
)
from tests.support.db import open_test_database
from tests.support.emulators.livekit import LiveKitEmulator

# ----------------------------------------------------------------------------- fixtures


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_test_database("sqlite", tmp_path) as database:
        yield database


@pytest.fixture
def server(livekit_server: LiveKitEmulator) -> LiveKitEmulator:
    """The emulator with an outbound trunk and the caller (publishing audio) in its room."""
    livekit_server.outbound[TRUNK_ID] = api.SIPOutboundTrunkInfo(
        sip_trunk_id=TRUNK_ID, name="test outbound", numbers=["+14155550199"]
    )
    caller = livekit_server.add_participant(
        CALLER_ROOM, CALLER_IDENTITY, kind=api.ParticipantInfo.Kind.SIP
    )
    caller.tracks.append(TrackInfo(sid=CALLER_TRACK, type=TrackType.AUDIO))

    def _answered(req: api.CreateSIPParticipantRequest) -> api.SIPParticipantInfo:
        # the emulator has already validated the request as livekit-server does
        p = livekit_server.add_participant(
            req.room_name, req.participant_identity, kind=api.ParticipantInfo.Kind.SIP
        )
        p.tracks.append(TrackInfo(sid=f"TR_{req.participant_identity}", type=TrackType.AUDIO))
        return api.SIPParticipantInfo(
            participant_id=p.sid,
            participant_identity=p.identity,
            room_name=req.room_name,
            sip_call_id="SCL_supervisor",
        )

    livekit_server.on("livekit.SIP/CreateSIPParticipant", _answered)
    return livekit_server


@dataclass
class Harness:
    """A manager wired to the emulator through `fake_job_context`, with fake media."""

    server: LiveKitEmulator
    room: rtc.Room
    line: FakeLine
    consult: FakeConsult
    ended: list[Any]
    db: Database
    build: Callable[..., EscalationManager]
    hold: list[HoldState]
    """Every move of the caller's hold line, in order (`escalation.attempts.HoldState`)."""

    def calls(self, method: str) -> list[Any]:
        return [c.request for c in self.server.calls_to(method)]

    def methods(self) -> list[str]:
        return [c.method.split("/", 1)[1] for c in self.server.calls]

    def caller_hangs_up(self) -> None:
        self.room.emit("participant_disconnected", _Participant(CALLER_IDENTITY))


@dataclass
class _Participant:
    identity: str


@pytest_asyncio.fixture
async def harness(
    server: LiveKitEmulator, db: Database, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    room = rtc.Room()
    line = FakeLine()
    consult = FakeConsult()
    ended: list[Any] = []
    hold: list[HoldState] = []

    def build(
        *,
        supervisors: list[Supervisor] | None = None,
        now: dt.datetime = MONDAY_10AM_LA,
        **settings: Any,
    ) -> EscalationManager:
        # the production wiring (real LiveKitTransfers over the job's API client, real
        # ticket store); only the media, the roster and the clock are replaced
        return build_escalation(
            make_settings(**settings),
            db,
            directory=StaticDirectory(supervisors if supervisors is not None else [OMAR, ALEX]),
            consult=lambda ctx: consult,
            caller_line=lambda ctx: line,
            end_session=ended.append,
            clock=lambda: now,
            on_hold_change=lambda state, before, after: hold.append(after),
        )

    async with http_context.open():
        with fake_job_context(room=room):
            yield Harness(server, room, line, consult, ended, db, build, hold)


@pytest.fixture
def ctx_factory() -> Iterator[Callable[..., FakeCtx]]:
    yield lambda **kw: FakeCtx(make_state(**kw))
