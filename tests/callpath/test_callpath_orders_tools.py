"""ORDERS tools: happy path and bad input for each, scoped to the verified caller."""

from __future__ import annotations

from typing import Any

import pytest
from livekit.agents import ToolError, mock_tools
from livekit.agents.voice.run_result import RunResult

from callcenter.agents.orders import OrdersAgent
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database
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

READ_BACK = say("(reads the result)")


@pytest.fixture
async def state(db: Database, settings: Settings, escalation: FakeEscalation) -> CallState:
    # verified with the PIN: `strong` assurance, so cancellations and returns need no step-up
    # (tests/security covers the step-up)
    return await make_state(
        db, settings, escalation, verified=True, phase=Phase.ORDERS, factor="pin"
    )


async def _tool_turn(
    state: CallState, tool: str, arguments: dict[str, Any], *, is_error: bool
) -> tuple[str, RunResult]:
    """One caller turn in which the model calls `tool`; returns the tool output."""
    scripted = ScriptedLLM(
        say("How can I help with your order?"), call(tool, **arguments), READ_BACK
    )
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        result = await session.run(user_input="(caller asks)")
        is_call(result.expect.next_event(), tool, **arguments)
        output = output_of(result.expect.next_event(), is_error=is_error)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        # the model was shown the tool's output before it spoke
        assert scripted.requests[-1].last_tool_output() == output
    scripted.assert_consumed()
    return output, result


async def _order_status(state: CallState, number: str) -> str:
    order = await state.account().get_order(number)
    assert order is not None
    return order.status


# --- lookup_order -----------------------------------------------------------------------


async def test_lookup_order(state: CallState) -> None:
    output, _ = await _tool_turn(state, "lookup_order", {"order_number": "1001"}, is_error=False)
    assert said(output).startswith("Order 1001, placed ")
    assert "is shipped" in output and "UPS" in output and "Total $155.97" in output
    assert state.actions == ["looked up order 1001"]


async def test_lookup_order_spoken_number(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "lookup_order", {"order_number": "one zero zero two"}, is_error=False
    )
    assert said(output).startswith("Order 1002, ") and "is processing" in output


@pytest.mark.parametrize("tool", ["lookup_order", "track_shipment", "cancel_order"])
async def test_unknown_and_foreign_orders_look_the_same(state: CallState, tool: str) -> None:
    """Daniel's order 2001 is as invisible to Maya as an order that does not exist."""
    unknown, _ = await _tool_turn(state, tool, {"order_number": "9999"}, is_error=True)
    foreign, _ = await _tool_turn(state, tool, {"order_number": "2001"}, is_error=True)
    assert said(unknown) == "No order 9999 was found on your account."
    assert then(unknown) == "Ask them to check the number, or offer to list their recent orders."
    assert foreign == unknown.replace("9999", "2001")
    assert state.actions == []


@pytest.mark.parametrize("tool", ["lookup_order", "track_shipment", "cancel_order"])
@pytest.mark.parametrize("raw", ["12", "my order", "1234567890123"])
async def test_malformed_order_number(state: CallState, tool: str, raw: str) -> None:
    output, _ = await _tool_turn(state, tool, {"order_number": raw}, is_error=True)
    assert said(output) == "That is not an order number. Order numbers are 4 digits, like 1001."
    # the model is told a short, masked prefix of what it sent (no digit echoed)
    assert "The number given began '" in then(output)
    assert not any(c.isdigit() for c in then(output).split("'")[1])


async def test_start_return_foreign_order_is_not_found(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "start_return", {"order_number": "2001", "reason": "broken"}, is_error=True
    )
    assert said(output) == "No order 2001 was found on your account."


async def test_start_return_malformed(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "start_return", {"order_number": "x", "reason": "broken"}, is_error=True
    )
    assert said(output).startswith("That is not an order number.")


# --- list / track ----------------------------------------------------------------------


async def test_list_recent_orders(state: CallState) -> None:
    output, _ = await _tool_turn(state, "list_recent_orders", {"limit": 2}, is_error=False)
    assert output.count("Order ") == 2
    assert all(n in "1001 1002 1003 1004 1005" for n in _numbers(output))
    assert state.actions == ["listed recent orders"]


async def test_track_shipment(state: CallState) -> None:
    output, _ = await _tool_turn(state, "track_shipment", {"order_number": "1001"}, is_error=False)
    assert said(output).startswith("Order 1001 shipped with UPS, tracking number ending ")
    assert "last seen in" in output


