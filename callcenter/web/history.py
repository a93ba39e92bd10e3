"""Call history: the filtered, keyset-paged read behind the history page, its API and CSV.

Reads ``call_records`` joined with ``call_analyses`` (this module's own queries: the data
layer's stores read one record at a time). Filters:

- time range (`since`/`until`, in the contact center's time zone, either end open);
- outcome (what the call recorded) or disposition (what the analysis derived);
- transfer outcome of the last attempt (`none`: no transfer was attempted);
- verified or not;
- caller: a full number, normalised to E.164 and matched on its HMAC (`caller_hash`), so
  the number is never shown and never needs to be stored in clear for the search. The
  history page turns a typed number into `caller_hash=` at once (a redirect), so the number
  does not stay in page links, the address bar or the browser history.

Pages are keyset-paged by (started_at, id) descending: page 2000 costs what page 1 does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from callcenter.data.call_analysis import CallAnalysis, Disposition
from callcenter.data.database import Database
from callcenter.data.models import CallOutcome, CallRecord
from callcenter.postcall.analysis import caller_hash
from callcenter.telephony.numbers import InvalidPhoneNumber, mask, to_e164
from callcenter.vocabulary import TransferOutcome

TRANSFER_OUTCOMES: tuple[str, ...] = tuple(o.value for o in TransferOutcome)
"""What the last transfer attempt may have ended as (`callcenter.vocabulary`)."""

PAGE_SIZE = 50
CSV_LIMIT = 100_000


class FilterError(ValueError):
    """A filter value that cannot be used; the message names the field."""


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    outcome: CallOutcome | None = None
    disposition: Disposition | None = None
    transfer: str | None = None
    verified: bool | None = None
    caller_hash: str | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, f) is not None for f in self.__dataclass_fields__)


def _time(value: str, tz: ZoneInfo, field: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise FilterError(f"{field}: {value!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(dt.UTC)


def parse_filter(
    params: Mapping[str, str | None], *, tz: ZoneInfo, hash_key: bytes, region: str
) -> HistoryFilter:
    """Build a filter from query parameters; `FilterError` names a bad one."""

    def get(name: str) -> str:
        return (params.get(name) or "").strip()

    since = _time(get("since"), tz, "since") if get("since") else None
    until = _time(get("until"), tz, "until") if get("until") else None
    if since and until and since > until:
        raise FilterError("since: the start of the range is after its end")
    outcome = disposition = None
    if get("outcome"):
        try:
            outcome = CallOutcome(get("outcome"))
        except ValueError:
            raise FilterError(f"outcome: use one of {[o.value for o in CallOutcome]}") from None
    if get("disposition"):
        try:
            disposition = Disposition(get("disposition"))
        except ValueError:
            raise FilterError(f"disposition: use one of {[d.value for d in Disposition]}") from None
    transfer = get("transfer") or None
    if transfer is not None and transfer not in (*TRANSFER_OUTCOMES, "none"):
        raise FilterError(f"transfer: use none or one of {list(TRANSFER_OUTCOMES)}")
    verified_text = get("verified").lower()
    if verified_text not in ("", "yes", "no", "true", "false"):
        raise FilterError("verified: use yes or no")
    verified = None if not verified_text else verified_text in ("yes", "true")
    hashed = None
    if get("caller_hash"):
        hashed = get("caller_hash").lower()
        if len(hashed) != 64 or any(c not in "0123456789abcdef" for c in hashed):
            raise FilterError("caller_hash: not a caller hash from this console")
    if get("caller"):
        try:
            number = to_e164(get("caller"), default_region=region)
        except InvalidPhoneNumber:
            raise FilterError(
                "caller: give the caller's full number (e.g. +14155550142); "
                "partial numbers are not searchable"
            ) from None
        hashed = caller_hash(number, hash_key)
    return HistoryFilter(
        since=since,
        until=until,
        outcome=outcome,
        disposition=disposition,
        transfer=transfer,
        verified=verified,
        caller_hash=hashed,
    )


def parse_cursor(value: str | None) -> tuple[dt.datetime, int] | None:
    """`<iso time>_<id>` from a previous page's `next` link."""
    if not value:
        return None
    stamp, _, ident = value.rpartition("_")
    try:
        when = dt.datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError
        return when.astimezone(dt.UTC), int(ident)
    except ValueError:
        raise FilterError("before: not a page cursor from this console") from None


def cursor_of(row: HistoryRow) -> str:
    return f"{row.started_at.isoformat()}_{row.id}"


