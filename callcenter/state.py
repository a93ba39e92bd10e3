"""One typed state per call, carried across every handoff as `AgentSession[CallState]`.

Each field says why it exists. The state is the call record in the making: at hang-up
`CallState.record_data()` is what `CallRecordStore.close` persists (no raw PII: the
caller's number lives in its own column, never in the JSON blob or a log line).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from livekit.agents.llm import LLM, RealtimeModel, ToolError

from callcenter.data import models as _models
from callcenter.phases import Phase, check_transition
from callcenter.telephony.sip import CallInfo

if TYPE_CHECKING:
    from callcenter.config import Settings
    from callcenter.data import AccountRepository
    from callcenter.data.database import Database
    from callcenter.escalation.service import EscalationService

Intent = Literal["orders", "billing", "other"]
FactorKind = Literal["zip", "last_four", "pin"]


class VerificationStatus(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    LOCKED = "locked"
    """Too many wrong answers: no more attempts on this call."""
    NO_MATCH = "no_match"
    """The caller ID matches no customer (or is withheld): nothing to verify against."""


# How a call ended, as stored on the call record (one enum for state and database):
# resolved, transferred, callback, abandoned (caller hung up first), failed, ended
# (closed by us for another reason: inactivity, maximum duration; see `end_reason`).
CallOutcome = _models.CallOutcome


class TransferOutcome(StrEnum):
    CONNECTED = "connected"
    SIMULATED = "simulated"
    """No SIP leg exists (console or web call): nobody was dialled."""
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    FAILED = "failed"
    CALLER_HUNG_UP = "caller_hung_up"
    SUPERVISOR_HUNG_UP = "supervisor_hung_up"
    UNAVAILABLE = "unavailable"
    """Nobody on duty for the skill, or outside business hours."""


@dataclass(slots=True)
class CallerMatch:
    """The customer whose phone number matches the caller ID. Not yet verified."""

    customer_id: int
    first_name: str


@dataclass(slots=True)
class VerificationState:
    status: VerificationStatus = VerificationStatus.UNVERIFIED
    attempts: int = 0
    """Wrong answers so far; `Settings.verification_max_attempts` of them lock the call."""
    method: FactorKind | None = None
    """The factor that succeeded, for the record and the supervisor briefing."""


@dataclass(slots=True)
class PhaseChange:
    from_phase: Phase
    to_phase: Phase
    at: float
    reason: str


@dataclass(slots=True)
class TransferAttempt:
    mode: Literal["warm", "cold", "simulated"]
    supervisor: str | None
    """Supervisor's name (never their number) or None when nobody was picked."""
    outcome: TransferOutcome
    detail: str = ""
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None


@dataclass(slots=True)
class ProviderSwitch:
    """A provider fallback the caller lived through (the record shows every one)."""

    kind: Literal["llm", "stt", "tts", "realtime", "greeting_to_pipeline", "degraded"]
    from_provider: str
    to_provider: str
    reason: str
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class CallDeps:
    """Per-process services a call uses; held by the state so tools reach them."""

    settings: Settings
    db: Database
    escalation: EscalationService
    greeting_model: RealtimeModel | LLM | None = None
    """The greeting agent's model (the realtime model); None uses the session's LLM."""


@dataclass
class CallState:
    """Everything known about one call. Mutated only through its methods and tools."""

    call: CallInfo
    deps: CallDeps = field(repr=False)
    caller: CallerMatch | None = None
    """Customer matched by caller ID; account tools still refuse until verified."""
    verification: VerificationState = field(default_factory=VerificationState)
    phase: Phase = Phase.GREETING
    phase_history: list[PhaseChange] = field(default_factory=list)
    intent: Intent | None = None
    """What the caller wants, as triaged by the greeting agent."""
    actions: list[str] = field(default_factory=list)
    """Short notes of what was done ("cancelled order 1002"): the supervisor's briefing."""
    transfer_attempts: list[TransferAttempt] = field(default_factory=list)
    provider_switches: list[ProviderSwitch] = field(default_factory=list)
    outcome: CallOutcome | None = None
    transferred_to: str | None = None
    started_at: float = field(default_factory=time.time)
    end_reason: str | None = None

    @property
    def verified(self) -> bool:
        return self.verification.status is VerificationStatus.VERIFIED

    @property
    def verified_customer_id(self) -> int | None:
        if self.verified and self.caller is not None:
            return self.caller.customer_id
        return None

    def transition(self, target: Phase, *, reason: str) -> None:
        """Move to `target` if the transition table allows it, and record the move."""
        check_transition(self.phase, target, verified=self.verified)
        self.phase_history.append(
            PhaseChange(from_phase=self.phase, to_phase=target, at=time.time(), reason=reason)
        )
        self.phase = target

    def account(self) -> AccountRepository:
        """The repository scoped to the verified customer; refuses otherwise.

        Every account tool goes through here, so no tool can reach account data for
        an unverified caller or for any customer other than the verified one.
        """
        from callcenter.data import AccountRepository

        customer_id = self.verified_customer_id
        if customer_id is None:
            raise ToolError(
                "The caller is not verified. Account information cannot be shared until "
                "identity is verified."
            )
        return AccountRepository(self.deps.db, customer_id)

    def note(self, action: str) -> None:
        """Record something done on the caller's behalf (for the briefing and record)."""
        self.actions.append(action)

    def phases_visited(self) -> list[str]:
        visited = [Phase.GREETING.value]
        visited += [change.to_phase.value for change in self.phase_history]
        return visited

    def record_data(self) -> dict[str, object]:
        """The JSON body of the call record: phases, handoffs, transfers, switches."""
        return {
            "phases": self.phases_visited(),
            "handoffs": [
                {
                    "from": c.from_phase.value,
                    "to": c.to_phase.value,
                    "at": round(c.at, 3),
                    "reason": c.reason,
                }
                for c in self.phase_history
            ],
            "intent": self.intent,
            "verification": {
                "status": self.verification.status.value,
                "attempts": self.verification.attempts,
                "method": self.verification.method,
            },
            "actions": list(self.actions),
            "transfer_attempts": [
                {**asdict(t), "outcome": t.outcome.value} for t in self.transfer_attempts
            ],
            "provider_switches": [asdict(s) for s in self.provider_switches],
            "sip": self.call.is_sip,
            "end_reason": self.end_reason,
        }