async def test_track_unshipped_order(state: CallState) -> None:
    output, _ = await _tool_turn(state, "track_shipment", {"order_number": "1002"}, is_error=False)
    assert said(output) == "Order 1002 has not shipped yet; it is processing."


# --- cancel ----------------------------------------------------------------------------


async def test_cancel_asks_before_cancelling(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "cancel_order", {"order_number": "1002", "confirmed": False}, is_error=False
    )
    assert said(output).startswith("Order 1002, placed ") and "can be cancelled" in output
    assert await _order_status(state, "1002") == "processing"
    assert state.actions == []


async def test_cancel_confirmed_cancels(state: CallState) -> None:
    scripted = ScriptedLLM(
        say("How can I help?"),
        call("cancel_order", order_number="1002", confirmed=False),
        say("Should I cancel it?"),
        call("cancel_order", order_number="1002", confirmed=True),
        READ_BACK,
    )
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input="cancel order 1002")
        result = await session.run(user_input="yes please")
        is_call(result.expect.next_event(), "cancel_order", order_number="1002", confirmed=True)
        assert said(output_of(result.expect.next_event())) == (
            "Order 1002 is now cancelled. Any charge for it is voided."
        )
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert await _order_status(state, "1002") == "cancelled"
    assert state.actions == ["cancelled order 1002"]
    scripted.assert_consumed()


@pytest.mark.parametrize("confirmed", [False, True])
async def test_cancel_shipped_order_refused(state: CallState, confirmed: bool) -> None:
    output, _ = await _tool_turn(
        state, "cancel_order", {"order_number": "1001", "confirmed": confirmed}, is_error=True
    )
    assert said(output).startswith("Order 1001 is shipped and can no longer be cancelled.")
    assert await _order_status(state, "1001") == "shipped"


async def test_cancel_delivered_order_offers_return(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "cancel_order", {"order_number": "1003", "confirmed": True}, is_error=True
    )
    assert "can no longer be cancelled" in output and "Offer to start a return" in output


# --- returns ---------------------------------------------------------------------------


async def test_start_return_for_delivered_order(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "start_return", {"order_number": "1003", "reason": "too small"}, is_error=False
    )
    assert said(output).startswith("A return for order 1003 is started. The return number is ")
    assert state.actions == ["started return for order 1003"]


async def test_start_return_past_the_window_refused(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "start_return", {"order_number": "1004", "reason": "too small"}, is_error=True
    )
    assert said(output).startswith("Order 1004 is past its 30 day return window, which ended ")


async def test_start_return_for_undelivered_order_refused(state: CallState) -> None:
    output, _ = await _tool_turn(
        state, "start_return", {"order_number": "1002", "reason": "changed mind"}, is_error=True
    )
    assert said(output) == "Order 1002 is processing, so it cannot be returned yet."
    assert state.actions == []


# --- the scope guard and injected failures ------------------------------------------------


async def test_unverified_caller_gets_no_account_data(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    """The scope guard is in the state, not the phase: an orders agent on an unverified call
    (which no route produces) still reads nothing."""
    state = await make_state(db, settings, escalation)
    output, _ = await _tool_turn(state, "lookup_order", {"order_number": "1001"}, is_error=True)
    assert said(output) == "I can't share account details until your identity is verified."
    assert "1001" not in output


async def test_tool_failure_injected_with_mock_tools(state: CallState) -> None:
    def broken_lookup(order_number: str) -> str:
        raise ToolError("The order system is not answering. Offer a callback.")

    with mock_tools(OrdersAgent, {"lookup_order": broken_lookup}):
        output, _ = await _tool_turn(state, "lookup_order", {"order_number": "1001"}, is_error=True)
    assert output == "The order system is not answering. Offer a callback."
    assert state.actions == []


async def test_unexpected_tool_crash_is_hidden_from_the_model(state: CallState) -> None:
    def crashing(order_number: str) -> str:
        raise RuntimeError("connection reset by peer 10.0.0.5")

    with mock_tools(OrdersAgent, {"track_shipment": crashing}):
        output, _ = await _tool_turn(
            state, "track_shipment", {"order_number": "1001"}, is_error=True
        )
    assert "10.0.0.5" not in output


def _numbers(text: str) -> list[str]:
    import re

    return re.findall(r"Order (\d+)", text)
