"""The degraded mode: a deterministic stand-in for the language model. No network.

What it is: an `llm.LLM` that reads the last turn and the tools the current agent
offers, and answers by rules instead of by a model. It routes by keywords ("order",
"bill", "person") and keypad digits, picks order and invoice numbers, amounts, ZIP codes
and PINs out of what the caller said (`callcenter.utterances`), calls the same tools the
real model would, and reads back the spoken part of the tools' replies (`ToolReply.say`;
the model-facing `do` part is never read out). Policy questions ("what's your refund
policy", "change my shipping address") are answered from `prompts/faq.toml` through the
same `answer_policy_question` tool, in any phase and without verification; a policy
question the file does not answer gets the honest "I don't know" and a person. A "yes"
to the offer of a person or a callback (`[offers]` in `prompts/lines.toml`) takes it. A
frustrated caller (by their words) gets an apology and the offer of a person. When it
cannot tell what the caller wants, it offers a person or a callback. It is used when
no provider keys are set (so the product runs on a fresh machine, and in the terminal
console) and as the last link of every fallback chain, so a call survives every model
provider being down.

What it is not: a conversationalist. It handles the product's own flows and nothing
else, on purpose: anything it does not recognise goes to a human.

How it knows where it is: each phase offers tools no other phase has, read from the
agents' own declarations (`agents.catalog.phase_tools()`, the supervisor briefing agent,
the keypad task), so a tool added to or renamed in an agent moves the detection with it.
A turn that ends with a system message is an instructed turn (an agent's `on_enter`); a
turn that ends with a tool output is read back; otherwise the caller just spoke. Its own
sentences are in `prompts/lines.toml` (`[degraded]`).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from livekit.agents import llm
from livekit.agents.llm import ChatChunk, ChoiceDelta, FunctionToolCall
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from callcenter import prompts
from callcenter.agents.catalog import own_tools, phase_tools
from callcenter.agents.shared_tools import END_CALL_TOOL_NAME, POLICY_TOOL_NAME
from callcenter.core.phases import Phase
from callcenter.core.replies import parse
from callcenter.escalation.media import BriefingAgent
from callcenter.faq import OTHER, faq
from callcenter.speech import digit_groups
from callcenter.telephony.dtmf import KEYPAD_TASK_TOOL
from callcenter.utterances import (
    amounts_in,
    invoice_number_in,
    order_number_in,
    sounds_frustrated,
)
from callcenter.vocabulary import KEYPAD_PREFIX

_HUMAN = re.compile(
    r"\b(human|person|people|agent|representative|rep|supervisor|operator|manager|someone)\b"
)
_CALLBACK = re.compile(r"\b(call ?back|call me back|call me later|ring me back)\b")
_BYE = re.compile(
    r"\b(bye|goodbye|that'?s all|that is all|nothing else|no thanks|no thank you|that'?s it|"
    r"all set|i'?m done|no,? that'?s)\b"
)
_ORDERS = re.compile(
    r"\b(orders?|package|parcel|deliver(y|ed)?|shipment|shipping|shipped|track(ing)?|"
    r"returns?|cancel)\b"
)
_BILLING = re.compile(
    r"\b(bill|billing|invoices?|charged?|charges|payments?|paid|balance|refund|owe|pay)\b"
)
_GIVE_UP = re.compile(
    r"\b(don'?t (have|know) (it|them|that|my)|no idea|i forgot|can'?t remember)\b"
)
_YES = re.compile(r"\b(yes|yeah|yep|sure|please do|go ahead|confirm|correct|do it|ok(ay)?)\b")
_NO = re.compile(r"^\s*(no|nope|nah)\b")

BRIEFING: Final = "briefing"
KEYPAD: Final = "keypad"
"""The two steps that are not phases: the supervisor briefing leg, the keypad task."""

_DETECTION_ORDER: Final = (
    Phase.VERIFICATION,
    Phase.ORDERS,
    Phase.BILLING,
    Phase.WRAP_UP,
    Phase.GREETING,
)


@functools.cache
def step_markers() -> tuple[tuple[str, frozenset[str]], ...]:
    """For each step the degraded mode handles, the tools only that step offers.

    Read from the declarations (the phase agents and tasks, the briefing agent, the keypad
    task's tool), so nothing here names a phase's tools by hand."""
    tools = phase_tools()
    markers: list[tuple[str, frozenset[str]]] = [
        (BRIEFING, own_tools(BriefingAgent)),
        (KEYPAD, frozenset({KEYPAD_TASK_TOOL})),
    ]
    for phase in _DETECTION_ORDER:
        others = frozenset().union(*(t for p, t in tools.items() if p is not phase))
        markers.append((phase.value, tools[phase] - others))
    return tuple(markers)


@dataclass
class Decision:
    """What the degraded model says or does for one turn."""

    text: str = ""
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    understood: bool = True
    """False for "sorry, I didn't get that": a policy question or frustration may answer
    the turn better (`_Policy._answer`)."""


class DegradedLLM(llm.LLM):
    """Rule-based `llm.LLM`; see the module docstring."""

    def __init__(self, *, company: str = "our company") -> None:
        super().__init__()
        self._company = company

    @property
    def model(self) -> str:
        return "degraded-rules"

    @property
    def provider(self) -> str:
        return "callcenter"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _DegradedStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )

    def decide(self, chat_ctx: llm.ChatContext, tool_names: set[str]) -> Decision:
        """The whole policy, pure and synchronous (unit-tested directly)."""
        return _Policy(self._company, chat_ctx, tool_names).decide()


class _DegradedStream(llm.LLMStream):
    async def _run(self) -> None:
        names = {
            t.info.name
            for t in self._tools
            if isinstance(t, llm.FunctionTool | llm.RawFunctionTool)
        }
        for toolset in self._tools:
            if isinstance(toolset, llm.Toolset):
                names |= {t.info.name for t in toolset.tools if hasattr(t, "info")}
        assert isinstance(self._llm, DegradedLLM)
        decision = self._llm.decide(self._chat_ctx, names)
        request_id = f"degraded-{uuid.uuid4().hex[:8]}"
        if decision.text:
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", content=decision.text))
            )
        if decision.tool:
            call = FunctionToolCall(
                name=decision.tool,
                arguments=json.dumps(decision.arguments),
                call_id=f"call_{uuid.uuid4().hex[:10]}",
            )
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", tool_calls=[call]))
            )


class _Policy:
    def __init__(self, company: str, chat_ctx: llm.ChatContext, tools: set[str]) -> None:
        self.company = company
        self.items = [i for i in chat_ctx.items if i.type in ("message", "function_call_output")]
        self.tools = tools

    # --- reading the context -------------------------------------------------------------
    def _user_texts(self) -> list[str]:
        return [
            (i.text_content or "").lower()
            for i in self.items
            if i.type == "message" and i.role == "user"
        ]

    def _last_assistant(self) -> str:
        for item in reversed(self.items):
            if item.type == "message" and item.role == "assistant":
                return (item.text_content or "").lower()
        return ""

    def _phase(self) -> str:
        for step, markers in step_markers():
            if markers & self.tools:
                return step
        return "unknown"

    def decide(self) -> Decision:
        if not self.items:
            return self._opener(self._phase())
        last = self.items[-1]
        if last.type == "function_call_output" and self._phase() == KEYPAD:
            # the keypad task starts inside `enter_pin_on_keypad`: the output it sees is the
            # framework's "still in progress" placeholder, not something to read out
            return self._opener(KEYPAD)
        if last.type == "function_call_output":
            return Decision(text=self._read_back(last))
        if last.role == "system" or last.role == "developer":
            return self._opener(self._phase())
        if last.role != "user":
            return Decision()
        return self._answer(self._phase(), (last.text_content or "").lower())

    def _read_back(self, output: Any) -> str:
        """What the caller hears after a tool: the reply's spoken part (and, after an error,
        the offer to try again or reach a person). The end-call tool's own output is an
        instruction to say goodbye, so the goodbye line is said instead."""
        if output.name == END_CALL_TOOL_NAME and not output.is_error:
            return _line("goodbye", company=self.company)
        reply = parse(output.output)
        said = reply.say if reply is not None else ""
        if not output.is_error:
            if (
                output.name == POLICY_TOOL_NAME
                and self._phase() == "verification"
                and not said.endswith(prompts.line("offers.person"))
            ):
                return f"{said} {_line('verify_resume')}"  # the check is still waiting
            return said
        return " ".join(part for part in (said or _line("tool_failed"), _line("after_error")))

    # --- instructed turns (on_enter) -------------------------------------------------------
    def _opener(self, phase: str) -> Decision:
        users = self._user_texts()
        latest = users[-1] if users else ""
        if phase == "greeting":
            if latest and (_ORDERS.search(latest) or _BILLING.search(latest)):
                return self._answer("greeting", latest)  # back from wrap-up with a new request
            if latest:
                return Decision(text=_line("what_else"))
            return Decision(text=_line("greeting", company=self.company))
        if phase == "verification":
            return Decision(text=_line("verify"))
        if phase == "keypad":
            return Decision(text=_line("key_pin"))
        if phase == "orders":
            number = _order_number_from(users)
            if number:
                intent = " ".join(u for u in users if number in "".join(digit_groups(u)))
                return Decision(tool=_order_tool(intent), arguments=_order_args(intent, number))
            return Decision(text=_line("orders"))
        if phase == "billing":
            if users and _BILLING.search(users[-1]):
                billing = self._billing_decision(users[-1])
                if billing.tool:
                    return billing
            return Decision(text=_line("billing"))
        if phase == "wrap_up":
            return Decision(text=_line("wrap_up"))
        if phase == BRIEFING:
            return Decision(text=_line("briefing_hello") + " " + self._brief())
        return Decision(text=_line("how_can_i_help"))

    def _brief(self) -> str:
        return _line("briefing_question")

    # --- caller turns ------------------------------------------------------------------------
    def _answer(self, phase: str, text: str) -> Decision:
        if phase == BRIEFING:
            if _YES.search(text) or "connect" in text:
                return Decision(tool="connect_to_caller")
            if _NO.search(text) or "decline" in text or "can't" in text:
                return Decision(tool="decline_transfer", arguments={"reason": text[:120]})
            return Decision(text=self._brief())
        if phase == KEYPAD:
            digits = "".join(digit_groups(text))
            if digits:
                return Decision(tool=KEYPAD_TASK_TOOL, arguments={"inputs": list(digits)})
            return Decision(text=_line("key_pin_again"))

        keyed = text.startswith(KEYPAD_PREFIX)
        wants_person = (keyed and text.removeprefix(KEYPAD_PREFIX).strip() == "0") or (
            not keyed and _HUMAN.search(text)
        )
        if wants_person and "transfer_to_human" in self.tools:
            return Decision(
                tool="transfer_to_human", arguments={"reason": "caller asked for a person"}
            )
        if _CALLBACK.search(text) and "request_callback" in self.tools:
            return Decision(
                tool="request_callback",
                arguments={
                    "reason": "caller asked to be called back",
                    "preferred_time": _time_in(text),
                },
            )
        accepted = self._reply_to_offer(phase, text)
        if accepted is not None:
            return accepted
        topic = faq().topic_for(text) if not keyed else None
        if topic is not None and POLICY_TOOL_NAME in self.tools:
            return Decision(tool=POLICY_TOOL_NAME, arguments={"topic": topic.name})

        decision = self._by_phase(phase, text, keyed)
        if decision.understood:
            if decision.tool and sounds_frustrated(text):
                return Decision(_line("sorry"), decision.tool, decision.arguments)
            return decision
        if faq().is_policy_question(text) and POLICY_TOOL_NAME in self.tools:
            return Decision(tool=POLICY_TOOL_NAME, arguments={"topic": OTHER})
        if sounds_frustrated(text) and "transfer_to_human" in self.tools:
            return Decision(text=_line("frustrated") + " " + prompts.line("offers.person"))
        return decision

    def _reply_to_offer(self, phase: str, text: str) -> Decision | None:
        """The caller's answer to the offer of a person or a callback that ended our last
        reply (`[offers]` in lines.toml): yes takes it, no moves on, anything else is not
        an answer to it."""
        last = self._last_assistant()
        yes = bool(_YES.search(text)) and not _NO.search(text)
        if prompts.line("offers.callback").lower() in last and "request_callback" in self.tools:
            when = _time_in(text)
            if yes or when != _ASAP:
                return Decision(
                    tool="request_callback",
                    arguments={"reason": "caller accepted a callback", "preferred_time": when},
                )
        elif prompts.line("offers.person").lower() in last and "transfer_to_human" in self.tools:
            if yes:
                return Decision(
                    tool="transfer_to_human",
                    arguments={"reason": "caller accepted the offer of a person"},
                )
        else:
            return None
        if not _NO.search(text):
            return None
        if len(text.split()) > 3:  # "no, just tell me where order 1001 is": go on with that
            decision = self._by_phase(phase, text, keyed=False)
            if decision.understood and decision.tool:
                return decision
        return Decision(text=_line("verify" if phase == "verification" else "what_else"))

    def _by_phase(self, phase: str, text: str, keyed: bool) -> Decision:
        if phase == "verification":
            return self._verification(text, keyed)
        if phase == "greeting":
            if _BYE.search(text) and "end_call" in self.tools:
                return Decision(tool="end_call")
            if _ORDERS.search(text):
                return Decision(tool="route_to_orders")
            if _BILLING.search(text):
                return Decision(tool="route_to_billing")
        if phase == "orders":
            return self._orders(text)
        if phase == "billing":
            return self._billing(text)
        if phase == "wrap_up":
            if _BYE.search(text) or _NO.search(text):
                return Decision(tool="end_call")
            if _YES.search(text) or _ORDERS.search(text) or _BILLING.search(text):
                return Decision(tool="help_with_something_else")
        return self._fallback()

    def _fallback(self) -> Decision:
        return Decision(text=_line("fallback"), understood=False)

    def _verification(self, text: str, keyed: bool) -> Decision:
        # "last four" names the factor; its "four" is not one of the digits
        digits = "".join(digit_groups(re.sub(r"\blast four\b", " ", text)))
        if _GIVE_UP.search(text) and "stop_verifying" in self.tools:
            return Decision(tool="stop_verifying")
        # a caller whose number is on no account names it first (the tool says when the
        # number already identified them)
        names_account = (
            re.search(r"\baccount\b|\bacc\b", text) and "last four" not in text and len(digits) >= 5
        )
        if not keyed and names_account and "identify_by_account_number" in self.tools:
            return Decision(tool="identify_by_account_number", arguments={"account_number": digits})
        names_order = re.search(r"\border\b", text) and 3 <= len(digits) <= 12
        if not keyed and names_order and "identify_by_order_number" in self.tools:
            return Decision(tool="identify_by_order_number", arguments={"order_number": digits})
        # keyed digits already are the PIN: only a caller who *asks* to key it gets the task
        if not keyed and re.search(r"\b(keypad|key it|type it|punch)\b", text):
            return Decision(tool="enter_pin_on_keypad")
        if keyed or "pin" in text:
            if digits:
                return Decision(tool="check_pin", arguments={"pin": digits})
        elif re.search(r"last four|account", text) and digits:
            return Decision(tool="check_account_last_four", arguments={"last_four": digits})
        elif re.search(r"\bzip|postal", text) or len(digits) == 5:
            if digits:
                return Decision(tool="check_zip_code", arguments={"zip_code": digits})
        elif len(digits) == 4:
            return Decision(tool="check_pin", arguments={"pin": digits})
        return Decision(text=_line("verify_again"), understood=False)

    def _orders(self, text: str) -> Decision:
        if _BYE.search(text) and "end_call" in self.tools:
            return Decision(tool="end_call")
        if _BILLING.search(text) and not _ORDERS.search(text):
            return Decision(tool="transfer_to_billing")
        number = order_number_in(text)
        if number is None and _YES.search(text) and "cancel" in self._last_assistant():
            number = _order_number_from(self._user_texts())
            if number:
                return Decision(
                    tool="cancel_order", arguments={"order_number": number, "confirmed": True}
                )
        if _NO.search(text) and "cancel" in self._last_assistant():
            return Decision(tool="finish_request")
        if number is not None:
            return Decision(tool=_order_tool(text), arguments=_order_args(text, number))
        if re.search(r"\b(recent|my orders|list|all)\b", text):
            return Decision(tool="list_recent_orders", arguments={"limit": 3})
        if _ORDERS.search(text):
            return Decision(text=_line("order_number"))
        if _NO.search(text):
            return Decision(tool="finish_request")
        return self._fallback()

    def _billing(self, text: str) -> Decision:
        if _BYE.search(text) and "end_call" in self.tools:
            return Decision(tool="end_call")
        if _ORDERS.search(text) and not _BILLING.search(text):
            return Decision(tool="transfer_to_orders")
        decision = self._billing_decision(text)
        if decision.tool or decision.text:
            return decision
        if _NO.search(text):
            return Decision(tool="finish_request")
        return self._fallback()

    def _billing_decision(self, text: str) -> Decision:
        invoice = invoice_number_in(text)
        if "refund" in text:
            amounts = amounts_in(text)
            if invoice is not None and amounts:
                return Decision(
                    tool="request_refund",
                    arguments={
                        "invoice_number": invoice,
                        "amount": _decimal(amounts[0]),
                        "reason": text[:120],
                    },
                )
            return Decision(text=_line("refund_details"))
        if invoice is not None and re.search(r"\b(charge|charged|invoice|inv)\b", text):
            return Decision(tool="explain_charge", arguments={"invoice_number": invoice})
        if re.search(r"\b(balance|owe|due)\b", text):
            return Decision(tool="get_balance")
        if re.search(r"\binvoices?\b|\bbill\b", text):
            return Decision(tool="list_invoices", arguments={"limit": 3})
        if re.search(r"\b(payments?|paid)\b", text):
            return Decision(tool="payment_history", arguments={"limit": 3})
        if "charge" in text:
            return Decision(text=_line("charge_invoice"))
        return Decision()


def _order_number_from(user_texts: list[str]) -> str | None:
    """The most recent order number the caller named ("order 1001", "order one zero...")."""
    for text in reversed(user_texts):
        if re.search(r"\border\b", text):
            number = order_number_in(text)
            if number is not None:
                return number
    return None


def _decimal(cents: int) -> str:
    """Cents as the plain amount the refund tool reads ("5.00")."""
    return f"{cents // 100}.{cents % 100:02d}"


def _order_tool(text: str) -> str:
    if "cancel" in text:
        return "cancel_order"
    if re.search(r"\breturn", text):
        return "start_return"
    if re.search(r"\b(where|track|tracking|package|deliver|arrive|shipping)\b", text):
        return "track_shipment"
    return "lookup_order"


def _order_args(text: str, number: str) -> dict[str, Any]:
    tool = _order_tool(text)
    if tool == "cancel_order":
        return {"order_number": number, "confirmed": False}
    if tool == "start_return":
        return {"order_number": number, "reason": "requested by caller"}
    return {"order_number": number}


_ASAP: Final = "as soon as possible"


def _time_in(text: str) -> str:
    match = re.search(
        r"\b(tomorrow|today|tonight|this (?:morning|afternoon|evening)|"
        r"(?:on )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
        r"(?:at|after|before|around) \d{1,2}(?::\d\d)?\s*(?:am|pm)?)\b.*",
        text,
    )
    if match is None:
        return _ASAP
    when = re.sub(r"[\s,.!]*\b(please|thanks|thank you)\b.*$", "", match.group(0))
    return when.strip(" ,.!")[:60] or _ASAP


def _line(name: str, **facts: Any) -> str:
    """One of the degraded mode's own sentences (`prompts/lines.toml`, `[degraded]`)."""
    return prompts.line(f"degraded.{name}", **facts)
