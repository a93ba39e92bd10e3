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
from typing import Any, Literal, Protocol

from livekit.agents import Agent, RunContext, llm

from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.replies import ToolReply
from callcenter.vocabulary import FactorKind, IdentifierKind

AttemptResult = Literal["ok", "wrong", "not_found", "refused"]
"""How one verification attempt went, as the audit records it."""


class AccountsUnavailable(RuntimeError):
    """Account services cannot answer now (the database is unreachable): the call goes on
    without them, offering a person or a callback."""


@dataclass(slots=True)
class CallerMatch:
    """The customer the caller claims to be: found by caller ID, or by the account or order
    number they read out. Not yet verified."""

    customer_id: int
    first_name: str
    full_name: str = ""
    """Known names are removed from everything the call stores (`redaction`)."""
    identified_by: IdentifierKind = "caller_id"


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
    """Customer identity and account data, as the call may use them.

    Every method raises `AccountsUnavailable` when the data cannot be reached."""

    async def identify(self, caller_e164: str) -> CallerMatch | None:
        """The customer whose phone number is `caller_e164` (not yet verified)."""
        ...

    async def identify_by_account(self, said: str) -> CallerMatch | None:
        """The customer whose account number the caller read out (not a factor)."""
        ...

    async def identify_by_order(self, said: str) -> CallerMatch | None:
        """The customer who placed the order the caller named (not a factor)."""
        ...

    async def check_factor(self, customer_id: int, kind: FactorKind, digits: str) -> bool:
        """Whether `digits` is that customer's `kind` factor."""
        ...

    async def locked(self, customer_id: int) -> bool:
        """Whether the account is locked for phone verification (across calls)."""
        ...

    async def record_attempt(
        self,
        customer_id: int | None,
        factor: str,
        result: AttemptResult,
        *,
        call_id: str,
        caller_e164: str | None,
    ) -> bool:
        """Audit one attempt (the caller's number masked); True when the account is now
        locked (this failure reached the lockout limit)."""
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
