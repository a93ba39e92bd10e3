"""The degraded mode: the routing table of `DegradedLLM.decide`, then a whole call on it."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc
from livekit.agents import AgentSession, llm
from livekit.agents.beta.workflows import GetDtmfTask
from livekit.agents.testing import fake_job_context

from callcenter import degraded, prompts
from callcenter.agents.billing import BillingAgent
from callcenter.agents.catalog import phase_tools
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.degraded import DegradedLLM, step_markers
from callcenter.telephony.dtmf import KEYPAD_TASK_TOOL
from callcenter.vocabulary import VerificationStatus
from tests.callpath.helpers import Escalated, FakeEscalation, called, is_call, make_state, settle

SHARED = {"transfer_to_human", "request_callback", "answer_policy_question"}
TOOLS = {
    "greeting": SHARED | {"route_to_orders", "route_to_billing", "end_call"},
    "verification": SHARED
    | {
        "check_zip_code",
        "check_account_last_four",
        "check_pin",
        "enter_pin_on_keypad",
        "identify_by_account_number",
        "identify_by_order_number",
        "stop_verifying",
    },
    "orders": SHARED
    | {
        "end_call",
        "lookup_order",
        "list_recent_orders",
        "track_shipment",
        "cancel_order",
        "start_return",
        "transfer_to_billing",
        "finish_request",
    },
    "billing": SHARED
    | {
        "end_call",
        "get_balance",
        "list_invoices",
        "explain_charge",
        "payment_history",
        "request_refund",
        "transfer_to_orders",
        "finish_request",
    },
    "wrap_up": SHARED | {"end_call", "help_with_something_else"},
}
FALLBACK = "I can connect you with a person, or arrange for someone to call you back."


def _ctx(*turns: tuple[str, str]) -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    for role, text in turns:
        ctx.add_message(role=role, content=text)  # type: ignore[arg-type]
    return ctx


def _decide(phase: str, *turns: tuple[str, str]) -> tuple[str | None, dict[str, Any], str]:
    decision = DegradedLLM(company="Acme").decide(_ctx(*turns), set(TOOLS[phase]))
    return decision.tool, decision.arguments, decision.text


@pytest.mark.parametrize(
    ("phase", "said", "tool", "arguments"),
    [
        ("greeting", "I'm calling about my order", "route_to_orders", {}),
        ("greeting", "where is my package", "route_to_orders", {}),
        ("greeting", "I have a question about my bill", "route_to_billing", {}),
        (
            "greeting",
            "can I talk to a human",
            "transfer_to_human",
            {"reason": "caller asked for a person"},
        ),
        ("greeting", "(keypad) 0", "transfer_to_human", {"reason": "caller asked for a person"}),
        ("greeting", "that's all, bye", "end_call", {}),
        (
            "greeting",
            "please call me back tomorrow morning",
            "request_callback",
            {"reason": "caller asked to be called back", "preferred_time": "tomorrow morning"},
        ),
        ("verification", "my zip code is 94107", "check_zip_code", {"zip_code": "94107"}),
        ("verification", "nine four one oh seven", "check_zip_code", {"zip_code": "94107"}),
        ("verification", "my pin is four four two one", "check_pin", {"pin": "4421"}),
        ("verification", "(keypad) 4421", "check_pin", {"pin": "4421"}),
        (
            "verification",
            "the last four are 0042",
            "check_account_last_four",
            {"last_four": "0042"},
        ),
        ("verification", "I'll type it on the keypad", "enter_pin_on_keypad", {}),
        (
            "verification",
            "(keypad) 0",
            "transfer_to_human",
            {"reason": "caller asked for a person"},
        ),
        ("orders", "where is order one zero zero one", "track_shipment", {"order_number": "1001"}),
        ("orders", "what about order 1002", "lookup_order", {"order_number": "1002"}),
        (
            "orders",
            "cancel order 1002",
            "cancel_order",
            {"order_number": "1002", "confirmed": False},
        ),
        (
            "orders",
            "I want to return 1003",
            "start_return",
            {"order_number": "1003", "reason": "requested by caller"},
        ),
        ("orders", "list my recent orders", "list_recent_orders", {"limit": 3}),
        ("orders", "what's my balance", "transfer_to_billing", {}),
        ("billing", "what's my balance", "get_balance", {}),
        (
            "billing",
            "explain the charge on invoice 2002",
            "explain_charge",
            {"invoice_number": "2002"},
        ),
        ("billing", "show my payments", "payment_history", {"limit": 3}),
        ("billing", "I need help with an order", "transfer_to_orders", {}),
        ("wrap_up", "no that's all", "end_call", {}),
        ("wrap_up", "yes, one more thing about billing", "help_with_something_else", {}),
    ],
)
def test_routing_table(phase: str, said: str, tool: str, arguments: dict[str, Any]) -> None:
    assert _decide(phase, ("user", said))[:2] == (tool, arguments)


def test_cancel_confirmation_uses_the_number_said_earlier() -> None:
    tool, arguments, _ = _decide(
        "orders",
        ("user", "cancel order 1002"),
        ("assistant", "Order 1002 can be cancelled. Should I cancel it?"),
        ("user", "yes please"),
    )
    assert (tool, arguments) == ("cancel_order", {"order_number": "1002", "confirmed": True})


def test_declining_the_cancel_finishes() -> None:
    tool, _, _ = _decide(
        "orders",
        ("user", "cancel order 1002"),
        ("assistant", "Should I cancel it?"),
        ("user", "no"),
    )
    assert tool == "finish_request"


@pytest.mark.parametrize("phase", ["greeting", "orders", "billing", "wrap_up"])
def test_unknown_input_offers_a_person_or_callback(phase: str) -> None:
    tool, _, text = _decide(phase, ("user", "the weather is lovely"))
    assert tool is None and FALLBACK in text


def test_keyed_digits_other_than_zero_are_not_a_transfer() -> None:
    tool, _, _ = _decide("greeting", ("user", "(keypad) 5"))
    assert tool != "transfer_to_human"


def test_no_transfer_tool_means_no_transfer() -> None:
    decision = DegradedLLM().decide(_ctx(("user", "a person please")), {"route_to_orders"})
    assert decision.tool is None


def _after_tool(name: str, output: str, *, is_error: bool, phase: str = "orders") -> str:
    ctx = _ctx(("user", "order 9999"))
    ctx.items.append(
        llm.FunctionCallOutput(call_id="c1", name=name, is_error=is_error, output=output)
    )
    decision = DegradedLLM(company="Acme").decide(ctx, set(TOOLS[phase]))
    assert decision.tool is None
    return decision.text


def test_a_tool_reply_is_read_back_as_its_spoken_part_only() -> None:
    reply = ToolReply(say="Your order 1001 has shipped.", do="Ask if there is anything else.")
    assert _after_tool("lookup_order", reply.output, is_error=False) == reply.say


def test_a_failed_tool_reads_its_spoken_part_and_offers_to_retry_or_a_person() -> None:
    error = ToolReply(
        say="No order 9999 was found on your account.", do="Ask them to check the number."
    ).error()
    text = _after_tool("lookup_order", error.message, is_error=True)
    assert text == "No order 9999 was found on your account. " + prompts.line(
        "degraded.after_error"
    )


def test_a_reply_with_nothing_to_say_is_silent() -> None:
    """A transfer that connected: the model is told to stop, and so is the degraded mode
    (it used to turn "The caller is now connected" into "You is now connected")."""
    connected = ToolReply(do="The caller is now connected to Sam. Say nothing more.")
    assert _after_tool("transfer_to_human", connected.output, is_error=False) == ""


def test_a_framework_error_is_an_apology_not_a_read_out() -> None:
    text = _after_tool("lookup_order", "An internal error occurred", is_error=True)
    assert text == prompts.line("degraded.tool_failed") + " " + prompts.line("degraded.after_error")


def test_the_end_call_tool_is_answered_with_a_goodbye() -> None:
    text = _after_tool(
        "end_call", "Thank the caller and say goodbye.", is_error=False, phase="wrap_up"
    )
    assert text == prompts.line("degraded.goodbye", company="Acme")


def test_greeting_opener_names_the_company() -> None:
    _, _, text = _decide("greeting", ("system", "Greet the caller."))
    assert text.startswith("Thanks for calling Acme.")


def test_orders_opener_acts_on_the_number_already_said() -> None:
    tool, arguments, _ = _decide(
        "orders",
        ("user", "I'm calling about my order 1001"),
        ("system", "You have just taken over."),
    )
    assert (tool, arguments) == ("lookup_order", {"order_number": "1001"})


async def test_whole_call_in_degraded_mode(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state: CallState = await make_state(db, settings, escalation)
    session = AgentSession[CallState](llm=DegradedLLM(company="Northwind"), userdata=state)
    with fake_job_context():
        await session.start(GreetingAgent(state))
        await settle(session)

        first = await session.run(user_input="Hi, I'm calling about my order 1001")
        is_call(first.expect.next_event(), "route_to_orders")
        assert state.phase is Phase.VERIFICATION

        second = await session.run(user_input="my zip code is 94107")
        is_call(second.expect.next_event(), "check_zip_code", zip_code="94107")
        second.expect.contains_agent_handoff(new_agent_type=OrdersAgent)
        assert called(second, "lookup_order") == {"order_number": "1001"}
        assert state.verification.status is VerificationStatus.VERIFIED
        said = [e.item.text_content for e in second.events if e.type == "message"]
        assert any("Order 1001" in s and "is shipped" in s for s in said if s)

        third = await session.run(user_input="can you help me with my bill, what's my balance")
        is_call(third.expect.next_event(), "transfer_to_billing")
        third.expect.contains_agent_handoff(new_agent_type=BillingAgent)
        assert called(third, "get_balance") == {}

        fourth = await session.run(user_input="I'd like to speak to a person please")
        is_call(fourth.expect.next_event(), "transfer_to_human", reason="caller asked for a person")
        await session.aclose()

    assert escalation.calls == [Escalated(phase=Phase.BILLING, reason="caller asked for a person")]
    assert state.phases_visited()[:5] == [
        "greeting",
        "verification",
        "orders",
        "billing",
        "escalation",
    ]
    assert state.phase is Phase.ENDED
    assert state.actions[:3] == [
        "verified identity by ZIP code",
        "looked up order 1001",
        "checked balance",
    ]


async def test_keypad_pin_in_degraded_mode(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    """Asking to key the PIN starts GetDtmfTask; keyed digits travel as room DTMF events."""
    state: CallState = await make_state(db, settings, escalation)
    room = rtc.Room()
    session = AgentSession[CallState](llm=DegradedLLM(), userdata=state)
    with fake_job_context(room=room):
        await session.start(GreetingAgent(state))
        await settle(session)
        await session.run(user_input="I'm calling about my order 1002")
        result = await session.run(user_input="I'll key my PIN on the keypad")
        is_call(result.expect.next_event(), "enter_pin_on_keypad")
        result.expect.next_event().is_agent_handoff(new_agent_type=GetDtmfTask)
        prompt = result.expect.next_event().is_message(role="assistant").event().item
        assert prompt.text_content == "Please key your four-digit PIN now, then press pound."
        for index, digit in enumerate("4421#"):
            room.emit("sip_dtmf_received", rtc.SipDTMF(code=index, digit=digit, participant=None))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while "looked up order 1002" not in state.actions and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await session.aclose()
    assert (state.verification.status, state.verification.method) == (
        VerificationStatus.VERIFIED,
        "pin",
    )
    assert state.phases_visited() == ["greeting", "verification", "orders"]
    assert "looked up order 1002" in state.actions


def test_keyed_digits_during_verification_check_the_pin_not_start_the_keypad_task() -> None:
    assert _decide("verification", ("user", "(keypad) 4421"))[:2] == ("check_pin", {"pin": "4421"})


def test_the_tool_lists_above_are_the_agents_declarations() -> None:
    """The degraded mode finds its phase from the agents' declared tools; these lists are
    what those declarations say today (a renamed tool fails here and in the flows)."""
    assert {phase.value: tools for phase, tools in phase_tools().items()} == TOOLS


def test_every_tool_the_degraded_mode_calls_is_declared_by_an_agent() -> None:
    tree = ast.parse(Path(degraded.__file__).read_text())
    called = {  # Decision(tool="...")
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "tool" and isinstance(kw.value, ast.Constant)
    }
    [pick] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_order_tool"]
    called |= {  # the order tool picked by what the caller said
        node.value.value
        for node in ast.walk(pick)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
    }
    declared = set().union(*phase_tools().values()) | {"connect_to_caller", "decline_transfer"}
    assert called and called <= declared | {KEYPAD_TASK_TOOL}, called - declared


def test_each_step_is_told_apart_by_tools_only_it_offers() -> None:
    markers = dict(step_markers())
    assert all(markers.values()), markers
    for phase, tools in TOOLS.items():
        found = [step for step, own in step_markers() if own & tools]
        assert found[0] == phase, (phase, found)
