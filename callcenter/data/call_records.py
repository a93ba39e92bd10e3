"""Call records: one row per call, opened when it starts and closed with its outcome.

The record is the audit trail of a call (phases, handoffs, transfer attempts, provider
switches, outcome, assurance, transcript). Everything free-text in it (the JSON body and
the transcript lines) goes through the redaction layer again before it is stored
(:func:`callcenter.redaction.redact_data`; idempotent, so text the call already redacted
with more context is unchanged). Log lines carry ids and outcomes only.

Besides open/close:

- :meth:`CallRecordStore.save` writes a whole record, inserting it if it was never opened
  (what the journal's replay does for a call that ran while the database was down);
- :meth:`CallRecordStore.heartbeat`: a live call marks its record alive;
- :meth:`CallRecordStore.sweep`: records still open whose call stopped marking them alive
  (its process died) are closed as ``interrupted``, with the reason;
- :meth:`CallRecordStore.purge`: records older than the retention are deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.data.columns import utcnow
from callcenter.data.database import Database
from callcenter.data.limits import clip, require_fits
from callcenter.data.models import CallOutcome, CallRecord
from callcenter.data.views import CallRecordView
from callcenter.redaction import redact_data

__all__ = ["CallRecordStore", "record_fields"]

log = logging.getLogger(__name__)


def _call_view(c: CallRecord) -> CallRecordView:
    return CallRecordView(
        id=c.id,
        call_id=c.call_id,
        room_name=c.room_name,
        caller_e164=c.caller_e164,
        dialled_e164=c.dialled_e164,
        customer_id=c.customer_id,
        started_at=c.started_at,
        ended_at=c.ended_at,
        outcome=c.outcome,
        transferred_to=c.transferred_to,
        data=dict(c.data or {}),
        transcript=list(c.transcript or []),
        assurance=c.assurance,
    )


def record_fields(**fields: Any) -> dict[str, Any]:
    """Column values ready to store: outcome typed, free text redacted and fitted."""
    if fields.get("outcome") is not None:
        fields["outcome"] = CallOutcome(fields["outcome"])
    if "data" in fields and fields["data"] is not None:
        fields["data"] = redact_data(dict(fields["data"]))
    if "transcript" in fields and fields["transcript"] is not None:
        fields["transcript"] = [redact_data(dict(t)) for t in fields["transcript"]]
    if "room_name" in fields:
        fields["room_name"] = clip(CallRecord.room_name, fields["room_name"])
    if "transferred_to" in fields:
        fields["transferred_to"] = clip(CallRecord.transferred_to, fields["transferred_to"])
    if "assurance" in fields:
        fields["assurance"] = require_fits(CallRecord.assurance, fields["assurance"])
    return fields


class CallRecordStore:
    """Per-call audit record: opened when the call starts, closed with outcome/transcript."""

    _UPDATABLE = frozenset(
        {
            "caller_e164",
            "dialled_e164",
            "customer_id",
            "ended_at",
            "outcome",
            "transferred_to",
            "data",
            "transcript",
            "room_name",
            "assurance",
            "heartbeat_at",
        }
    )

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(
        self,
        call_id: str,
        room_name: str,
        caller_e164: str | None = None,
        dialled_e164: str | None = None,
        started_at: dt.datetime | None = None,
    ) -> int:
        """Create the record and return its id; idempotent per ``call_id`` (returns existing)."""
        require_fits(CallRecord.call_id, call_id)
        async with self._db.session() as s:
            existing = await s.scalar(sa.select(CallRecord.id).where(CallRecord.call_id == call_id))
            if existing is not None:
                return int(existing)
            record = _new_record(
                call_id, room_name, caller_e164, dialled_e164, started_at or utcnow()
            )
            s.add(record)
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()
                again = await s.scalar(
                    sa.select(CallRecord.id).where(CallRecord.call_id == call_id)
                )
                if again is None:
                    raise
                return int(again)
            return record.id

    async def update(self, call_id: str, **fields: Any) -> bool:
        """Set some fields (see ``_UPDATABLE``); False if the call is unknown."""
        unknown = set(fields) - self._UPDATABLE
        if unknown:
            raise ValueError(f"unknown call record fields: {sorted(unknown)}")
        fields = record_fields(**fields)
        async with self._db.session() as s, s.begin():
            record = await s.scalar(sa.select(CallRecord).where(CallRecord.call_id == call_id))
            if record is None:
                return False
            for key, value in fields.items():
                setattr(record, key, value)
        return True

    async def close(
        self,
        call_id: str,
        outcome: CallOutcome | str,
        ended_at: dt.datetime | None = None,
        transferred_to: str | None = None,
        data: Mapping[str, Any] | None = None,
        transcript: Sequence[Mapping[str, Any]] | None = None,
        customer_id: int | None = None,
        assurance: str | None = None,
    ) -> bool:
        """Record the end of a call. ``data``/``transcript`` replace stored values when given;
        ``customer_id``/``transferred_to``/``assurance`` only overwrite when not None. False if
        the call is unknown."""
        fields = _close_fields(
            outcome, ended_at, transferred_to, data, transcript, customer_id, assurance
        )
        ok = await self.update(call_id, **fields)
        log.info("call record closed", extra={"found": ok, "outcome": str(fields["outcome"])})
        return ok

    async def save(
        self,
        call_id: str,
        *,
        room_name: str,
        started_at: dt.datetime,
        caller_e164: str | None = None,
        dialled_e164: str | None = None,
        outcome: CallOutcome | str | None = None,
        ended_at: dt.datetime | None = None,
        transferred_to: str | None = None,
        data: Mapping[str, Any] | None = None,
        transcript: Sequence[Mapping[str, Any]] | None = None,
        customer_id: int | None = None,
        assurance: str | None = None,
        session: AsyncSession | None = None,
    ) -> None:
        """Write a whole record: insert it if it was never opened, else update it (a closed
        record is never reopened by an older, open snapshot). `session`: write inside the
        caller's transaction (the journal's replay)."""
        if session is None:
            async with self._db.session() as s, s.begin():
                await self.save(
                    call_id,
                    room_name=room_name,
                    started_at=started_at,
                    caller_e164=caller_e164,
                    dialled_e164=dialled_e164,
                    outcome=outcome,
                    ended_at=ended_at,
                    transferred_to=transferred_to,
                    data=data,
                    transcript=transcript,
                    customer_id=customer_id,
                    assurance=assurance,
                    session=s,
                )
            return
        require_fits(CallRecord.call_id, call_id)
        record = await session.scalar(sa.select(CallRecord).where(CallRecord.call_id == call_id))
        if record is None:
            record = _new_record(call_id, room_name, caller_e164, dialled_e164, started_at)
            session.add(record)
        elif record.outcome is not None and outcome is None:
            return  # an open snapshot arriving after the close: the close stands
        fields: dict[str, Any] = {}
        if outcome is not None:
            fields = _close_fields(
                outcome, ended_at, transferred_to, data, transcript, customer_id, assurance
            )
        else:
            fields = record_fields(data=data, transcript=transcript)
            fields = {k: v for k, v in fields.items() if v is not None}
        for key, value in fields.items():
            setattr(record, key, value)
        await session.flush()

    async def heartbeat(self, call_id: str, at: dt.datetime | None = None) -> bool:
        """Mark a live call's open record alive; False if there is no such open record."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(CallRecord)
                .where(CallRecord.call_id == call_id, CallRecord.outcome.is_(None))
                .values(heartbeat_at=at or utcnow())
                .execution_options(synchronize_session=False)
            )
            return getattr(result, "rowcount", 0) == 1

    async def sweep(self, *, stale_after_s: float, now: dt.datetime | None = None) -> list[str]:
        """Close as ``interrupted`` every open record not marked alive for `stale_after_s`
        seconds (its call's process died). Returns their call ids."""
        return [call_id for call_id, _room in await self.sweep_calls(stale_after_s, now=now)]

    async def sweep_calls(
        self, stale_after_s: float, *, now: dt.datetime | None = None
    ) -> list[tuple[str, str]]:
        """`sweep`, returning (call id, room name) of each record it closed: the rooms
        whose caller may still be on the line with no agent (`behaviours.sweeper`)."""
        now = now or utcnow()
        cutoff = now - dt.timedelta(seconds=stale_after_s)
        last_seen = sa.func.coalesce(CallRecord.heartbeat_at, CallRecord.started_at)
        closed: list[tuple[str, str]] = []
        async with self._db.session() as s, s.begin():
            rows = await s.scalars(
                sa.select(CallRecord)
                .where(CallRecord.outcome.is_(None), last_seen <= cutoff)
                .with_for_update(skip_locked=True)
            )
            for record in rows:
                seen = record.heartbeat_at or record.started_at
                data = dict(record.data or {})
                data["end_reason"] = (
                    "call process stopped: nothing heard from the call since "
                    f"{seen.astimezone(dt.UTC).isoformat(timespec='seconds')}"
                )
                record.outcome = CallOutcome.INTERRUPTED
                record.ended_at = seen
                record.data = data
                closed.append((record.call_id, record.room_name))
        if closed:
            log.warning("interrupted call records closed", extra={"count": len(closed)})
        return closed

    async def purge(self, *, older_than: dt.datetime) -> int:
        """Delete the records of calls that started before `older_than`; returns how many."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.delete(CallRecord)
                .where(CallRecord.started_at < older_than)
                .execution_options(synchronize_session=False)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def get(self, call_id: str) -> CallRecordView | None:
        async with self._db.session() as s:
            record = await s.scalar(sa.select(CallRecord).where(CallRecord.call_id == call_id))
            return _call_view(record) if record is not None else None

    async def list_recent(self, limit: int = 20) -> list[CallRecordView]:
        """Most recently started calls first."""
        async with self._db.session() as s:
            rows = await s.scalars(
                sa.select(CallRecord)
                .order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
                .limit(max(1, int(limit)))
            )
            return [_call_view(r) for r in rows]


def _new_record(
    call_id: str,
    room_name: str,
    caller_e164: str | None,
    dialled_e164: str | None,
    started_at: dt.datetime,
) -> CallRecord:
    """An open record as the call's first write makes it (live or replayed from the journal)."""
    return CallRecord(
        call_id=call_id,
        room_name=clip(CallRecord.room_name, room_name),
        caller_e164=caller_e164,
        dialled_e164=dialled_e164,
        started_at=started_at,
        heartbeat_at=started_at,
        data={},
        transcript=[],
    )


def _close_fields(
    outcome: CallOutcome | str,
    ended_at: dt.datetime | None,
    transferred_to: str | None,
    data: Mapping[str, Any] | None,
    transcript: Sequence[Mapping[str, Any]] | None,
    customer_id: int | None,
    assurance: str | None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"outcome": CallOutcome(outcome), "ended_at": ended_at or utcnow()}
    if transferred_to is not None:
        fields["transferred_to"] = transferred_to
    if data is not None:
        fields["data"] = dict(data)
    if transcript is not None:
        fields["transcript"] = [dict(t) for t in transcript]
    if customer_id is not None:
        fields["customer_id"] = customer_id
    if assurance is not None:
        fields["assurance"] = assurance
    return record_fields(**fields)
