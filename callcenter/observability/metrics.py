"""The product's Prometheus metrics, and one small function per event that records them.

The call core says what happened (`call_started`, `phase_changed`, `transfer_attempted`, ...);
this module turns it into counters and histograms. Where they are served:

- In the worker, each call runs in its own job process, which exits after the call. Its events
  go over a Unix datagram socket to the worker's main process (`callcenter.observability.relay`),
  which holds the registry and serves it on LiveKit's Prometheus endpoint
  (`AgentServer(prometheus_port=...)`, `/metrics`), next to LiveKit's own `lk_agents_*` metrics.
  (Prometheus' multiprocess mode would leave files for every call process that ever ran: the
  scrape would read one set per call since the worker started.)
- Anywhere else (console, tests, the thread executor) the process records into its own registry.

Labels are bounded: enum-like labels accept only the values listed here (anything else is
counted as `other`), and free-form ones (tool, provider) keep their first `FREE_LABEL_LIMIT`
distinct values, then `other`. No label ever carries a number, name, call id or room.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

logger = logging.getLogger("callcenter.metrics")

OTHER = "other"
FREE_LABEL_LIMIT = 40
"""Distinct values a free-form label (tool name, provider) may take before `other`."""

TRANSPORTS = ("sip", "web", "console")
DISPOSITIONS = (
    "resolved",
    "transferred",
    "callback",
    "abandoned",
    "failed",
    "ended",
    "interrupted",  # the call's process died (crash, kill -9): nobody closed the call
)
PHASES = ("greeting", "verification", "orders", "billing", "wrap_up", "escalation", "ended")
VERIFICATION_RESULTS = ("verified", "locked", "account_locked", "no_match", "unverified")
FACTORS = ("zip", "last_four", "pin", "none")
TRANSFER_MODES = ("warm", "cold", "simulated")
TRANSFER_OUTCOMES = (
    "connected",
    "simulated",
    "no_answer",
    "declined",
    "voicemail",
    "busy",
    "failed",
    "caller_hung_up",
    "supervisor_hung_up",
    "unavailable",
)
PROVIDER_KINDS = ("llm", "stt", "tts", "realtime", "greeting_to_pipeline", "degraded")
TOOL_RESULTS = ("ok", "error")
DB_ERRORS = ("connection", "timeout", "integrity", "operational", "programming", "data")

_FREE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
"""A free-form label value: a tool name, or a provider (`openai`, or a custom endpoint's
`host:port`, which the plugins report as the provider)."""


@dataclass(frozen=True)
class _Label:
    name: str
    allowed: tuple[str, ...] | None = None
    """None: a free-form label (bounded by `FREE_LABEL_LIMIT`)."""


class _Metrics:
    """Every metric of the product, in one registry (the default one, which LiveKit's
    Prometheus endpoint serves)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        ns = "callcenter"
        self.registry = registry
        self.labels: dict[str, tuple[_Label, ...]] = {}
        self.metrics: dict[str, Any] = {}
        self._free_seen: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()
        self._active: dict[int, int] = {}
        """Calls under way, by the pid of the process that runs them."""

        def add(kind: Any, name: str, doc: str, labels: Iterable[_Label] = (), **kw: Any) -> None:
            labels = tuple(labels)
            self.labels[name] = labels
            self.metrics[name] = kind(
                f"{ns}_{name}", doc, [lbl.name for lbl in labels], registry=registry, **kw
            )

        add(
            Counter,
            "calls_started",
            "Calls answered, by how the caller reached us.",
            [_Label("transport", TRANSPORTS)],
        )
        add(
            Counter,
            "calls_ended",
            "Calls ended, by disposition (interrupted: the call's process died).",
            [_Label("disposition", DISPOSITIONS)],
        )
        add(
            Histogram,
            "call_duration_seconds",
            "Call length from answer to end, by disposition.",
            [_Label("disposition", DISPOSITIONS)],
            buckets=(30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600),
        )
        add(
            Counter,
            "phase_transitions",
            "Moves between call phases.",
            [_Label("from_phase", PHASES), _Label("to_phase", PHASES)],
        )
        add(
            Counter,
            "verifications",
            "Identity verifications by result (and the factor that succeeded).",
            [_Label("result", VERIFICATION_RESULTS), _Label("factor", FACTORS)],
        )
        add(
            Counter,
            "transfer_attempts",
            "Attempts to reach a supervisor, by mode and outcome.",
            [_Label("mode", TRANSFER_MODES), _Label("outcome", TRANSFER_OUTCOMES)],
        )
        add(
            Histogram,
            "time_to_human_seconds",
            "From the start of an escalation to a supervisor taking the call.",
            [_Label("mode", TRANSFER_MODES)],
            buckets=(5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600),
        )
        add(Counter, "callbacks_booked", "Callback tickets booked for callers.")
        add(
            Counter,
            "provider_switches",
            "Provider fallbacks a call lived through, by model chain.",
            [_Label("kind", PROVIDER_KINDS)],
        )
        add(
            Histogram,
            "turn_latency_seconds",
            "End of the caller's speech to the agent's first audio (LiveKit's e2e_latency).",
            buckets=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 8.0),
        )
        add(
            Histogram,
            "llm_ttft_seconds",
            "Model time to first token (realtime: to first audio), by provider.",
            [_Label("provider")],
            buckets=(0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0),
        )
        add(
            Histogram,
            "tts_ttfb_seconds",
            "Speech synthesis time to first audio byte, by provider.",
            [_Label("provider")],
            buckets=(0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0),
        )
        add(
            Histogram,
            "tool_latency_seconds",
            "From the model's tool call to the tool's result, by tool and result.",
            [_Label("tool"), _Label("result", TOOL_RESULTS)],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        add(
            Counter,
            "db_errors",
            "Database errors seen by call processes, by kind.",
            [_Label("error", DB_ERRORS)],
        )
        add(
            Gauge,
            "journal_backlog",
            "Call-record journal entries not yet written to the database.",
        )
        self.metrics["journal_backlog"].set(0)
        active = Gauge(
            f"{ns}_calls_active",
            "Calls under way (calls of processes that died are dropped and counted as "
            "calls_ended{disposition='interrupted'}).",
            registry=registry,
        )
        active.set_function(self.active_calls)

    # -- applying events (in the process that owns the registry) ---------------------------
    def apply(self, op: str, name: str, labels: list[str], value: float, pid: int) -> None:
        """One event: `op` is inc/observe/set, or call_start/call_end for the active calls."""
        if op == "call_start":
            with self._lock:
                self._active[pid] = self._active.get(pid, 0) + 1
            op = "inc"
        elif op == "call_end":
            with self._lock:
                if self._active.get(pid, 0) > 0:
                    self._active[pid] -= 1
                if not self._active.get(pid):
                    self._active.pop(pid, None)
            op = "inc"
        spec = self.labels.get(name)
        if spec is None or len(labels) != len(spec):
            logger.warning("unknown metric event dropped", extra={"metric": str(name)[:64]})
            return
        metric = self.metrics[name]
        if spec:
            metric = metric.labels(
                *(self._bounded(name, s, v) for s, v in zip(spec, labels, strict=True))
            )
        if op == "inc":
            metric.inc(value)
        elif op == "observe":
            metric.observe(value)
        elif op == "set":
            metric.set(value)

    def _bounded(self, metric: str, label: _Label, value: object) -> str:
        text = str(value).lower()
        if label.allowed is not None:
            return text if text in label.allowed else OTHER
        if not _FREE.match(text):
            return OTHER
        with self._lock:
            seen = self._free_seen.setdefault((metric, label.name), set())
            if text in seen:
                return text
            if len(seen) >= FREE_LABEL_LIMIT:
                return OTHER
            seen.add(text)
            return text

    def active_calls(self) -> float:
        """Calls under way in live processes; a dead process's calls become `interrupted`."""
        with self._lock:
            dead = [pid for pid in self._active if not _alive(pid)]
            lost = sum(self._active.pop(pid) for pid in dead)
        if lost:
            self.metrics["calls_ended"].labels("interrupted").inc(lost)
            logger.warning("calls lost with their process", extra={"calls": lost})
        with self._lock:
            return float(sum(self._active.values()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


METRICS = _Metrics(REGISTRY)
"""The process's metrics, in the default registry."""


def _emit(op: str, name: str, labels: list[str] | None = None, value: float = 1.0) -> None:
    """Record here, or send to the worker's main process when this is a call process."""
    from callcenter.observability import relay

    labels = [str(v) for v in labels or []]
    if relay.send(op, name, labels, value):
        return
    METRICS.apply(op, name, labels, value, os.getpid())


# -- the call's life -------------------------------------------------------------------------


def call_started(transport: str) -> None:
    """A call was answered (`sip`, `web` or `console`)."""
    _emit("call_start", "calls_started", [transport])


def call_ended(disposition: str, duration_s: float) -> None:
    """A call ended with the record's outcome (`resolved`, `transferred`, ...)."""
    _emit("call_end", "calls_ended", [disposition])
    _emit("observe", "call_duration_seconds", [disposition], max(duration_s, 0.0))


def phase_changed(from_phase: str, to_phase: str) -> None:
    _emit("inc", "phase_transitions", [from_phase, to_phase])


def verification_finished(result: str, factor: str | None) -> None:
    """Verification ended: `verified` (with the factor), `locked` (this call's attempts
    spent), `account_locked` (locked across calls), `no_match`, or `unverified` (the caller
    left or moved on before finishing)."""
    _emit("inc", "verifications", [result, factor or "none"])


def transfer_attempted(mode: str, outcome: str) -> None:
    _emit("inc", "transfer_attempts", [mode, outcome])


def reached_human(mode: str, seconds: float) -> None:
    """A supervisor took the call `seconds` after the escalation began."""
    _emit("observe", "time_to_human_seconds", [mode], max(seconds, 0.0))


def callback_booked() -> None:
    _emit("inc", "callbacks_booked")


def provider_switched(kind: str) -> None:
    _emit("inc", "provider_switches", [kind])


# -- latency, from LiveKit's metrics events ----------------------------------------------------


def turn_latency(seconds: float) -> None:
    _emit("observe", "turn_latency_seconds", value=seconds)


def llm_ttft(provider: str, seconds: float) -> None:
    _emit("observe", "llm_ttft_seconds", [provider], seconds)


def tts_ttfb(provider: str, seconds: float) -> None:
    _emit("observe", "tts_ttfb_seconds", [provider], seconds)


def tool_latency(tool: str, seconds: float, *, error: bool) -> None:
    _emit("observe", "tool_latency_seconds", [tool, "error" if error else "ok"], seconds)


# -- infrastructure ----------------------------------------------------------------------------


def db_error(kind: str) -> None:
    """A database error (`connection`, `timeout`, `integrity`, `operational`, ...)."""
    _emit("inc", "db_errors", [kind])


def journal_backlog(entries: int) -> None:
    """Entries of the call-record journal waiting to be written (the security work's journal
    calls this whenever its backlog changes)."""
    _emit("set", "journal_backlog", value=float(entries))
