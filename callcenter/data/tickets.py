"""Tickets staff work through: callbacks (for any caller, verified or not), and the
return and refund-request tickets the account repository opens alongside its writes.

Phone numbers are stored in E.164 (:func:`callcenter.telephony.numbers.try_e164`); log
lines carry ticket ids only, never the number, reason or preferred time. The reason, summary
and preferred time are written by a model from what a caller said: they are redacted
(:func:`callcenter.redaction.redact`) and fitted to their columns
(:mod:`callcenter.data.limits`) before they are stored.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from callcenter.data.columns import utcnow
from callcenter.data.database import Database
from callcenter.data.enums import TicketKind, TicketStatus
from callcenter.data.limits import clip, require_fits
from callcenter.data.models import Ticket
from callcenter.data.views import TicketView
from callcenter.redaction import redact
from callcenter.telephony.numbers import try_e164

__all__ = ["TicketStore", "callback_ticket", "ticket_view"]

log = logging.getLogger(__name__)


def ticket_view(t: Ticket) -> TicketView:
    return TicketView(
        id=t.id,
        kind=t.kind,
        customer_id=t.customer_id,
        call_id=t.call_id,
        phone_e164=t.phone_e164,
        reason=t.reason,
        summary=t.summary,
        amount_cents=t.amount_cents,
        invoice_number=t.invoice_number,
        preferred_time=t.preferred_time,
        status=t.status,
        created_at=t.created_at,
    )


def callback_ticket(
    phone_e164: str,
    reason: str,
    *,
    summary: str = "",
    preferred_time: str | None = None,
    customer_id: int | None = None,
    call_id: str | None = None,
    created_at: dt.datetime | None = None,
) -> Ticket:
    """A new ``callback`` row, validated, redacted and fitted (the store and the journal's
    replay both build it here). ValueError for an invalid number or call id."""
    phone = try_e164(phone_e164)
    if phone is None:
        raise ValueError("callback phone number is not a valid phone number")
    when = redact((preferred_time or "").strip())
    return Ticket(
        kind=TicketKind.CALLBACK,
        customer_id=customer_id,
        call_id=require_fits(Ticket.call_id, call_id),
        phone_e164=phone,
        reason=redact((reason or "").strip()) or "not given",
        summary=redact(summary or ""),
        preferred_time=clip(Ticket.preferred_time, when) or None,
        status=TicketStatus.OPEN,
        created_at=created_at or utcnow(),
    )


class TicketStore:
    """Tickets not tied to a verified session (callbacks for unverified callers, etc.)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_callback(
        self,
        phone_e164: str,
        reason: str,
        summary: str = "",
        preferred_time: str | None = None,
        customer_id: int | None = None,
        call_id: str | None = None,
    ) -> TicketView:
        """Open a ``callback`` ticket. ``phone_e164`` is normalised; ValueError if invalid."""
        async with self._db.session() as s, s.begin():
            ticket = callback_ticket(
                phone_e164,
                reason,
                summary=summary,
                preferred_time=preferred_time,
                customer_id=customer_id,
                call_id=call_id,
            )
            s.add(ticket)
            await s.flush()
            view = ticket_view(ticket)
        log.info("callback ticket created: ticket_id=%s", view.id)
        return view

    async def list_open(self, kind: TicketKind | None = None, limit: int = 100) -> list[TicketView]:
        """Open tickets, oldest first (index ``tickets(status, created_at)``)."""
        query = sa.select(Ticket).where(Ticket.status == TicketStatus.OPEN)
        if kind is not None:
            query = query.where(Ticket.kind == kind)
        async with self._db.session() as s:
            rows = await s.scalars(
                query.order_by(Ticket.created_at, Ticket.id).limit(max(1, int(limit)))
            )
            return [ticket_view(t) for t in rows]

    async def purge_closed(self, *, older_than: dt.datetime) -> int:
        """Delete closed tickets created before `older_than` (retention); open ones stay."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.delete(Ticket)
                .where(Ticket.status == TicketStatus.CLOSED, Ticket.created_at < older_than)
                .execution_options(synchronize_session=False)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def close_ticket(self, ticket_id: int) -> bool:
        """Mark a ticket closed; False if it does not exist."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(Ticket).where(Ticket.id == ticket_id).values(status=TicketStatus.CLOSED)
            )
            return getattr(result, "rowcount", 0) == 1
