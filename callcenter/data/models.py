"""Declarative SQLAlchemy 2 ORM models: the tables, and the enums their columns store.

Conventions (also followed by the hand-written migrations in ``migrations/versions``):

- Money is always integer minor units in ``BigInteger`` ``*_cents`` columns.
- Timestamps, enums and JSON use the column types in :mod:`callcenter.data.columns`.
- Index names are explicit so migrations and models agree.

If you change anything here, add a new Alembic revision under ``migrations/versions``;
``tests/data/test_data_migrations.py`` fails when the models and migrations drift apart.
The read models the repositories return are in :mod:`callcenter.data.views`; nothing
outside the data layer should need these classes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.data.columns import Base, JSONType, UTCDateTime, utcnow
from callcenter.data.columns import enum_column as _enum
from callcenter.data.enums import (
    AttemptOutcome,
    InvoiceStatus,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
    TicketKind,
    TicketStatus,
)
from callcenter.vocabulary import CallOutcome, TransferMode  # shared words, defined once

__all__ = [
    "AccountLockout",
    "AttemptOutcome",
    "CallOutcome",
    "CallRecord",
    "Customer",
    "CustomerPhone",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "JournalReplay",
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
    "SupervisorRow",
    "Ticket",
    "TicketKind",
    "TicketStatus",
    "TransferMode",
    "VerificationAttempt",
]


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


class SupervisorRow(Base):
    """A stored supervisor; read and written only as a validated
    :class:`callcenter.staff.Supervisor` through :class:`~callcenter.data.SupervisorStore`."""

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
    assurance: Mapped[str | None] = mapped_column(sa.String(16))
    """How sure we were of the caller (`vocabulary.Assurance`), for lists and the console."""
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """Last time the live call marked its record alive; the sweeper closes records whose
    call stopped doing so (migration 0004)."""


class VerificationAttempt(Base):
    """The verification audit: every factor or identifier checked, and its outcome.

    The caller's number is stored masked; the value said is never stored."""

    __tablename__ = "verification_attempts"
    __table_args__ = (
        sa.Index("ix_verification_attempts_customer_id_at", "customer_id", "at"),
        sa.Index("ix_verification_attempts_at", "at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    call_id: Mapped[str | None] = mapped_column(sa.String(128))
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE")
    )
    caller_masked: Mapped[str | None] = mapped_column(sa.String(24))
    factor: Mapped[str] = mapped_column(sa.String(16))
    """`zip`, `last_four`, `pin`, `account_number` or `order_number`."""
    outcome: Mapped[AttemptOutcome] = mapped_column(_enum(AttemptOutcome, "attempt_outcome"))


class AccountLockout(Base):
    """An account locked for phone verification; active while `unlocked_at` is NULL."""

    __tablename__ = "account_lockouts"
    __table_args__ = (
        sa.Index("ix_account_lockouts_customer_id_unlocked_at", "customer_id", "unlocked_at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    locked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    failures: Mapped[int] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(200))
    unlocked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    unlocked_by: Mapped[str | None] = mapped_column(sa.String(120))


class JournalReplay(Base):
    """A journal entry already applied (`data.journal`): replaying twice changes nothing."""

    __tablename__ = "journal_replays"

    entry_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
