"""Tools every phase offers: reach a person, leave a callback request, end the call.

These are the "global functions" of the conversation graph: escalation must be
reachable from every phase, so each agent's tool list starts with `SHARED_TOOLS`.
"""

from __future__ import annotations

from typing import Annotated

from livekit.agents import RunContext, function_tool, llm
from livekit.agents.beta.tools import EndCallTool
from livekit.agents.llm import Toolset
from pydantic import Field

from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState

END_CALL_TOOL_NAME = "end_call"
"""The name the framework's `EndCallTool` gives its tool (tests/callpath checks it)."""


@function_tool
async def transfer_to_human(
    ctx: RunContext[CallState],
    reason: Annotated[str, Field(description="One short sentence for the supervisor: why.")],
) -> ToolReply:
    """Connect the caller with a human supervisor.

    Call this as soon as the caller asks for a person, a supervisor, an agent or an
    operator, when they press zero, or when you cannot help them. The caller hears hold
    music while a supervisor is briefed. The result tells you what happened and what to
    say next; if nobody could take the call, offer a callback.
    """
    return await ctx.userdata.deps.escalation.escalate(ctx, reason=reason)


@function_tool
async def request_callback(
    ctx: RunContext[CallState],
    reason: Annotated[str, Field(description="What the caller needs help with, in a sentence.")],
    preferred_time: Annotated[
        str, Field(description="When the caller would like to be called back, as they said it.")
    ] = "as soon as possible",
) -> ToolReply:
    """Create a callback request so a person calls the caller back.

    Use when the caller prefers a callback, or when no supervisor is available. Ask
    when they would like to be called if they have not said. The result contains the
    ticket number to read back.
    """
    return await ctx.userdata.deps.escalation.request_callback(
        ctx, reason=reason, preferred_time=preferred_time
    )


async def _record_goodbye(event: Toolset.ToolCalledEvent) -> None:
    state: CallState = event.ctx.userdata
    state.said_goodbye()


def end_call_tool() -> EndCallTool:
    """The framework's end-call tool: says goodbye, then hangs up by deleting the room."""
    return EndCallTool(
        extra_description="Say a short goodbye that thanks the caller for calling.",
        end_instructions="Thank the caller for calling and say goodbye in one short sentence.",
        on_tool_called=_record_goodbye,
    )


SHARED_TOOLS: list[llm.Tool | llm.Toolset] = [transfer_to_human, request_callback]
"""Escalation and callback: in every agent's and task's tool list."""
