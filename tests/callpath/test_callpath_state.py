"""`CallState`'s methods: the only writers of phase, outcome, verification and transfers."""

from __future__ import annotations

import pytest

from callcenter.core.phases import Phase, PhaseTransitionError
from callcenter.core.state import CallState, VerificationState
from callcenter.telephony.sip import CallInfo
from callcenter.vocabulary import CallOutcome, TransferOutcome, VerificationStatus
from tests.support.call_states import verify, walk_to


def _state(max_attempts: int = 3) -> CallState:
    return CallState(
        call=CallInfo.for_console(caller_e164=None, call_id="t"),
        deps=None,  # type: ignore[arg-type]
        verification=VerificationState(max_attempts=max_attempts),
    )


def _to(phase: Phase, **kw: object) -> CallState:
    return walk_to(_state(), phase, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "phase", [Phase.GREETING, Phase.VERIFICATION, Phase.ORDERS, Phase.BILLING, Phase.WRAP_UP]
)
def test_a_failed_transfer_returns_exactly_where_it_began(phase: Phase) -> None:
    state = _to(phase, verified=phase is not Phase.VERIFICATION)
    state.begin_escalation(reason="caller asked")
    assert state.escalation_failed(reason="nobody answered") is phase
    assert state.phase is phase
    assert [c.to_phase for c in state.phase_history[-2:]] == [Phase.ESCALATION, phase]
    assert state.phase_history[-1].reason == "escalation: nobody answered"


def test_a_failed_transfer_during_verification_keeps_it_running_and_redacting() -> None:
    """The bug this state fixes: the return went to GREETING while the verification task was
    still collecting factors, which turned off PIN redaction and recorded the call wrongly."""
    state = _to(Phase.VERIFICATION)
    state.begin_escalation(reason="a person please")
    assert state.collecting_secrets  # still verifying: a PIN said on hold is redacted too
    state.escalation_failed(reason="no answer")
    assert state.phase is Phase.VERIFICATION
    assert state.verification.running and state.collecting_secrets
    state.factor_ok("pin")  # the caller goes on verifying
    state.route_to(Phase.ORDERS, reason="verified")
    assert state.phases_visited() == [
        "greeting",
        "verification",
        "escalation",
        "verification",
        "orders",
    ]


def test_an_escalation_cannot_return_somewhere_else() -> None:
    state = _to(Phase.ORDERS)
    state.begin_escalation(reason="x")
    with pytest.raises(PhaseTransitionError, match="returns to orders"):
        state.route_to(Phase.BILLING, reason="sneak")
    assert state.phase is Phase.ESCALATION


def test_a_second_escalation_keeps_the_first_return_phase() -> None:
    state = _to(Phase.BILLING)
    state.begin_escalation(reason="first")
    state.begin_escalation(reason="second, in parallel")
    assert [c.to_phase for c in state.phase_history].count(Phase.ESCALATION) == 1
    assert state.escalation_failed(reason="x") is Phase.BILLING


def test_route_to_refuses_phases_with_their_own_door() -> None:
    state = _state()
    for target in (Phase.VERIFICATION, Phase.ESCALATION, Phase.ENDED):
        with pytest.raises(PhaseTransitionError, match="its own method"):
            state.route_to(target, reason="x")
    assert state.phase_history == []


def test_a_running_verification_is_left_only_by_its_result() -> None:
    state = _to(Phase.VERIFICATION)
    with pytest.raises(PhaseTransitionError, match="while it is running"):
        state.route_to(Phase.GREETING, reason="x")
    with pytest.raises(PhaseTransitionError, match="still running"):
        state.end_verification(reason="x")
    assert state.phase is Phase.VERIFICATION


def test_wrong_factors_spend_the_budget_then_lock() -> None:
    state = walk_to(_state(max_attempts=2), Phase.VERIFICATION)
    assert state.factor_wrong() == 1
    assert state.verification.status is VerificationStatus.UNVERIFIED
    assert state.factor_wrong() == 0
    assert state.verification.status is VerificationStatus.LOCKED
    assert not state.verification.running
    with pytest.raises(PhaseTransitionError, match="no verification is running"):
        state.factor_ok("zip")
    state.end_verification(reason="locked")
    assert state.phase is Phase.GREETING


