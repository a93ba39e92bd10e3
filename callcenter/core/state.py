"""One typed state per call, carried across every handoff as `AgentSession[CallState]`.

`CallState` is plain data with one door: its methods are the only writers of the phase, the
outcome, the verification and the transfer state, and each method checks its move against
`phases.ALLOWED_TRANSITIONS` plus the guards only the state can know. Agents, the escalation
and the call's behaviours say what happened (`start_verification`, `factor_wrong`,
`begin_escalation`, `escalation_failed`, `transferred`, `said_goodbye`, ...); none of them
sets a field or compensates for another's move. tests/architecture fails when a module
outside this one assigns those fields.

Whoever needs to follow a call live (metrics, the supervisors' live board) calls
`state.watch(fn)`: `fn(state, what)` runs after every change, `what` being `phase`,
`verification`, `transfer`, `outcome` or `provider_switch`. A watcher that raises is logged
and the call goes on.

The state is the call record in the making: at hang-up `record_data()` is what the call
record stores (no raw PII: the caller's number lives in its own column, never in the JSON
blob or a log line).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from callcenter.core.phases import INTENT_OF, Phase, PhaseTransitionError, check_transition
from callcenter.core.ports import CallDeps, CallerMatch
from callcenter.core.replies import ToolReply
from callcenter.telephony.sip import CallInfo
from callcenter.vocabulary import (
    Assurance,
    AttemptMode,
    CallOutcome,
    FactorKind,
    IdentifierKind,
    Intent,
    ProviderKind,
    TransferOutcome,
    VerificationStatus,
)

log = logging.getLogger("callcenter.call")

StateChange = Literal["phase", "verification", "transfer", "outcome", "provider_switch"]
Watcher = Callable[["CallState", StateChange], None]

__all__ = [
    "CallState",
    "CallerMatch",
    "PhaseChange",
    "ProviderSwitch",
    "TransferAttempt",
    "VerificationRefused",
    "VerificationState",
]


class VerificationRefused(PhaseTransitionError):
    """No verification may start: the call spent its attempts, or the account is locked."""


@dataclass(slots=True)
class VerificationState:
    status: VerificationStatus = VerificationStatus.UNVERIFIED
    attempts: int = 0
    """Wrong answers so far on this call (factors, and account or order numbers that
    identified nobody). Never reset: not by a new route, a transfer or a step-up."""
    max_attempts: int = 3
    """The call's budget of wrong answers (`Settings.verification_max_attempts`)."""
    method: FactorKind | None = None
    """The last factor that matched, for the record and the supervisor briefing."""
    factors: list[FactorKind] = field(default_factory=list)
    """Every different factor that matched, in order (the assurance is read from them)."""
    needed: int = 1
    """Factors needed to verify: one with a caller-ID match, two for a caller who named
    their account or an order instead."""
    identified_by: IdentifierKind | None = None
    running: bool = False
    """A verification step is collecting factors right now (redaction, return target)."""
    step_up: bool = False
    """The step running is a step-up for a sensitive action (the caller is verified)."""


@dataclass(frozen=True, slots=True)
class PhaseChange:
    from_phase: Phase
    to_phase: Phase
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class TransferAttempt:
    mode: AttemptMode
    supervisor: str | None
    """Supervisor's name (never their number) or None when nobody was picked."""
    outcome: TransferOutcome
    detail: str = ""
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    """None while the attempt is still under way."""


@dataclass(frozen=True, slots=True)
class ProviderSwitch:
    """A provider fallback the caller lived through (the record shows every one)."""

    kind: ProviderKind
    from_provider: str
    to_provider: str
    reason: str
    at: float = field(default_factory=time.time)