@dataclass(frozen=True, slots=True)
class HistoryRow:
    id: int
    call_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    caller: str
    """Masked: country code and last two digits."""
    outcome: str | None
    disposition: Disposition | None
    verified: bool | None
    intent: str | None
    transfer_outcome: str | None
    transferred_to: str | None
    summary: str | None
    metrics: dict[str, Any] | None = None
    """The analysis' per-call metrics (None until the call is analysed)."""

    @property
    def duration_s(self) -> float | None:
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None

    def as_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_s": self.duration_s,
            "caller": self.caller,
            "outcome": self.outcome,
            "disposition": self.disposition.value if self.disposition else None,
            "verified": self.verified,
            "intent": self.intent,
            "transfer_outcome": self.transfer_outcome,
            "transferred_to": self.transferred_to,
            "summary": self.summary,
            **metric_columns(self.metrics),
        }


METRIC_COLUMNS = (
    "turns",
    "turn_latency_p50_ms",
    "turn_latency_p95_ms",
    "tool_calls",
    "llm_prompt_tokens",
    "llm_completion_tokens",
    "tts_characters",
    "stt_audio_s",
)
"""The per-call metrics in the list, the API's rows and the CSV: flat, one value each."""


def metric_columns(metrics: Mapping[str, Any] | None) -> dict[str, Any]:
    """`METRIC_COLUMNS` from an analysis' metrics; None for what was not recorded."""
    m = metrics or {}
    found = m.get("usage")
    usage: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    values = {k: m.get(k) for k in METRIC_COLUMNS[:4]}
    values |= {k: usage.get(k) for k in METRIC_COLUMNS[4:]}
    return values


_COLUMNS = (
    CallRecord.id,
    CallRecord.call_id,
    CallRecord.started_at,
    CallRecord.ended_at,
    CallRecord.caller_e164,
    CallRecord.outcome,
    CallRecord.transferred_to,
    CallRecord.data,
    CallAnalysis.disposition,
    CallAnalysis.verified,
    CallAnalysis.transfer_outcome,
    CallAnalysis.summary,
    CallAnalysis.metrics,
)


def _query(filt: HistoryFilter) -> sa.Select[Any]:
    needs_analysis = any(
        v is not None for v in (filt.disposition, filt.transfer, filt.verified, filt.caller_hash)
    )
    join = CallAnalysis.call_record_id == CallRecord.id
    query = sa.select(*_COLUMNS).select_from(CallRecord)
    query = (
        query.join(CallAnalysis, join) if needs_analysis else query.outerjoin(CallAnalysis, join)
    )
    if filt.since is not None:
        query = query.where(CallRecord.started_at >= filt.since)
    if filt.until is not None:
        query = query.where(CallRecord.started_at < filt.until)
    if filt.outcome is not None:
        query = query.where(CallRecord.outcome == filt.outcome)
    if filt.disposition is not None:
        query = query.where(CallAnalysis.disposition == filt.disposition)
    if filt.transfer == "none":
        query = query.where(CallAnalysis.transfer_outcome.is_(None))
    elif filt.transfer is not None:
        query = query.where(CallAnalysis.transfer_outcome == filt.transfer)
    if filt.verified is not None:
        query = query.where(CallAnalysis.verified.is_(filt.verified))
    if filt.caller_hash is not None:
        query = query.where(CallAnalysis.caller_hash == filt.caller_hash)
    return query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc())


def _row(r: Any) -> HistoryRow:
    data = r.data or {}
    return HistoryRow(
        id=r.id,
        call_id=r.call_id,
        started_at=r.started_at,
        ended_at=r.ended_at,
        caller=mask(r.caller_e164) if r.caller_e164 else "withheld",
        outcome=str(r.outcome.value) if r.outcome is not None else None,
        disposition=r.disposition,
        verified=r.verified,
        intent=data.get("intent") if isinstance(data, dict) else None,
        transfer_outcome=r.transfer_outcome,
        transferred_to=r.transferred_to,
        summary=r.summary,
        metrics=r.metrics if isinstance(r.metrics, dict) else None,
    )


async def search(
    db: Database,
    filt: HistoryFilter,
    *,
    before: tuple[dt.datetime, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[HistoryRow]:
    """One page, newest first; `before` continues after a previous page's last row."""
    query = _query(filt)
    if before is not None:
        when, ident = before
        # a row comparison: both backends walk the started_at index from the cursor
        query = query.where(sa.tuple_(CallRecord.started_at, CallRecord.id) < (when, ident))
    rows = await db.fetch_all(query.limit(max(1, min(limit, CSV_LIMIT))))
    return [_row(r) for r in rows]


async def stream(
    db: Database, filt: HistoryFilter, *, limit: int = CSV_LIMIT, batch: int = 2000
) -> AsyncIterator[HistoryRow]:
    """Every matching row (up to `limit`), in pages of `batch`, for the CSV export."""
    before = None
    sent = 0
    while sent < limit:
        page = await search(db, filt, before=before, limit=min(batch, limit - sent))
        if not page:
            return
        for row in page:
            yield row
        sent += len(page)
        if len(page) < batch:
            return
        before = (page[-1].started_at, page[-1].id)
