"""Screen-pop on warm transfer: the briefing card a supervisor sees before answering.

The escalation calls the announcer (`screen_pop_announcer(db)`, wired in
`escalation/wiring.py`) right before a warm transfer dials a supervisor, and puts the returned
headers on the SIP INVITE (`LiveKitTransfers.dial(headers=...)`)::

    pop = await announce_transfer(db, state, supervisor.id, summary=briefing_text)
    CreateSIPParticipantRequest(..., headers=pop.sip_headers)

The console pushes the card to that supervisor's open pages within a second; a desk phone or
CTI tool reads `X-Callcenter-Call` and opens `/pop/<token>` (the same card, behind login,
only for that supervisor or ops/admin). The token is random and says nothing by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from callcenter.data.database import Database
from callcenter.data.live_calls import LiveCallStore
from callcenter.live.bus import LiveBus, live_bus
from callcenter.live.publisher import snapshot
from callcenter.redaction import redact

log = logging.getLogger("callcenter.live")

SIP_HEADER = "X-Callcenter-Call"


@dataclass(frozen=True, slots=True)
class ScreenPop:
    token: str

    @property
    def sip_headers(self) -> dict[str, str]:
        return {SIP_HEADER: self.token}

    @property
    def path(self) -> str:
        return f"/pop/{self.token}"


async def announce_transfer(
    db: Database,
    state: Any,
    supervisor_id: int | None,
    *,
    summary: str = "",
    bus: LiveBus | None = None,
) -> ScreenPop:
    """Mint the token and store the card for this dial of `supervisor_id` (and announce it
    on Redis when configured, so the card appears without waiting for a poll)."""
    row = snapshot(state)
    briefing = {
        "caller": row["caller"],
        "verification": row["verification"],
        "assurance": row["assurance"],
        "intent": row["intent"],
        "actions": list(getattr(state, "actions", []) or []),
        "summary": redact(summary),
    }
    token = await LiveCallStore(db).open_screen_pop(state.call.call_id, supervisor_id, briefing)
    log.info(
        "screen-pop announced",
        extra={"call_id": state.call.call_id, "supervisor_id": supervisor_id},
    )
    if bus is not None:
        await bus.announce("pop", state.call.call_id, supervisor_id=supervisor_id)
    return ScreenPop(token=token)


def screen_pop_announcer(db: Database, settings: Any = None) -> Any:
    """The escalation's `DialAnnouncer`: (state, supervisor, briefing) -> SIP headers.
    With `settings` naming a Redis, the pop is announced there too."""

    async def announce(state: Any, supervisor: Any, briefing: str) -> dict[str, str]:
        bus = live_bus(settings) if settings is not None else None
        pop = await announce_transfer(db, state, supervisor.id, summary=briefing, bus=bus)
        return pop.sip_headers

    return announce