@dataclass
class CallState:
    """Everything known about one call. Read its fields; change it through its methods."""

    call: CallInfo
    deps: CallDeps = field(repr=False)
    caller: CallerMatch | None = None
    """Customer matched by caller ID; account tools still refuse until verified."""
    verification: VerificationState = field(default_factory=VerificationState)
    phase: Phase = Phase.GREETING
    phase_history: list[PhaseChange] = field(default_factory=list)
    intent: Intent | None = None
    """What the caller wants: set by the route to a specialist, cleared by a new request."""
    actions: list[str] = field(default_factory=list)
    """Short notes of what was done ("cancelled order 1002"): the supervisor's briefing."""
    transfer_attempts: list[TransferAttempt] = field(default_factory=list)
    provider_switches: list[ProviderSwitch] = field(default_factory=list)
    outcome: CallOutcome | None = None
    transferred_to: str | None = None
    started_at: float = field(default_factory=time.time)
    end_reason: str | None = None
    escalated_from: Phase | None = None
    """Where the escalation under way began: a failed transfer returns exactly there."""
    watchers: list[Watcher] = field(default_factory=list, repr=False)
    """Told of every change (`watch`); the state never depends on them."""
    accounts_available: bool = True
    """False when account services could not be reached at call start: the call goes on,
    offering a person or a callback instead of account help."""
    check_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    """Held while one verification answer is checked: one at a time, whatever the model
    asks for in parallel (`VerifyCallerTask`)."""

    # ------------------------------------------------------------------ reading

    @property
    def verified(self) -> bool:
        return self.verification.status is VerificationStatus.VERIFIED

    @property
    def verified_customer_id(self) -> int | None:
        if self.verified and self.caller is not None:
            return self.caller.customer_id
        return None

    @property
    def ended(self) -> bool:
        return self.phase is Phase.ENDED

    @property
    def collecting_secrets(self) -> bool:
        """The caller is saying verification factors now (a verification or a step-up):
        every number they say is redacted."""
        return self.phase is Phase.VERIFICATION or self.verification.running

    @property
    def assurance(self) -> Assurance:
        """How sure we are of the caller: `strong` with the PIN and a matching caller ID, or
        two different factors; `basic` with one other factor; else `none`."""
        v = self.verification
        if not self.verified:
            return Assurance.NONE
        if len(set(v.factors)) >= 2 or (v.identified_by == "caller_id" and "pin" in v.factors):
            return Assurance.STRONG
        return Assurance.BASIC

    @property
    def can_verify(self) -> bool:
        """Whether a verification (or step-up) may still start on this call."""
        v = self.verification
        blocked = (VerificationStatus.LOCKED, VerificationStatus.ACCOUNT_LOCKED)
        return v.status not in blocked and v.attempts < v.max_attempts

    def known_names(self) -> Iterable[str]:
        """Names of the customer the caller claims to be: removed from what is stored."""
        if self.caller is None:
            return ()
        return tuple(n for n in (self.caller.full_name, self.caller.first_name) if n)

    def one_check(self) -> asyncio.Lock:
        """`async with state.one_check():` around checking one verification answer."""
        return self.check_lock

    def account(self) -> Any:
        """The account repository scoped to the verified customer; refuses otherwise.

        Every account tool goes through here, so no tool can reach account data for
        an unverified caller or for any customer other than the verified one.
        """
        customer_id = self.verified_customer_id
        if customer_id is None:
            raise ToolReply(
                say="I can't share account details until your identity is verified.",
                do="The caller is not verified: account information cannot be shared.",
            ).error()
        return self.deps.accounts.scoped(customer_id)

    def watch(self, watcher: Watcher) -> None:
        """Call `watcher(state, what)` after every change from now on."""
        self.watchers.append(watcher)

    def phases_visited(self) -> list[str]:
        visited = [Phase.GREETING.value]
        visited += [change.to_phase.value for change in self.phase_history]
        return visited

    # ------------------------------------------------------------------ conversation

    def route_to(self, target: Phase, *, reason: str) -> None:
        """Move between conversation phases (greeting, specialists, wrap-up).

        Entering a specialist sets the intent it serves; entering WRAP_UP marks the request
        resolved (unless the call already has an outcome); WRAP_UP → GREETING is a new
        request, so the intent is cleared. Verification, escalation and the end of the call
        have their own methods.
        """
        if target in (Phase.VERIFICATION, Phase.ESCALATION, Phase.ENDED):
            raise PhaseTransitionError(f"{target} is entered through its own method")
        if self.phase is Phase.VERIFICATION and self.verification.running:
            raise PhaseTransitionError("cannot leave verification while it is running")
        came_from = self.phase
        self._move(target, reason)
        if target in INTENT_OF:
            self.intent = INTENT_OF[target]
        elif target is Phase.WRAP_UP and self.outcome is None:
            self._set_outcome(CallOutcome.RESOLVED)
        elif target is Phase.GREETING and came_from is Phase.WRAP_UP:
            self.intent = None

    def note(self, action: str) -> None:
        """Record something done on the caller's behalf (for the briefing and record)."""
        self.actions.append(action)

    # ------------------------------------------------------------------ verification

    def start_verification(self, intent: Intent) -> None:
        """GREETING → VERIFICATION for a caller who wants `intent` and is not verified.

        Refused (`VerificationRefused`) once the call spent its attempts or the account is
        locked: a lock is never undone by a new route, a failed transfer or a new request."""
        if self.verified:
            raise PhaseTransitionError("the caller is already verified")
        if not self.can_verify:
            raise VerificationRefused("verification is locked for the rest of this call")
        self._move(Phase.VERIFICATION, f"{intent} needs a verified caller")
        self.intent = intent
        self.verification.running = True
        self.verification.step_up = False
        if self.caller is not None and self.verification.identified_by is None:
            self.verification.identified_by = self.caller.identified_by

    def start_step_up(self) -> None:
        """A verified caller asks for a sensitive action that needs `strong` assurance: one
        more factor is asked, in the phase they are in, against the same attempt budget."""
        if not self.verified:
            raise PhaseTransitionError("a step-up needs a verified caller")
        if not self.can_verify:
            raise VerificationRefused("verification is locked for the rest of this call")
        self.verification.running = True
        self.verification.step_up = True
        self._changed("verification")

    def caller_identified(self, match: CallerMatch) -> None:
        """A caller whose number matched no account named their account or an order: that
        is who they claim to be, and two different factors will be asked."""
        self._require_running()
        if self.caller is not None:
            raise PhaseTransitionError("the caller is already identified")
        self.caller = match
        self.verification.identified_by = match.identified_by
        self.verification.needed = 2
        self._changed("verification")

    def no_caller_match(self) -> None:
        """The caller gave up verifying, or there was nobody to verify against."""
        self._require(Phase.VERIFICATION)
        self.verification.status = VerificationStatus.NO_MATCH
        self.verification.running = False
        self._changed("verification")

    def factor_ok(self, kind: FactorKind) -> bool:
        """The caller gave a matching factor. Returns True once that completes the step:
        verified (enough different factors), or `strong` for a step-up."""
        self._require_running()
        v = self.verification
        if kind not in v.factors:
            v.factors.append(kind)
        v.method = kind
        enough = len(set(v.factors)) >= v.needed
        if v.step_up:
            done = self.assurance is Assurance.STRONG
        else:
            done = enough
            if done:
                v.status = VerificationStatus.VERIFIED
        if done:
            v.running = False
            v.step_up = False
        self._changed("verification")
        return done

    def factor_wrong(self) -> int:
        """A wrong factor, or a number that identified nobody; returns the attempts left
        (0: locked for the rest of the call, verified or not)."""
        self._require_running()
        self.verification.attempts += 1
        remaining = max(self.verification.max_attempts - self.verification.attempts, 0)
        if remaining == 0:
            self.verification.status = VerificationStatus.LOCKED
            self.verification.running = False
            self.verification.step_up = False
        self._changed("verification")
        return remaining

    def account_locked(self) -> None:
        """The account is locked for phone verification (across calls): nothing more is
        checked on this call."""
        self.verification.status = VerificationStatus.ACCOUNT_LOCKED
        self.verification.running = False
        self.verification.step_up = False
        self._changed("verification")

    def step_up_ended(self) -> None:
        """A step-up finished without reaching `strong` (the caller stopped)."""
        if self.verification.step_up:
            self.verification.running = False
            self.verification.step_up = False
            self._changed("verification")

    def end_verification(self, *, reason: str) -> None:
        """VERIFICATION → GREETING once it finished without a verified caller."""
        self._require_not_running()
        self._move(Phase.GREETING, reason)

    # ------------------------------------------------------------------ escalation

    def begin_escalation(self, *, reason: str) -> None:
        """→ ESCALATION, remembering where the caller was (a second call while one escalation
        is under way keeps the first one's return phase)."""
        if self.phase is Phase.ESCALATION:
            return
        came_from = self.phase
        self._move(Phase.ESCALATION, f"escalation: {reason}"[:200])
        self.escalated_from = came_from

    def transfer_started(self, mode: AttemptMode, supervisor: str | None) -> TransferAttempt:
        """Record an attempt under way (failed until `transfer_finished` says otherwise, so a
        cancelled attempt is never recorded as a success)."""
        attempt = TransferAttempt(mode=mode, supervisor=supervisor, outcome=TransferOutcome.FAILED)
        self.transfer_attempts.append(attempt)
        self._changed("transfer")
        return attempt

    def transfer_finished(
        self, attempt: TransferAttempt, outcome: TransferOutcome, detail: str
    ) -> TransferAttempt:
        """Close an attempt from `transfer_started` with how it went."""
        index = next(i for i, a in enumerate(self.transfer_attempts) if a is attempt)
        done = replace(attempt, outcome=outcome, detail=detail, ended_at=time.time())
        self.transfer_attempts[index] = done
        self._changed("transfer")
        return done

    def transfer_recorded(
        self, mode: AttemptMode, supervisor: str | None, outcome: TransferOutcome, detail: str
    ) -> TransferAttempt:
        """An attempt that started and ended at once (nobody on duty, closed, simulated)."""
        now = time.time()
        attempt = TransferAttempt(mode, supervisor, outcome, detail, started_at=now, ended_at=now)
        self.transfer_attempts.append(attempt)
        self._changed("transfer")
        return attempt

    def escalation_failed(self, *, reason: str) -> Phase:
        """ESCALATION → the phase it began in (GREETING if that was a verification that has
        since finished). Returns that phase."""
        self._require(Phase.ESCALATION)
        back = self.escalated_from or Phase.GREETING
        if back is Phase.VERIFICATION and not self.verification.running:
            back = Phase.GREETING
        self._move(back, f"escalation: {reason}")
        self.escalated_from = None
        return back

    def transferred(self, supervisor: str) -> None:
        """A supervisor took the call (or a simulated transfer completed): the call ends."""
        self._require(Phase.ESCALATION)
        self.transferred_to = supervisor
        self._set_outcome(CallOutcome.TRANSFERRED)
        self.end_reason = f"transferred to {supervisor}"
        self.verification.running = False
        self._move(Phase.ENDED, f"transferred to {supervisor}")

    def caller_left_during_transfer(self) -> None:
        """The caller hung up while on hold: the call ends, abandoned."""
        self._require(Phase.ESCALATION)
        self._set_outcome(CallOutcome.ABANDONED)
        self.end_reason = "caller hung up during transfer"
        self.verification.running = False
        self._move(Phase.ENDED, "caller hung up during transfer")

    def callback_booked(self, ticket_id: int | None, preferred_time: str) -> None:
        """A person will call back: that is this call's outcome (unless it ends otherwise).
        `ticket_id` is None when the request went to the local journal."""
        self._set_outcome(CallOutcome.CALLBACK)
        ticket = f"ticket {ticket_id}" if ticket_id is not None else "request (journaled)"
        self.note(f"callback {ticket} ({preferred_time})")

    # ------------------------------------------------------------------ the end

    def said_goodbye(self) -> None:
        """The caller is done and the agent says goodbye (the end-call tool)."""
        if self.outcome is None:
            self._set_outcome(CallOutcome.RESOLVED)
        self.end_reason = self.end_reason or "caller said goodbye"
        self._end("goodbye")

    def ended_by_us(self, *, reason: str) -> None:
        """We close the call (inactivity, maximum duration): `reason` is recorded."""
        if self.ended:
            return
        self.end_reason = reason
        if self.outcome is None:
            self._set_outcome(CallOutcome.ENDED)
        self._end(reason)

    def caller_hung_up(self) -> None:
        """The caller hung up (the session closes next; see `session_closed`)."""
        if self.outcome is None:
            self.end_reason = "caller hung up"
            self._set_outcome(CallOutcome.ABANDONED)

    def session_closed(self, *, error: bool) -> None:
        """The session closed, however it closed: settle the outcome and end the phase."""
        if self.outcome is None:
            # nobody closed the call on purpose: the caller hung up (or the session failed)
            self.end_reason = self.end_reason or ("session error" if error else "caller hung up")
            self._set_outcome(CallOutcome.FAILED if error else CallOutcome.ABANDONED)
        self._end(self.end_reason or "closed")

    def provider_switched(
        self, kind: ProviderKind, from_provider: str, to_provider: str, *, reason: str
    ) -> None:
        """A fallback chain moved to its next provider (or the greeting to the pipeline)."""
        self.provider_switches.append(ProviderSwitch(kind, from_provider, to_provider, reason))
        self._changed("provider_switch")

    # ------------------------------------------------------------------ the record

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
                "factors": list(self.verification.factors),
                "identified_by": self.verification.identified_by,
                "assurance": self.assurance.value,
            },
            "actions": list(self.actions),
            "transfer_attempts": [
                {**asdict(t), "outcome": t.outcome.value} for t in self.transfer_attempts
            ],
            "provider_switches": [asdict(s) for s in self.provider_switches],
            "sip": self.call.is_sip,
            "end_reason": self.end_reason,
        }

    # ------------------------------------------------------------------ internals

    def _move(self, target: Phase, reason: str) -> None:
        check_transition(self.phase, target, verified=self.verified)
        if self.phase is Phase.ESCALATION and target is not Phase.ENDED:
            back = self.escalated_from or Phase.GREETING
            if target is not back and not (back is Phase.VERIFICATION and target is Phase.GREETING):
                raise PhaseTransitionError(f"a failed escalation returns to {back}, not {target}")
        self.phase_history.append(
            PhaseChange(from_phase=self.phase, to_phase=target, at=time.time(), reason=reason)
        )
        self.phase = target
        self._changed("phase")

    def _set_outcome(self, outcome: CallOutcome) -> None:
        if outcome is not self.outcome:
            self.outcome = outcome
            self._changed("outcome")

    def _changed(self, what: StateChange) -> None:
        for watcher in list(self.watchers):
            try:
                watcher(self, what)
            except Exception:  # an observer never breaks the call
                log.exception(
                    "call state watcher failed", extra={"call_id": self.call.call_id, "what": what}
                )

    def _end(self, reason: str) -> None:
        if self.ended:
            return
        self.verification.running = False
        self._move(Phase.ENDED, reason)

    def _require(self, phase: Phase) -> None:
        if self.phase is not phase:
            raise PhaseTransitionError(f"expected the call in {phase}, it is in {self.phase}")

    def _require_running(self) -> None:
        if not self.verification.running:
            raise PhaseTransitionError("no verification is running")

    def _require_not_running(self) -> None:
        if self.verification.running:
            raise PhaseTransitionError("the verification is still running")
