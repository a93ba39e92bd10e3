"""The scripted LLM test double: an `llm.LLM` whose every reply is written by the test.

A script is a queue of steps, consumed one per model request (each agent `on_enter`
reply, each caller turn, each read-back of a tool result is one request)::

    scripted = ScriptedLLM(
        say("Thanks for calling, how can I help?"),        # greeting on_enter
        call("route_to_orders"),                           # caller: "my order 1001"
        call("lookup_order", order_number="1001"),         # orders on_enter
        lambda req: say(req.last_tool_output()),           # read the tool result back
    )

- `say(text)` streams one text chunk; `call(name, **arguments)` one tool-call chunk;
  `reply(text, call(...), call(...))` both (text first, then parallel tool calls).
- A callable step gets the `Request` and returns a step (computed replies, assertions
  on what the model was shown).
- Every request is recorded (`requests`): a copy of the chat context and the names of
  the tools offered, so a test can check e.g. that a handoff carried the spoken history
  without tool calls.
- When the script runs out, the request fails with `ScriptExhausted` naming what was
  asked, and the failure is remembered (`errors`); `check()` raises it again, as does
  `assert_consumed()` when steps are left over, so a test cannot pass silently.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable, Iterable
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

__all__ = [
    "Call",
    "Reply",
    "Request",
    "ScriptExhausted",
    "ScriptedLLM",
    "Step",
    "call",
    "reply",
    "say",
]


class ScriptExhausted(AssertionError):
    """The model was asked for a reply the test did not script."""


@dataclass(frozen=True)
class Call:
    """One tool call the scripted model makes."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What the scripted model answers to one request: words, tool calls, or both."""

    text: str = ""
    calls: tuple[Call, ...] = ()


def say(text: str) -> Reply:
    """Reply with words only."""
    return Reply(text=text)


def call(name: str, /, **arguments: Any) -> Call:
    """Reply with one tool call."""
    return Call(name=name, arguments=arguments)


def reply(text: str = "", *calls: Call) -> Reply:
    """Reply with words and/or several (parallel) tool calls."""
    return Reply(text=text, calls=tuple(calls))


@dataclass
class Request:
    """One request the session made to the model: what it was shown and offered."""

    index: int
    chat_ctx: llm.ChatContext
    tool_names: frozenset[str]

    @property
    def items(self) -> list[llm.ChatItem]:
        return list(self.chat_ctx.items)

    def messages(self, *roles: str) -> list[llm.ChatMessage]:
        """Messages in the context, optionally only those with one of `roles`."""
        return [
            i
            for i in self.chat_ctx.items
            if isinstance(i, llm.ChatMessage) and (not roles or i.role in roles)
        ]

    def texts(self, *roles: str) -> list[str]:
        return [m.text_content or "" for m in self.messages(*roles)]

    def spoken(self) -> list[tuple[str, str]]:
        """(role, text) of the user and assistant messages: the conversation's words."""
        return [(m.role, m.text_content or "") for m in self.messages("user", "assistant")]

    def function_calls(self) -> list[llm.FunctionCall]:
        return [i for i in self.chat_ctx.items if isinstance(i, llm.FunctionCall)]

    def function_outputs(self) -> list[llm.FunctionCallOutput]:
        return [i for i in self.chat_ctx.items if isinstance(i, llm.FunctionCallOutput)]

    def last_user_text(self) -> str:
        texts = self.texts("user")
        return texts[-1] if texts else ""

    def last_tool_output(self) -> str:
        """The newest tool output (what a model would read back); fails if there is none."""
        outputs = self.function_outputs()
        if not outputs:
            raise AssertionError(f"request {self.index} has no tool output to read back")
        return outputs[-1].output

    def last_item(self) -> llm.ChatItem:
        return self.chat_ctx.items[-1]

    def describe(self) -> str:
        last = self.chat_ctx.items[-1] if self.chat_ctx.items else None
        if isinstance(last, llm.ChatMessage):
            what = f"last {last.role} message {(last.text_content or '')[:80]!r}"
        elif isinstance(last, llm.FunctionCallOutput):
            what = f"output of {last.name} {last.output[:80]!r}"
        else:
            what = f"last item {type(last).__name__}"
        return f"request {self.index} ({what}; tools {sorted(self.tool_names)})"


Step = Reply | Call | Callable[[Request], Reply | Call]
"""One scripted answer: `say(...)`, `call(...)`, `reply(...)`, or a function of the request."""


def _tool_names(tools: Iterable[llm.Tool]) -> frozenset[str]:
    names: set[str] = set()
    for tool in tools:
        if isinstance(tool, llm.FunctionTool | llm.RawFunctionTool):
            names.add(tool.info.name)
        elif isinstance(tool, llm.Toolset):
            names |= {t.info.name for t in tool.tools if hasattr(t, "info")}
    return frozenset(names)


class ScriptedLLM(llm.LLM):
    """An `llm.LLM` that answers from a per-test script; see the module docstring."""

    def __init__(self, *steps: Step) -> None:
        super().__init__()
        self._steps: deque[Step] = deque(steps)
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []

    @property
    def model(self) -> str:
        return "scripted"

    @property
    def provider(self) -> str:
        return "tests"

    def push(self, *steps: Step) -> None:
        """Append steps to the script (for scripts written turn by turn)."""
        self._steps.extend(steps)

    @property
    def remaining(self) -> int:
        return len(self._steps)

    def check(self) -> None:
        """Raise the first error a request hit (an exhausted script, a failing step)."""
        if self.errors:
            raise self.errors[0]

    def assert_consumed(self) -> None:
        """Every scripted step was used, and no request failed."""
        self.check()
        if self._steps:
            raise AssertionError(f"{len(self._steps)} scripted step(s) were never requested")

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
        request = Request(
            index=len(self.requests),
            chat_ctx=chat_ctx.copy(),
            tool_names=_tool_names(tools or []),
        )
        self.requests.append(request)
        return _ScriptedStream(
            self, request=request, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )

    def _next(self, request: Request) -> Reply:
        if not self._steps:
            error = ScriptExhausted(f"the script ran out at {request.describe()}")
            self.errors.append(error)
            raise error
        step = self._steps.popleft()
        try:
            while callable(step) and not isinstance(step, Reply | Call):
                step = step(request)
        except BaseException as exc:
            self.errors.append(exc)
            raise
        if isinstance(step, Call):
            return Reply(calls=(step,))
        if not isinstance(step, Reply):
            error = TypeError(f"a script step must be say/call/reply, got {step!r}")
            self.errors.append(error)
            raise error
        return step


class _ScriptedStream(llm.LLMStream):
    def __init__(self, scripted: ScriptedLLM, *, request: Request, **kwargs: Any) -> None:
        super().__init__(scripted, **kwargs)
        self._request = request

    async def _run(self) -> None:
        assert isinstance(self._llm, ScriptedLLM)
        answer = self._llm._next(self._request)
        request_id = f"scripted-{self._request.index}"
        if answer.text:
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", content=answer.text))
            )
        if answer.calls:
            tool_calls = [
                FunctionToolCall(
                    name=c.name,
                    arguments=json.dumps(c.arguments),
                    call_id=f"call_{uuid.uuid4().hex[:10]}",
                )
                for c in answer.calls
            ]
            self._event_ch.send_nowait(
                ChatChunk(id=request_id, delta=ChoiceDelta(role="assistant", tool_calls=tool_calls))
            )
