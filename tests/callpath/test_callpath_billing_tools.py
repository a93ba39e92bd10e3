"""BILLING tools: happy path and bad input for each, scoped to the verified caller."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from livekit.agents import ToolError, mock_tools

from callcenter.agents.billing import BillingAgent
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.data.models import Ticket
from tests.callpath.helpers import (
    FakeEscalation,
    is_call,
    make_state,
    output_of,
    running_session,
    said,
    then,
)
from tests.support.scripted_llm import ScriptedLLM, call, say


@pytest.fixture
async def state(db: Database, settings: Settings, escalation: FakeEscalation) -> CallState:
    # verified with the PIN: `strong` assurance, so a refund request needs no step-up
    # (tests/security covers the step-up)
    return await make_state(
        db, settings, escalation, verified=True, phase=Phase.BILLING, factor="pin"
    )


async def _tool_turn(
    state: CallState, tool: str, arguments: dict[str, Any], *, is_error: bool
) -> str:
    scripted = ScriptedLLM(
        say("How can I help with billing?"), call(tool, **arguments), say("(reads it)")
    )
    async with running_session(state, scripted, BillingAgent(state)) as session:
        result = await session.run(user_input="(caller asks)")
        is_call(result.expect.next_event(), tool, **arguments)
        output = output_of(result.expect.next_event(), is_error=is_error)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert scripted.requests[-1].last_tool_output() == output
    scripted.assert_consumed()
    return output


async def _refund_tickets(db: Database) -> list[Ticket]:
    async with db.session() as s:
        return list(await s.scalars(sa.select(Ticket).where(Ticket.kind == "refund_request")))


async def test_get_balance(state: CallState) -> None:
    output = await _tool_turn(state, "get_balance", {}, is_error=False)
    assert said(output).startswith("The balance due is $") and "is overdue" in output
    assert state.actions == ["checked balance"]


async def test_list_invoices(state: CallState) -> None:
    output = await _tool_turn(state, "list_invoices", {"limit": 3}, is_error=False)
    assert sorted(n for n in ("INV-2001", "INV-2002", "INV-2003") if n in output) == [
        "INV-2001",
        "INV-2002",
        "INV-2003",
    ]
    assert "INV-2004" not in output  # Daniel's


@pytest.mark.parametrize("raw", ["INV-2001", "2001", "inv two zero zero one"])
async def test_explain_charge(state: CallState, raw: str) -> None:
    output = await _tool_turn(state, "explain_charge", {"invoice_number": raw}, is_error=False)
    assert said(output).startswith("Invoice INV-2001, issued ")
    assert "for $94.99, is paid" in output
    assert (
        "It covers: Order 1004 merchandise for order 1004, $89.00; Standard shipping, $5.99."
        in output
    )
    assert state.actions == ["explained invoice INV-2001"]


async def test_explain_charge_unknown_and_foreign_look_the_same(state: CallState) -> None:
    unknown = await _tool_turn(state, "explain_charge", {"invoice_number": "9999"}, is_error=True)
    foreign = await _tool_turn(state, "explain_charge", {"invoice_number": "2004"}, is_error=True)
    assert said(unknown).startswith("No invoice INV-9999 was found on your account.")
    assert foreign == unknown.replace("9999", "2004")


@pytest.mark.parametrize("tool", ["explain_charge", "request_refund"])
async def test_malformed_invoice_number(state: CallState, tool: str) -> None:
    arguments: dict[str, Any] = {"invoice_number": "the last one"}
    if tool == "request_refund":
        arguments |= {"amount": "5", "reason": "overcharged"}
    output = await _tool_turn(state, tool, arguments, is_error=True)
    assert said(output) == "That is not an invoice number. Invoice numbers look like INV-2001."
    assert "The number given began 'the last one'." in then(output)


async def test_payment_history(state: CallState) -> None:
    output = await _tool_turn(state, "payment_history", {"limit": 3}, is_error=False)
    assert "$94.99 by card ending 4242" in output and "toward invoice INV-2001" in output


async def test_request_refund_opens_a_ticket(state: CallState, db: Database) -> None:
    output = await _tool_turn(
        state,
        "request_refund",
        {"invoice_number": "2001", "amount": "$12.50", "reason": "damaged box"},
        is_error=False,
    )
    tickets = await _refund_tickets(db)
    assert len(tickets) == 1 and tickets[0].amount_cents == 1250
    assert said(output).startswith(
        f"Refund request R-{tickets[0].id} is open for $12.50 on invoice INV-2001."
    )
    assert "no money has moved" in output


async def test_refund_above_invoice_total_refused(state: CallState, db: Database) -> None:
    output = await _tool_turn(
        state,
        "request_refund",
        {"invoice_number": "INV-2001", "amount": "95.00", "reason": "all of it"},
        is_error=True,
    )
    assert (
        said(output) == "refund amount must be more than $0.00 and at most the invoice total $94.99"
    )
    assert await _refund_tickets(db) == []
    assert state.actions == []


@pytest.mark.parametrize("amount", ["lots", "-5", "12.345"])
async def test_refund_unreadable_amount_refused(
    state: CallState, db: Database, amount: str
) -> None:
    output = await _tool_turn(
        state,
        "request_refund",
        {"invoice_number": "INV-2001", "amount": amount, "reason": "x"},
        is_error=True,
    )
    assert said(output) == "I couldn't read that amount."
    assert output.endswith("Ask the caller for the amount again, in dollars and cents.")
    assert await _refund_tickets(db) == []


async def test_refund_on_foreign_invoice_refused(state: CallState, db: Database) -> None:
    unknown = await _tool_turn(
        state,
        "request_refund",
        {"invoice_number": "INV-9999", "amount": "1", "reason": "x"},
        is_error=True,
    )
    foreign = await _tool_turn(
        state,
        "request_refund",
        {"invoice_number": "INV-2004", "amount": "1", "reason": "x"},
        is_error=True,
    )
    assert foreign == unknown.replace("9999", "2004")
    assert await _refund_tickets(db) == []


async def test_balance_failure_injected_with_mock_tools(state: CallState) -> None:
    async def billing_down() -> str:
        raise ToolError("Billing is unavailable right now. Offer a callback.")

    with mock_tools(BillingAgent, {"get_balance": billing_down}):
        output = await _tool_turn(state, "get_balance", {}, is_error=True)
    assert output == "Billing is unavailable right now. Offer a callback."
    assert state.actions == []
