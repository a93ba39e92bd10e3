"""One call, observed: its session's events become metrics, and its log lines carry its id,
room and phase. The worker wires it with one line after the call starts:

    observe_call(session, state)

From LiveKit's session events, as they happen:
- `conversation_item_added`: each agent reply's per-turn report (`ChatMessage.metrics`, what
  livekit-agents 1.8.9 offers in place of the deprecated `metrics_collected`):
  `e2e_latency` (end of the caller's speech → first agent audio) → `turn_latency_seconds`,
  `llm_node_ttft` → `llm_ttft_seconds`, `tts_node_ttfb` → `tts_ttfb_seconds`, labelled with
  the provider that served (`llm_metadata`/`tts_metadata`, the active link of a fallback
  chain). The realtime greeting reports `e2e_latency` only;
- `function_tools_executed`: each tool's call → result time → `tool_latency_seconds`.

From the call's state, as it changes (`CallState.watch`, the call core's seam for
observers): phase transitions, verification results, transfer attempts and the time to a
human, callbacks booked, provider switches (`StateMetrics`). When the session has closed
(the outcome is settled then): the call's end, disposition and duration.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from callcenter.observability import logs, metrics, tracing

logger = logging.getLogger("callcenter.observability")


def _value(x: Any) -> str:
    return str(getattr(x, "value", x)) if x is not None else ""


def transport_of(state: Any) -> str:
    call = state.call
    if getattr(call, "is_sip", False):
        return "sip"
    return "web" if getattr(call, "in_room", True) else "console"


def observe_call(session: Any, state: Any, *, db: Any = None) -> None:
    """Attach to a started call (see the module docstring); `db`: the call process's
    `Database`, whose errors are counted. Never raises into the call."""
    if db is not None:
        watch_database(db)
    call = state.call
    unbind = logs.bind_call(
        call_id=str(call.call_id),
        room=str(getattr(call, "room_name", "") or ""),
        phase=lambda: _value(state.phase),
    )
    metrics.call_started(transport_of(state))
    state.watch(StateMetrics(state))
    closed = False

    def on_item(ev: Any) -> None:
        item = ev.item
        if getattr(item, "role", None) != "assistant":
            return
        report = getattr(item, "metrics", None) or {}
        if _seconds(report.get("e2e_latency")) is not None:
            metrics.turn_latency(report["e2e_latency"])
        if _seconds(report.get("llm_node_ttft")) is not None:
            metrics.llm_ttft(_provider(report.get("llm_metadata")), report["llm_node_ttft"])
        if _seconds(report.get("tts_node_ttfb")) is not None:
            metrics.tts_ttfb(_provider(report.get("tts_metadata")), report["tts_node_ttfb"])

    def on_tools(ev: Any) -> None:
        for fn_call, output in ev.zipped():
            if output is None:
                continue
            seconds = output.created_at - fn_call.created_at
            metrics.tool_latency(fn_call.name, max(seconds, 0.0), error=bool(output.is_error))

    def on_close(_ev: Any) -> None:
        nonlocal closed
        if closed:
            return
        closed = True

        def finish() -> None:
            try:
                call_ended(state)
            except Exception:
                logger.exception("call metrics not recorded")
            finally:
                unbind()

        # after every other close handler (the lifecycle settles the outcome in its own)
        try:
            asyncio.get_running_loop().call_soon(finish)
        except RuntimeError:
            finish()

    def guarded(fn: Any) -> Any:
        def handler(ev: Any) -> None:
            try:
                fn(ev)
            except Exception:
                logger.exception("call metric not recorded")

        return handler

    session.on("conversation_item_added", guarded(on_item))
    session.on("function_tools_executed", guarded(on_tools))
    session.on("close", on_close)


def observe_job(ctx: Any, settings: Any) -> None:
    """At the start of a job (before its session exists): LiveKit's spans go to the OTLP
    collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and are flushed when the job ends."""
    if tracing.setup_tracing(settings.otel_endpoint):
        ctx.add_shutdown_callback(tracing.flush_tracing)


def reply_latency_ms(item: Any) -> float | None:
    """An agent reply's end of caller speech → first agent audio, in ms, when the framework
    measured it (an assistant `ChatMessage` answering speech); None otherwise."""
    if getattr(item, "role", None) != "assistant":
        return None
    report = getattr(item, "metrics", None) or {}
    value = report.get("e2e_latency") if isinstance(report, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return round(float(value) * 1000, 1)


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value >= 0 else None


def _provider(metadata: Any) -> str:
    """`openai`, `deepgram`, ... from a turn's `llm_metadata`/`tts_metadata`."""
    provider = (metadata or {}).get("model_provider") if isinstance(metadata, dict) else None
    return str(provider).lower() if provider else "unknown"


