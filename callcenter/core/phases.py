"""The call's phases and which moves between them are allowed.

```
             ┌──────────────┐  intent known   ┌──────────────┐  verified   ┌───────────────┐
  call ───▶  │   GREETING   │ ──────────────▶ │ VERIFICATION │ ──────────▶ │ ORDERS/BILLING│
             └──────────────┘                 └──────────────┘             └───────────────┘
                  ▲    │ (already verified) ─────────────────────────────────▲      │ done
                  │    ▼                                                            ▼
                  │  ENDED ◀──── goodbye ───────────────────────────────── ┌──────────────┐
                  └──────────── "something else?" ──────────────────────── │   WRAP_UP    │
                                                                           └──────────────┘
  ESCALATION is reachable from every live phase; a failed transfer returns to the phase
  the caller was in (a verification still running included), a completed one ends the call.
```

`ALLOWED_TRANSITIONS` is the single source of truth: `CallState` refuses any move not in
it (and adds the guards only the state can know, such as "back from ESCALATION only to
where the escalation began"), and a unit test walks the whole table. Which tool makes
which move is `callcenter.core.moves`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from callcenter.vocabulary import Intent


class Phase(StrEnum):
    GREETING = "greeting"
    VERIFICATION = "verification"
    ORDERS = "orders"
    BILLING = "billing"
    WRAP_UP = "wrap_up"
    ESCALATION = "escalation"
    ENDED = "ended"


SPECIALIST_PHASES: Final = frozenset({Phase.ORDERS, Phase.BILLING})
"""Phases that read account data: entering one requires a verified caller."""

INTENT_OF: Final[dict[Phase, Intent]] = {Phase.ORDERS: "orders", Phase.BILLING: "billing"}
"""The request a specialist phase serves: entering it sets the call's intent."""

AGENT_PHASES: Final = frozenset({Phase.GREETING, Phase.ORDERS, Phase.BILLING, Phase.WRAP_UP})
"""Phases run by an agent of their own (VERIFICATION is a task inside GREETING's route;
ESCALATION runs inside the `transfer_to_human` tool; ENDED runs nothing)."""

_LIVE_PHASES: Final = frozenset(Phase) - {Phase.ENDED}

ALLOWED_TRANSITIONS: Final[dict[Phase, frozenset[Phase]]] = {
    Phase.GREETING: frozenset(
        {
            Phase.VERIFICATION,
            Phase.ORDERS,
            Phase.BILLING,
            Phase.WRAP_UP,
            Phase.ESCALATION,
            Phase.ENDED,
        }
    ),
    Phase.VERIFICATION: frozenset(
        {Phase.ORDERS, Phase.BILLING, Phase.GREETING, Phase.ESCALATION, Phase.ENDED}
    ),
    Phase.ORDERS: frozenset({Phase.BILLING, Phase.WRAP_UP, Phase.ESCALATION, Phase.ENDED}),
    Phase.BILLING: frozenset({Phase.ORDERS, Phase.WRAP_UP, Phase.ESCALATION, Phase.ENDED}),
    Phase.WRAP_UP: frozenset({Phase.GREETING, Phase.ESCALATION, Phase.ENDED}),
    # a failed transfer goes back to wherever the caller was (CallState allows only that one)
    Phase.ESCALATION: (_LIVE_PHASES - {Phase.ESCALATION}) | {Phase.ENDED},
    Phase.ENDED: frozenset(),
}


class PhaseTransitionError(RuntimeError):
    """A handoff that the transition table (or the verification guard) forbids."""


def check_transition(current: Phase, target: Phase, *, verified: bool) -> None:
    """Raise `PhaseTransitionError` unless `current → target` is allowed right now."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise PhaseTransitionError(f"cannot go from {current} to {target}")
    if target in SPECIALIST_PHASES and not verified:
        raise PhaseTransitionError(f"cannot enter {target} before the caller is verified")
