"""VERIFICATION: caller ID + one factor, bounded attempts, keypad PIN through GetDtmfTask."""

from __future__ import annotations

import asyncio

import pytest
from livekit import rtc
from livekit.agents.beta.workflows import GetDtmfTask

from callcenter import prompts
from callcenter.agents.billing import BillingAgent
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.verification import VerifyCallerTask
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.data import Database
from callcenter.vocabulary import VerificationStatus
from tests.callpath.helpers import (
    MAYA_LAST_FOUR,
    MAYA_PIN,
    MAYA_ZIP,
    UNKNOWN,
    Escalated,
    FakeEscalation,
    is_call,
    make_settings,
    make_state,
    output_of,
    running_session,
    said,
    settle,
)
from tests.support.scripted_llm import ScriptedLLM, call, say

VERIFIED_TEXT = "Say: " + prompts.line("verification.verified")


def _to_verification() -> list:
    """Greeting, the caller asks about an order, the task asks for a factor."""
    return [say("Hello, how can I help?"), call("route_to_orders"), say("First, your ZIP?")]


async def _wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)


async def test_routing_an_unverified_caller_starts_verification(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(*_to_verification())
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        result = await session.run(user_input="I'm calling about my order 1001")
        is_call(result.expect.next_event(), "route_to_orders")
        result.expect.next_event().is_agent_handoff(new_agent_type=VerifyCallerTask)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        assert state.phase is Phase.VERIFICATION and state.intent == "orders"
        # the task is offered the check tools, escalation and policy answers (which need no
        # verification), no account tools
        assert scripted.requests[-1].tool_names == {
            "check_zip_code",
            "check_account_last_four",
            "check_pin",
            "enter_pin_on_keypad",
            "identify_by_account_number",
            "identify_by_order_number",
            "stop_verifying",
            "transfer_to_human",
            "request_callback",
            "answer_policy_question",
        }
    scripted.assert_consumed()


@pytest.mark.parametrize(
    ("tool", "argument", "value", "method"),
    [
        ("check_zip_code", "zip_code", MAYA_ZIP, "zip"),
        ("check_account_last_four", "last_four", MAYA_LAST_FOUR, "last_four"),
        ("check_pin", "pin", MAYA_PIN, "pin"),
        ("check_pin", "pin", "four four two one", "pin"),  # spoken digits
    ],
)
async def test_each_factor_verifies(
    db: Database,
    settings: Settings,
    escalation: FakeEscalation,
    tool: str,
    argument: str,
    value: str,
    method: str,
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(
        *_to_verification(),
        call(tool, **{argument: value}),
        say("Thanks, you're verified."),
        say("Which order can I help with?"),  # OrdersAgent.on_enter
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="my order please")
        result = await session.run(user_input=value)
        is_call(result.expect.next_event(), tool, **{argument: value})
        assert output_of(result.expect.next_event()) == VERIFIED_TEXT
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_agent_handoff(new_agent_type=GreetingAgent)  # task done
        result.expect.next_event().is_function_call_output()  # route_to_orders' handoff
        result.expect.next_event().is_agent_handoff(new_agent_type=OrdersAgent)
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert state.verification.status is VerificationStatus.VERIFIED
    assert (state.verification.method, state.verification.attempts) == (method, 0)
    assert state.phases_visited() == ["greeting", "verification", "orders"]
    assert state.verified_customer_id == state.caller.customer_id  # type: ignore[union-attr]
    scripted.assert_consumed()


@pytest.mark.parametrize(
    ("tool", "argument", "value", "expected"),
    [
        ("check_zip_code", "zip_code", "941", "has 5 digits and you gave 3"),
        ("check_pin", "pin", "44211", "has 4 digits and you gave 5"),
        ("check_account_last_four", "last_four", "none", "has 4 digits and you gave 0"),
    ],
)
async def test_malformed_answer_does_not_spend_an_attempt(
    db: Database,
    settings: Settings,
    escalation: FakeEscalation,
    tool: str,
    argument: str,
    value: str,
    expected: str,
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(*_to_verification(), call(tool, **{argument: value}), say("Again?"))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="my order")
        result = await session.run(user_input=value)
        is_call(result.expect.next_event(), tool, **{argument: value})
        assert expected in output_of(result.expect.next_event())
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert state.verification.attempts == 0
    assert state.verification.status is VerificationStatus.UNVERIFIED
    assert state.phase is Phase.VERIFICATION


async def test_wrong_answer_counts_down(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(
        *_to_verification(),
        call("check_zip_code", zip_code="10001"),  # Daniel's ZIP, not Maya's
        say("That didn't match."),
        call("check_pin", pin="1234"),
        say("That didn't match."),
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="my order")
        first = await session.run(user_input="10001")
        first.expect.skip_next()
        assert "2 attempts left" in output_of(first.expect.next_event())
        second = await session.run(user_input="pin 1234")
        second.expect.skip_next()
        assert "1 attempt left" in output_of(second.expect.next_event())
    assert state.verification.attempts == 2
    assert state.verification.status is VerificationStatus.UNVERIFIED
    assert escalation.calls == []


@pytest.mark.parametrize("max_attempts", [1, 3])
async def test_lockout_after_max_attempts_escalates(
    db: Database, db_path: object, escalation: FakeEscalation, max_attempts: int
) -> None:
    settings = make_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{db_path}", CALLCENTER_VERIFY_ATTEMPTS=max_attempts
    )
    state = await make_state(db, settings, escalation)
    wrong = []
    for _ in range(max_attempts - 1):
        wrong += [call("check_zip_code", zip_code="00000"), say("That didn't match.")]
    scripted = ScriptedLLM(
        *_to_verification(),
        *wrong,
        call("check_zip_code", zip_code="00000"),
        say("I'll connect you with a person."),
        lambda req: say(req.last_tool_output()),  # greeting reads the escalation result
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="my order")
        for _ in range(max_attempts - 1):
            await session.run(user_input="00000")
        assert escalation.calls == []
        result = await session.run(user_input="00000")
        is_call(result.expect.next_event(), "check_zip_code", zip_code="00000")
        assert "no attempts are left" in output_of(result.expect.next_event())
        result.expect.next_event().is_message(role="assistant")
        result.expect.next_event().is_agent_handoff(new_agent_type=GreetingAgent)
        route_output = output_of(result.expect.next_event())
        assert route_output.startswith("Connected to Sam Supervisor")  # FakeEscalation's text
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
    assert state.verification.status is VerificationStatus.LOCKED
    assert state.verification.attempts == max_attempts
    assert escalation.calls == [
        Escalated(phase=Phase.GREETING, reason="The caller could not verify their identity.")
    ]
    assert state.verified_customer_id is None
    assert "identity verification failed too many times" in state.actions
    scripted.assert_consumed()


async def test_unknown_number_identifies_by_account_number_then_two_factors(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    """Caller ID is never a factor on its own, and a caller from another phone can still
    verify: the account they name, then two different factors."""
    state = await make_state(db, settings, escalation, caller=UNKNOWN)
    assert state.caller is None
    scripted = ScriptedLLM(
        say("Hello, how can I help?"),
        call("route_to_billing"),  # the task says its identification line itself
        call("check_pin", pin=MAYA_PIN),  # a factor before naming an account: refused
        say("First your account number, please."),
        call("identify_by_account_number", account_number="ACC-100042"),
        say("Thanks. Two of: ZIP, last four, PIN?"),
        call("check_zip_code", zip_code=MAYA_ZIP),
        say("One more, please."),
        call("check_zip_code", zip_code=MAYA_ZIP),  # the same factor twice is not two
        say("A different one, please."),
        call("check_pin", pin=MAYA_PIN),
        say("Thanks, you're verified."),
        say("How can I help with billing?"),  # BillingAgent.on_enter
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="what's my balance")
        await settle(session)
        result = await session.run(user_input="my PIN is 4421")
        is_call(result.expect.next_event(), "check_pin", pin=MAYA_PIN)
        assert said(output_of(result.expect.next_event())) == prompts.line(
            "verification.identify_first"
        )
        await session.run(user_input="account A C C one zero zero zero four two")
        assert state.caller is not None and state.verification.needed == 2
        await session.run(user_input="zip 94107")
        assert not state.verified
        await session.run(user_input="zip 94107 again")
        assert not state.verified and state.verification.attempts == 0
        await session.run(user_input="and my PIN is 4421")
        await _wait_for(lambda: isinstance(session.current_agent, BillingAgent))
    assert state.verification.status is VerificationStatus.VERIFIED
    assert state.verification.identified_by == "account_number"
    assert state.verification.factors == ["zip", "pin"]
    assert state.assurance == "strong"
    scripted.assert_consumed()


async def test_unknown_number_and_a_wrong_account_spends_an_attempt(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation, caller=UNKNOWN)
    scripted = ScriptedLLM(
        say("Hello, how can I help?"),
        call("route_to_orders"),
        call("identify_by_order_number", order_number="9999"),
        lambda req: say(req.last_tool_output()),
        call("stop_verifying"),
        say("OK."),
        lambda req: say(req.last_tool_output()),  # the greeting reads the route's reply
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="where is my order")
        await settle(session)
        result = await session.run(user_input="order nine nine nine nine")
        result.expect.skip_next()
        assert "You have 2 attempts left" in output_of(result.expect.next_event())
        await session.run(user_input="I don't have it")
        await _wait_for(lambda: isinstance(session.current_agent, GreetingAgent))
        await settle(session)
    assert state.caller is None and state.verification.attempts == 1
    assert state.verification.status is VerificationStatus.NO_MATCH
    assert state.phase is Phase.GREETING
    assert state.phases_visited() == ["greeting", "verification", "greeting"]


async def test_keypad_pin_through_get_dtmf_task(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    room = rtc.Room()
    scripted = ScriptedLLM(
        *_to_verification(),
        call("enter_pin_on_keypad"),
        say("Please key your PIN, then press pound."),  # GetDtmfTask.on_enter
        say("Thanks, you're verified."),  # reply to enter_pin_on_keypad's output
        say("Which order can I help with?"),  # OrdersAgent.on_enter
    )
    async with running_session(state, scripted, GreetingAgent(state), room=room) as session:
        await session.run(user_input="my order")
        result = await session.run(user_input="I'll key it in")
        is_call(result.expect.next_event(), "enter_pin_on_keypad")
        result.expect.next_event().is_agent_handoff(new_agent_type=GetDtmfTask)
        assert isinstance(session.current_agent, GetDtmfTask)
        # the DTMF task is offered only its own tool
        assert scripted.requests[-1].tool_names == {"record_inputs"}
        for index, digit in enumerate(MAYA_PIN + "#"):
            room.emit("sip_dtmf_received", rtc.SipDTMF(code=index, digit=digit, participant=None))
        await _wait_for(lambda: isinstance(session.current_agent, OrdersAgent))
        await asyncio.sleep(0.05)
    assert state.verification.status is VerificationStatus.VERIFIED
    assert state.verification.method == "pin"
    assert state.phase is Phase.ORDERS
    # while the keypad task runs the model sees a "still in progress" placeholder; the
    # reply after it sees the check's real result
    outputs = [
        o for o in scripted.requests[-2].function_outputs() if o.name == "enter_pin_on_keypad"
    ]
    assert [o.output for o in outputs] == [VERIFIED_TEXT]
    scripted.assert_consumed()


async def test_wrong_keypad_pin_spends_an_attempt(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    room = rtc.Room()
    scripted = ScriptedLLM(
        *_to_verification(),
        call("enter_pin_on_keypad"),
        say("Please key your PIN."),
        say("That didn't match, try again."),
    )
    async with running_session(state, scripted, GreetingAgent(state), room=room) as session:
        await session.run(user_input="my order")
        await session.run(user_input="keypad")
        for index, digit in enumerate("9999#"):
            room.emit("sip_dtmf_received", rtc.SipDTMF(code=index, digit=digit, participant=None))
        await _wait_for(lambda: scripted.remaining == 0)
        await _wait_for(lambda: isinstance(session.current_agent, VerifyCallerTask))
    assert state.verification.attempts == 1
    assert state.verification.status is VerificationStatus.UNVERIFIED
    scripted.assert_consumed()
