"""Callback tickets: what the caller gets when nobody can take the call now.

The ticket carries the caller's number (from caller ID), the reason in the caller's
words, a summary a person can act on without replaying the call (intent, verification,
what was already done, transfer attempts) and the preferred time as the caller said it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from callcenter.core.state import CallState
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
    id: int
    phone_e164: str
    preferred_time: str


def call_summary(state: CallState, *, reason: str) -> str:
    """One paragraph for whoever calls back; no phone number (it has its own column)."""
    parts = [f"Reason: {reason.strip() or 'not given'}."]
    parts.append(f"Intent: {state.intent or 'unknown'}.")
    parts.append(f"Identity: {state.verification.status.value}.")
    if state.actions:
        parts.append("Done on the call: " + "; ".join(state.actions) + ".")
    if state.transfer_attempts:
        tried = ", ".join(
            f"{a.supervisor or 'nobody'} ({a.outcome.value})" for a in state.transfer_attempts
        )
        parts.append(f"Transfer attempts: {tried}.")
    return " ".join(parts)


async def create_callback_ticket(
    tickets: CallbackTickets, state: CallState, *, reason: str, preferred_time: str
) -> CallbackTicket | None:
    """Open a callback ticket for this call; None when there is no number to call back."""
    phone = state.call.caller_e164
    if phone is None:
        return None
    when = preferred_time.strip() or "as soon as possible"
    view = await tickets.create_callback(
        phone,
        reason.strip() or "not given",
        summary=call_summary(state, reason=reason),
        preferred_time=when,
        customer_id=state.verified_customer_id,
        call_id=state.call.call_id,
    )
    ticket_id = int(getattr(view, "id"))  # noqa: B009 - TicketView or a test double
    log.info(
        "callback ticket opened",
        extra={"call_id": state.call.call_id, "ticket_id": ticket_id, "phone": mask(phone)},
    )
    return CallbackTicket(id=ticket_id, phone_e164=phone, preferred_time=when)
