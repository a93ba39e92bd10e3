"""Billing reads for :class:`~callcenter.data.AccountRepository`: invoices, balance and
payments, one prebuilt statement per tool (see :mod:`callcenter.data.account_queries` for
why), and the folding of invoice rows (one per line) into
:class:`~callcenter.data.InvoiceView` values. Paid amounts count *completed* payments only.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from callcenter.data.account_queries import (
    CUSTOMER_ID,
    INVOICES,
    LINES,
    NUMBER,
    ORDERS,
    PAYMENTS,
    TODAY,
    const,
)
from callcenter.data.enums import InvoiceStatus, PaymentStatus
from callcenter.data.views import InvoiceLineView, InvoiceView

__all__ = [
    "BALANCE",
    "GET_INVOICE",
    "invoice_views",
    "normalize_invoice_number",
    "recent_invoices",
    "recent_payments",
]


def normalize_invoice_number(value: str) -> str:
    """``"inv 2001"`` / ``"invoice #2001"`` / ``"2001"`` -> ``"INV-2001"``; ``"INV-B7"`` kept."""
    compact = "".join(value.upper().split()).replace("#", "")
    for prefix in ("INVOICE", "INV"):
        if compact.startswith(prefix):
            rest = compact[len(prefix) :].lstrip("-_.:")
            if rest:
                return f"INV-{rest}"
    digits = compact.replace("-", "")
    if digits.isdigit():
        return f"INV-{digits}"
    return compact


def _paid_cents(invoices: sa.FromClause) -> sa.ScalarSelect[Any]:
    """Sum of this customer's *completed* payments on the correlated invoice (0 if none).

    One ``payments(invoice_id, status)`` index probe per invoice; never a scan of the
    customer's payment history.
    """
    return (
        sa.select(sa.func.coalesce(sa.func.sum(PAYMENTS.c.amount_cents), 0))
        .where(
            PAYMENTS.c.invoice_id == invoices.c.id,
            PAYMENTS.c.status == const(PaymentStatus.COMPLETED),
            PAYMENTS.c.customer_id == CUSTOMER_ID,
        )
        .correlate(invoices)
        .scalar_subquery()
    )


def _invoice_rows(invoices: sa.FromClause) -> sa.Select[Any]:
    """One row per line of each invoice in ``invoices`` (table or a limited subquery).

    Columns: invoice (0-6), paid cents (7), line id + fields (8-11; None when the invoice
    has no lines), the line's order number (12; None unless the order is this customer's).
    """
    return (
        sa.select(
            invoices.c.id,
            invoices.c.invoice_number,
            invoices.c.status,
            invoices.c.issued_at,
            invoices.c.due_date,
            invoices.c.total_cents,
            invoices.c.currency,
            _paid_cents(invoices),
            LINES.c.id,
            LINES.c.description,
            LINES.c.amount_cents,
            LINES.c.order_id,
            ORDERS.c.order_number,
        )
        .select_from(invoices)
        .outerjoin(LINES, LINES.c.invoice_id == invoices.c.id)
        .outerjoin(
            ORDERS,
            sa.and_(ORDERS.c.id == LINES.c.order_id, ORDERS.c.customer_id == CUSTOMER_ID),
        )
    )


GET_INVOICE = (
    _invoice_rows(INVOICES)
    .where(INVOICES.c.customer_id == CUSTOMER_ID, INVOICES.c.invoice_number == NUMBER)
    .order_by(LINES.c.id)
)


@functools.cache
def recent_invoices(limit: int) -> sa.Select[Any]:
    recent = (
        sa.select(INVOICES)
        .where(INVOICES.c.customer_id == CUSTOMER_ID)
        .order_by(INVOICES.c.issued_at.desc(), INVOICES.c.id.desc())
        .limit(const(limit))
        .subquery("recent")
    )
    return _invoice_rows(recent).order_by(recent.c.issued_at.desc(), recent.c.id.desc(), LINES.c.id)


def _balance() -> sa.Select[Any]:
    """One row: (open cents, overdue cents, next due date) — :class:`BalanceView` in SQL.

    Per unpaid (open/overdue) invoice: owed = total - this customer's completed payments on
    it; invoices owing nothing (or overpaid) are skipped; an invoice is overdue when marked
    so or its due date is before ``today``; the next due date is the earliest among the
    rest. Summed in the database so a customer with many unpaid invoices still costs one
    row of result processing. The per-invoice step is a GROUP BY, not a correlated
    subquery, so no planner can inline it and run the payments lookup once per use.
    """
    inv, pay = INVOICES, PAYMENTS
    # The customer test sits in the SUM, not the join: the only way into payments is then
    # payments(invoice_id, status), one probe per unpaid invoice. (With it in the join,
    # PostgreSQL hashed the customer's whole payment history instead.)
    paid = sa.case((pay.c.customer_id == CUSTOMER_ID, pay.c.amount_cents))
    per_invoice = (
        sa.select(
            inv.c.due_date.label("due_date"),
            sa.or_(inv.c.status == const(InvoiceStatus.OVERDUE), inv.c.due_date < TODAY).label(
                "overdue"
            ),
            (inv.c.total_cents - sa.func.coalesce(sa.func.sum(paid), 0)).label("owed"),
        )
        .select_from(inv)
        .outerjoin(
            pay,
            sa.and_(pay.c.invoice_id == inv.c.id, pay.c.status == const(PaymentStatus.COMPLETED)),
        )
        .where(
            inv.c.customer_id == CUSTOMER_ID,
            # OR of constants, not IN: an IN list is re-rendered on every execution; both
            # backends turn this into lookups on invoices(customer_id, status).
            sa.or_(
                inv.c.status == const(InvoiceStatus.OPEN),
                inv.c.status == const(InvoiceStatus.OVERDUE),
            ),
        )
        .group_by(inv.c.id, inv.c.due_date, inv.c.status, inv.c.total_cents)
        .subquery("per_invoice")
    )
    owed, overdue = per_invoice.c.owed, per_invoice.c.overdue
    return sa.select(
        sa.func.coalesce(sa.func.sum(sa.case((overdue, 0), else_=owed)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((overdue, owed), else_=0)), 0),
        sa.func.min(sa.case((overdue, sa.null()), else_=per_invoice.c.due_date), type_=sa.Date()),
    ).where(owed > 0)


BALANCE = _balance()


@functools.cache
def recent_payments(limit: int) -> sa.Select[Any]:
    return (
        sa.select(
            PAYMENTS.c.amount_cents,
            PAYMENTS.c.method,
            PAYMENTS.c.card_last4,
            PAYMENTS.c.received_at,
            PAYMENTS.c.status,
            INVOICES.c.invoice_number,
        )
        .outerjoin(INVOICES, INVOICES.c.id == PAYMENTS.c.invoice_id)
        .where(PAYMENTS.c.customer_id == CUSTOMER_ID)
        .order_by(PAYMENTS.c.received_at.desc(), PAYMENTS.c.id.desc())
        .limit(const(limit))
    )


def invoice_views(rows: Iterable[Sequence[Any]]) -> list[InvoiceView]:
    """Fold :func:`_invoice_rows` rows (grouped by invoice, lines in id order) into views."""
    views = []
    for _, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        invoice_rows = list(group)
        head = invoice_rows[0]
        views.append(
            InvoiceView(
                invoice_number=head[1],
                status=head[2],
                issued_at=head[3],
                due_date=head[4],
                total_cents=head[5],
                paid_cents=int(head[7]),
                currency=head[6],
                lines=tuple(
                    InvoiceLineView(r[9], r[10], r[12] if r[11] else None)
                    for r in invoice_rows
                    if r[8] is not None
                ),
            )
        )
    return views
