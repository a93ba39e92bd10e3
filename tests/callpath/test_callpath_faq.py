"""Policy and FAQ answers: the curated file, its validation, and the shared tool that says
them in every phase without verification (the real-model path, on the scripted model)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from callcenter import faq, prompts
from callcenter.agents.base import CallAgent
from callcenter.agents.catalog import PHASE_AGENTS, PHASE_TASKS, phase_tools
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.shared_tools import POLICY_TOOL_NAME
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.replies import parse
from callcenter.data import Database
from callcenter.data.account import RETURN_WINDOW
from tests.callpath.helpers import FakeEscalation, is_call, make_state, running_session
from tests.support.scripted_llm import ScriptedLLM, call, say

ACTION_REQUESTS = [
    "refund $5.00 on INV-2003",
    "I want a refund on invoice 2003",
    "where is order 1001",
    "cancel order 1002",
    "I want to return order 1003",
    "what's my balance",
    "I'd like to speak to a person",
    "I'm calling about my order",
]


def test_the_file_validates_and_every_example_finds_its_topic() -> None:
    data = faq.faq()
    assert set(data.topics) >= {"shipping", "returns", "refunds", "hours", "payment_methods"}
    for topic in data.topics.values():
        assert topic.examples, f"{topic.name} has no examples to check its patterns"
        for question in topic.examples:
            found = data.topic_for(question)
            assert found is not None and found.name == topic.name, (question, found)


@pytest.mark.parametrize("said", ACTION_REQUESTS)
def test_requests_for_the_tools_are_not_policy_questions(said: str) -> None:
    assert faq.faq().topic_for(said) is None
    assert not faq.faq().is_policy_question(said)


@pytest.mark.parametrize("said", ["do you price match", "what's your policy on gift cards"])
def test_a_policy_question_the_file_cannot_answer_is_still_one(said: str) -> None:
    assert faq.faq().topic_for(said) is None and faq.faq().is_policy_question(said)


def test_an_unanswered_topic_is_the_honest_line_and_a_person() -> None:
    assert faq.faq().answer(faq.OTHER) == (faq.faq().unanswered, True)
    assert faq.faq().answer("no_such_topic") == (faq.faq().unanswered, True)


def _broken(tmp_path: Path, change: dict[str, Any]) -> Path:
    data = tomllib.loads(faq.FAQ_FILE.read_text())
    data["topics"]["refunds"].update(change)
    lines = [f"[unanswered]\nanswer = {data['unanswered']['answer']!r}", "[cues]"]
    lines.append(f"policy = {data['cues']['policy']!r}")
    for name, table in data["topics"].items():
        lines.append(f"[topics.{name}]")
        lines.extend(f"{key} = {value!r}".replace("True", "true") for key, value in table.items())
    path = tmp_path / "faq.toml"
    path.write_text("\n".join(lines).replace("False", "false"))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"answer": "Refunds take {refund_days} days."},
            r"unknown placeholder\(s\) \['refund_days'\]",
        ),
        ({"asked": ["(unclosed"]}, r"topics.refunds.asked: '\(unclosed' is not a regular"),
        ({"answer": ""}, r"topics.refunds: `answer` must be non-empty text"),
        ({"wording": "x"}, r"topics.refunds: unknown field\(s\) \['wording'\]"),
        ({"person": "yes"}, r"topics.refunds.person must be true or false"),
        ({"asked": []}, r"topics.refunds.asked: must be a non-empty list"),
    ],
)
def test_a_broken_file_names_the_topic_and_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(faq.FaqError, match=message):
        faq.load(_broken(tmp_path, change))


def test_the_real_file_round_trips_through_the_test_writer(tmp_path: Path) -> None:
    """The writer above changes only what a case asks for (so each case fails for its
    reason alone)."""
    assert faq.load(_broken(tmp_path, {})).names == faq.faq().names


# --- the tool ------------------------------------------------------------------------------


def test_every_phase_and_the_identity_check_offer_the_tool() -> None:
    for phase, tools in phase_tools().items():
        assert POLICY_TOOL_NAME in tools, phase
    assert set(phase_tools()) == set(PHASE_AGENTS) | set(PHASE_TASKS)


@pytest.mark.parametrize("agent_type", list(PHASE_AGENTS.values()), ids=lambda t: t.__name__)
async def test_every_prompt_says_policy_answers_come_from_the_tool(
    db: Database, settings: Settings, agent_type: type[CallAgent]
) -> None:
    state = await make_state(db, settings, FakeEscalation())
    text = agent_type(state).instructions
    assert POLICY_TOOL_NAME in text
    assert "Never answer a policy question from your own knowledge" in text
    assert "apologise" in text and "angry or frustrated" in text


async def test_a_policy_question_at_the_greeting_is_answered_without_verification(
    db: Database, settings: Settings
) -> None:
    """The report: "what's your refund policy" started identity verification."""
    state = await make_state(db, settings, FakeEscalation())
    scripted = ScriptedLLM(
        say("Thanks for calling, how can I help?"),
        call(POLICY_TOOL_NAME, topic="refunds"),
        lambda req: say(req.last_tool_output()),
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        result = await session.run(user_input="what's your refund policy")
        is_call(result.expect.next_event(), POLICY_TOOL_NAME, topic="refunds")
        output = result.expect.next_event().is_function_call_output().event().item.output
    reply = parse(output)
    assert reply is not None
    assert reply.say == faq.faq().topics["refunds"].answer
    assert state.phase is Phase.GREETING and state.phase_history == []
    assert state.verification.attempts == 0
    assert state.actions == ["answered a policy question (refunds)"]


async def test_facts_in_answers_come_from_code(db: Database, settings: Settings) -> None:
    state = await make_state(db, settings, FakeEscalation())
    scripted = ScriptedLLM(
        say("Hello."),
        call(POLICY_TOOL_NAME, topic="returns"),
        lambda req: say(req.last_tool_output()),
        call(POLICY_TOOL_NAME, topic="hours"),
        lambda req: say(req.last_tool_output()),
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        returns = await session.run(user_input="what is your return policy")
        hours = await session.run(user_input="when are you open")
    said = [
        parse(r.expect[1].event().item.output).say  # type: ignore[union-attr]
        for r in (returns, hours)
    ]
    assert f"within {RETURN_WINDOW.days} days of delivery" in said[0]
    assert settings.hours.spoken() in said[1]
    assert "Monday to Friday, 8 AM to 6 PM Pacific time" in said[1]


@pytest.mark.parametrize("topic", ["other", "address_change", "not_a_topic"])
async def test_no_answer_or_no_tool_means_a_person_is_offered(
    db: Database, settings: Settings, topic: str
) -> None:
    state = await make_state(db, settings, FakeEscalation())
    scripted = ScriptedLLM(
        say("Hello."), call(POLICY_TOOL_NAME, topic=topic), lambda req: say("...")
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        result = await session.run(user_input="can you change my shipping address")
    reply = parse(result.expect[1].event().item.output)
    assert reply is not None
    assert reply.say.endswith(prompts.line("offers.person"))
    assert "transfer_to_human" in reply.do and "Do not answer the question yourself" in reply.do
