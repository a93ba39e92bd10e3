"""The one place the escalation's real adapters are built.

`build_escalation(settings, db)` gives the production `EscalationPort`: the roster from the
`supervisors` table, tickets in the database, the LiveKit server API of the running job, the
caller's hold line over the agent session and the briefing leg in a consult room. No
constructor below has a hidden default: what is not given here is not built. Tests pass
fakes for the pieces that need a LiveKit SFU (the media) and keep the rest real.

Business hours come validated from `Settings.hours` (checked when the settings load).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from livekit.agents import RunContext, get_job_context

from callcenter.config import MergeMode, Settings
from callcenter.core.state import CallState
from callcenter.data import DATABASE_ERRORS, Database, Journal, SupervisorStore, TicketStore
from callcenter.escalation.attempts import (
    CallerLineFactory,
    ConsultSource,
    DialAnnouncer,
    HoldObserver,
    TransferAttempts,
)
from callcenter.escalation.callbacks import CallbackTickets
from callcenter.escalation.livekit_transfers import LiveKitTransfers
from callcenter.escalation.manager import EscalationManager, SessionEnder
from callcenter.escalation.media import (
    RoomConsultLegFactory,
    SessionCallerLine,
    end_session_after_reply,
)
from callcenter.escalation.roster import (
    Roster,
    RosterError,
    Supervisor,
    SupervisorDirectory,
    supervisor_from_row,
)
from callcenter.escalation.warm import CallerLine, ConsultLegFactory
from callcenter.live.screen_pop import screen_pop_announcer

log = logging.getLogger("callcenter.escalation")


class StoreDirectory:
    """`SupervisorDirectory` over the data layer's `SupervisorStore` (active rows only; an
    invalid row is skipped with a warning, never dialled).

    The last roster read is kept: with the database unreachable, escalations still reach
    the supervisors on duty in it (the hours are checked against the clock as usual)."""

    def __init__(
        self, store: SupervisorStore, *, default_region: str = "US", timeout_s: float = 5.0
    ) -> None:
        self._store = store
        self._region = default_region
        self._timeout = timeout_s
        self.last: Roster | None = None

    async def roster(self) -> Roster:
        try:
            rows = await asyncio.wait_for(self._store.list(active_only=True), self._timeout)
        except DATABASE_ERRORS:
            if self.last is None:
                raise
            log.warning("roster read failed: using the last one read")
            return self.last
        supervisors: list[Supervisor] = []
        for row in rows:
            try:
                supervisors.append(supervisor_from_row(row, default_region=self._region))
            except RosterError as exc:
                log.warning(
                    "skipping invalid supervisor row",
                    extra={"supervisor_id": getattr(row, "id", None), "field": exc.field},
                )
        self.last = Roster(tuple(supervisors))
        return self.last


def job_transfers(settings: Settings) -> LiveKitTransfers:
    """Transfers over the running job's LiveKit server API client."""
    return LiveKitTransfers(
        lambda: get_job_context().api,
        trunk_id=settings.sip_outbound_trunk_id,
        caller_id_number=settings.sip_caller_id_number,
        ringing_timeout_s=settings.ringing_timeout_s,
    )


def session_caller_line(ctx: RunContext[CallState]) -> CallerLine:
    """The caller's hold line over the tool's session and the job's room."""
    return SessionCallerLine(ctx.session, get_job_context().room)


def room_consult(settings: Settings) -> ConsultSource:
    """Briefing legs in consult rooms, with the caller session's models."""

    def source(ctx: RunContext[CallState]) -> ConsultLegFactory:
        return RoomConsultLegFactory(settings, ctx.session)

    return source


def job_room() -> object:
    return get_job_context().room


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_escalation(
    settings: Settings,
    db: Database | None,
    *,
    directory: SupervisorDirectory | None = None,
    tickets: CallbackTickets | None = None,
    transfers: LiveKitTransfers | None = None,
    consult: ConsultSource | None = None,
    caller_line: CallerLineFactory | None = None,
    room: Callable[[], Any] | None = None,
    end_session: SessionEnder | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    on_hold_change: HoldObserver | None = None,
    on_dial: DialAnnouncer | None = None,
) -> EscalationManager:
    """The production `EscalationPort`; each keyword replaces one real adapter (tests).

    A missing outbound trunk is only warned about: the console simulates transfers, and a
    phone call's transfer then fails and the caller is offered a callback.
    """
    if settings.sip_outbound_trunk_id is None:
        log.warning("no LIVEKIT_SIP_OUTBOUND_TRUNK: phone transfers will fail (console simulates)")
    if settings.effective_merge_mode is MergeMode.CLOUD:
        log.info("warm transfers merge with MoveParticipant (LiveKit Cloud)")
    else:
        log.info("warm transfers merge in the caller's room (self-hosted LiveKit)")
    if directory is None or tickets is None:
        if db is None:
            raise ValueError(
                "build_escalation needs `db` unless `directory` and `tickets` are given"
            )
        directory = directory or StoreDirectory(
            SupervisorStore(db),
            default_region=settings.default_region,
            timeout_s=settings.database_timeout_s,
        )
        tickets = tickets or TicketStore(db)
    attempts = TransferAttempts(
        settings,
        transfers=transfers or job_transfers(settings),
        caller_line=caller_line or session_caller_line,
        consult=consult or room_consult(settings),
        room=room or job_room,
        on_hold_change=on_hold_change,
        on_dial=on_dial or (screen_pop_announcer(db, settings) if db is not None else None),
    )
    return EscalationManager(
        settings,
        hours=settings.hours,
        directory=directory,
        tickets=tickets,
        attempts=attempts,
        end_session=end_session or end_session_after_reply,
        clock=clock or utc_now,
        journal=Journal(settings.journal_dir),
    )
