"""The console's audit log: who viewed which call, changed which supervisor, worked which
callback, revealed which number, unlocked which account (table ``audit_log``, migration 0003).

Entries name their targets by id (call id, supervisor id, ticket id), never by a phone number
or a customer's name, so the log itself holds no caller PII. The actor is kept both as the
user id and the e-mail at the time, so an entry still says who it was after a user is removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.data.columns import Base, JSONType, UTCDateTime, utcnow
from callcenter.data.database import Database

__all__ = ["AuditEntry", "AuditEntryView", "AuditLog"]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_target_type_target_id", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("web_users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(sa.String(320))
    """The user's e-mail when it happened (or ``cli`` for terminal commands)."""
    action: Mapped[str] = mapped_column(sa.String(64))
    """Dotted verb: ``call.view``, ``supervisor.update``, ``callback.claim`` ..."""
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[str] = mapped_column(sa.String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Non-PII specifics (which fields changed, the resolution), never values like numbers."""


@dataclass(frozen=True, slots=True)
class AuditEntryView:
    id: int
    at: dt.datetime
    user_id: int | None
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]


class AuditLog:
    """Append and read audit entries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        *,
        actor: str,
        user_id: int | None,
        action: str,
        target_type: str,
        target_id: str | int,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self._db.session() as s, s.begin():
            s.add(
                AuditEntry(
                    at=utcnow(),
                    user_id=user_id,
                    actor=actor,
                    action=action,
                    target_type=target_type,
                    target_id=str(target_id),
                    detail=dict(detail or {}),
                )
            )

    async def recent(
        self,
        *,
        limit: int = 100,
        target_type: str | None = None,
        target_id: str | None = None,
        before_id: int | None = None,
    ) -> list[AuditEntryView]:
        """Newest first; optionally for one target, paged by ``before_id``."""
        query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 500)))
        if target_type is not None:
            query = query.where(AuditEntry.target_type == target_type)
        if target_id is not None:
            query = query.where(AuditEntry.target_id == target_id)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        async with self._db.session() as s:
            return [
                AuditEntryView(
                    id=e.id,
                    at=e.at,
                    user_id=e.user_id,
                    actor=e.actor,
                    action=e.action,
                    target_type=e.target_type,
                    target_id=e.target_id,
                    detail=dict(e.detail or {}),
                )
                for e in await s.scalars(query)
            ]
