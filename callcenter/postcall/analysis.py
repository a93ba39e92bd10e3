"""Post-call analysis of one closed call record: disposition, summary and metrics.

The disposition is derived from what the phase machine recorded (outcome, phases visited,
verification, end reason), never guessed from the words. The rules, in order:

| recorded                                                  | disposition                |
|-----------------------------------------------------------|----------------------------|
| outcome `transferred`                                     | `transferred`              |
| outcome `callback` (a ticket was opened)                  | `callback_booked`          |
| outcome `failed`, or no outcome at all                    | `failed`                   |
| verification `locked` (too many wrong answers)            | `verification_failed`      |
| outcome `resolved`                                        | `resolved_self_service`    |
| caller hung up / went silent after being served           | `hung_up_after_service`    |
| caller hung up / went silent before being served          | `abandoned_before_service` |
| anything else we ended (maximum duration ...)             | `interrupted`              |

"Served" means the call reached a specialist phase (orders, billing) or wrap-up, or an
action was taken for the caller: a caller who got their answer and then hung up is not an
abandoned call.

The summary follows one fixed schema (`SummaryFields`: reason, done, outcome, follow-up),
rendered to a sentence or two. This module fills it from the record deterministically; a
model-written summary must produce the same fields (see `summary_source`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from callcenter.data.call_analysis import CallAnalysisView, Disposition
from callcenter.data.models import CallOutcome, utcnow
from callcenter.redaction import redact
from callcenter.telephony.numbers import mask

DEVELOPMENT_CALLER_HASH_KEY = b"callcenter-development-caller-hash-key"
"""Used when `CALLCENTER_CALLER_HASH_KEY` is unset (development); set a real one in production."""

SERVICE_PHASES = frozenset({"orders", "billing", "wrap_up"})
_SECRET_PHASE_ACTIONS = ("verified identity",)

DISPOSITION_LABELS: dict[Disposition, str] = {
    Disposition.RESOLVED_SELF_SERVICE: "Resolved by the agent",
    Disposition.TRANSFERRED: "Transferred to a person",
    Disposition.CALLBACK_BOOKED: "Callback booked",
    Disposition.VERIFICATION_FAILED: "Verification failed",
    Disposition.ABANDONED_BEFORE_SERVICE: "Abandoned before service",
    Disposition.HUNG_UP_AFTER_SERVICE: "Hung up after service",
    Disposition.INTERRUPTED: "Interrupted",
    Disposition.FAILED: "Failed",
}


def caller_hash(e164: str | None, key: bytes) -> str | None:
    """HMAC-SHA256 of an E.164 number: what the history matches a typed number against."""
    if not e164:
        return None
    return hmac.new(key, e164.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SummaryFields:
    """The fixed summary schema (the same for the template and for a model)."""

    reason: str
    """Why the caller called, in a few words."""
    done: list[str]
    """What the agent did for them."""
    outcome: str
    """How the call ended."""
    follow_up: str | None
    """What a person still has to do, if anything."""

    def render(self) -> str:
        parts = [self.reason.rstrip(".") + "."]
        if self.done:
            parts.append("Done: " + "; ".join(self.done) + ".")
        parts.append(self.outcome.rstrip(".") + ".")
        if self.follow_up:
            parts.append("Follow-up: " + self.follow_up.rstrip(".") + ".")
        return " ".join(parts)


def _served(data: Mapping[str, Any]) -> bool:
    phases = set(data.get("phases") or [])
    if phases & SERVICE_PHASES:
        return True
    actions = [str(a) for a in data.get("actions") or []]
    return any(not a.startswith(_SECRET_PHASE_ACTIONS) for a in actions)


def disposition(outcome: CallOutcome | str | None, data: Mapping[str, Any]) -> Disposition:
    """The disposition code for a closed call (rules in the module docstring)."""
    value = CallOutcome(outcome) if outcome else None
    verification = (data.get("verification") or {}).get("status")
    end_reason = str(data.get("end_reason") or "")
    if value is CallOutcome.TRANSFERRED:
        return Disposition.TRANSFERRED
    if value is CallOutcome.CALLBACK:
        return Disposition.CALLBACK_BOOKED
    if value is None or value is CallOutcome.FAILED:
        return Disposition.FAILED
    if verification in ("locked", "account_locked"):
        return Disposition.VERIFICATION_FAILED
    if value is CallOutcome.RESOLVED:
        return Disposition.RESOLVED_SELF_SERVICE
    caller_left = value is CallOutcome.ABANDONED or end_reason == "inactivity"
    if caller_left:
        return (
            Disposition.HUNG_UP_AFTER_SERVICE
            if _served(data)
            else Disposition.ABANDONED_BEFORE_SERVICE
        )
    return Disposition.INTERRUPTED


def last_transfer_outcome(data: Mapping[str, Any]) -> str | None:
    attempts = data.get("transfer_attempts") or []
    return str(attempts[-1].get("outcome")) if attempts else None


def _percentile(values: Sequence[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(float(values[0]), 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def _tool_calls(value: Any) -> dict[str, int] | None:
    """The record's `tool_calls` (name -> count), None when the record predates them."""
    if not isinstance(value, Mapping):
        return None
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int) and v > 0}


