"""Which agent runs which phase, listed once.

Each agent class declares the phase it runs (`CallAgent.phase`); this module collects them
into `PHASE_AGENTS` (refusing two agents for one phase or a phase without one) and builds
them for the handoff through `CATALOG`, the production `PhaseAgents` port. It also says
which tools each phase offers, read from the classes' own `@function_tool` declarations:
the degraded mode tells phases apart by them, and the move-graph test checks them against
`core/moves.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from livekit.agents import AgentTask, llm
from livekit.agents.llm import find_function_tools

from callcenter.agents.base import CallAgent
from callcenter.agents.billing import BillingAgent
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.shared_tools import END_CALL_TOOL_NAME, SHARED_TOOLS
from callcenter.agents.verification import VerifyCallerTask
from callcenter.agents.wrap_up import WrapUpAgent
from callcenter.core.phases import AGENT_PHASES, Phase, PhaseTransitionError


def _by_phase(*agents: type[CallAgent]) -> dict[Phase, type[CallAgent]]:
    table: dict[Phase, type[CallAgent]] = {}
    for agent in agents:
        if agent.phase in table:
            other = table[agent.phase].__name__
            raise TypeError(f"{agent.__name__} and {other} both run {agent.phase}")
        table[agent.phase] = agent
    if set(table) != AGENT_PHASES:
        raise TypeError(f"phases without an agent: {sorted(AGENT_PHASES - set(table))}")
    return table


PHASE_AGENTS: Final = _by_phase(GreetingAgent, OrdersAgent, BillingAgent, WrapUpAgent)
"""The agent class of every phase that has one (`phases.AGENT_PHASES`)."""

PHASE_TASKS: Final[dict[Phase, type[AgentTask[Any]]]] = {Phase.VERIFICATION: VerifyCallerTask}
"""Phases run as a task inside another agent's tool (the greeting's route)."""


class PhaseAgentCatalog:
    """`PhaseAgents`: builds the agent of a phase from `PHASE_AGENTS`."""

    def build(self, phase: Phase, state: Any, *, chat_ctx: llm.ChatContext | None) -> CallAgent:
        agent = PHASE_AGENTS.get(phase)
        if agent is None:
            raise PhaseTransitionError(f"{phase} is not run by an agent of its own")
        return agent(state, chat_ctx=chat_ctx)


CATALOG: Final = PhaseAgentCatalog()


def _names(tools: Iterable[Any]) -> frozenset[str]:
    names: set[str] = set()
    for tool in tools:
        info = getattr(tool, "info", None)
        if info is not None:
            names.add(info.name)
        else:  # a toolset
            names |= _names(getattr(tool, "tools", []))
    return frozenset(names)


SHARED_TOOL_NAMES: Final = _names(SHARED_TOOLS)
"""Tools in every phase's list (`transfer_to_human`, `request_callback`)."""


def own_tools(cls: type[Any]) -> frozenset[str]:
    """The `@function_tool` methods `cls` declares itself (shared tools not included)."""
    return frozenset(tool.info.name for tool in find_function_tools(cls))


def phase_tools() -> dict[Phase, frozenset[str]]:
    """Every tool each phase offers the model: its own, the shared ones, and `end_call`
    for the phase agents (a verification task cannot hang up)."""
    tools = {
        phase: own_tools(agent) | SHARED_TOOL_NAMES | {END_CALL_TOOL_NAME}
        for phase, agent in PHASE_AGENTS.items()
    }
    tools |= {phase: own_tools(task) | SHARED_TOOL_NAMES for phase, task in PHASE_TASKS.items()}
    return tools
