"""Call records: one row per call, opened when it starts and closed with its outcome.

The record is the audit trail of a call (phases, handoffs, transfer attempts, provider
switches, outcome, transcript). The transcript must already be redacted by the caller
(this store does not inspect it); log lines carry the outcome only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from callcenter.data.columns import utcnow
from callcenter.data.database import Database
from callcenter.data.models import CallOutcome, CallRecord
from callcenter.data.views import CallRecordView

__all__ = ["CallRecordStore"]

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
    )


class CallRecordStore:
    """Per-call audit record: opened when the call starts, closed with outcome/transcript.

    The transcript must already be redacted by the caller (this store does not inspect it).
    """

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
        async with self._db.session() as s:
            existing = await s.scalar(sa.select(CallRecord.id).where(CallRecord.call_id == call_id))
            if existing is not None:
                return int(existing)
            record = CallRecord(
                call_id=call_id,
                room_name=room_name,
                caller_e164=caller_e164,
                dialled_e164=dialled_e164,
                started_at=started_at or utcnow(),
                data={},
                transcript=[],
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
        if "outcome" in fields and fields["outcome"] is not None:
            fields["outcome"] = CallOutcome(fields["outcome"])
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
    ) -> bool:
        """Record the end of a call. ``data``/``transcript`` replace stored values when given;
        ``customer_id``/``transferred_to`` only overwrite when not None. False if unknown."""
        fields: dict[str, Any] = {"outcome": CallOutcome(outcome), "ended_at": ended_at or utcnow()}
        if transferred_to is not None:
            fields["transferred_to"] = transferred_to
        if data is not None:
            fields["data"] = dict(data)
        if transcript is not None:
            fields["transcript"] = [dict(t) for t in transcript]
        if customer_id is not None:
            fields["customer_id"] = customer_id
        ok = await self.update(call_id, **fields)
        log.info("call record closed: found=%s outcome=%s", ok, fields["outcome"])
        return ok

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
