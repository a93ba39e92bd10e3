"""The post-call webhook outbox (table ``webhook_deliveries``, migration 0003).

One row per (call, URL): the exact JSON body that is signed and sent, how many attempts were
made, when the next one is due, what the receiver answered last, and the final state:
``pending`` -> ``delivered``, or ``dead`` after the last retry (the dead-letter queue, shown
in the console with the error). Rows are claimed with a conditional UPDATE, so several
console processes can run the deliverer without sending a body twice at once.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.data.columns import Base, UTCDateTime, utcnow
from callcenter.data.columns import enum_column as _enum
from callcenter.data.database import Database

__all__ = ["DeliveryStatus", "DeliveryView", "WebhookDelivery", "WebhookOutbox"]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        sa.UniqueConstraint("call_id", "url", "event"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(sa.String(128))
    event: Mapped[str] = mapped_column(sa.String(64))
    url: Mapped[str] = mapped_column(sa.String(2048))
    body: Mapped[str] = mapped_column(sa.Text)
    """The JSON sent, byte for byte (already redacted); every retry sends the same body."""
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status"))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    call_id: str
    event: str
    url: str
    body: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


def _view(d: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        id=d.id,
        call_id=d.call_id,
        event=d.event,
        url=d.url,
        body=d.body,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


class WebhookOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def new(call_id: str, event: str, url: str, body: str, now: dt.datetime) -> WebhookDelivery:
        """An unsaved row (saved with the call's analysis, in one transaction)."""
        return WebhookDelivery(
            call_id=call_id,
            event=event,
            url=url,
            body=body,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )

    async def due(self, now: dt.datetime | None = None, limit: int = 20) -> list[DeliveryView]:
        now = now or utcnow()
        async with self._db.session() as s:
            rows = await s.scalars(
                sa.select(WebhookDelivery)
                .where(
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            )
            return [_view(d) for d in rows]

    async def claim(self, delivery: DeliveryView, lease: dt.timedelta) -> bool:
        """Take the row for one attempt: push ``next_attempt_at`` out by ``lease`` if nobody
        else changed it since it was read. False when another process has it."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery.id,
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    WebhookDelivery.attempts == delivery.attempts,
                )
                .values(attempts=delivery.attempts + 1, next_attempt_at=utcnow() + lease)
            )
            return getattr(result, "rowcount", 0) == 1

    async def finish(
        self,
        delivery_id: int,
        *,
        status: DeliveryStatus,
        status_code: int | None,
        error: str | None,
        next_attempt_at: dt.datetime | None,
    ) -> None:
        values: dict[str, object] = {
            "status": status,
            "last_status_code": status_code,
            "last_error": (error or None) and error[:255],
            "next_attempt_at": next_attempt_at,
        }
        if status is DeliveryStatus.DELIVERED:
            values["delivered_at"] = utcnow()
        async with self._db.session() as s, s.begin():
            await s.execute(
                sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
            )

    async def counts(self) -> dict[str, int]:
        """Deliveries by status (`pending`, `delivered`, `dead`): one grouped count."""
        async with self._db.session() as s:
            rows = await s.execute(
                sa.select(WebhookDelivery.status, sa.func.count()).group_by(WebhookDelivery.status)
            )
            return {DeliveryStatus(status).value: int(n) for status, n in rows}

    async def retry(self, delivery_id: int) -> bool:
        """Put a dead delivery back in the queue (the console's "retry now")."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.status == DeliveryStatus.DEAD,
                )
                .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=utcnow())
            )
            return getattr(result, "rowcount", 0) == 1

    async def recent(
        self, *, limit: int = 100, status: DeliveryStatus | None = None
    ) -> list[DeliveryView]:
        query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        async with self._db.session() as s:
            return [_view(d) for d in await s.scalars(query)]

    async def for_call(self, call_id: str) -> list[DeliveryView]:
        async with self._db.session() as s:
            rows = await s.scalars(
                sa.select(WebhookDelivery)
                .where(WebhookDelivery.call_id == call_id)
                .order_by(WebhookDelivery.id)
            )
            return [_view(d) for d in rows]
