"""transfer_to_human is reachable from every phase; success ends the call, failure returns."""

from __future__ import annotations

import pytest
from livekit.agents import Agent

from callcenter.agents.billing import BillingAgent
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.verification import VerifyCallerTask
from callcenter.agents.wrap_up import WrapUpAgent
from callcenter.config import Settings
from callcenter.data import Database
from callcenter.phases import Phase
from callcenter.state import CallOutcome, CallState, TransferOutcome
from tests.callpath.helpers import (
    Escalated,
    FakeEscalation,
    is_call,
    make_state,
    output_of,
    running_session,
)
from tests.support.scripted_llm import ScriptedLLM, Step, call, say

AGENTS: dict[Phase, type[Agent]] = {
    Phase.GREETING: GreetingAgent,
    Phase.ORDERS: OrdersAgent,
    Phase.BILLING: BillingAgent,
    Phase.WRAP_UP: WrapUpAgent,
}
REASON = "caller asked for a person"


async def _call_in(
    phase: Phase, db: Database, settings: Settings, escalation: FakeEscalation
) -> tuple[CallState, Agent, list[Step], str | None]:
    """State + first agent + the script that brings the call to `phase`, + the turn that
    gets it there (None when the call starts in it)."""
    if phase is Phase.VERIFICATION:
        state = await make_state(db, settings, escalation)
        steps = [say("Hello."), call("route_to_orders"), say("Your ZIP code, please?")]
        return state, GreetingAgent(state), steps, "my order"
    state = await make_state(db, settings, escalation, verified=phase is not Phase.GREETING)
    if phase is not Phase.GREETING:
        state.phase = phase
    return state, AGENTS[phase](state), [say("Hello.")], None


@pytest.mark.parametrize("phase", [*AGENTS, Phase.VERIFICATION], ids=str)
async def test_transfer_success_ends_the_call(
    db: Database, settings: Settings, escalation: FakeEscalation, phase: Phase
) -> None:
    state, agent, steps, first_turn = await _call_in(phase, db, settings, escalation)
    scripted = ScriptedLLM(
        *steps, call("transfer_to_human", reason=REASON), lambda r: say(r.last_tool_output())
    )
    async with running_session(state, scripted, agent) as session:
        if first_turn:
            await session.run(user_input=first_turn)
        assert state.phase is phase
        assert "transfer_to_human" in scripted.requests[-1].tool_names
        result = await session.run(user_input="let me talk to a person")
        is_call(result.expect.next_event(), "transfer_to_human", reason=REASON)
        output = output_of(result.expect.next_event())
        spoken = result.expect.next_event().is_message(role="assistant").event().item
        result.expect.no_more_events()
    assert output.startswith("Connected to Sam Supervisor")
    assert spoken.text_content == output
    assert escalation.calls == [Escalated(phase=phase, reason=REASON)]
    assert state.phase is Phase.ENDED
    assert state.outcome is CallOutcome.TRANSFERRED and state.transferred_to == "Sam Supervisor"
    assert [a.outcome for a in state.transfer_attempts] == [TransferOutcome.CONNECTED]
    assert [c.to_phase for c in state.phase_history[-2:]] == [Phase.ESCALATION, Phase.ENDED]
    scripted.assert_consumed()


@pytest.mark.parametrize("phase", [*AGENTS, Phase.VERIFICATION], ids=str)
async def test_transfer_failure_returns_to_the_caller(
    db: Database, settings: Settings, phase: Phase
) -> None:
    escalation = FakeEscalation(succeed=False, failure_text="Nobody answered. Offer a callback.")
    state, agent, steps, first_turn = await _call_in(phase, db, settings, escalation)
    scripted = ScriptedLLM(
        *steps, call("transfer_to_human", reason=REASON), say("Sorry, nobody answered.")
    )
    async with running_session(state, scripted, agent) as session:
        if first_turn:
            await session.run(user_input=first_turn)
        result = await session.run(user_input="operator!")
        is_call(result.expect.next_event(), "transfer_to_human", reason=REASON)
        output = output_of(result.expect.next_event())
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        # the caller stays with the same agent (or task), which is told what happened
        assert type(session.current_agent) is (
            VerifyCallerTask if phase is Phase.VERIFICATION else AGENTS[phase]
        )
    assert output == "Nobody answered. Offer a callback."
    assert scripted.requests[-1].last_tool_output() == output
    expected_back = Phase.GREETING if phase is Phase.VERIFICATION else phase
    assert state.phase is expected_back
    assert state.phase_history[-2].to_phase is Phase.ESCALATION
    assert state.phase_history[-1].to_phase is expected_back
    assert state.outcome in (None, CallOutcome.RESOLVED)  # wrap-up marks resolved on entry
    assert [a.outcome for a in state.transfer_attempts] == [TransferOutcome.NO_ANSWER]
    scripted.assert_consumed()


@pytest.mark.parametrize("phase", [*AGENTS, Phase.VERIFICATION], ids=str)
async def test_callback_reachable_everywhere(
    db: Database, settings: Settings, escalation: FakeEscalation, phase: Phase
) -> None:
    state, agent, steps, first_turn = await _call_in(phase, db, settings, escalation)
    scripted = ScriptedLLM(
        *steps,
        call("request_callback", reason="help with an order", preferred_time="tomorrow 9am"),
        say("Ticket 7 is booked."),
    )
    async with running_session(state, scripted, agent) as session:
        if first_turn:
            await session.run(user_input=first_turn)
        result = await session.run(user_input="call me back tomorrow at 9am")
        is_call(
            result.expect.next_event(),
            "request_callback",
            reason="help with an order",
            preferred_time="tomorrow 9am",
        )
        output_of(result.expect.next_event())
    assert escalation.callbacks == [("help with an order", "tomorrow 9am")]
    assert state.outcome is CallOutcome.CALLBACK


async def test_lockout_after_a_failed_transfer_during_verification(
    db: Database, settings: Settings
) -> None:
    """A failed transfer mid-verification returns the phase to GREETING while the task is
    still running; a later lockout must still escalate instead of crashing the tool."""
    escalation = FakeEscalation(succeed=False, failure_text="Nobody answered.")
    state, agent, steps, first_turn = await _call_in(Phase.VERIFICATION, db, settings, escalation)
    wrong = [call("check_zip_code", zip_code="00000"), say("No match.")]
    scripted = ScriptedLLM(
        *steps,
        call("transfer_to_human", reason=REASON),
        say("Nobody answered, let's keep going."),
        *wrong,
        *wrong,
        *wrong,
        lambda r: say(r.last_tool_output()),
    )
    async with running_session(state, scripted, agent) as session:
        await session.run(user_input=first_turn or "")
        await session.run(user_input="a person please")
        assert state.phase is Phase.GREETING
        await session.run(user_input="00000")
        await session.run(user_input="00000")
        result = await session.run(user_input="00000")
        outputs = [e.item for e in result.events if e.type == "function_call_output"]
        assert [(o.name, o.is_error) for o in outputs] == [
            ("check_zip_code", False),
            ("route_to_orders", False),
        ]
        assert outputs[-1].output == "Nobody answered."
    assert [c.phase for c in escalation.calls] == [Phase.VERIFICATION, Phase.GREETING]
    assert escalation.calls[-1].reason == "The caller could not verify their identity."
    assert state.phase is Phase.GREETING
    scripted.assert_consumed()