class StateMetrics:
    """A `CallState` watcher: records each change once, as it happens."""

    def __init__(self, state: Any) -> None:
        self._phases = len(state.phase_history)
        self._switches = len(state.provider_switches)
        self._attempts_done: set[int] = set()
        self._verification = _value(state.verification.status)
        self._outcome = _value(state.outcome)
        self._escalation_began: float | None = None

    def __call__(self, state: Any, what: str) -> None:
        if what == "phase":
            self._on_phases(state)
        elif what == "verification":
            self._on_verification(state)
        elif what == "transfer":
            self._on_transfers(state)
        elif what == "outcome":
            outcome = _value(state.outcome)
            if outcome == "callback" and self._outcome != "callback":
                metrics.callback_booked()
            self._outcome = outcome
        elif what == "provider_switch":
            for switch in state.provider_switches[self._switches :]:
                metrics.provider_switched(str(switch.kind))
            self._switches = len(state.provider_switches)

    def _on_phases(self, state: Any) -> None:
        for change in state.phase_history[self._phases :]:
            source, target = _value(change.from_phase), _value(change.to_phase)
            metrics.phase_changed(source, target)
            if target == "escalation":
                self._escalation_began = change.at
            if source == "verification" and _value(state.verification.status) == "unverified":
                # left without a result (moved on, escalated, hung up): counted once here
                metrics.verification_finished("unverified", None)
        self._phases = len(state.phase_history)

    def _on_verification(self, state: Any) -> None:
        status = _value(state.verification.status)
        finished = ("verified", "locked", "account_locked", "no_match")
        if status != self._verification and status in finished:
            metrics.verification_finished(status, state.verification.method)
        self._verification = status

    def _on_transfers(self, state: Any) -> None:
        for index, attempt in enumerate(state.transfer_attempts):
            if attempt.ended_at is None or index in self._attempts_done:
                continue
            self._attempts_done.add(index)
            outcome = _value(attempt.outcome)
            metrics.transfer_attempted(str(attempt.mode), outcome)
            if outcome == "connected":
                began = self._escalation_began or attempt.started_at
                metrics.reached_human(str(attempt.mode), attempt.ended_at - began)


def call_ended(state: Any, *, now: float | None = None) -> None:
    """The call is over: its disposition (the record's outcome) and duration."""
    now = time.time() if now is None else now
    metrics.call_ended(_value(state.outcome) or "ended", now - float(state.started_at))


_watched: set[int] = set()


def watch_database(db: Any) -> None:
    """Count the errors of `db`'s engine by kind (`db_errors_total`), once per engine."""
    from sqlalchemy import event

    engine = db.engine.sync_engine
    if id(engine) in _watched:
        return
    _watched.add(id(engine))
    event.listen(engine, "handle_error", _on_db_error)


def _on_db_error(context: Any) -> None:
    from sqlalchemy import exc

    error = context.sqlalchemy_exception
    if getattr(context, "is_disconnect", False):
        kind = "connection"
    elif isinstance(error, exc.IntegrityError):
        kind = "integrity"
    elif isinstance(error, exc.ProgrammingError):
        kind = "programming"
    elif isinstance(error, exc.DataError):
        kind = "data"
    elif isinstance(context.original_exception, TimeoutError):
        kind = "timeout"
    else:
        kind = "operational"
    metrics.db_error(kind)
