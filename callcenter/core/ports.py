"""How the call reaches the world: Protocols, implemented above the core, handed in per call.

- `EscalationPort`: a person (warm/cold transfer) or a callback ticket. Production:
  `callcenter.escalation.manager.EscalationManager`, built by `escalation.wiring`.
- `AccountAccess`: who is calling, whether a factor matches, and the account repository
  scoped to one verified customer. Production: `callcenter.accounts.DatabaseAccounts`.
- `PhaseAgents`: the agent that runs a phase. Production: `callcenter.agents.catalog`.

`CallDeps` bundles them with the settings for one call. The core never imports an
implementation (tests/architecture checks it), so a test or a benchmark swaps any of them.
The `ctx` the escalation receives is the tool's `RunContext`, whose `userdata` is the
`CallState` (typed `Any` here so this module does not import the state that holds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from livekit.agents import Agent, RunContext, llm

from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.replies import ToolReply
from callcenter.vocabulary import FactorKind


@dataclass(slots=True)
class CallerMatch:
    """The customer whose phone number matches the caller ID. Not yet verified."""

    customer_id: int
    first_name: str


class EscalationPort(Protocol):
    """What `transfer_to_human` and `request_callback` call.

    Both return a `ToolReply` for the model. Implementations move the call only through
    `CallState`'s methods (`begin_escalation`, `transfer_started`/`transfer_finished`,
    `escalation_failed`, `transferred`, `callback_booked`, ...) and never leave the caller
    on hold without an outcome.
    """

    async def escalate(self, ctx: RunContext[Any], *, reason: str) -> ToolReply: ...

    async def request_callback(
        self, ctx: RunContext[Any], *, reason: str, preferred_time: str
    ) -> ToolReply: ...


class AccountAccess(Protocol):
    """Customer identity and account data, as the call may use them."""

    async def identify(self, caller_e164: str) -> CallerMatch | None:
        """The customer whose phone number is `caller_e164` (not yet verified)."""
        ...

    async def check_factor(self, customer_id: int, kind: FactorKind, digits: str) -> bool:
        """Whether `digits` is that customer's `kind` factor."""
        ...

    def scoped(self, customer_id: int) -> Any:
        """The account repository for that one customer (`data.AccountRepository`): every
        account tool reads through it, via `CallState.account()`."""
        ...


class PhaseAgents(Protocol):
    """Builds the agent that runs a phase (the handoff's target)."""

    def build(self, phase: Phase, state: Any, *, chat_ctx: llm.ChatContext | None) -> Agent: ...


@dataclass
class CallDeps:
    """Per-call services, held by the state so tools reach them."""

    settings: Settings
    escalation: EscalationPort
    accounts: AccountAccess
    agents: PhaseAgents
    greeting_model: llm.RealtimeModel | llm.LLM | None = None
    """The greeting agent's model (the realtime chain); None uses the session's LLM. Set to
    None by the realtime rescue when every realtime model failed."""
