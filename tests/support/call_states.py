"""A `CallState` in any phase, reached only by the moves a real call makes.

Tests used to set `state.phase = ...` or `state.verification.status = ...` directly, which
builds states no call can reach and checks values the test wrote itself. `walk_to` gets
there through `CallState`'s own methods instead (so the history is a real one), and
`tests/architecture` refuses a direct write anywhere, tests included.
"""

from __future__ import annotations

from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.vocabulary import FactorKind, Intent

_SPECIALIST_INTENT: dict[Phase, Intent] = {Phase.ORDERS: "orders", Phase.BILLING: "billing"}


def verify(state: CallState, intent: Intent = "orders", factor: FactorKind = "zip") -> CallState:
    """GREETING → VERIFICATION, and the caller gives a matching factor (ZIP code: `basic`
    assurance; PIN: `strong`), still in VERIFICATION."""
    state.start_verification(intent)
    state.factor_ok(factor)
    return state


def walk_to(
    state: CallState,
    phase: Phase,
    *,
    verified: bool = True,
    intent: Intent | None = None,
    factor: FactorKind = "zip",
) -> CallState:
    """Move a fresh state (in GREETING) to `phase` by legal moves.

    - GREETING: as is, or (verified) after a whole request: verified, orders, wrap-up, back.
    - VERIFICATION: a verification running for `intent` (default orders).
    - ORDERS / BILLING: verified (with `factor`), then routed there (`intent` picks which
      when given).
    - WRAP_UP: orders, then the request is done.
    - ESCALATION: a transfer under way from ORDERS (or BILLING with intent billing).
    - ENDED: the caller said goodbye.
    """
    assert state.phase is Phase.GREETING and not state.phase_history, "walk from a fresh state"
    if phase is Phase.GREETING:
        if verified:
            walk_to(state, Phase.WRAP_UP, factor=factor)
            state.route_to(Phase.GREETING, reason="test: another request")
        return state
    if phase is Phase.VERIFICATION:
        state.start_verification(intent or "orders")
        return state
    if not verified:
        raise ValueError(f"no call reaches {phase} unverified")
    if phase in _SPECIALIST_INTENT:
        verify(state, _SPECIALIST_INTENT[phase], factor)
        state.route_to(phase, reason="test: verified")
        return state
    if phase is Phase.WRAP_UP:
        walk_to(state, Phase.ORDERS, factor=factor)
        state.route_to(Phase.WRAP_UP, reason="test: request done")
        return state
    if phase is Phase.ESCALATION:
        walk_to(state, Phase.BILLING if intent == "billing" else Phase.ORDERS, factor=factor)
        state.begin_escalation(reason="test")
        return state
    if phase is Phase.ENDED:
        state.said_goodbye()
        return state
    raise ValueError(f"no walk to {phase}")
