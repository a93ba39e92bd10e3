"""Callback tickets: what the caller gets when nobody can take the call now.

The ticket carries the caller's number (from caller ID), the reason in the caller's
words, a summary a person can act on without replaying the call (intent, verification and
assurance, what was already done, transfer attempts) and the preferred time as the caller
said it. The store redacts the free text before it is written (`data.tickets`).

With the database unreachable the ticket goes to the worker's local journal instead
(`data.journal`, replayed into the database when it answers): the caller is told the
request is saved, without a ticket number.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from callcenter.core.state import CallState
from callcenter.data import DATABASE_ERRORS, Journal
from callcenter.data.journal import CALLBACK
from callcenter.redaction import redact
from callcenter.telephony.numbers import mask

log = logging.getLogger("callcenter.escalation")


class CallbackTickets(Protocol):
    """The part of the data layer's `TicketStore` used here."""

    async def create_callback(
        self,
        phone_e164: str,
        reason: str,
        summary: str = "",
        preferred_time: str | None = None,
        customer_id: int | None = None,
        call_id: str | None = None,
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class CallbackTicket:
    id: int | None
    """None when the request went to the local journal (the database was unreachable)."""
    phone_e164: str
    preferred_time: str


def call_summary(state: CallState, *, reason: str) -> str:
    """One paragraph for whoever calls back; no phone number (it has its own column)."""
    parts = [f"Reason: {reason.strip() or 'not given'}."]
    parts.append(f"Intent: {state.intent or 'unknown'}.")
    parts.append(
        f"Identity: {state.verification.status.value} ({state.assurance.value} assurance)."
    )
    if state.actions:
        parts.append("Done on the call: " + "; ".join(state.actions) + ".")
    if state.transfer_attempts:
        tried = ", ".join(
            f"{a.supervisor or 'nobody'} ({a.outcome.value})" for a in state.transfer_attempts
        )
        parts.append(f"Transfer attempts: {tried}.")
    return " ".join(parts)


async def create_callback_ticket(
    tickets: CallbackTickets,
    state: CallState,
    *,
    reason: str,
    preferred_time: str,
    journal: Journal | None = None,
    timeout_s: float = 5.0,
) -> CallbackTicket | None:
    """Open a callback ticket for this call (in the journal when the database cannot take
    it); None when there is no number to call back."""
    phone = state.call.caller_e164
    if phone is None:
        return None
    when = redact(preferred_time.strip()) or "as soon as possible"
    why = redact(reason.strip()) or "not given"
    summary = redact(call_summary(state, reason=reason))
    customer_id, call_id = state.verified_customer_id, state.call.call_id
    fields: dict[str, object] = {
        "reason": why,
        "summary": summary,
        "preferred_time": when,
        "customer_id": customer_id,
        "call_id": call_id,
    }
    try:
        view = await asyncio.wait_for(
            tickets.create_callback(
                phone,
                why,
                summary=summary,
                preferred_time=when,
                customer_id=customer_id,
                call_id=call_id,
            ),
            timeout_s,
        )
    except DATABASE_ERRORS as exc:
        if journal is None:
            raise
        await journal.write(CALLBACK, {"phone_e164": phone, **fields})
        log.warning(
            "callback journaled: the database is unreachable",
            extra={"call_id": state.call.call_id, "error": type(exc).__name__},
        )
        return CallbackTicket(id=None, phone_e164=phone, preferred_time=when)
    ticket_id = int(getattr(view, "id"))  # noqa: B009 - TicketView or a test double
    log.info(
        "callback ticket opened",
        extra={"call_id": state.call.call_id, "ticket_id": ticket_id, "phone": mask(phone)},
    )
    return CallbackTicket(id=ticket_id, phone_e164=phone, preferred_time=when)
