"""Post-call analysis rows (table ``call_analyses``, migration 0003), one per closed call.

The call record (``call_records``) is what the call wrote; the analysis is what was derived
from it afterwards (:mod:`callcenter.postcall.analysis`): the disposition code, a summary,
per-call metrics, and the columns the console's history filters on (caller hash, verified,
transfer outcome) so a filter is an index lookup instead of a scan of the JSON blob.

``caller_hash`` is an HMAC of the caller's E.164 number: the history finds every call from a
number typed in full without ever showing a number in clear.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.data.columns import Base, JSONType, UTCDateTime
from callcenter.data.columns import enum_column as _enum
from callcenter.data.database import Database
from callcenter.data.models import CallRecord

__all__ = ["CallAnalysis", "CallAnalysisStore", "CallAnalysisView", "Disposition"]


class Disposition(enum.StrEnum):
    """How a call ended for the business, derived from the phase machine (never guessed)."""

    RESOLVED_SELF_SERVICE = "resolved_self_service"
    TRANSFERRED = "transferred"
    CALLBACK_BOOKED = "callback_booked"
    VERIFICATION_FAILED = "verification_failed"
    ABANDONED_BEFORE_SERVICE = "abandoned_before_service"
    HUNG_UP_AFTER_SERVICE = "hung_up_after_service"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class CallAnalysis(Base):
    __tablename__ = "call_analyses"
    __table_args__ = (
        sa.Index("ix_call_analyses_caller_hash", "caller_hash"),
        sa.Index("ix_call_analyses_disposition", "disposition"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    call_record_id: Mapped[int] = mapped_column(
        sa.ForeignKey("call_records.id", ondelete="CASCADE"), unique=True
    )
    caller_hash: Mapped[str | None] = mapped_column(sa.String(64))
    disposition: Mapped[Disposition] = mapped_column(_enum(Disposition, "disposition"))
    verified: Mapped[bool] = mapped_column(sa.Boolean)
    transfer_outcome: Mapped[str | None] = mapped_column(sa.String(32))
    """The last transfer attempt's outcome (``connected``, ``no_answer`` ...), None if none."""
    summary: Mapped[str] = mapped_column(sa.Text)
    summary_source: Mapped[str] = mapped_column(sa.String(16))
    """``llm`` (fixed schema, when provider keys exist) or ``template`` (deterministic)."""
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    analysed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True, slots=True)
class CallAnalysisView:
    call_record_id: int
    caller_hash: str | None
    disposition: Disposition
    verified: bool
    transfer_outcome: str | None
    summary: str
    summary_source: str
    metrics: dict[str, Any]
    analysed_at: dt.datetime


def _view(a: CallAnalysis) -> CallAnalysisView:
    return CallAnalysisView(
        call_record_id=a.call_record_id,
        caller_hash=a.caller_hash,
        disposition=a.disposition,
        verified=a.verified,
        transfer_outcome=a.transfer_outcome,
        summary=a.summary,
        summary_source=a.summary_source,
        metrics=dict(a.metrics or {}),
        analysed_at=a.analysed_at,
    )


class CallAnalysisStore:
    """Save and read analyses; find closed calls still waiting for one."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def unanalysed(self, limit: int = 50) -> list[int]:
        """Ids of closed call records without an analysis, oldest first."""
        query = (
            sa.select(CallRecord.id)
            .outerjoin(CallAnalysis, CallAnalysis.call_record_id == CallRecord.id)
            .where(CallRecord.ended_at.is_not(None), CallAnalysis.id.is_(None))
            .order_by(CallRecord.id)
            .limit(max(1, limit))
        )
        return [int(r[0]) for r in await self._db.fetch_all(query)]

    async def get(self, call_record_id: int) -> CallAnalysisView | None:
        async with self._db.session() as s:
            row = await s.scalar(
                sa.select(CallAnalysis).where(CallAnalysis.call_record_id == call_record_id)
            )
            return _view(row) if row is not None else None

    async def save(self, analysis: CallAnalysisView, *, extra: list[Any] | None = None) -> bool:
        """Insert the analysis (and ``extra`` ORM rows, e.g. webhook deliveries, in the same
        transaction). False when the call already had one: another process got there first."""
        async with self._db.session() as s:
            s.add(
                CallAnalysis(
                    call_record_id=analysis.call_record_id,
                    caller_hash=analysis.caller_hash,
                    disposition=analysis.disposition,
                    verified=analysis.verified,
                    transfer_outcome=analysis.transfer_outcome,
                    summary=analysis.summary,
                    summary_source=analysis.summary_source,
                    metrics=analysis.metrics,
                    analysed_at=analysis.analysed_at,
                )
            )
            for row in extra or []:
                s.add(row)
            try:
                await s.commit()
            except IntegrityError:
                await s.rollback()
                return False
            return True
