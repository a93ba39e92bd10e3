"""View models shared by the console's pages and its JSON API (one shape for both).

Everything here is already safe to show: numbers masked, transcript text redacted (again:
records written before a redaction rule existed are covered too), no secrets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from callcenter.data.call_analysis import CallAnalysisView
from callcenter.data.callback_queue import CallbackItem
from callcenter.redaction import redact
from callcenter.telephony.numbers import mask


def _ts(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def analysis_json(analysis: CallAnalysisView | None) -> dict[str, Any] | None:
    if analysis is None:
        return None
    return {
        "disposition": analysis.disposition.value,
        "summary": analysis.summary,
        "summary_source": analysis.summary_source,
        "verified": analysis.verified,
        "transfer_outcome": analysis.transfer_outcome,
        "metrics": analysis.metrics,
        "analysed_at": _ts(analysis.analysed_at),
    }


def timeline(record: Any) -> list[dict[str, Any]]:
    """Phases and handoffs with reasons, transfer attempts, provider switches, start, end."""
    data: dict[str, Any] = dict(record.data or {})
    events: list[dict[str, Any]] = [
        {"at": record.started_at.timestamp(), "kind": "start", "title": "Call started"}
    ]
    for h in data.get("handoffs") or []:
        events.append(
            {
                "at": h.get("at"),
                "kind": "handoff",
                "title": f"{h.get('from')} → {h.get('to')}",
                "detail": h.get("reason") or "",
            }
        )
    for t in data.get("transfer_attempts") or []:
        who = t.get("supervisor") or "nobody available"
        took = ""
        if t.get("ended_at") and t.get("started_at"):
            seconds = float(t["ended_at"]) - float(t["started_at"])
            took = f" after {seconds:.1f} s" if seconds >= 0.05 else ""
        sip = f", SIP {t['sip_status']}" if t.get("sip_status") else ""
        events.append(
            {
                "at": t.get("started_at"),
                "kind": "transfer",
                "title": f"{t.get('mode', '')} transfer to {who}: {t.get('outcome')}",
                "detail": f"{t.get('detail') or ''}{sip}{took}".strip(", "),
            }
        )
    for p in data.get("provider_switches") or []:
        events.append(
            {
                "at": p.get("at"),
                "kind": "provider",
                "title": f"{p.get('kind')}: {p.get('from_provider')} → {p.get('to_provider')}",
                "detail": p.get("reason") or "",
            }
        )
    if record.ended_at is not None:
        events.append(
            {
                "at": record.ended_at.timestamp(),
                "kind": "end",
                "title": "Call ended",
                "detail": data.get("end_reason") or "",
            }
        )
    # the end last, whatever its clock says (it is written a moment before the final handoff)
    return sorted(events, key=lambda e: (e["kind"] == "end", e["at"] is None, e["at"] or 0))


def transcript(record: Any) -> list[dict[str, Any]]:
    return [
        {
            "role": str(t.get("role", "")),
            "text": redact(str(t.get("text", ""))),
            "phase": t.get("phase"),
            "at": t.get("at"),
            "latency_ms": t.get("latency_ms"),
        }
        for t in record.transcript or []
    ]


def call_json(record: Any, analysis: CallAnalysisView | None) -> dict[str, Any]:
    data: dict[str, Any] = dict(record.data or {})
    ended = record.ended_at
    return {
        "call_id": record.call_id,
        "started_at": _ts(record.started_at),
        "ended_at": _ts(ended),
        "duration_s": (ended - record.started_at).total_seconds() if ended else None,
        "caller": mask(record.caller_e164) if record.caller_e164 else None,
        "dialled": mask(record.dialled_e164) if record.dialled_e164 else None,
        "customer_id": record.customer_id,
        "outcome": record.outcome.value if record.outcome is not None else None,
        "transferred_to": record.transferred_to,
        "intent": data.get("intent"),
        "verification": data.get("verification"),
        "end_reason": data.get("end_reason"),
        "phases": data.get("phases") or [],
        "actions": data.get("actions") or [],
        "transfer_attempts": data.get("transfer_attempts") or [],
        "provider_switches": data.get("provider_switches") or [],
        "analysis": analysis_json(analysis),
        "timeline": timeline(record),
        "transcript": transcript(record),
    }


def callback_json(item: CallbackItem, now: dt.datetime, *, viewer_id: int) -> dict[str, Any]:
    """A ticket as staff see it: the number in full only to whoever has claimed it."""
    mine = item.claimed_by == viewer_id and item.resolution is None
    return {
        "ticket_id": item.ticket_id,
        "call_id": item.call_id,
        "customer_id": item.customer_id,
        "caller": mask(item.phone_e164) if item.phone_e164 else None,
        "phone": item.phone_e164 if mine else None,
        "reason": item.reason,
        "summary": item.summary,
        "preferred_time": item.preferred_time,
        "created_at": _ts(item.created_at),
        "due_at": _ts(item.due_at),
        "overdue": item.overdue(now),
        "status": item.status.value,
        "claimed_by": item.claimed_by_email,
        "claimed_by_me": mine,
        "claimed_at": _ts(item.claimed_at),
        "resolution": item.resolution.value if item.resolution else None,
        "resolved_at": _ts(item.resolved_at),
        "notes": item.notes,
    }


def supervisor_json(supervisor: Any) -> dict[str, Any]:
    """A `callcenter.staff.Supervisor` for the roster page and the API."""
    return {
        "id": supervisor.id,
        "name": supervisor.name,
        "contact": supervisor.contact,
        "skills": list(supervisor.skills),
        "timezone": supervisor.timezone,
        "working_hours": supervisor.hours.as_json(),
        "hours": supervisor.hours.describe(),
        "priority": supervisor.priority,
        "active": supervisor.active,
        "transfer_mode": str(supervisor.transfer_mode),
    }
