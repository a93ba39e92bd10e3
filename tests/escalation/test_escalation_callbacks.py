"""Callback tickets: contents in the database and what the model is told."""

from __future__ import annotations

import sqlalchemy as sa

from callcenter import prompts
from callcenter.data.models import Ticket, TicketKind, TicketStatus
from callcenter.vocabulary import CallOutcome, TransferOutcome
from tests.escalation.conftest import Harness
from tests.escalation.helpers import FakeCtx, make_state


async def test_callback_ticket_has_number_reason_summary_and_time(harness: Harness) -> None:
    manager = harness.build()
    state = make_state(intent="billing")
    state.begin_escalation(reason="wants a person")
    attempt = state.transfer_started("warm", "Priya Shah")
    state.transfer_finished(attempt, TransferOutcome.NO_ANSWER, "SIP 480")
    state.escalation_failed(reason="no supervisor took the call")
    reply = await manager.request_callback(
        FakeCtx(state),  # type: ignore[arg-type]
        reason="question about a double charge",
        preferred_time="tomorrow after 3pm",
    )

    async with harness.db.session() as s:
        [ticket] = (
            await s.scalars(
                sa.select(Ticket)
                .where(Ticket.kind == TicketKind.CALLBACK)
                .where(Ticket.call_id == "SCL_call_1")
            )
        ).all()
    assert ticket.phone_e164 == "+14155550142"
    assert ticket.reason == "question about a double charge"
    assert ticket.preferred_time == "tomorrow after 3pm"
    assert ticket.customer_id == 1
    assert ticket.status is TicketStatus.OPEN
    for fact in (
        "Intent: billing",
        "Identity: verified",
        "looked up order 1002",
        "Priya Shah (no_answer)",
    ):
        assert fact in ticket.summary
    assert "+1415" not in ticket.summary, "the number lives in its own column only"
    assert state.outcome is CallOutcome.CALLBACK
    assert f"ticket {ticket.id}" in state.actions[-1]
    assert reply.say == prompts.line(
        "escalation.callback_booked", ticket=ticket.id, when="tomorrow after 3pm"
    )


async def test_unverified_caller_ticket_has_no_customer(harness: Harness) -> None:
    manager = harness.build()
    state = make_state(verified=False)
    await manager.request_callback(FakeCtx(state), reason="help", preferred_time="")  # type: ignore[arg-type]
    async with harness.db.session() as s:
        [ticket] = (await s.scalars(sa.select(Ticket).where(Ticket.call_id == "SCL_call_1"))).all()
    assert ticket.customer_id is None
    assert ticket.preferred_time == "as soon as possible"


async def test_withheld_number_books_nothing(harness: Harness) -> None:
    manager = harness.build()
    state = make_state(caller_e164=None)
    reply = await manager.request_callback(FakeCtx(state), reason="help", preferred_time="now")  # type: ignore[arg-type]
    async with harness.db.session() as s:
        count = await s.scalar(
            sa.select(sa.func.count()).select_from(Ticket).where(Ticket.call_id == "SCL_call_1")
        )
    assert count == 0
    assert state.outcome is None
    assert reply.say == prompts.line("escalation.callback_no_number") and not reply.do