def metrics(
    data: Mapping[str, Any],
    transcript: Sequence[Mapping[str, Any]],
    started_at: dt.datetime,
    ended_at: dt.datetime | None,
    *,
    live_latencies_ms: Sequence[float] = (),
) -> dict[str, Any]:
    """Per-call numbers. `turns` counts caller and agent turns together.

    Turn latency is the end of the caller's speech → the first agent audio, as the call
    recorded it (`turn_latencies_ms`, `behaviours/call_metrics.py`); a typed call has none,
    and then the live board's measure of it (`live_latencies_ms`: the caller's turn → the
    agent's reply) is used, and `turn_latency_measure` says which (`speech` or `reply`).
    Tool calls and model usage appear when the record carries them (`tool_calls`, `usage`);
    otherwise they are None ("not recorded"), never 0."""
    latencies = [float(x) for x in data.get("turn_latencies_ms") or [] if x is not None]
    measure = "speech" if latencies else None
    if not latencies:
        latencies = [float(x) for x in live_latencies_ms if x is not None]
        measure = "reply" if latencies else None
    tools = _tool_calls(data.get("tool_calls"))
    caller_turns = sum(1 for t in transcript if t.get("role") == "caller")
    agent_turns = sum(1 for t in transcript if t.get("role") == "agent")
    return {
        "duration_s": round((ended_at - started_at).total_seconds(), 1) if ended_at else None,
        "turns": caller_turns + agent_turns,
        "caller_turns": caller_turns,
        "agent_turns": agent_turns,
        "actions": len(data.get("actions") or []),
        "tool_calls": sum(tools.values()) if tools is not None else None,
        "tool_calls_by_name": tools,
        "handoffs": len(data.get("handoffs") or []),
        "transfer_attempts": len(data.get("transfer_attempts") or []),
        "provider_switches": len(data.get("provider_switches") or []),
        "turn_latency_p50_ms": _percentile(latencies, 50),
        "turn_latency_p95_ms": _percentile(latencies, 95),
        "turn_latency_measure": measure,
        "usage": data.get("usage"),
    }


_INTENT_WORDS = {"orders": "an order", "billing": "billing", "other": "something else"}


def template_summary(
    disp: Disposition, data: Mapping[str, Any], transferred_to: str | None
) -> SummaryFields:
    """The summary fields filled from the record alone (no model, no network)."""
    intent = data.get("intent")
    status = (data.get("verification") or {}).get("status") or "unverified"
    who = {"verified": "Verified caller", "locked": "Caller (verification locked)"}.get(
        status, "Unverified caller"
    )
    reason = f"{who} called about {_INTENT_WORDS.get(str(intent), 'an unknown topic')}"
    done = [str(a) for a in data.get("actions") or []]
    attempts = data.get("transfer_attempts") or []
    outcome = DISPOSITION_LABELS[disp]
    if disp is Disposition.TRANSFERRED and transferred_to:
        outcome = f"Transferred to {transferred_to}"
    elif attempts:
        last = attempts[-1]
        outcome += f" (transfer: {last.get('outcome')}"
        outcome += f", {last.get('detail')})" if last.get("detail") else ")"
    follow_up = None
    if disp is Disposition.CALLBACK_BOOKED:
        follow_up = "call the customer back (see the callback queue)"
    elif disp in (Disposition.FAILED, Disposition.INTERRUPTED):
        follow_up = "the call ended early; check whether the caller still needs help"
    return SummaryFields(reason=reason, done=done, outcome=outcome, follow_up=follow_up)


def analyse(
    record: Any,
    *,
    hash_key: bytes,
    now: dt.datetime | None = None,
    summary: SummaryFields | None = None,
    summary_usage: dict[str, Any] | None = None,
    turn_latencies_ms: list[float] | None = None,
) -> CallAnalysisView:
    """Analyse a closed `CallRecordView` (or anything with the same attributes). `summary`:
    the model's fields (`llm_summary`); without it the template fills them.
    `turn_latencies_ms`: the live board's, used when the record has none (`metrics`)."""
    data: dict[str, Any] = dict(record.data or {})
    disp = disposition(record.outcome, data)
    source = "llm" if summary is not None else "template"
    summary = summary or template_summary(disp, data, record.transferred_to)
    per_call = metrics(
        data,
        record.transcript or [],
        record.started_at,
        record.ended_at,
        live_latencies_ms=turn_latencies_ms or (),
    )
    per_call["summary_fields"] = asdict(summary)
    if summary_usage:
        per_call["summary_usage"] = summary_usage
    return CallAnalysisView(
        call_record_id=record.id,
        caller_hash=caller_hash(record.caller_e164, hash_key),
        disposition=disp,
        verified=(data.get("verification") or {}).get("status") == "verified",
        transfer_outcome=last_transfer_outcome(data),
        summary=summary.render(),
        summary_source=source,
        metrics=per_call,
        analysed_at=now or utcnow(),
    )


def redacted_record(record: Any, analysis: CallAnalysisView) -> dict[str, Any]:
    """The call record as sent outside (webhooks, the API): numbers masked, transcript text
    redacted again (it already is; a second pass costs nothing and catches old records)."""
    return {
        "call_id": record.call_id,
        "caller": mask(record.caller_e164) if record.caller_e164 else None,
        "caller_hash": analysis.caller_hash,
        "dialled": mask(record.dialled_e164) if record.dialled_e164 else None,
        "customer_id": record.customer_id,
        "started_at": record.started_at.isoformat(),
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "outcome": str(record.outcome) if record.outcome else None,
        "disposition": analysis.disposition.value,
        "verified": analysis.verified,
        "transfer_outcome": analysis.transfer_outcome,
        "transferred_to": record.transferred_to,
        "summary": analysis.summary,
        "summary_source": analysis.summary_source,
        "metrics": analysis.metrics,
        "record": dict(record.data or {}),
        "transcript": [
            {**dict(t), "text": redact(str(t.get("text", "")))} for t in record.transcript or []
        ],
    }
