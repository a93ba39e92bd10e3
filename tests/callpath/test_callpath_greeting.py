"""GREETING: greets once, triages, never offers account tools, uses its own model."""

from __future__ import annotations

from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.verification import VerifyCallerTask
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.data import Database
from tests.callpath.helpers import FakeEscalation, is_call, make_state, running_session
from tests.support.scripted_llm import ScriptedLLM, call, say

GREETING_TOOLS = {
    "route_to_orders",
    "route_to_billing",
    "transfer_to_human",
    "request_callback",
    "answer_policy_question",
    "end_call",
}


async def test_greets_once_with_only_routing_tools(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(say("Thanks for calling Northwind Supply, how can I help?"))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        assert len(scripted.requests) == 1
        opener = scripted.requests[0]
        assert opener.tool_names == GREETING_TOOLS
        assert opener.texts("system")[-1] == (
            "Greet the caller in one short sentence and ask how you can help."
        )
        assert [m.role for m in session.history.messages()] == ["assistant"]
    assert state.phase is Phase.GREETING and state.phase_history == []
    scripted.assert_consumed()


async def test_billing_intent_is_triaged_before_verification(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(say("Hello."), call("route_to_billing"), say("Your ZIP, please?"))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        result = await session.run(user_input="question about a charge on my bill")
        is_call(result.expect.next_event(), "route_to_billing")
        result.expect.next_event().is_agent_handoff(new_agent_type=VerifyCallerTask)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert state.intent == "billing"
    assert state.phase_history[-1].reason == "billing needs a verified caller"


async def test_verified_caller_is_routed_without_verifying_again(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation, verified=True)
    before = len(state.phase_history)
    scripted = ScriptedLLM(say("Hello again."), call("route_to_orders"), say("Which order?"))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        result = await session.run(user_input="another order question")
        is_call(result.expect.next_event(), "route_to_orders")
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=OrdersAgent)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert state.phases_visited()[before:] == ["greeting", "orders"]  # no verification


async def test_greeting_uses_its_own_model_and_specialists_the_sessions(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    """The greeting model (the realtime model in production) is not the pipeline LLM."""
    state = await make_state(db, settings, escalation, verified=True)
    greeter = ScriptedLLM(say("Hi, how can I help?"), call("route_to_orders"))
    state.deps.greeting_model = greeter
    pipeline = ScriptedLLM(say("Which order is it?"))
    async with running_session(state, pipeline, GreetingAgent(state)) as session:
        await session.run(user_input="my order")
        assert isinstance(session.current_agent, OrdersAgent)
    assert [r.tool_names == GREETING_TOOLS for r in greeter.requests] == [True, True]
    assert len(pipeline.requests) == 1 and "lookup_order" in pipeline.requests[0].tool_names
    greeter.assert_consumed()
    pipeline.assert_consumed()
