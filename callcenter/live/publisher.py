"""Publish a call's live state to ``live_calls`` for the console's live board.

`snapshot(state)` turns a `CallState` into the board's JSON (no PII in clear: the caller is
masked, nothing else identifies them). `LivePublisher.changed()` is cheap to call on every
event: it schedules one write per call at most every `MIN_INTERVAL_S` and always writes the
latest state (so a burst of events is one write with the last values); `ended()` writes the
final state at once. A failing write is logged and never disturbs the call.

`attach(session)` is the one line the call assembly (`callcenter/call.py`) needs: it watches
the state (`CallState.watch`: phase, verification, transfer, outcome, provider switch), the
session's turns (the last turn's latency: the end of the caller's speech -> the first agent
audio as the framework measured it; for a typed turn, which has no speech, the caller's
turn committed -> the agent's reply) and the session's close (the final, ended snapshot).
With Redis configured (`bus`), each write is also announced there, so consoles wake at once
instead of at their next poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from callcenter.data.database import Database
from callcenter.data.live_calls import LiveCallStore
from callcenter.live.bus import LiveBus
from callcenter.observability.call_observer import reply_latency_ms
from callcenter.telephony.numbers import mask

log = logging.getLogger("callcenter.live")

MAX_LATENCIES = 500
"""Turn latencies kept per call (the post-call metrics read them from the last snapshot)."""

MIN_INTERVAL_S = 0.2
"""Coalescing window: the board polls every 0.25 s, so faster writes would not be seen."""

_SERVICE_AGENT = {
    "greeting": "greeter (realtime)",
    "verification": "verification",
    "orders": "orders specialist",
    "billing": "billing specialist",
    "escalation": "escalation",
    "wrap_up": "wrap-up",
    "ended": "–",
}


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def _assurance(state: Any) -> str | None:
    """`CallState.assurance` with the factors behind it ("basic (zip)", "strong (zip + pin)"),
    or None for a state without one."""
    level = _value(getattr(state, "assurance", None))
    if not level:
        return None
    factors = list(getattr(getattr(state, "verification", None), "factors", []) or [])
    return f"{level} ({' + '.join(factors)})" if factors else str(level)


def snapshot(
    state: Any,
    *,
    agent: str | None = None,
    last_latency_ms: float | None = None,
    latencies: Iterable[float] | None = None,
) -> dict[str, Any]:
    """The board row for a `CallState` (or anything with the same attributes)."""
    phase = str(_value(state.phase))
    history = list(getattr(state, "phase_history", []) or [])
    phase_since = history[-1].at if history else float(getattr(state, "started_at", time.time()))
    attempts = list(getattr(state, "transfer_attempts", []) or [])
    in_progress = [
        {"supervisor": a.supervisor, "mode": str(_value(a.mode)), "since": a.started_at}
        for a in attempts
        if getattr(a, "ended_at", None) is None
    ]
    verification = getattr(state, "verification", None)
    return {
        "caller": mask(state.call.caller_e164) if state.call.caller_e164 else "withheld",
        "verification": str(_value(verification.status)) if verification else "unverified",
        "assurance": _assurance(state)
        or (
            f"by {verification.method}"
            if verification is not None and verification.method
            else None
        ),
        "intent": getattr(state, "intent", None),
        "phase": phase,
        "phase_since": phase_since,
        "agent": agent or _SERVICE_AGENT.get(phase, phase),
        "transfers": in_progress,
        "provider_switches": len(getattr(state, "provider_switches", []) or []),
        "last_latency_ms": last_latency_ms,
        "waiting_for_human": phase == "escalation" or bool(in_progress),
        "actions": list(getattr(state, "actions", []) or [])[-5:],
        "turn_latencies_ms": list(latencies or [])[-MAX_LATENCIES:],
    }


class LivePublisher:
    """One per call: `changed()` on any event, `ended()` once at hang-up."""

    def __init__(self, db: Database, state: Any, *, bus: LiveBus | None = None) -> None:
        self.store = LiveCallStore(db)
        self.bus = bus
        """Redis, when configured: each write is announced there too (`live/bus.py`)."""
        self.state = state
        self.started_at = dt.datetime.fromtimestamp(
            float(getattr(state, "started_at", time.time())), dt.UTC
        )
        self.last_latency_ms: float | None = None
        self.latencies: deque[float] = deque(maxlen=MAX_LATENCIES)  # a long call stays bounded
        self.agent: str | None = None
        self._pending: asyncio.Task[None] | None = None
        self._last_write = 0.0
        self._last_version = 0
        self._ended = False
        self._caller_turn_at: float | None = None
        self._closing: asyncio.Task[None] | None = None

    def attach(self, session: Any) -> LivePublisher:
        """Follow `session` and its state from now on; publishes the first snapshot."""
        self.state.watch(lambda _state, _what: self.changed())
        session.on("conversation_item_added", self._on_item)
        session.on("close", self._on_close)
        self.changed()
        return self

    def _on_item(self, ev: Any) -> None:
        role = getattr(ev.item, "role", None)
        if role == "user":
            self._caller_turn_at = time.monotonic()
        elif role == "assistant":
            measured = reply_latency_ms(ev.item)
            if measured is None and self._caller_turn_at is not None:
                measured = round((time.monotonic() - self._caller_turn_at) * 1000, 1)
            self._caller_turn_at = None
            if measured is None:
                return
            self.last_latency_ms = measured
            self.latencies.append(measured)
            self.changed()

    def _on_close(self, _ev: Any) -> None:
        self._closing = asyncio.get_running_loop().create_task(self.ended())

    def _version(self) -> int:
        version = max(time.time_ns() // 1000, self._last_version + 1)
        self._last_version = version
        return version

    async def _write(self, *, ended: bool = False) -> None:
        version = self._version()
        try:
            await self.store.publish(
                self.state.call.call_id,
                snapshot(
                    self.state,
                    agent=self.agent,
                    last_latency_ms=self.last_latency_ms,
                    latencies=self.latencies,
                ),
                started_at=self.started_at,
                version=version,
                ended=ended,
            )
            self._last_write = time.monotonic()
        except Exception:
            log.warning(
                "live board update failed",
                exc_info=True,
                extra={"call_id": self.state.call.call_id},
            )
            return
        if self.bus is not None:  # after the row is written: a console reads it on the notice
            await self.bus.announce("board", self.state.call.call_id, version=version)

    async def _later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._pending = None
        if not self._ended:
            await self._write()

    def changed(self) -> None:
        """Something on the board changed: write now, or once the window has passed."""
        if self._ended or self._pending is not None:
            return
        wait = max(0.0, MIN_INTERVAL_S - (time.monotonic() - self._last_write))
        self._pending = asyncio.get_running_loop().create_task(self._later(wait))

    async def flush(self) -> None:
        """Write the current state now (tests, and the start of a call)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        await self._write()

    async def ended(self) -> None:
        """The call is over: the final state, marked ended (the board shows it leaving)."""
        if self._ended:
            return
        self._ended = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        await self._write(ended=True)
