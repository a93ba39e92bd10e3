"""The one way the call moves between phases.

A tool that hands off returns `handoff(ctx, Phase.X, reason=...)`. The helper checks
the move against `phases.ALLOWED_TRANSITIONS` (and the verification guard), records it
on `CallState`, and builds the next agent with the *spoken* history: what the caller
and the agents said, without tool calls, tool outputs or the previous instructions,
so the next agent continues the same conversation without inheriting mechanics.
The new agent replies once in `on_enter`, so a handoff adds no extra spoken turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from livekit.agents import AgentSession, RunContext, llm

from callcenter.phases import Phase, PhaseTransitionError
from callcenter.state import CallState

if TYPE_CHECKING:
    from callcenter.agents.base import CallAgent

MAX_CARRIED_ITEMS = 40
"""Spoken turns carried into the next agent; older ones add latency, not value."""


def spoken_history(session: AgentSession[CallState]) -> llm.ChatContext:
    """The conversation so far as words only (no tools, no instructions, no handoffs)."""
    history = session.history.copy(
        exclude_function_call=True,
        exclude_instructions=True,
        exclude_handoff=True,
        exclude_config_update=True,
        exclude_empty_message=True,
    )
    return history.truncate(max_items=MAX_CARRIED_ITEMS)


def agent_for(phase: Phase, state: CallState, *, chat_ctx: llm.ChatContext | None) -> CallAgent:
    """Build the agent that runs `phase`."""
    from callcenter.agents.billing import BillingAgent
    from callcenter.agents.greeting import GreetingAgent
    from callcenter.agents.orders import OrdersAgent
    from callcenter.agents.wrap_up import WrapUpAgent

    agents: dict[Phase, type[CallAgent]] = {
        Phase.GREETING: GreetingAgent,
        Phase.ORDERS: OrdersAgent,
        Phase.BILLING: BillingAgent,
        Phase.WRAP_UP: WrapUpAgent,
    }
    if phase not in agents:
        raise PhaseTransitionError(f"{phase} is not run by an agent of its own")
    return agents[phase](state, chat_ctx=chat_ctx)


def handoff(ctx: RunContext[CallState], target: Phase, *, reason: str) -> CallAgent:
    """Check, record and perform a move to `target`; return the agent to hand off to."""
    state = ctx.userdata
    state.transition(target, reason=reason)
    return agent_for(target, state, chat_ctx=spoken_history(ctx.session))
