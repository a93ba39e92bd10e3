"""The callback queue: callback tickets plus who is working them (table ``callback_work``,
migration 0003).

``tickets`` rows are written by calls (``TicketStore.create_callback``); this module never
changes what the call wrote. The work on a ticket lives beside it: who claimed it and when,
the notes staff added, and how it was resolved (``done`` or ``unreachable``), at which point
the ticket itself is closed (the same UPDATE as ``TicketStore.close_ticket``, in the
same transaction as the resolution).

A ticket is due ``sla`` after it was opened (the caller was promised a call back, and
"tomorrow morning" as they said it is shown beside it); past that it is overdue.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.data.columns import Base, JSONType, UTCDateTime, utcnow
from callcenter.data.columns import enum_column as _enum
from callcenter.data.database import Database
from callcenter.data.enums import TicketKind, TicketStatus
from callcenter.data.models import Ticket

__all__ = [
    "CallbackItem",
    "CallbackQueue",
    "CallbackResolution",
    "CallbackWork",
    "QueueError",
]


class CallbackResolution(enum.StrEnum):
    DONE = "done"
    UNREACHABLE = "unreachable"


class CallbackWork(Base):
    __tablename__ = "callback_work"

    ticket_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    claimed_by: Mapped[int | None] = mapped_column(
        sa.ForeignKey("web_users.id", ondelete="SET NULL")
    )
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[CallbackResolution | None] = mapped_column(
        _enum(CallbackResolution, "callback_resolution")
    )
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """``[{"at": iso, "by": email, "text": ...}]``, oldest first."""


class QueueError(ValueError):
    """A queue action that does not apply (unknown ticket, already closed, claimed by
    someone else); the message says which."""


@dataclass(frozen=True, slots=True)
class CallbackItem:
    ticket_id: int
    call_id: str | None
    customer_id: int | None
    phone_e164: str | None
    """In clear only for code that needs it (dialling); pages show ``mask()`` of it."""
    reason: str
    summary: str
    preferred_time: str | None
    created_at: dt.datetime
    due_at: dt.datetime
    status: TicketStatus
    claimed_by: int | None
    claimed_by_email: str | None
    claimed_at: dt.datetime | None
    resolution: CallbackResolution | None
    resolved_at: dt.datetime | None
    notes: list[dict[str, Any]]

    def overdue(self, now: dt.datetime) -> bool:
        return self.status is TicketStatus.OPEN and now > self.due_at


class CallbackQueue:
    """Read the queue and record the work on it."""

    def __init__(self, db: Database, *, sla: dt.timedelta) -> None:
        self._db = db
        self.sla = sla

    def _query(self) -> Any:  # Select of (Ticket, CallbackWork | None, email | None)
        from callcenter.data.users import WebUser

        return (
            sa.select(Ticket, CallbackWork, WebUser.email)
            .outerjoin(CallbackWork, CallbackWork.ticket_id == Ticket.id)
            .outerjoin(WebUser, WebUser.id == CallbackWork.claimed_by)
            .where(Ticket.kind == TicketKind.CALLBACK)
        )

    def _item(self, t: Ticket, w: CallbackWork | None, email: str | None) -> CallbackItem:
        return CallbackItem(
            ticket_id=t.id,
            call_id=t.call_id,
            customer_id=t.customer_id,
            phone_e164=t.phone_e164,
            reason=t.reason,
            summary=t.summary,
            preferred_time=t.preferred_time,
            created_at=t.created_at,
            due_at=t.created_at + self.sla,
            status=t.status,
            claimed_by=w.claimed_by if w else None,
            claimed_by_email=email,
            claimed_at=w.claimed_at if w else None,
            resolution=w.resolution if w else None,
            resolved_at=w.resolved_at if w else None,
            notes=list(w.notes or []) if w else [],
        )

    async def open_items(self, limit: int = 200) -> list[CallbackItem]:
        """Open callback tickets by due time (= by creation time: the SLA is uniform)."""
        query = (
            self._query()
            .where(Ticket.status == TicketStatus.OPEN)
            .order_by(Ticket.created_at, Ticket.id)
            .limit(limit)
        )
        async with self._db.session() as s:
            return [self._item(t, w, e) for t, w, e in (await s.execute(query)).all()]

    async def recently_closed(self, limit: int = 20) -> list[CallbackItem]:
        query = (
            self._query()
            .where(Ticket.status == TicketStatus.CLOSED)
            .order_by(CallbackWork.resolved_at.desc().nulls_last(), Ticket.id.desc())
            .limit(limit)
        )
        async with self._db.session() as s:
            return [self._item(t, w, e) for t, w, e in (await s.execute(query)).all()]

    async def get(self, ticket_id: int) -> CallbackItem | None:
        async with self._db.session() as s:
            row = (await s.execute(self._query().where(Ticket.id == ticket_id))).first()
            return self._item(*row) if row is not None else None

    async def _work(self, s: Any, ticket_id: int) -> tuple[Ticket, CallbackWork]:
        ticket = await s.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None or ticket.kind is not TicketKind.CALLBACK:
            raise QueueError(f"no callback ticket {ticket_id}")
        work = await s.get(CallbackWork, ticket_id, with_for_update=True)
        if work is None:
            work = CallbackWork(ticket_id=ticket_id, notes=[])
            s.add(work)
        return ticket, work

    async def claim(self, ticket_id: int, user_id: int, *, force: bool = False) -> None:
        """Claim an open ticket. Claiming one someone else holds needs ``force`` (take over)."""
        async with self._db.session() as s, s.begin():
            ticket, work = await self._work(s, ticket_id)
            if ticket.status is not TicketStatus.OPEN:
                raise QueueError(f"callback ticket {ticket_id} is already closed")
            if work.claimed_by not in (None, user_id) and not force:
                raise QueueError(f"callback ticket {ticket_id} is claimed by someone else")
            work.claimed_by = user_id
            work.claimed_at = utcnow()

    async def add_note(self, ticket_id: int, author: str, text: str) -> None:
        text = text.strip()
        if not text:
            raise QueueError("the note is empty")
        if len(text) > 2000:
            raise QueueError("the note is longer than 2000 characters")
        async with self._db.session() as s, s.begin():
            _ticket, work = await self._work(s, ticket_id)
            notes = list(work.notes or [])
            notes.append({"at": utcnow().isoformat(timespec="seconds"), "by": author, "text": text})
            work.notes = notes

    async def resolve(
        self, ticket_id: int, resolution: CallbackResolution, user_id: int | None
    ) -> None:
        """Close the ticket as ``done`` or ``unreachable`` (records who and when)."""
        async with self._db.session() as s, s.begin():
            ticket, work = await self._work(s, ticket_id)
            if ticket.status is not TicketStatus.OPEN:
                raise QueueError(f"callback ticket {ticket_id} is already closed")
            work.resolution = CallbackResolution(resolution)
            work.resolved_at = utcnow()
            if work.claimed_by is None:
                work.claimed_by, work.claimed_at = user_id, work.resolved_at
            # the same change TicketStore.close_ticket makes, in this transaction
            ticket.status = TicketStatus.CLOSED
