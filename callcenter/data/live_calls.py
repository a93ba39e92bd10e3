"""Live call state and screen-pops (tables ``live_calls`` and ``screen_pops``, migration 0003).

``live_calls``: one row per call in progress, written by the worker process that runs the call
(:mod:`callcenter.live.publisher`) each time something a supervisor watches changes, and
read by every console process for the live board. The row holds a small JSON snapshot with
no PII in clear (the caller is masked), a ``version`` that grows with every write, and
``updated_at``, so a console polls "anything newer than what I have" with one indexed query.
A row whose call ended is kept for a short while (``ended_at``) so the board can show the
call leaving, then removed.

``screen_pops``: when a warm transfer dials a supervisor, an opaque random token is minted
for (call, supervisor); it rides on the SIP INVITE as ``X-Callcenter-Call`` and opens the
same briefing card in the console. Only the supervisor it was minted for (or ops/admin) may
open it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.data.columns import Base, JSONType, UTCDateTime, utcnow
from callcenter.data.database import Database

__all__ = ["LiveCall", "LiveCallStore", "LiveCallView", "ScreenPop", "ScreenPopView"]


class LiveCall(Base):
    __tablename__ = "live_calls"
    __table_args__ = (sa.Index("ix_live_calls_version", "version"),)

    call_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(sa.BigInteger)
    """Monotonic across all rows (the publisher's clock in microseconds): "newer than" cursor."""
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ScreenPop(Base):
    __tablename__ = "screen_pops"
    __table_args__ = (
        sa.Index("ix_screen_pops_supervisor_id_created_at", "supervisor_id", "created_at"),
    )

    token: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(sa.String(128))
    supervisor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("supervisors.id", ondelete="CASCADE")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    briefing: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """The card: who (masked), verification, intent, what was done, summary so far."""


@dataclass(frozen=True, slots=True)
class LiveCallView:
    call_id: str
    started_at: dt.datetime
    updated_at: dt.datetime
    ended_at: dt.datetime | None
    version: int
    snapshot: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ScreenPopView:
    token: str
    call_id: str
    supervisor_id: int | None
    created_at: dt.datetime
    briefing: dict[str, Any]


def _live(row: LiveCall) -> LiveCallView:
    return LiveCallView(
        call_id=row.call_id,
        started_at=row.started_at,
        updated_at=row.updated_at,
        ended_at=row.ended_at,
        version=int(row.version),
        snapshot=dict(row.snapshot or {}),
    )


def _pop(row: ScreenPop) -> ScreenPopView:
    return ScreenPopView(
        token=row.token,
        call_id=row.call_id,
        supervisor_id=row.supervisor_id,
        created_at=row.created_at,
        briefing=dict(row.briefing or {}),
    )


class LiveCallStore:
    """Write (worker) and read (console) live call rows and screen-pops."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(
        self,
        call_id: str,
        snapshot: dict[str, Any],
        *,
        started_at: dt.datetime,
        version: int,
        ended: bool = False,
    ) -> None:
        """Insert the call's row, or replace it with a newer version (one statement on each
        backend). A write whose `version` is not newer than the stored one changes nothing:
        a call's writes may commit out of order (a periodic update still in flight when the
        ended one is written), and an older one must not bring an ended call back."""
        now = utcnow()
        values = {
            "call_id": call_id,
            "started_at": started_at,
            "updated_at": now,
            "ended_at": now if ended else None,
            "version": version,
            "snapshot": snapshot,
        }
        async with self._db.session() as s, s.begin():
            if self._db.dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt = pg_insert(LiveCall).values(**values)
                update = {k: stmt.excluded[k] for k in values if k != "call_id"}
                await s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["call_id"],
                        set_=update,
                        where=LiveCall.version < stmt.excluded.version,
                    )
                )
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                lite = sqlite_insert(LiveCall).values(**values)
                update = {k: lite.excluded[k] for k in values if k != "call_id"}
                await s.execute(
                    lite.on_conflict_do_update(
                        index_elements=["call_id"],
                        set_=update,
                        where=LiveCall.version < lite.excluded.version,
                    )
                )

    async def changed_since(self, version: int) -> list[LiveCallView]:
        query = sa.select(LiveCall).where(LiveCall.version > version).order_by(LiveCall.version)
        async with self._db.session() as s:
            return [_live(r) for r in await s.scalars(query)]

    async def active(
        self, *, keep_ended: dt.timedelta = dt.timedelta(seconds=30)
    ) -> list[LiveCallView]:
        """Calls in progress, plus those that ended within ``keep_ended``; oldest first."""
        since = utcnow() - keep_ended
        query = (
            sa.select(LiveCall)
            .where(sa.or_(LiveCall.ended_at.is_(None), LiveCall.ended_at > since))
            .order_by(LiveCall.started_at, LiveCall.call_id)
        )
        async with self._db.session() as s:
            return [_live(r) for r in await s.scalars(query)]

    async def get(self, call_id: str) -> LiveCallView | None:
        async with self._db.session() as s:
            row = await s.get(LiveCall, call_id)
            return _live(row) if row is not None else None

    async def latest_version(self) -> int:
        async with self._db.session() as s:
            return int(
                await s.scalar(sa.select(sa.func.coalesce(sa.func.max(LiveCall.version), 0))) or 0
            )

    async def sweep(self, *, older_than: dt.timedelta) -> int:
        """Delete ended rows (and rows nobody updated, from a crashed worker) past the age."""
        cutoff = utcnow() - older_than
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.delete(LiveCall).where(
                    sa.or_(
                        LiveCall.ended_at < cutoff, LiveCall.updated_at < cutoff - older_than * 10
                    )
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # --- screen-pops ------------------------------------------------------------------------
    async def open_screen_pop(
        self, call_id: str, supervisor_id: int | None, briefing: dict[str, Any]
    ) -> str:
        """Mint the opaque token for one dial of one supervisor; returns it."""
        token = secrets.token_urlsafe(24)
        async with self._db.session() as s, s.begin():
            s.add(
                ScreenPop(
                    token=token,
                    call_id=call_id,
                    supervisor_id=supervisor_id,
                    created_at=utcnow(),
                    briefing=briefing,
                )
            )
        return token

    async def screen_pop(self, token: str) -> ScreenPopView | None:
        if not token or len(token) > 64:
            return None
        async with self._db.session() as s:
            row = await s.get(ScreenPop, token)
            return _pop(row) if row is not None else None

    async def screen_pops_for(
        self, supervisor_id: int, *, since: dt.datetime
    ) -> list[ScreenPopView]:
        query = (
            sa.select(ScreenPop)
            .where(ScreenPop.supervisor_id == supervisor_id, ScreenPop.created_at > since)
            .order_by(ScreenPop.created_at)
        )
        async with self._db.session() as s:
            return [_pop(r) for r in await s.scalars(query)]
