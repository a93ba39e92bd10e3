"""Tools every phase offers: reach a person, leave a callback request, answer a policy
question, end the call.

These are the "global functions" of the conversation graph: escalation must be
reachable from every phase, so each agent's tool list starts with `SHARED_TOOLS`. So do
policy answers (`answer_policy_question`, from `prompts/faq.toml`): a general question
needs no account, so it needs no verification, and it is answered in any phase, the
identity check included, with the company's words, never the model's.
"""

from __future__ import annotations

from typing import Annotated

from livekit.agents import RunContext, function_tool, llm
from livekit.agents.beta.tools import EndCallTool
from livekit.agents.llm import Toolset
from pydantic import Field

from callcenter import prompts
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.data.account import RETURN_WINDOW
from callcenter.faq import OTHER, faq

END_CALL_TOOL_NAME = "end_call"
"""The name the framework's `EndCallTool` gives its tool (tests/callpath checks it)."""
POLICY_TOOL_NAME = "answer_policy_question"


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


@function_tool
async def answer_policy_question(
    ctx: RunContext[CallState],
    topic: Annotated[
        str,
        Field(
            description="The topic the caller's question is about. " + faq().describe_topics(),
            json_schema_extra={"enum": list(faq().names)},
        ),
    ],
) -> ToolReply:
    """Answer a general question about the company's policies with its approved answer.

    Use for questions about shipping, returns, refunds, cancellations, payment methods,
    opening hours, changing an address, or why we check identity. They need no identity
    check: call this in any step, before or during verification, instead of routing.
    Say the answer as given. If the question fits no topic, pass "other": never answer a
    policy question from your own knowledge.
    """
    state = ctx.userdata
    settings = state.deps.settings
    said, offer_person = faq().answer(
        topic if topic in faq().names else OTHER,
        company=settings.company_name,
        hours=settings.hours.spoken() or "only by callback at the moment",
        return_days=RETURN_WINDOW.days,
    )
    state.note(f"answered a policy question ({topic})")
    if offer_person:
        return ToolReply(
            say=f"{said} {prompts.line('offers.person')}",
            do="If they say yes, call transfer_to_human; offer request_callback if they prefer. "
            "Do not answer the question yourself.",
        )
    return ToolReply(say=said, do="Then carry on where the call was.")


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


SHARED_TOOLS: list[llm.Tool | llm.Toolset] = [
    transfer_to_human,
    request_callback,
    answer_policy_question,
]
"""Escalation, callback and policy answers: in every agent's and task's tool list."""
