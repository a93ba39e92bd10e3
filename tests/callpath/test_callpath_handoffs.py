"""Handoffs: the next agent gets the words but not the tool mechanics, and speaks once."""

from __future__ import annotations

import pytest
from livekit.agents import Agent

from callcenter.agents.catalog import PHASE_AGENTS
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.config import Settings
from callcenter.core.moves import TOOL_MOVES
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.vocabulary import CallOutcome
from tests.callpath.helpers import FakeEscalation, is_call, make_state, running_session
from tests.support.scripted_llm import ScriptedLLM, call, say

AGENTS = PHASE_AGENTS

# (from, tool, to): every move between phase agents in the move graph (core/moves.py)
HANDOFFS = [
    (m.source, m.tool, m.target)
    for m in TOOL_MOVES
    if m.source in PHASE_AGENTS and m.target in PHASE_AGENTS
]


async def _verified_state(
    db: Database, settings: Settings, escalation: FakeEscalation, phase: Phase
) -> CallState:
    return await make_state(db, settings, escalation, verified=True, phase=phase)


def test_every_agent_to_agent_move_is_walked() -> None:
    assert len(HANDOFFS) == 7


@pytest.mark.parametrize(("source", "tool", "target"), HANDOFFS, ids=lambda v: str(v))
async def test_handoff_carries_words_not_tools(
    db: Database,
    settings: Settings,
    escalation: FakeEscalation,
    source: Phase,
    tool: str,
    target: Phase,
) -> None:
    state = await _verified_state(db, settings, escalation, source)
    scripted = ScriptedLLM(
        say("Hello from the first agent."),
        call("list_recent_orders", limit=1) if source is Phase.ORDERS else say("Sure."),
        *([say("(read back)")] if source is Phase.ORDERS else []),
        call(tool),
        say("Taking it from here."),  # the new agent's one reply on entry
    )
    first_agent = AGENTS[source](state)
    first_instructions = first_agent.instructions
    async with running_session(state, scripted, first_agent) as session:
        await session.run(user_input="first thing I said")
        result = await session.run(user_input="second thing I said")
        is_call(result.expect.next_event(), tool)
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=AGENTS[target])
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert isinstance(session.current_agent, AGENTS[target])

    assert state.phase is target
    assert state.phase_history[-1].from_phase is source
    entry = scripted.requests[-1]  # what the new agent was shown when it spoke
    assert entry.function_calls() == [] and entry.function_outputs() == []
    spoken = entry.spoken()
    assert ("user", "first thing I said") in spoken and ("user", "second thing I said") in spoken
    assert ("assistant", "Hello from the first agent.") in spoken
    # only the new agent's instructions, none of the previous agent's
    system = entry.texts("system", "developer")
    assert system[0] == AGENTS[target](state).instructions
    assert not any(text == first_instructions for text in system)
    assert entry.tool_names == _tool_names(AGENTS[target], state)
    scripted.assert_consumed()


def _tool_names(agent_type: type[Agent], state: CallState) -> frozenset[str]:
    agent = agent_type(state)
    names: set[str] = set()
    for tool in agent.tools:
        info = getattr(tool, "info", None)
        if info is not None:
            names.add(info.name)
        else:
            names |= {t.info.name for t in getattr(tool, "tools", [])}
    return frozenset(names)


async def test_wrap_up_records_resolved_and_returning_greeting_asks_what_else(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await _verified_state(db, settings, escalation, Phase.ORDERS)
    before = len(state.phase_history)
    scripted = ScriptedLLM(
        say("Orders here."),
        call("finish_request"),
        say("Anything else?"),  # wrap-up on entry
        call("help_with_something_else"),
        say("What else can I help with?"),  # greeting again
    )
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input="thanks, that's it for the order")
        assert state.outcome is CallOutcome.RESOLVED
        result = await session.run(user_input="actually one more thing")
        is_call(result.expect.next_event(), "help_with_something_else")
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_agent_handoff(new_agent_type=GreetingAgent)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert state.phases_visited()[before + 1 :] == ["wrap_up", "greeting"]
    assert state.intent is None
    assert "back from another request" in scripted.requests[-1].texts("system")[0]
    scripted.assert_consumed()


async def test_refused_handoff_keeps_the_agent(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    """The state refuses a move the table forbids, and the tool's agent stays in place: here
    the caller already ended the call when the model still tries to hand off."""
    state = await _verified_state(db, settings, escalation, Phase.ORDERS)
    scripted = ScriptedLLM(say("Orders here."), call("transfer_to_billing"), say("Sorry."))
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        state.said_goodbye()
        history = list(state.phase_history)
        result = await session.run(user_input="billing please")
        is_call(result.expect.next_event(), "transfer_to_billing")
        result.expect.next_event().is_function_call_output(is_error=True)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert isinstance(session.current_agent, OrdersAgent)
    assert state.phase is Phase.ENDED
    assert state.phase_history == history
    scripted.assert_consumed()


async def test_greeting_end_call_records_goodbye(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(say("Hello."), call("end_call"), say("Goodbye, thanks for calling."))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        result = await session.run(user_input="never mind, bye")
        is_call(result.expect.next_event(), "end_call")
        result.expect.next_event().is_function_call_output()
        result.expect.next_event().is_message(role="assistant")
    assert state.phase is Phase.ENDED
    assert state.outcome is CallOutcome.RESOLVED
    assert state.end_reason == "caller said goodbye"
