"""Step-up before sensitive actions: cancelling, returning and requesting a refund need
`strong` assurance (the PIN with a matching caller ID, or two different factors); a caller
verified with a ZIP code is asked for one more factor inside the tool, against the call's
one attempt budget."""

from __future__ import annotations

import asyncio
from typing import Any

from callcenter import prompts
from callcenter.agents.billing import BillingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.verification import VerifyCallerTask
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.vocabulary import Assurance, VerificationStatus
from tests.callpath.helpers import (
    MAYA_LAST_FOUR,
    MAYA_PIN,
    FakeEscalation,
    make_state,
    output_of,
    running_session,
    said,
)
from tests.support.scripted_llm import ScriptedLLM, call, say


async def _basic(db: Database, settings: Settings, phase: Phase = Phase.ORDERS) -> CallState:
    state = await make_state(db, settings, FakeEscalation(), verified=True, phase=phase)
    assert state.assurance is Assurance.BASIC  # caller ID + ZIP code
    return state


async def _wait_for(predicate: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def _spoken(session: Any) -> list[str]:
    return [m.text_content or "" for m in session.history.messages() if m.role == "assistant"]


async def _status(state: CallState, order: str) -> str:
    view = await state.deps.accounts.scoped(state.caller.customer_id).get_order(order)  # type: ignore[union-attr]
    return str(view.status)


async def test_a_zip_verified_caller_gives_the_pin_before_a_cancellation(
    db: Database, settings: Settings
) -> None:
    state = await _basic(db, settings)
    scripted = ScriptedLLM(
        say("How can I help?"),
        # a hostile model skips the check step and confirms at once
        call("cancel_order", order_number="1002", confirmed=True),
        call("check_pin", pin=MAYA_PIN),  # the step-up task, on the caller's answer
        say("Thanks."),
        lambda req: say(req.last_tool_output()),  # the orders agent reads the result back
    )
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input="cancel order 1002 now")
        await _wait_for(lambda: isinstance(session.current_agent, VerifyCallerTask))
        assert state.verification.step_up and state.collecting_secrets
        line = prompts.line(
            "verification.step_up",
            action="cancel the order",
            other="last four digits of the account number",
        )
        await _wait_for(lambda: line in _spoken(session))
        await session.run(user_input="my pin is 4421")
        await _wait_for(lambda: scripted.remaining == 0)
        await _wait_for(lambda: isinstance(session.current_agent, OrdersAgent))
    assert await _status(state, "1002") == "cancelled"
    assert state.assurance is Assurance.STRONG
    assert state.verification.factors == ["zip", "pin"] and state.verification.attempts == 0
    scripted.assert_consumed()


async def test_two_different_factors_are_strong_enough(db: Database, settings: Settings) -> None:
    state = await _basic(db, settings)
    scripted = ScriptedLLM(
        say("How can I help?"),
        call("start_return", order_number="1003", reason="too small"),
        call("check_zip_code", zip_code="94107"),  # the same factor again: not a second
        say("A different one, please."),
        call("check_account_last_four", last_four=MAYA_LAST_FOUR),
        say("Thanks."),
        lambda req: say(req.last_tool_output()),
    )
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input="I want to return order 1003")
        await _wait_for(lambda: isinstance(session.current_agent, VerifyCallerTask))
        result = await session.run(user_input="94107")
        result.expect.skip_next()  # the check_zip_code call
        assert said(output_of(result.expect.next_event())).startswith(
            "You've already given the ZIP code."
        )
        await session.run(user_input="last four 0042")
        await _wait_for(lambda: scripted.remaining == 0)
        await _wait_for(lambda: isinstance(session.current_agent, OrdersAgent))
    assert state.assurance is Assurance.STRONG
    assert state.verification.factors == ["zip", "last_four"]
    assert "started return for order 1003" in state.actions
    scripted.assert_consumed()


async def test_wrong_pins_in_a_step_up_lock_the_call_and_nothing_is_cancelled(
    db: Database, settings: Settings
) -> None:
    state = await _basic(db, settings)
    scripted = ScriptedLLM(
        say("How can I help?"),
        call("cancel_order", order_number="1002", confirmed=True),
        call("check_pin", pin="1111"),
        say("No."),
        call("check_pin", pin="2222"),
        say("No."),
        call("check_pin", pin="3333"),
        say("Locked."),
        lambda req: say(req.last_tool_output()),
    )
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input="cancel order 1002")
        await _wait_for(lambda: isinstance(session.current_agent, VerifyCallerTask))
        for pin in ("1111", "2222", "3333"):
            await session.run(user_input=pin)
        await _wait_for(lambda: scripted.remaining == 0)
        await _wait_for(lambda: isinstance(session.current_agent, OrdersAgent))
    assert state.verification.status is VerificationStatus.LOCKED and not state.verified
    assert await _status(state, "1002") == "processing"
    assert not state.can_verify  # nothing restarts it on this call


async def test_a_caller_who_stops_keeps_basic_assurance_and_nothing_moves(
    db: Database, settings: Settings
) -> None:
    state = await _basic(db, settings, phase=Phase.BILLING)
    scripted = ScriptedLLM(
        say("How can I help?"),
        call("request_refund", invoice_number="INV-2001", amount="5", reason="late"),
        call("stop_verifying"),
        say("OK."),
        lambda req: say(req.last_tool_output()),
    )
    async with running_session(state, scripted, BillingAgent(state)) as session:
        await session.run(user_input="refund five dollars on invoice 2001")
        await _wait_for(lambda: isinstance(session.current_agent, VerifyCallerTask))
        await session.run(user_input="I don't have my PIN")
        await _wait_for(lambda: scripted.remaining == 0)
        await _wait_for(lambda: isinstance(session.current_agent, BillingAgent))
        outputs = [i for i in session.history.items if i.type == "function_call_output"]
    refusal = [o for o in outputs if o.name == "request_refund"][-1]
    assert said(refusal.output) == prompts.line(
        "verification.step_up_declined", action="open the refund request"
    )
    assert state.verified and state.assurance is Assurance.BASIC
    assert not state.verification.running and not state.collecting_secrets
    assert not any("refund ticket" in a for a in state.actions)
