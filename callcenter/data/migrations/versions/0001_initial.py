"""Initial schema: customers, orders, billing, tickets, supervisors, call records.

Written from an autogenerate run and reviewed by hand: portable types only (no app imports),
explicit constraint/index names matching ``Base.metadata``'s naming convention, and the
composite ``(customer_id, <time> DESC)`` indexes that keep every agent-tool query an index
lookup at millions of rows.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


def _enum(
    name: str, *values: str, nullable: bool = False, column: str = "status"
) -> sa.Column[object]:
    return sa.Column(
        column,
        sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32),
        nullable=nullable,
    )


def _fk(column: str, target: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{ref_table}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("zip_code", sa.String(length=10), nullable=False),
        sa.Column("account_number", sa.String(length=32), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("account_number", name=op.f("uq_customers_account_number")),
    )
    op.create_table(
        "supervisors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=255), nullable=False),
        _json("skills"),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        _json("working_hours"),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _enum("transfer_mode", "warm", "cold", column="transfer_mode"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervisors")),
    )
    op.create_table(
        "call_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("room_name", sa.String(length=128), nullable=False),
        sa.Column("caller_e164", sa.String(length=20), nullable=True),
        sa.Column("dialled_e164", sa.String(length=20), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        _ts("started_at"),
        _ts("ended_at", nullable=True),
        _enum(
            "call_outcome",
            "resolved",
            "transferred",
            "callback",
            "abandoned",
            "failed",
            "ended",
            nullable=True,
            column="outcome",
        ),
        sa.Column("transferred_to", sa.String(length=255), nullable=True),
        _json("data"),
        _json("transcript"),
        _fk("customer_id", "customers.id", "call_records", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_records")),
        sa.UniqueConstraint("call_id", name=op.f("uq_call_records_call_id")),
    )
    op.create_index(op.f("ix_call_records_customer_id"), "call_records", ["customer_id"])
    op.create_index("ix_call_records_started_at", "call_records", ["started_at"])

    op.create_table(
        "customer_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        _fk("customer_id", "customers.id", "customer_phones", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_phones")),
        sa.UniqueConstraint("e164", name=op.f("uq_customer_phones_e164")),
    )
    op.create_index(op.f("ix_customer_phones_customer_id"), "customer_phones", ["customer_id"])

    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        _ts("issued_at"),
        sa.Column("due_date", sa.Date(), nullable=False),
        _enum("invoice_status", "open", "paid", "overdue"),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _fk("customer_id", "customers.id", "invoices", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("invoice_number", name=op.f("uq_invoices_invoice_number")),
    )
    op.create_index(
        "ix_invoices_customer_id_issued_at",
        "invoices",
        ["customer_id", sa.text("issued_at DESC")],
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        _enum("order_status", "processing", "shipped", "delivered", "cancelled", "returned"),
        _ts("placed_at"),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _fk("customer_id", "customers.id", "orders", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("order_number", name=op.f("uq_orders_order_number")),
    )
    op.create_index(
        "ix_orders_customer_id_placed_at", "orders", ["customer_id", sa.text("placed_at DESC")]
    )

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        _enum("ticket_kind", "refund_request", "callback", "return", "other", column="kind"),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("invoice_number", sa.String(length=32), nullable=True),
        sa.Column("preferred_time", sa.String(length=128), nullable=True),
        _enum("ticket_status", "open", "closed"),
        _ts("created_at"),
        _fk("customer_id", "customers.id", "tickets", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_customer_id"), "tickets", ["customer_id"])
    op.create_index("ix_tickets_status_created_at", "tickets", ["status", "created_at"])

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        _fk("invoice_id", "invoices.id", "invoice_lines", "CASCADE"),
        _fk("order_id", "orders.id", "invoice_lines", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    op.create_index(op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"])
    op.create_index(op.f("ix_invoice_lines_order_id"), "invoice_lines", ["order_id"])

    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        _fk("order_id", "orders.id", "order_items", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
    )
    op.create_index(op.f("ix_order_items_order_id"), "order_items", ["order_id"])

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        _enum("payment_method", "card", "ach", column="method"),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        _ts("received_at"),
        _enum("payment_status", "completed", "pending", "failed", "refunded"),
        _fk("customer_id", "customers.id", "payments", "CASCADE"),
        _fk("invoice_id", "invoices.id", "payments", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_invoice_id"), "payments", ["invoice_id"])
    op.create_index(
        "ix_payments_customer_id_received_at",
        "payments",
        ["customer_id", sa.text("received_at DESC")],
    )

    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _enum("return_status", "requested", "received", "refunded", "rejected"),
        sa.Column("rma_number", sa.String(length=48), nullable=False),
        _ts("created_at"),
        _fk("order_id", "orders.id", "returns", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("rma_number", name=op.f("uq_returns_rma_number")),
    )
    op.create_index(op.f("ix_returns_order_id"), "returns", ["order_id"])

    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=32), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        _enum(
            "shipment_status",
            "label_created",
            "in_transit",
            "out_for_delivery",
            "delivered",
            "exception",
        ),
        _ts("shipped_at", nullable=True),
        sa.Column("estimated_delivery", sa.Date(), nullable=True),
        _ts("delivered_at", nullable=True),
        sa.Column("last_location", sa.String(length=128), nullable=True),
        _fk("order_id", "orders.id", "shipments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    op.create_index(op.f("ix_shipments_order_id"), "shipments", ["order_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints on both SQLite and PostgreSQL.
    for table in (
        "shipments",
        "returns",
        "payments",
        "order_items",
        "invoice_lines",
        "tickets",
        "orders",
        "invoices",
        "customer_phones",
        "call_records",
        "supervisors",
        "customers",
    ):
        op.drop_table(table)
