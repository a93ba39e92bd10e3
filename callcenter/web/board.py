"""The live board: one row per call in progress, built from ``live_calls`` snapshots.

A worker publishes each call's snapshot (`callcenter.live.publisher`); every console process
polls the newest ``version`` every `POLL_S` and, when it moved, pushes the re-rendered rows
to its open boards over server-sent events, so a change reaches the screen in about
`POLL_S` plus one render. Clocks (time in call, time in phase) tick in the browser.

Snapshot fields (all optional; missing ones show as "–"): ``caller`` (masked),
``verification`` (unverified/verified/locked/no_match), ``assurance``, ``intent``, ``phase``,
``phase_since`` and ``started`` (unix seconds), ``agent``, ``transfers`` (in progress:
``[{"supervisor", "mode", "since"}]``), ``provider_switches`` (count),
``last_latency_ms``, ``waiting_for_human`` (bool).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from callcenter.data.live_calls import LiveCallView
from callcenter.data.models import utcnow
from callcenter.web.context import Console

POLL_S = 0.25
PHASE_ORDER = ("greeting", "verification", "orders", "billing", "escalation", "wrap_up", "ended")


@dataclass(frozen=True, slots=True)
class BoardState:
    rows: list[dict[str, Any]]
    per_phase: list[tuple[str, int]]
    waiting_for_human: int
    active: int
    version: int


def row(live: LiveCallView, now: dt.datetime) -> dict[str, Any]:
    s = live.snapshot
    transfers = s.get("transfers") or []
    return {
        "call_id": live.call_id,
        "caller": s.get("caller") or "withheld",
        "verification": s.get("verification") or "unverified",
        "assurance": s.get("assurance"),
        "intent": s.get("intent"),
        "phase": s.get("phase") or "greeting",
        "phase_since": s.get("phase_since") or live.started_at.timestamp(),
        "started": live.started_at.timestamp(),
        "agent": s.get("agent"),
        "transfers": transfers,
        "provider_switches": int(s.get("provider_switches") or 0),
        "last_latency_ms": s.get("last_latency_ms"),
        "waiting_for_human": bool(s.get("waiting_for_human")) or bool(transfers),
        "ended": live.ended_at is not None,
        "stale": live.ended_at is None and (now - live.updated_at) > dt.timedelta(minutes=5),
    }


async def load(c: Console) -> BoardState:
    now = utcnow()
    version = await c.live.latest_version()
    rows = [row(v, now) for v in await c.live.active()]
    live = [r for r in rows if not r["ended"]]
    counts = Counter(r["phase"] for r in live)
    per_phase = [(p, counts.get(p, 0)) for p in PHASE_ORDER if p != "ended"]
    per_phase += [(p, n) for p, n in counts.items() if p not in PHASE_ORDER]
    return BoardState(
        rows=rows,
        per_phase=per_phase,
        waiting_for_human=sum(1 for r in live if r["waiting_for_human"]),
        active=len(live),
        version=version,
    )


def render_rows(c: Console, state: BoardState) -> str:
    return c.templates.get_template("_board.html").render(board=state)
