"""Declarative SQLAlchemy 2 ORM models for the contact-center data layer.

Conventions (also followed by the hand-written migrations in ``migrations/versions``):

- Money is always integer minor units in ``BigInteger`` ``*_cents`` columns.
- Timestamps use :class:`UTCDateTime`: timezone-aware UTC in and out on every backend
  (SQLite stores naive UTC text; PostgreSQL ``timestamptz``).
- Enums are :class:`enum.StrEnum` stored as VARCHAR + CHECK constraint (``native_enum=False``)
  so adding a value is a plain migration on both SQLite and PostgreSQL.
- JSON columns are ``JSON`` (``JSONB`` on PostgreSQL).
- Index names are explicit so migrations and models agree.

If you change anything here, add a new Alembic revision under ``migrations/versions``;
``tests/data/test_migrations.py`` fails when the models and migrations drift apart.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "DESCENDING_INDEXES",
    "Base",
    "CallOutcome",
    "CallRecord",
    "Customer",
    "CustomerPhone",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Return",
    "ReturnStatus",
    "Shipment",
    "ShipmentStatus",
    "Supervisor",
    "Ticket",
    "TicketKind",
    "TicketStatus",
    "TransferMode",
    "UTCDateTime",
    "include_object",
    "utcnow",
]


def utcnow() -> dt.datetime:
    """Current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` that always returns aware UTC datetimes.

    Naive datetimes are rejected on the way in (they are almost always a bug).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            # SQLite has no timezone type: store naive UTC so text ordering is time ordering.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

DESCENDING_INDEXES = frozenset(
    {
        "ix_orders_customer_id_placed_at",
        "ix_invoices_customer_id_issued_at",
        "ix_payments_customer_id_received_at",
    }
)
"""``(customer_id, <time> DESC)`` indexes. SQLite cannot reflect DESC index elements, so
Alembic autogenerate/check skips them (see ``migrations/env.py``); they are maintained by
hand in the migrations."""


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic ``include_object`` hook: skip :data:`DESCENDING_INDEXES` in autogenerate."""
    return not (type_ == "index" and name in DESCENDING_INDEXES)


class OrderStatus(enum.StrEnum):
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class ShipmentStatus(enum.StrEnum):
    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class ReturnStatus(enum.StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    OVERDUE = "overdue"


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    ACH = "ach"


class PaymentStatus(enum.StrEnum):
    COMPLETED = "completed"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


class TicketKind(enum.StrEnum):
    REFUND_REQUEST = "refund_request"
    CALLBACK = "callback"
    RETURN = "return"
    OTHER = "other"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TransferMode(enum.StrEnum):
    WARM = "warm"
    COLD = "cold"


class CallOutcome(enum.StrEnum):
    RESOLVED = "resolved"
    TRANSFERRED = "transferred"
    CALLBACK = "callback"
    ABANDONED = "abandoned"
    FAILED = "failed"
    ENDED = "ended"


def _enum(cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """VARCHAR + named CHECK constraint storing the enum *values*."""
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base; constraint naming convention keeps migrations portable."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    zip_code: Mapped[str] = mapped_column(sa.String(10))
    account_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    pin_hash: Mapped[str] = mapped_column(sa.String(255))
    """``scrypt$n$r$p$<salt hex>$<hash hex>`` — see :mod:`callcenter.data.security`."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )
    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class CustomerPhone(Base):
    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(sa.String(20), unique=True)
    label: Mapped[str] = mapped_column(sa.String(32), default="mobile")

    customer: Mapped[Customer] = relationship(back_populates="phones")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.Index("ix_orders_customer_id_placed_at", "customer_id", sa.text("placed_at DESC")),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    order_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    total_cents: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    shipments: Mapped[list[Shipment]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Shipment.id"
    )
    returns: Mapped[list[Return]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Return.id"
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.String(255))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    unit_price_cents: Mapped[int] = mapped_column(sa.BigInteger)

    order: Mapped[Order] = relationship(back_populates="items")


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    carrier: Mapped[str] = mapped_column(sa.String(32))
    tracking_number: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[ShipmentStatus] = mapped_column(_enum(ShipmentStatus, "shipment_status"))
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    estimated_delivery: Mapped[dt.date | None] = mapped_column(sa.Date)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_location: Mapped[str | None] = mapped_column(sa.String(128))

    order: Mapped[Order] = relationship(back_populates="shipments")


class Return(Base):
    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ReturnStatus] = mapped_column(_enum(ReturnStatus, "return_status"))
    rma_number: Mapped[str] = mapped_column(sa.String(48), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="returns")


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        sa.Index("ix_invoices_customer_id_issued_at", "customer_id", sa.text("issued_at DESC")),
        # balance: the open/overdue invoices of one customer without reading the paid ones.
        sa.Index("ix_invoices_customer_id_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    invoice_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_date: Mapped[dt.date] = mapped_column(sa.Date)
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus, "invoice_status"))
    total_cents: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.id"
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(sa.String(255))
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger)
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    order: Mapped[Order | None] = relationship()


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        sa.Index("ix_payments_customer_id_received_at", "customer_id", sa.text("received_at DESC")),
        # "paid so far" per invoice (and the invoice_id foreign key). Two equality columns so
        # planners prefer it to the customer index even without statistics (migration 0002).
        sa.Index("ix_payments_invoice_id_status", "invoice_id", "status"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    invoice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="SET NULL")
    )
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger)
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    card_last4: Mapped[str | None] = mapped_column(sa.String(4))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))

    invoice: Mapped[Invoice | None] = relationship()


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (sa.Index("ix_tickets_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    kind: Mapped[TicketKind] = mapped_column(_enum(TicketKind, "ticket_kind"))
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[str | None] = mapped_column(sa.String(128))
    phone_e164: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.Text)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    amount_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    invoice_number: Mapped[str | None] = mapped_column(sa.String(32))
    preferred_time: Mapped[str | None] = mapped_column(sa.String(128))
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus, "ticket_status"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Supervisor(Base):
    __tablename__ = "supervisors"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    contact: Mapped[str] = mapped_column(sa.String(255))
    """E.164 phone number (``+14155550100``) or SIP URI (``sip:lead@pbx.example.com``)."""
    skills: Mapped[list[str]] = mapped_column(JSONType)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    working_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSONType)
    priority: Mapped[int] = mapped_column(sa.Integer, default=100)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    transfer_mode: Mapped[TransferMode] = mapped_column(_enum(TransferMode, "transfer_mode"))


class CallRecord(Base):
    __tablename__ = "call_records"
    __table_args__ = (sa.Index("ix_call_records_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    room_name: Mapped[str] = mapped_column(sa.String(128))
    caller_e164: Mapped[str | None] = mapped_column(sa.String(20))
    dialled_e164: Mapped[str | None] = mapped_column(sa.String(20))
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[CallOutcome | None] = mapped_column(_enum(CallOutcome, "call_outcome"))
    transferred_to: Mapped[str | None] = mapped_column(sa.String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