def test_intent_follows_the_route_and_a_new_request_clears_it() -> None:
    state = verify(_state(), "billing")
    assert state.intent == "billing"
    state.route_to(Phase.BILLING, reason="x")
    state.route_to(Phase.ORDERS, reason="x")
    assert state.intent == "orders"
    state.route_to(Phase.WRAP_UP, reason="done")
    assert state.outcome is CallOutcome.RESOLVED
    state.route_to(Phase.GREETING, reason="another request")
    assert state.intent is None


def test_transfer_attempts_are_opened_then_closed_by_the_state() -> None:
    state = _to(Phase.ESCALATION)
    pending = state.transfer_started("warm", "Omar")
    assert state.transfer_attempts == [pending]
    assert (pending.outcome, pending.ended_at) == (TransferOutcome.FAILED, None)
    done = state.transfer_finished(pending, TransferOutcome.BUSY, "SIP 486")
    assert state.transfer_attempts == [done]
    assert (done.outcome, done.detail) == (TransferOutcome.BUSY, "SIP 486")
    assert done.ended_at is not None and done.started_at == pending.started_at
    assert type(done).__dataclass_params__.frozen  # type: ignore[attr-defined]  # one door


def test_transferred_ends_the_call() -> None:
    state = _to(Phase.ESCALATION)
    state.transferred("Omar Haddad")
    assert (state.phase, state.outcome, state.transferred_to) == (
        Phase.ENDED,
        CallOutcome.TRANSFERRED,
        "Omar Haddad",
    )
    assert [c.to_phase for c in state.phase_history[-2:]] == [Phase.ESCALATION, Phase.ENDED]
    assert state.end_reason == "transferred to Omar Haddad"


def test_caller_leaving_during_a_transfer_abandons_the_call() -> None:
    state = _to(Phase.ESCALATION)
    state.caller_left_during_transfer()
    assert (state.phase, state.outcome) == (Phase.ENDED, CallOutcome.ABANDONED)
    assert state.end_reason == "caller hung up during transfer"


def test_nothing_moves_after_the_end() -> None:
    state = _to(Phase.ENDED)
    with pytest.raises(PhaseTransitionError):
        state.begin_escalation(reason="x")
    with pytest.raises(PhaseTransitionError):
        state.route_to(Phase.GREETING, reason="x")


@pytest.mark.parametrize(
    ("error", "outcome", "reason"),
    [(False, CallOutcome.ABANDONED, "caller hung up"), (True, CallOutcome.FAILED, "session error")],
)
def test_a_session_closing_unannounced_settles_the_outcome(
    error: bool, outcome: CallOutcome, reason: str
) -> None:
    state = _to(Phase.ORDERS)
    state.session_closed(error=error)
    assert (state.phase, state.outcome, state.end_reason) == (Phase.ENDED, outcome, reason)


def test_a_session_closing_keeps_an_outcome_already_reached() -> None:
    state = _to(Phase.WRAP_UP)
    state.session_closed(error=False)
    assert (state.outcome, state.end_reason) == (CallOutcome.RESOLVED, None)
    assert state.phase_history[-1].reason == "closed"


def test_goodbye_and_our_own_endings() -> None:
    state = _state()
    state.callback_booked(7, "tomorrow")
    state.said_goodbye()
    assert (state.outcome, state.end_reason) == (CallOutcome.CALLBACK, "caller said goodbye")
    assert state.actions == ["callback ticket 7 (tomorrow)"]

    timed_out = _state()
    timed_out.ended_by_us(reason="inactivity")
    timed_out.ended_by_us(reason="maximum call duration")  # already ended: no change
    assert (timed_out.outcome, timed_out.end_reason) == (CallOutcome.ENDED, "inactivity")


def test_watchers_see_every_change_in_order_and_cannot_break_the_call() -> None:
    state = _state()
    seen: list[tuple[str, str]] = []
    state.watch(lambda s, what: seen.append((what, s.phase.value)))
    state.watch(lambda s, what: 1 / 0)  # a broken observer: logged, ignored
    verify(state)
    state.route_to(Phase.ORDERS, reason="x")
    state.begin_escalation(reason="x")
    attempt = state.transfer_started("warm", "Omar")
    state.transfer_finished(attempt, TransferOutcome.CONNECTED, "merged")
    state.transferred("Omar")
    assert seen == [
        ("phase", "verification"),
        ("verification", "verification"),
        ("phase", "orders"),
        ("phase", "escalation"),
        ("transfer", "escalation"),
        ("transfer", "escalation"),
        ("outcome", "escalation"),
        ("phase", "ended"),
    ]
