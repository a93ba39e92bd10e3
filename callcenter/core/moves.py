"""Which tool moves the call from which phase to which: the conversation graph as data.

`phases.ALLOWED_TRANSITIONS` says which moves may happen; this says which tool makes each
one. tests/callpath/test_callpath_moves.py holds the two together: every move here is a
path the table allows, and every phase's agent declares exactly the moving tools listed for
its phase (so a tool added to an agent without a row here, or a row without its tool, fails).
The handoff tests walk these rows with the scripted model. `callcenter graph` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from callcenter.core.phases import Phase

_EVERY_AGENT: Final = (Phase.GREETING, Phase.ORDERS, Phase.BILLING, Phase.WRAP_UP)
"""The phases whose agents carry the shared tools (`agents/shared_tools.py`)."""


@dataclass(frozen=True, slots=True)
class Move:
    tool: str
    source: Phase
    target: Phase
    via: Phase | None = None
    """A phase passed through on the way (VERIFICATION for an unverified caller)."""
    then: str = ""
    """What happens next, in words (for the printed graph)."""


def _from_each(tool: str, sources: tuple[Phase, ...], target: Phase, then: str) -> list[Move]:
    return [Move(tool, source, target, then=then) for source in sources]


TOOL_MOVES: Final[tuple[Move, ...]] = (
    Move("route_to_orders", Phase.GREETING, Phase.ORDERS, via=Phase.VERIFICATION),
    Move("route_to_billing", Phase.GREETING, Phase.BILLING, via=Phase.VERIFICATION),
    Move("transfer_to_billing", Phase.ORDERS, Phase.BILLING),
    Move("finish_request", Phase.ORDERS, Phase.WRAP_UP),
    Move("transfer_to_orders", Phase.BILLING, Phase.ORDERS),
    Move("finish_request", Phase.BILLING, Phase.WRAP_UP),
    Move("help_with_something_else", Phase.WRAP_UP, Phase.GREETING),
    *_from_each(
        "transfer_to_human",
        (*_EVERY_AGENT, Phase.VERIFICATION),
        Phase.ESCALATION,
        then="ended when a supervisor takes the call, else back where it began",
    ),
    *_from_each("end_call", _EVERY_AGENT, Phase.ENDED, then="after the goodbye is spoken"),
)
"""Every move a tool makes. VERIFICATION's own check tools make none: the route that
started it continues once it is done."""

STAYING_TOOLS: Final = frozenset({"request_callback", "answer_policy_question"})
"""Shared tools that never move the call (they may set its outcome); a policy answer needs
no verification, so it moves nothing, in any phase."""


def moves_from(phase: Phase) -> list[Move]:
    return [m for m in TOOL_MOVES if m.source is phase]


def render_text() -> str:
    """The graph for a terminal: one block per phase, one line per tool."""
    lines = ["Tool moves by phase (callcenter/core/moves.py):", ""]
    for phase in Phase:
        moves = moves_from(phase)
        if not moves:
            continue
        lines.append(f"{phase.value}")
        for move in moves:
            via = f" (through {move.via.value} if not verified)" if move.via else ""
            then = f"; {move.then}" if move.then else ""
            lines.append(f"  {move.tool:<26} -> {move.target.value}{via}{then}")
        lines.append("")
    lines.append("Shared tools that move nothing: " + ", ".join(sorted(STAYING_TOOLS)))
    return "\n".join(lines)


def render_mermaid() -> str:
    """The graph as a Mermaid flowchart (paste into Markdown to draw it)."""
    lines = ["flowchart TD"]
    for move in TOOL_MOVES:
        if move.via is not None:
            lines.append(f"  {move.source.value} -->|{move.tool}| {move.via.value}")
            lines.append(f"  {move.via.value} -->|verified| {move.target.value}")
        else:
            lines.append(f"  {move.source.value} -->|{move.tool}| {move.target.value}")
    return "\n".join(dict.fromkeys(lines))
