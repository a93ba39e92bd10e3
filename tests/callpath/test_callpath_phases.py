"""The transition table, walked exhaustively through `CallState.transition`."""

from __future__ import annotations

import itertools

import pytest

from callcenter.phases import (
    ALLOWED_TRANSITIONS,
    SPECIALIST_PHASES,
    Phase,
    PhaseTransitionError,
    check_transition,
)
from callcenter.state import CallState, VerificationStatus
from callcenter.telephony.sip import CallInfo

ALLOWED = [(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in sorted(targets)]
REFUSED = [(a, b) for a, b in itertools.product(Phase, Phase) if b not in ALLOWED_TRANSITIONS[a]]


def _state(phase: Phase, *, verified: bool) -> CallState:
    state = CallState(
        call=CallInfo.for_console(caller_e164=None, call_id="t"),
        deps=None,  # type: ignore[arg-type]  # transitions never touch the deps
    )
    state.phase = phase
    if verified:
        state.verification.status = VerificationStatus.VERIFIED
    return state


def test_every_phase_has_a_row() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(Phase)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda p: str(p))
def test_allowed_move_is_recorded(current: Phase, target: Phase) -> None:
    state = _state(current, verified=True)
    state.transition(target, reason="test")
    assert state.phase is target
    change = state.phase_history[-1]
    assert (change.from_phase, change.to_phase, change.reason) == (current, target, "test")
    assert state.phases_visited() == ["greeting", target.value]


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda p: str(p))
def test_disallowed_move_raises_and_changes_nothing(current: Phase, target: Phase) -> None:
    state = _state(current, verified=True)
    with pytest.raises(PhaseTransitionError, match=f"from {current} to {target}"):
        state.transition(target, reason="test")
    assert state.phase is current
    assert state.phase_history == []


@pytest.mark.parametrize("target", sorted(SPECIALIST_PHASES))
@pytest.mark.parametrize("current", [Phase.GREETING, Phase.VERIFICATION])
def test_specialist_before_verification_is_refused(current: Phase, target: Phase) -> None:
    state = _state(current, verified=False)
    with pytest.raises(PhaseTransitionError, match="before the caller is verified"):
        state.transition(target, reason="test")
    assert state.phase is current
    # the same move is fine once verified
    check_transition(current, target, verified=True)


def test_ended_is_terminal() -> None:
    assert ALLOWED_TRANSITIONS[Phase.ENDED] == frozenset()


def test_escalation_is_reachable_from_every_live_phase() -> None:
    live = set(Phase) - {Phase.ENDED, Phase.ESCALATION}
    assert {p for p in live if Phase.ESCALATION in ALLOWED_TRANSITIONS[p]} == live


def test_failed_transfer_can_return_to_every_phase_but_verification() -> None:
    assert ALLOWED_TRANSITIONS[Phase.ESCALATION] >= {
        Phase.GREETING,
        Phase.ORDERS,
        Phase.BILLING,
        Phase.WRAP_UP,
    }
    assert Phase.VERIFICATION not in ALLOWED_TRANSITIONS[Phase.ESCALATION]


def test_completed_transfer_ends_the_call() -> None:
    state = _state(Phase.ESCALATION, verified=True)
    state.transition(Phase.ENDED, reason="transferred")
    assert state.phase is Phase.ENDED
