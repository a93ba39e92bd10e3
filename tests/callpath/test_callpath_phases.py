"""The transition table, walked exhaustively, and `CallState` refusing what it forbids."""

from __future__ import annotations

import itertools

import pytest

from callcenter.core.phases import (
    ALLOWED_TRANSITIONS,
    SPECIALIST_PHASES,
    Phase,
    PhaseTransitionError,
    check_transition,
)
from callcenter.core.state import CallState
from callcenter.telephony.sip import CallInfo
from tests.support.call_states import walk_to

ALLOWED = [(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in sorted(targets)]
REFUSED = [(a, b) for a, b in itertools.product(Phase, Phase) if b not in ALLOWED_TRANSITIONS[a]]


def _state() -> CallState:
    return CallState(
        call=CallInfo.for_console(caller_e164=None, call_id="t"),
        deps=None,  # type: ignore[arg-type]  # moves never touch the deps
    )


def test_every_phase_has_a_row() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(Phase)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda p: str(p))
def test_allowed_move_passes_the_table(current: Phase, target: Phase) -> None:
    check_transition(current, target, verified=True)


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda p: str(p))
def test_disallowed_move_raises(current: Phase, target: Phase) -> None:
    with pytest.raises(PhaseTransitionError, match=f"from {current} to {target}"):
        check_transition(current, target, verified=True)


@pytest.mark.parametrize("target", sorted(SPECIALIST_PHASES))
@pytest.mark.parametrize("current", [Phase.GREETING, Phase.VERIFICATION])
def test_specialist_before_verification_is_refused(current: Phase, target: Phase) -> None:
    with pytest.raises(PhaseTransitionError, match="before the caller is verified"):
        check_transition(current, target, verified=False)
    check_transition(current, target, verified=True)  # the same move is fine once verified


def test_ended_is_terminal() -> None:
    assert ALLOWED_TRANSITIONS[Phase.ENDED] == frozenset()


def test_escalation_is_reachable_from_every_live_phase() -> None:
    live = set(Phase) - {Phase.ENDED, Phase.ESCALATION}
    assert {p for p in live if Phase.ESCALATION in ALLOWED_TRANSITIONS[p]} == live


def test_failed_transfer_can_return_to_every_live_phase_and_a_completed_one_ends() -> None:
    assert ALLOWED_TRANSITIONS[Phase.ESCALATION] == (set(Phase) - {Phase.ESCALATION})


@pytest.mark.parametrize("phase", sorted(set(Phase) - {Phase.ENDED}))
def test_every_live_phase_is_reachable_by_the_states_own_moves(phase: Phase) -> None:
    state = walk_to(_state(), phase, verified=phase is not Phase.VERIFICATION)
    assert state.phase is phase
    visited = [Phase.GREETING, *(c.to_phase for c in state.phase_history)]
    for before, after in itertools.pairwise(visited):
        check_transition(before, after, verified=True)
