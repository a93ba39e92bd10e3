"""The one way the call moves between phase agents.

A tool that hands off returns `handoff(ctx, Phase.X, reason=...)`. The move is checked and
recorded by `CallState.route_to` (the transition table and its guards), and the next agent
is built by the call's `PhaseAgents` (`agents/catalog.py`, handed in through `CallDeps`, so
this module imports no agent) with the *spoken* history: what the caller and the agents
said, without tool calls, tool outputs or the previous instructions, so the next agent
continues the same conversation without inheriting mechanics. The new agent replies once
in `on_enter`, so a handoff adds no extra spoken turn.
"""

from __future__ import annotations

from livekit.agents import Agent, AgentSession, RunContext, llm

from callcenter.core.phases import Phase
from callcenter.core.state import CallState

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


def handoff(ctx: RunContext[CallState], target: Phase, *, reason: str) -> Agent:
    """Check, record and perform a move to `target`; return the agent to hand off to."""
    state = ctx.userdata
    state.route_to(target, reason=reason)
    return state.deps.agents.build(target, state, chat_ctx=spoken_history(ctx.session))
