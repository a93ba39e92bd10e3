"""The degraded mode as a new user met it (issue 15): each reported case, then the policy
answers, first as routing decisions and then as whole calls on the real tools.

- After hours, asking for a person listed the hours day by day and never offered the
  callback.
- "refund $5.00 on INV-2003" was parsed as invoice INV-500.
- "change my shipping address" read out an order's status.
- "what's your refund policy" started identity verification.
- An angry caller got the generic line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from livekit.agents import AgentSession, llm
from livekit.agents.testing import fake_job_context

from callcenter import prompts
from callcenter.agents.billing import BillingAgent
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.shared_tools import POLICY_TOOL_NAME
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.degraded import DegradedLLM
from callcenter.escalation.wiring import build_escalation
from callcenter.faq import faq
from callcenter.vocabulary import CallOutcome, VerificationStatus
from tests.callpath.helpers import FakeEscalation, called, is_call, make_state, settle
from tests.callpath.test_callpath_degraded import TOOLS

SUNDAY_10AM_LA = dt.datetime(2026, 11, 22, 18, 0, tzinfo=dt.UTC)
PERSON = prompts.line("offers.person")
CALLBACK = prompts.line("offers.callback")


def _decide(phase: str, *turns: tuple[str, str]) -> tuple[str | None, dict[str, Any], str]:
    ctx = llm.ChatContext.empty()
    for role, text in turns:
        ctx.add_message(role=role, content=text)  # type: ignore[arg-type]
    decision = DegradedLLM(company="Acme").decide(ctx, set(TOOLS[phase]))
    return decision.tool, decision.arguments, decision.text


def _spoken(result: Any) -> list[str]:
    return [
        e.item.text_content for e in result.events if e.type == "message" and e.item.text_content
    ]


async def _session(state: CallState, agent: Any) -> AgentSession[CallState]:
    session = AgentSession[CallState](llm=DegradedLLM(company="Northwind"), userdata=state)
    await session.start(agent)
    await settle(session)
    return session


# --- decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "said", "tool", "arguments"),
    [
        # the reports
        (
            "billing",
            "refund $5.00 on INV-2003",
            "request_refund",
            {"invoice_number": "2003", "amount": "5.00", "reason": "refund $5.00 on inv-2003"},
        ),
        ("greeting", "change my shipping address", POLICY_TOOL_NAME, {"topic": "address_change"}),
        ("orders", "change my shipping address", POLICY_TOOL_NAME, {"topic": "address_change"}),
        ("greeting", "what's your refund policy", POLICY_TOOL_NAME, {"topic": "refunds"}),
        ("billing", "what's your refund policy", POLICY_TOOL_NAME, {"topic": "refunds"}),
        # policy questions in every phase, the identity check included
        ("verification", "why do you need my pin", POLICY_TOOL_NAME, {"topic": "verification"}),
        ("verification", "what is your return policy", POLICY_TOOL_NAME, {"topic": "returns"}),
        ("wrap_up", "when are you open", POLICY_TOOL_NAME, {"topic": "hours"}),
        ("orders", "how long does shipping take", POLICY_TOOL_NAME, {"topic": "shipping"}),
        ("greeting", "what payment methods do you accept", POLICY_TOOL_NAME,
         {"topic": "payment_methods"}),
        # a policy question the file does not answer: the tool's honest "I don't know"
        ("greeting", "do you price match", POLICY_TOOL_NAME, {"topic": "other"}),
        ("orders", "what's your policy on gift cards", POLICY_TOOL_NAME, {"topic": "other"}),
        # numbers read around amounts
        ("billing", "explain the charge of $12.50 on invoice 2002", "explain_charge",
         {"invoice_number": "2002"}),
        ("orders", "I paid $12.50 for order 1001, where is it", "track_shipment",
         {"order_number": "1001"}),
    ],
)  # fmt: skip
def test_reported_and_policy_turns(
    phase: str, said: str, tool: str, arguments: dict[str, Any]
) -> None:
    assert _decide(phase, ("user", said))[:2] == (tool, arguments)


@pytest.mark.parametrize("phase", ["greeting", "orders", "billing", "wrap_up", "verification"])
def test_an_angry_caller_hears_an_apology_and_the_offer_of_a_person(phase: str) -> None:
    tool, _, text = _decide(phase, ("user", "this is ridiculous, I'm so angry"))
    assert tool is None
    assert text == prompts.line("degraded.frustrated") + " " + PERSON


def test_an_angry_caller_with_a_request_hears_sorry_and_is_helped() -> None:
    tool, arguments, text = _decide("orders", ("user", "I'm fed up, where is order 1001"))
    assert (tool, arguments) == ("track_shipment", {"order_number": "1001"})
    assert text == prompts.line("degraded.sorry")


@pytest.mark.parametrize(
    ("answer", "tool", "arguments"),
    [
        ("yes please", "transfer_to_human", {"reason": "caller accepted the offer of a person"}),
        ("sure", "transfer_to_human", {"reason": "caller accepted the offer of a person"}),
        ("no", None, {}),
    ],
)
def test_the_answer_to_the_offer_of_a_person(
    answer: str, tool: str | None, arguments: dict[str, Any]
) -> None:
    offered = f"I'm sorry, I can't change an address on this line. {PERSON}"
    decided = _decide("orders", ("assistant", offered), ("user", answer))
    assert decided[:2] == (tool, arguments)
    if tool is None:
        assert decided[2] == prompts.line("degraded.what_else")


def test_no_to_the_offer_of_a_person_with_a_request_goes_on_with_it() -> None:
    offered = f"{prompts.line('degraded.frustrated')} {PERSON}"
    decided = _decide("orders", ("assistant", offered), ("user", "no, just track order 1001"))
    assert decided[:2] == ("track_shipment", {"order_number": "1001"})


@pytest.mark.parametrize(
    ("answer", "preferred_time"),
    [
        ("yes please", "as soon as possible"),
        ("yes, tomorrow morning please", "tomorrow morning"),
        ("on monday around 10 am", "on monday around 10 am"),
    ],
)
def test_the_answer_to_the_callback_offer_books_it(answer: str, preferred_time: str) -> None:
    offered = f"The contact center is closed right now. {CALLBACK}"
    tool, arguments, _ = _decide("greeting", ("assistant", offered), ("user", answer))
    assert (tool, arguments) == (
        "request_callback",
        {"reason": "caller accepted a callback", "preferred_time": preferred_time},
    )


def test_declining_the_callback_moves_on() -> None:
    offered = f"The contact center is closed right now. {CALLBACK}"
    assert _decide("greeting", ("assistant", offered), ("user", "no thanks"))[:2] == (None, {})


# --- whole calls ------------------------------------------------------------------------------


async def test_after_hours_the_hours_are_said_as_a_person_would_and_a_callback_is_booked(
    db: Database, settings: Settings
) -> None:
    escalation = build_escalation(settings, db, clock=lambda: SUNDAY_10AM_LA)
    state = await make_state(db, settings, escalation)
    with fake_job_context():
        session = await _session(state, GreetingAgent(state))
        asked = await session.run(user_input="I'd like to speak to a person")
        is_call(asked.expect.next_event(), "transfer_to_human", reason="caller asked for a person")
        [heard] = _spoken(asked)
        accepted = await session.run(user_input="yes, tomorrow morning please")
        await session.aclose()
    assert heard == (
        "The contact center is closed right now, so I can't connect you with a person. We're "
        "open Monday to Friday, 8 AM to 6 PM Pacific time, and we open again tomorrow at 8 AM. "
        + CALLBACK
    )
    assert called(accepted, "request_callback") == {
        "reason": "caller accepted a callback",
        "preferred_time": "tomorrow morning",
    }
    assert any(s.startswith("Callback ticket ") for s in _spoken(accepted))
    assert state.outcome is CallOutcome.CALLBACK


async def test_a_refund_on_an_invoice_opens_the_right_ticket(
    db: Database, settings: Settings
) -> None:
    # verified with the PIN: `strong` assurance, so the refund needs no step-up
    state = await make_state(
        db, settings, FakeEscalation(), verified=True, phase=Phase.BILLING, factor="pin"
    )
    with fake_job_context():
        session = await _session(state, BillingAgent(state))
        result = await session.run(user_input="refund $5.00 on INV-2003")
        await session.aclose()
    assert called(result, "request_refund")["invoice_number"] == "2003"
    heard = " ".join(_spoken(result))
    assert "is open for $5.00 on invoice INV-2003" in heard, heard
    assert "INV-500" not in heard


async def test_changing_the_address_gets_an_honest_answer_and_a_person(
    db: Database, settings: Settings
) -> None:
    escalation = FakeEscalation()
    state = await make_state(db, settings, escalation, verified=True, phase=Phase.ORDERS)
    with fake_job_context():
        session = await _session(state, OrdersAgent(state))
        asked = await session.run(user_input="I want to change my shipping address")
        accepted = await session.run(user_input="yes please")
        await session.aclose()
    is_call(asked.expect.next_event(), POLICY_TOOL_NAME, topic="address_change")
    assert [e.item.name for e in asked.events if e.type == "function_call"] == [POLICY_TOOL_NAME]
    answer = faq().topics["address_change"].answer
    assert _spoken(asked) == [f"{answer} {PERSON}"]
    is_call(
        accepted.expect.next_event(),
        "transfer_to_human",
        reason="caller accepted the offer of a person",
    )
    assert escalation.calls and escalation.calls[0].phase is Phase.ORDERS


async def test_a_policy_question_needs_no_verification_and_pauses_the_check(
    db: Database, settings: Settings
) -> None:
    state = await make_state(db, settings, FakeEscalation())
    with fake_job_context():
        session = await _session(state, GreetingAgent(state))
        policy = await session.run(user_input="what's your refund policy")
        assert state.phase is Phase.GREETING and state.phase_history == []
        await session.run(user_input="I have a question about my bill")
        assert state.phase is Phase.VERIFICATION
        during = await session.run(user_input="what is your return policy")
        verified = await session.run(user_input="my zip code is 94107")
        await session.aclose()
    assert _spoken(policy) == [faq().topics["refunds"].answer]
    [heard] = _spoken(during)
    assert heard.startswith("You can return a delivered order within 30 days")
    assert heard.endswith(prompts.line("degraded.verify_resume"))
    assert state.verification.status is VerificationStatus.VERIFIED
    is_call(verified.expect.next_event(), "check_zip_code", zip_code="94107")


async def test_an_angry_caller_is_offered_a_person_and_connected(
    db: Database, settings: Settings
) -> None:
    escalation = FakeEscalation()
    state = await make_state(db, settings, escalation)
    with fake_job_context():
        session = await _session(state, GreetingAgent(state))
        angry = await session.run(user_input="this is ridiculous, nothing ever works with you")
        accepted = await session.run(user_input="yes")
        await session.aclose()
    assert _spoken(angry) == [prompts.line("degraded.frustrated") + " " + PERSON]
    assert prompts.line("degraded.fallback") not in _spoken(angry)
    is_call(
        accepted.expect.next_event(),
        "transfer_to_human",
        reason="caller accepted the offer of a person",
    )
