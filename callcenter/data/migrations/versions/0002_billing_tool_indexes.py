"""Indexes for the billing tools at scale.

``EXPLAIN`` at 50k-1M orders (one invoice per order) showed two scans per tool call:

- ``balance`` read every invoice of the customer (``ix_invoices_customer_id_issued_at``)
  to keep the few open/overdue ones: ``ix_invoices_customer_id_status`` finds those directly.
- The per-invoice "paid" sum (``payments WHERE invoice_id = ? AND status = 'completed'
  AND customer_id = ?``): with two single-column equality candidates, SQLite's planner picked
  ``ix_payments_customer_id_received_at`` and scanned the customer's whole payment history
  per invoice. ``ix_payments_invoice_id_status`` (replacing ``ix_payments_invoice_id``; it
  still serves the ``invoice_id`` foreign key) matches two equality terms, so it wins on
  both backends with or without planner statistics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_invoices_customer_id_status", "invoices", ["customer_id", "status"])
    op.create_index("ix_payments_invoice_id_status", "payments", ["invoice_id", "status"])
    op.drop_index("ix_payments_invoice_id", table_name="payments")


def downgrade() -> None:
    op.create_index("ix_payments_invoice_id", "payments", ["invoice_id"])
    op.drop_index("ix_payments_invoice_id_status", table_name="payments")
    op.drop_index("ix_invoices_customer_id_status", table_name="invoices")
