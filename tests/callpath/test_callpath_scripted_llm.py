"""The scripted LLM itself: a script that runs out, or is left over, fails the test."""

from __future__ import annotations

import pytest
from livekit.agents import AgentSession

from callcenter.agents.greeting import GreetingAgent
from callcenter.config import Settings
from callcenter.core.state import CallState
from callcenter.data import Database
from tests.callpath.helpers import FakeEscalation, make_state, settle
from tests.support.scripted_llm import ScriptedLLM, ScriptExhausted, call, reply, say


async def test_running_out_of_script_fails_the_run(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(say("Hello."))
    session = AgentSession[CallState](llm=scripted, userdata=state)
    await session.start(GreetingAgent(state))
    await settle(session)
    with pytest.raises(ScriptExhausted, match=r"ran out at request 1 .*'unscripted turn'"):
        await session.run(user_input="unscripted turn")
    await session.aclose()
    with pytest.raises(ScriptExhausted):
        scripted.check()


async def test_leftover_steps_fail_assert_consumed(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(say("Hello."), say("never asked for"))
    session = AgentSession[CallState](llm=scripted, userdata=state)
    await session.start(GreetingAgent(state))
    await settle(session)
    await session.aclose()
    with pytest.raises(AssertionError, match="1 scripted step"):
        scripted.assert_consumed()


async def test_text_and_parallel_calls_in_one_reply(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(
        say("Hello."),
        reply(
            "One moment.",
            call("request_callback", reason="a", preferred_time="now"),
            call("request_callback", reason="b", preferred_time="later"),
        ),
        say("Both booked."),
    )
    session = AgentSession[CallState](llm=scripted, userdata=state)
    await session.start(GreetingAgent(state))
    await settle(session)
    result = await session.run(user_input="two callbacks please")
    await session.aclose()
    kinds = [e.type for e in result.events]
    assert kinds.count("function_call") == 2 and kinds.count("function_call_output") == 2
    said = [e.item.text_content for e in result.events if e.type == "message"]
    assert said == ["One moment.", "Both booked."]
    assert sorted(escalation.callbacks) == [("a", "now"), ("b", "later")]
    scripted.assert_consumed()
