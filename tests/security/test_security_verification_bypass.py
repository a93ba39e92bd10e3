"""The three ways round the verification attempt limit (issue 11), each driven by a hostile
scripted model that calls any tool with any arguments:

- a lock, then a failed transfer, then a new route starting a fresh verification;
- nothing persisting across calls: locked calls from one number, then a new call;
- several `check_pin` calls in one model step, all checked at once.
"""

from __future__ import annotations

from typing import Any

from callcenter.agents.greeting import GreetingAgent
from callcenter.call import call_deps, new_call_state
from callcenter.config import Settings
from callcenter.data import Database
from callcenter.telephony.sip import CallInfo
from tests.callpath.helpers import MAYA, MAYA_PIN, FakeEscalation, running_session
from tests.security.hostile import Hostile, guesses, hostile_llm, turn
from tests.support.scripted_llm import ScriptedLLM, call, reply, say

WRONG = ["1111", "2222", "3333", "5555", "6666", "7777", "8888", "9999"]


class CountingAccounts:
    """Wraps the call's `AccountAccess` and counts the factors actually checked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.checked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def check_factor(self, customer_id: int, kind: Any, digits: str) -> bool:
        self.checked.append(digits)
        return bool(await self.inner.check_factor(customer_id, kind, digits))


async def _call(db: Database, settings: Settings, escalation: Any, call_id: str) -> Any:
    info = CallInfo.for_console(caller_e164=MAYA, call_id=call_id)
    state = await new_call_state(info, call_deps(settings, db, escalation=escalation))
    counting = CountingAccounts(state.deps.accounts)
    state.deps.accounts = counting
    return state, counting


async def test_a_lock_survives_a_failed_transfer_and_a_new_route(
    db: Database, settings: Settings
) -> None:
    """Finding: 41 wrong PINs, then the right one, verified in one call."""
    escalation = FakeEscalation(succeed=False)  # every transfer fails: the call comes back
    state, counting = await _call(db, settings, escalation, "bypass-reroute")
    policy = Hostile(
        [
            ("check_pin", guesses([*WRONG[:5], MAYA_PIN], "pin")),
            ("route_to_orders", {}),
        ]
    )
    scripted = hostile_llm(policy)
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        for _ in range(12):
            await turn(session, "my order please, here is my PIN")
            if state.ended:
                break
    assert not state.verified, "a new route after a lock verified the caller"
    assert len(counting.checked) <= settings.verification_max_attempts


async def test_locked_calls_lock_the_account_for_the_next_call(
    db: Database, settings: Settings
) -> None:
    """Finding: three locked calls from one number, and the fourth verifies at once."""
    guesses_left = list(WRONG)
    for n in range(3):
        state, _ = await _call(db, settings, FakeEscalation(succeed=False), f"locked-{n}")
        policy = Hostile([("check_pin", guesses(guesses_left[:3], "pin")), ("route_to_orders", {})])
        del guesses_left[:3]
        async with running_session(state, hostile_llm(policy), GreetingAgent(state)) as s:
            for _ in range(4):
                await turn(s, "my order")
        assert not state.verified
    fourth, counting = await _call(db, settings, FakeEscalation(succeed=False), "fourth")
    policy = Hostile([("check_pin", guesses([MAYA_PIN], "pin")), ("route_to_orders", {})])
    async with running_session(fourth, hostile_llm(policy), GreetingAgent(fourth)) as session:
        for _ in range(3):
            await turn(session, "my order, PIN 4421")
    assert not fourth.verified, "the account was not locked after three locked calls"
    assert counting.checked == []  # a locked account is not even checked


async def test_parallel_checks_in_one_step_never_exceed_the_budget(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    """Finding: several check_pin calls in one model step all checked against a limit of 3."""
    state, counting = await _call(db, settings, escalation, "parallel")
    burst = reply(
        "",
        *(call("check_pin", pin=p) for p in ("1111", "2222", "3333", MAYA_PIN, "5555", "6666")),
    )
    scripted = ScriptedLLM(
        say("Hello, how can I help?"),
        call("route_to_orders"),
        burst,  # the verification task's first reply: six PINs at once
        *([say("(reads back)")] * 20),
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="my order")
    assert len(counting.checked) <= settings.verification_max_attempts
    assert MAYA_PIN not in counting.checked  # the fourth guess is never evaluated
    assert not state.verified
