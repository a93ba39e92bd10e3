"""The degraded mode: a deterministic stand-in for the language model. No network.

What it is: an `llm.LLM` that reads the last turn and the tools the current agent
offers, and answers by rules instead of by a model. It routes by keywords ("order",
"bill", "person") and keypad digits, picks order numbers, ZIP codes and PINs out of
what the caller said, calls the same tools the real model would, and reads the tools'
results back. When it cannot tell what the caller wants, it offers a person or a
callback. It is used when no provider keys are set (so the product runs on a fresh
machine, and in the terminal console) and as the last link of every fallback chain,
so a call survives every model provider being down.

What it is not: a conversationalist. It handles the product's own flows and nothing
else, on purpose: anything it does not recognise goes to a human.

How it knows where it is: each phase offers a distinctive tool (`route_to_orders` in
greeting, `check_zip_code` in verification, `lookup_order` in orders, ...). A turn
that ends with a system message is an instructed turn (an agent's `on_enter`); a turn
that ends with a tool output is read back; otherwise the caller just spoke.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.llm import ChatChunk, ChoiceDelta, FunctionToolCall
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from callcenter.speech import digit_groups
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
_YES = re.compile(r"\b(yes|yeah|yep|sure|please do|go ahead|confirm|correct|do it|ok(ay)?)\b")
_NO = re.compile(r"^\s*(no|nope|nah)\b")
_MODEL_DIRECTED = re.compile(
    r"^(ask|offer|tell|thank|say|do not|don't|call|continue|use|read|confirm briefly)\b", re.I
)


@dataclass
class Decision:
    """What the degraded model says or does for one turn."""

    text: str = ""
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)


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
        for tool, phase in (
            ("connect_to_caller", "briefing"),
            ("record_inputs", "keypad"),
            ("check_zip_code", "verification"),
            ("lookup_order", "orders"),
            ("get_balance", "billing"),
            ("help_with_something_else", "wrap_up"),
            ("route_to_orders", "greeting"),
        ):
            if tool in self.tools:
                return phase
        return "unknown"

    def decide(self) -> Decision:
        if not self.items:
            return self._opener(self._phase())
        last = self.items[-1]
        if last.type == "function_call_output" and self._phase() == "keypad":
            # the keypad task starts inside `enter_pin_on_keypad`: the output it sees is the
            # framework's "still in progress" placeholder, not something to read out
            return self._opener("keypad")
        if last.type == "function_call_output":
            return Decision(text=_speakable(last.output, is_error=last.is_error))
        if last.role == "system" or last.role == "developer":
            return self._opener(self._phase())
        if last.role != "user":
            return Decision()
        return self._answer(self._phase(), (last.text_content or "").lower())

    # --- instructed turns (on_enter) -------------------------------------------------------
    def _opener(self, phase: str) -> Decision:
        users = self._user_texts()
        latest = users[-1] if users else ""
        if phase == "greeting":
            if latest and (_ORDERS.search(latest) or _BILLING.search(latest)):
                return self._answer("greeting", latest)  # back from wrap-up with a new request
            if latest:
                return Decision(text="What else can I help you with today?")
            return Decision(
                text=f"Thanks for calling {self.company}. How can I help you today? "
                "I can help with orders and billing, or connect you with a person."
            )
        if phase == "verification":
            return Decision(
                text="First I need to verify your identity. Please tell me the ZIP code on "
                "your account, the last four digits of your account number, or your PIN. "
                "You can also key your PIN on the keypad."
            )
        if phase == "keypad":
            return Decision(text="Please key your four-digit PIN now, then press pound.")
        if phase == "orders":
            number = _order_number_from(users)
            if number:
                intent = " ".join(u for u in users if number in "".join(digit_groups(u)))
                return Decision(tool=_order_tool(intent), arguments=_order_args(intent, number))
            return Decision(
                text="I can look up an order, track a package, cancel an order that hasn't "
                "shipped, or start a return. What's the order number?"
            )
        if phase == "billing":
            if users and _BILLING.search(users[-1]):
                billing = self._billing_decision(users[-1])
                if billing.tool:
                    return billing
            return Decision(
                text="I can tell you your balance, go over invoices and charges, review "
                "payments, or open a refund request. What would you like?"
            )
        if phase == "wrap_up":
            return Decision(text="All done. Is there anything else I can help you with?")
        if phase == "briefing":
            return Decision(text="Hello, I have a caller on hold who needs help. " + self._brief())
        return Decision(text="How can I help?")

    def _brief(self) -> str:
        return "Would you like me to connect you? Say yes to connect or no to decline."

    # --- caller turns ------------------------------------------------------------------------
    def _answer(self, phase: str, text: str) -> Decision:
        if phase == "briefing":
            if _YES.search(text) or "connect" in text:
                return Decision(tool="connect_to_caller")
            if _NO.search(text) or "decline" in text or "can't" in text:
                return Decision(tool="decline_transfer", arguments={"reason": text[:120]})
            return Decision(text=self._brief())
        if phase == "keypad":
            digits = "".join(digit_groups(text))
            if digits:
                return Decision(tool="record_inputs", arguments={"inputs": list(digits)})
            return Decision(text="Please key your PIN on the keypad.")

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
        return Decision(
            text="I'm sorry, I'm working in a limited mode right now and didn't catch that. "
            "I can connect you with a person, or arrange for someone to call you back. "
            "Which would you prefer?"
        )

    def _verification(self, text: str, keyed: bool) -> Decision:
        # "last four" names the factor; its "four" is not one of the digits
        digits = "".join(digit_groups(re.sub(r"\blast four\b", " ", text)))
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
        return Decision(
            text="Sorry, I didn't get that. Please say your ZIP code, the last four digits of "
            "your account number, or your PIN."
        )

    def _orders(self, text: str) -> Decision:
        if _BYE.search(text) and "end_call" in self.tools:
            return Decision(tool="end_call")
        if _BILLING.search(text) and not _ORDERS.search(text):
            return Decision(tool="transfer_to_billing")
        groups = [g for g in digit_groups(text) if 3 <= len(g) <= 12]
        if not groups and _YES.search(text) and "cancel" in self._last_assistant():
            number = _order_number_from(self._user_texts())
            if number:
                return Decision(
                    tool="cancel_order", arguments={"order_number": number, "confirmed": True}
                )
        if _NO.search(text) and "cancel" in self._last_assistant():
            return Decision(tool="finish_request")
        if groups:
            return Decision(tool=_order_tool(text), arguments=_order_args(text, groups[0]))
        if re.search(r"\b(recent|my orders|list|all)\b", text):
            return Decision(tool="list_recent_orders", arguments={"limit": 3})
        if _ORDERS.search(text):
            return Decision(text="Sure. What's the order number?")
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
        groups = [g for g in digit_groups(text) if 3 <= len(g) <= 10]
        if "refund" in text:
            amount = re.search(
                r"\$?\s?(\d+(?:\.\d{1,2})?)\s*(?:dollars)?", text.split("invoice")[-1]
            )
            if groups and amount and len(groups) >= 2:
                return Decision(
                    tool="request_refund",
                    arguments={
                        "invoice_number": groups[0],
                        "amount": groups[1],
                        "reason": text[:120],
                    },
                )
            return Decision(text="Which invoice is the refund for, and how much?")
        if groups and re.search(r"\b(charge|invoice|inv)\b", text):
            return Decision(tool="explain_charge", arguments={"invoice_number": groups[0]})
        if re.search(r"\b(balance|owe|due)\b", text):
            return Decision(tool="get_balance")
        if re.search(r"\binvoices?\b|\bbill\b", text):
            return Decision(tool="list_invoices", arguments={"limit": 3})
        if re.search(r"\b(payments?|paid)\b", text):
            return Decision(tool="payment_history", arguments={"limit": 3})
        if "charge" in text:
            return Decision(text="Which invoice is the charge on? The number starts with INV.")
        return Decision()


def _order_number_from(user_texts: list[str]) -> str | None:
    """The most recent order number the caller said ("order 1001", "order one zero...")."""
    for text in reversed(user_texts):
        match = re.search(r"\border(?: number)?(?: is)?\s+(.*)", text)
        if match:
            groups = [g for g in digit_groups(match.group(1)) if 3 <= len(g) <= 12]
            if groups:
                return groups[0]
    return None


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


def _time_in(text: str) -> str:
    match = re.search(
        r"\b(tomorrow|today|tonight|this (?:morning|afternoon|evening)|"
        r"(?:at|after|before) \d{1,2}(?::\d\d)?\s*(?:am|pm)?)\b.*",
        text,
    )
    return match.group(0)[:60] if match else "as soon as possible"


def _speakable(output: str, *, is_error: bool) -> str:
    """A tool result read to the caller: model-directed sentences dropped, 'the caller' → 'you'."""
    sentences = re.split(r"(?<=[.!?])\s+", output.strip())
    kept = [s for s in sentences if s and not _MODEL_DIRECTED.match(s)]
    text = " ".join(kept) or ("Sorry, I couldn't do that." if is_error else "Done.")
    for old, new in (
        ("this caller's", "your"),
        ("the caller's", "your"),
        ("The caller's", "Your"),
        ("The caller has", "You have"),
        ("the caller has", "you have"),
        ("The caller", "You"),
        ("the caller", "you"),
    ):
        text = text.replace(old, new)
    if is_error:
        text += " Could you check that and try again, or would you like a person to help?"
    return text
