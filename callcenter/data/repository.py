"""Repositories the agents' tools call, and the typed read models they return.

Security model: :class:`AccountRepository` is constructed for ONE verified customer and
every query it runs filters on that ``customer_id`` in SQL. An order/invoice number that
belongs to somebody else is indistinguishable from one that does not exist (``None`` /
``not_found`` / :class:`InvoiceNotFoundError`), so a caller cannot probe for other
customers' data by reading out numbers. Views never carry the PIN hash.

Business outcomes (cannot cancel a shipped order, return window closed, ...) are typed
results, not exceptions; exceptions are for programming errors and invalid input
(:class:`RefundRequestError` and subclasses are ``ValueError``).

All methods open their own short session/transaction via ``db.session()`` — except the
read-only account tools (orders, shipments, balance, invoices, payments), which run one
prebuilt Core statement each on ``db.fetch_all()`` (see "tool reads" below). The objects
returned are immutable dataclasses detached from any session.

Log messages carry ids and outcomes only: never names, phone numbers, PINs or free text.
"""

from __future__ import annotations

import builtins
import datetime as dt
import enum
import functools
import hmac
import itertools
import logging
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from callcenter.data.database import Database
from callcenter.data.models import (
    CallOutcome,
    CallRecord,
    Customer,
    CustomerPhone,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Return,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
    Supervisor,
    Ticket,
    TicketKind,
    TicketStatus,
    TransferMode,
    utcnow,
)
from callcenter.data.security import digits_only, verify_pin
from callcenter.money import format_cents

__all__ = [
    "RETURN_WINDOW",
    "AccountRepository",
    "BalanceView",
    "CallRecordStore",
    "CallRecordView",
    "CancelOutcome",
    "CustomerDirectory",
    "CustomerSummary",
    "FactorKind",
    "InvalidRefundAmountError",
    "InvoiceLineView",
    "InvoiceNotFoundError",
    "InvoiceView",
    "OrderItemView",
    "OrderView",
    "PaymentView",
    "RefundRequestError",
    "ReturnOutcome",
    "ReturnView",
    "ShipmentView",
    "SupervisorStore",
    "SupervisorValidationError",
    "SupervisorView",
    "TicketStore",
    "TicketView",
    "normalize_invoice_number",
    "normalize_order_number",
    "normalize_phone",
]

log = logging.getLogger(__name__)

RETURN_WINDOW = dt.timedelta(days=30)
"""Returns are accepted up to 30 days after the shipment's ``delivered_at``."""

_MAX_LIMIT = 50
FactorKind = Literal["zip", "last_four", "pin"]

# A syntactically valid hash of a random PIN, verified when the customer does not exist so
# that "unknown customer" and "wrong PIN" take about the same time.
_DUMMY_PIN_HASH = (
    "scrypt$16384$8$1$00000000000000000000000000000000$"
    "0000000000000000000000000000000000000000000000000000000000000000"
)


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), _MAX_LIMIT))


# --------------------------------------------------------------------------- normalisation


def normalize_order_number(value: str) -> str:
    """``" #1001 "`` / ``"10-01"`` / ``"1 0 0 1"`` -> ``"1001"``; other ids are upper-cased."""
    text = value.strip().lstrip("#").strip()
    compact = "".join(text.split()).replace("-", "")
    if compact.isdigit():
        return compact
    return text.upper()


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


def normalize_phone(value: str, default_region: str = "US") -> str | None:
    """E.164 form of ``value`` (``"(415) 555-0142"`` -> ``"+14155550142"``), or None."""
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# --------------------------------------------------------------------------- read models


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """Who the caller is; safe to show the LLM once verified (no PIN hash, no full account)."""

    id: int
    first_name: str
    full_name: str
    zip_code: str
    account_last4: str


@dataclass(frozen=True, slots=True)
class ShipmentView:
    carrier: str
    tracking_number: str | None
    status: ShipmentStatus
    shipped_at: dt.datetime | None
    estimated_delivery: dt.date | None
    delivered_at: dt.datetime | None
    last_location: str | None


@dataclass(frozen=True, slots=True)
class OrderItemView:
    sku: str
    description: str
    quantity: int
    unit_price_cents: int

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True, slots=True)
class OrderView:
    order_number: str
    status: OrderStatus
    placed_at: dt.datetime
    total_cents: int
    currency: str
    items: tuple[OrderItemView, ...]
    shipment: ShipmentView | None
    """The most recent shipment, if any."""


@dataclass(frozen=True, slots=True)
class ReturnView:
    rma_number: str
    order_number: str
    reason: str
    status: ReturnStatus
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class InvoiceLineView:
    description: str
    amount_cents: int
    order_number: str | None


@dataclass(frozen=True, slots=True)
class InvoiceView:
    invoice_number: str
    status: InvoiceStatus
    issued_at: dt.datetime
    due_date: dt.date
    total_cents: int
    paid_cents: int
    """Sum of *completed* payments applied to this invoice."""
    currency: str
    lines: tuple[InvoiceLineView, ...]

    @property
    def balance_cents(self) -> int:
        """What is still owed on this invoice (never negative)."""
        return max(self.total_cents - self.paid_cents, 0)


@dataclass(frozen=True, slots=True)
class PaymentView:
    amount_cents: int
    method: PaymentMethod
    card_last4: str | None
    received_at: dt.datetime
    status: PaymentStatus
    invoice_number: str | None


@dataclass(frozen=True, slots=True)
class BalanceView:
    """Outstanding balance split by due state, at a given ``now``.

    ``open_cents``: owed on unpaid invoices that are not yet past due.
    ``overdue_cents``: owed on invoices marked overdue or whose due date has passed.
    ``next_due_date``: earliest due date among the not-yet-overdue unpaid invoices.
    Partial payments (completed) are subtracted per invoice.
    """

    open_cents: int
    overdue_cents: int
    next_due_date: dt.date | None

    @property
    def total_due_cents(self) -> int:
        return self.open_cents + self.overdue_cents


@dataclass(frozen=True, slots=True)
class TicketView:
    id: int
    kind: TicketKind
    customer_id: int | None
    call_id: str | None
    phone_e164: str | None
    reason: str
    summary: str
    amount_cents: int | None
    invoice_number: str | None
    preferred_time: str | None
    status: TicketStatus
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """Result of :meth:`AccountRepository.cancel_order`.

    ``result``: ``cancelled`` (done now), ``already_cancelled``, ``not_cancellable``
    (see ``status``: only ``processing`` orders can be cancelled) or ``not_found``
    (unknown order *or another customer's*).
    """

    result: Literal["cancelled", "already_cancelled", "not_cancellable", "not_found"]
    order_number: str
    status: OrderStatus | None = None

    @property
    def ok(self) -> bool:
        return self.result == "cancelled"


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    """Result of :meth:`AccountRepository.start_return`.

    ``result``: ``started`` (``return_`` is the new RMA), ``already_requested`` (``return_``
    is the existing open one), ``not_returnable`` (order ``status`` is not delivered, or no
    delivery date is known), ``window_expired`` (``deadline`` passed) or ``not_found``.
    """

    result: Literal["started", "already_requested", "not_returnable", "window_expired", "not_found"]
    order_number: str
    status: OrderStatus | None = None
    return_: ReturnView | None = None
    delivered_at: dt.datetime | None = None
    deadline: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.result == "started"


class RefundRequestError(ValueError):
    """A refund ticket could not be created from the given input."""


class InvoiceNotFoundError(RefundRequestError):
    """No such invoice for this customer (unknown, or belongs to someone else)."""


class InvalidRefundAmountError(RefundRequestError):
    """The amount is not in ``(0, invoice total]``."""


# --------------------------------------------------------------------------- converters


def _return_view(r: Return, order_number: str) -> ReturnView:
    return ReturnView(r.rma_number, order_number, r.reason, r.status, r.created_at)


def _ticket_view(t: Ticket) -> TicketView:
    return TicketView(
        id=t.id,
        kind=t.kind,
        customer_id=t.customer_id,
        call_id=t.call_id,
        phone_e164=t.phone_e164,
        reason=t.reason,
        summary=t.summary,
        amount_cents=t.amount_cents,
        invoice_number=t.invoice_number,
        preferred_time=t.preferred_time,
        status=t.status,
        created_at=t.created_at,
    )


def _summary(c: Customer) -> CustomerSummary:
    digits = digits_only(c.account_number)
    return CustomerSummary(
        id=c.id,
        first_name=c.full_name.split()[0] if c.full_name.split() else c.full_name,
        full_name=c.full_name,
        zip_code=c.zip_code,
        account_last4=digits[-4:],
    )


# --------------------------------------------------------------------------- directory


class CustomerDirectory:
    """Pre-verification lookups: who might this caller be, and is a factor correct?"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find_by_phone(self, e164: str) -> CustomerSummary | None:
        """Customer owning this phone number (any of their numbers), or None."""
        number = normalize_phone(e164)
        if number is None:
            return None
        async with self._db.session() as s:
            customer = await s.scalar(
                sa.select(Customer)
                .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                .where(CustomerPhone.e164 == number)
            )
            return _summary(customer) if customer is not None else None

    async def get_summary(self, customer_id: int) -> CustomerSummary | None:
        async with self._db.session() as s:
            customer = await s.get(Customer, customer_id)
            return _summary(customer) if customer is not None else None

    async def check_factor(self, customer_id: int, kind: FactorKind, value: str) -> bool:
        """Check one verification factor; input is normalised to digits first.

        - ``zip``: 5-digit ZIP (ZIP+4 accepted if its first five digits match).
        - ``last_four``: the last four digits of the account number (the full account
          number's digits are also accepted).
        - ``pin``: compared via scrypt + :func:`hmac.compare_digest`.

        Unknown customers and empty input return False. Never logs the value.
        """
        if kind not in ("zip", "last_four", "pin"):
            raise ValueError(f"unknown verification factor {kind!r}")
        digits = digits_only(value or "")
        async with self._db.session() as s:
            row = (
                await s.execute(
                    sa.select(Customer.zip_code, Customer.account_number, Customer.pin_hash).where(
                        Customer.id == customer_id
                    )
                )
            ).one_or_none()
        if kind == "pin":
            ok = verify_pin(digits, row.pin_hash if row else _DUMMY_PIN_HASH)
            ok = ok and row is not None and bool(digits)
        elif row is None or not digits:
            ok = False
        elif kind == "zip":
            expected = digits_only(row.zip_code)
            candidate = digits[:5] if len(digits) == 9 else digits
            ok = hmac.compare_digest(candidate.encode(), expected.encode())
        else:
            account = digits_only(row.account_number)
            ok = hmac.compare_digest(digits.encode(), account[-4:].encode()) or (
                len(digits) > 4 and hmac.compare_digest(digits.encode(), account.encode())
            )
        log.info("verification factor checked: customer_id=%s kind=%s ok=%s", customer_id, kind, ok)
        return ok


# --------------------------------------------------------------------------- tool reads
#
# The read-only account tools each run ONE prebuilt Core statement on a ``Database.fetch_all()``
# connection: one round trip (PostgreSQL, autocommit: no BEGIN/ROLLBACK) or one worker-thread
# query (SQLite), no ORM identity map, and statement objects built once so SQLAlchemy reuses
# their cache key and compiled SQL (``recent_*``: one statement per clamped limit).
# Parameters: ``customer_id`` always, plus ``number`` / ``today``. Every statement filters on
# ``customer_id`` exactly like the ORM queries did.

_CUSTOMER_ID = sa.bindparam("customer_id", type_=sa.Integer())
_NUMBER = sa.bindparam("number", type_=sa.String())
_TODAY = sa.bindparam("today", type_=sa.Date())


def _const(value: enum.StrEnum | int) -> sa.ColumnElement[Any]:
    """A trusted constant (enum value, clamped limit) written into the SQL text.

    asyncpg runs prepared statements; PostgreSQL keeps one generic plan for them only when
    it is not estimated dearer than planning each call. It cannot see a bound ``status =
    $3`` or ``LIMIT $2`` (assumes average selectivity / 10% of the rows), so statements
    with such parameters were re-planned on every call (0.3-0.8 ms, more than executing).
    """
    if isinstance(value, enum.StrEnum):
        if not value.value.isidentifier():
            raise ValueError(f"not a plain SQL literal: {value.value!r}")
        return sa.literal_column(f"'{value.value}'")
    return sa.literal_column(str(int(value)))


_orders_t: sa.Table = Order.__table__  # type: ignore[assignment]
_items_t: sa.Table = OrderItem.__table__  # type: ignore[assignment]
_shipments_t: sa.Table = Shipment.__table__  # type: ignore[assignment]
_invoices_t: sa.Table = Invoice.__table__  # type: ignore[assignment]
_lines_t: sa.Table = InvoiceLine.__table__  # type: ignore[assignment]
_payments_t: sa.Table = Payment.__table__  # type: ignore[assignment]

_SHIPMENT_COLS = (
    _shipments_t.c.carrier,
    _shipments_t.c.tracking_number,
    _shipments_t.c.status,
    _shipments_t.c.shipped_at,
    _shipments_t.c.estimated_delivery,
    _shipments_t.c.delivered_at,
    _shipments_t.c.last_location,
)
"""Columns in :class:`ShipmentView` field order."""


def _order_rows(orders: sa.FromClause) -> sa.Select[Any]:
    """One row per item of each order in ``orders`` (orders table or a limited subquery),
    each carrying the order's latest shipment (highest shipment id, as ``Order.shipments[-1]``).

    Columns: order (0-5), item id + fields (6-10; None when the order has no items),
    shipment id (11; None when not shipped) + :data:`_SHIPMENT_COLS` (12-18).
    """
    latest = _shipments_t.alias("latest")
    latest_id = (
        sa.select(sa.func.max(latest.c.id))
        .where(latest.c.order_id == orders.c.id)
        .correlate(orders)
        .scalar_subquery()
    )
    return (
        sa.select(
            orders.c.id,
            orders.c.order_number,
            orders.c.status,
            orders.c.placed_at,
            orders.c.total_cents,
            orders.c.currency,
            _items_t.c.id,
            _items_t.c.sku,
            _items_t.c.description,
            _items_t.c.quantity,
            _items_t.c.unit_price_cents,
            _shipments_t.c.id,
            *_SHIPMENT_COLS,
        )
        .select_from(orders)
        .outerjoin(_items_t, _items_t.c.order_id == orders.c.id)
        .outerjoin(_shipments_t, _shipments_t.c.id == latest_id)
    )


_GET_ORDER = (
    _order_rows(_orders_t)
    .where(_orders_t.c.customer_id == _CUSTOMER_ID, _orders_t.c.order_number == _NUMBER)
    .order_by(_items_t.c.id)
)


@functools.cache
def _recent_orders(limit: int) -> sa.Select[Any]:
    recent = (
        sa.select(_orders_t)
        .where(_orders_t.c.customer_id == _CUSTOMER_ID)
        .order_by(_orders_t.c.placed_at.desc(), _orders_t.c.id.desc())
        .limit(_const(limit))
        .subquery("recent")
    )
    return _order_rows(recent).order_by(
        recent.c.placed_at.desc(), recent.c.id.desc(), _items_t.c.id
    )


_GET_SHIPMENT = (
    sa.select(*_SHIPMENT_COLS)
    .join(_orders_t, _orders_t.c.id == _shipments_t.c.order_id)
    .where(_orders_t.c.customer_id == _CUSTOMER_ID, _orders_t.c.order_number == _NUMBER)
    .order_by(_shipments_t.c.id.desc())
    .limit(1)
)


def _paid_cents(invoices: sa.FromClause) -> sa.ScalarSelect[Any]:
    """Sum of this customer's *completed* payments on the correlated invoice (0 if none).

    One ``payments(invoice_id, status)`` index probe per invoice; never a scan of the
    customer's payment history.
    """
    return (
        sa.select(sa.func.coalesce(sa.func.sum(_payments_t.c.amount_cents), 0))
        .where(
            _payments_t.c.invoice_id == invoices.c.id,
            _payments_t.c.status == _const(PaymentStatus.COMPLETED),
            _payments_t.c.customer_id == _CUSTOMER_ID,
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
            _lines_t.c.id,
            _lines_t.c.description,
            _lines_t.c.amount_cents,
            _lines_t.c.order_id,
            _orders_t.c.order_number,
        )
        .select_from(invoices)
        .outerjoin(_lines_t, _lines_t.c.invoice_id == invoices.c.id)
        .outerjoin(
            _orders_t,
            sa.and_(_orders_t.c.id == _lines_t.c.order_id, _orders_t.c.customer_id == _CUSTOMER_ID),
        )
    )


_GET_INVOICE = (
    _invoice_rows(_invoices_t)
    .where(_invoices_t.c.customer_id == _CUSTOMER_ID, _invoices_t.c.invoice_number == _NUMBER)
    .order_by(_lines_t.c.id)
)


@functools.cache
def _recent_invoices(limit: int) -> sa.Select[Any]:
    recent = (
        sa.select(_invoices_t)
        .where(_invoices_t.c.customer_id == _CUSTOMER_ID)
        .order_by(_invoices_t.c.issued_at.desc(), _invoices_t.c.id.desc())
        .limit(_const(limit))
        .subquery("recent")
    )
    return _invoice_rows(recent).order_by(
        recent.c.issued_at.desc(), recent.c.id.desc(), _lines_t.c.id
    )


def _balance() -> sa.Select[Any]:
    """One row: (open cents, overdue cents, next due date) — :class:`BalanceView` in SQL.

    Per unpaid (open/overdue) invoice: owed = total - this customer's completed payments on
    it; invoices owing nothing (or overpaid) are skipped; an invoice is overdue when marked
    so or its due date is before ``today``; the next due date is the earliest among the
    rest. Summed in the database so a customer with many unpaid invoices still costs one
    row of result processing. The per-invoice step is a GROUP BY, not a correlated
    subquery, so no planner can inline it and run the payments lookup once per use.
    """
    inv, pay = _invoices_t, _payments_t
    # The customer test sits in the SUM, not the join: the only way into payments is then
    # payments(invoice_id, status), one probe per unpaid invoice. (With it in the join,
    # PostgreSQL hashed the customer's whole payment history instead.)
    paid = sa.case((pay.c.customer_id == _CUSTOMER_ID, pay.c.amount_cents))
    per_invoice = (
        sa.select(
            inv.c.due_date.label("due_date"),
            sa.or_(inv.c.status == _const(InvoiceStatus.OVERDUE), inv.c.due_date < _TODAY).label(
                "overdue"
            ),
            (inv.c.total_cents - sa.func.coalesce(sa.func.sum(paid), 0)).label("owed"),
        )
        .select_from(inv)
        .outerjoin(
            pay,
            sa.and_(pay.c.invoice_id == inv.c.id, pay.c.status == _const(PaymentStatus.COMPLETED)),
        )
        .where(
            inv.c.customer_id == _CUSTOMER_ID,
            # OR of constants, not IN: an IN list is re-rendered on every execution; both
            # backends turn this into lookups on invoices(customer_id, status).
            sa.or_(
                inv.c.status == _const(InvoiceStatus.OPEN),
                inv.c.status == _const(InvoiceStatus.OVERDUE),
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


_BALANCE = _balance()


@functools.cache
def _recent_payments(limit: int) -> sa.Select[Any]:
    return (
        sa.select(
            _payments_t.c.amount_cents,
            _payments_t.c.method,
            _payments_t.c.card_last4,
            _payments_t.c.received_at,
            _payments_t.c.status,
            _invoices_t.c.invoice_number,
        )
        .outerjoin(_invoices_t, _invoices_t.c.id == _payments_t.c.invoice_id)
        .where(_payments_t.c.customer_id == _CUSTOMER_ID)
        .order_by(_payments_t.c.received_at.desc(), _payments_t.c.id.desc())
        .limit(_const(limit))
    )


def _order_views(rows: Iterable[Sequence[Any]]) -> list[OrderView]:
    """Fold :func:`_order_rows` rows (grouped by order, items in id order) into views."""
    views = []
    for _, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        order_rows = list(group)
        head = order_rows[0]
        views.append(
            OrderView(
                order_number=head[1],
                status=head[2],
                placed_at=head[3],
                total_cents=head[4],
                currency=head[5],
                items=tuple(
                    OrderItemView(r[7], r[8], r[9], r[10]) for r in order_rows if r[6] is not None
                ),
                shipment=None if head[11] is None else ShipmentView(*head[12:19]),
            )
        )
    return views


def _invoice_views(rows: Iterable[Sequence[Any]]) -> list[InvoiceView]:
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


# --------------------------------------------------------------------------- account


class AccountRepository:
    """Everything about ONE verified customer. Every query filters on ``customer_id``."""

    def __init__(self, db: Database, customer_id: int) -> None:
        if isinstance(customer_id, bool) or not isinstance(customer_id, int):
            raise TypeError("customer_id must be an int")
        self._db = db
        self._customer_id = customer_id

    @property
    def customer_id(self) -> int:
        return self._customer_id

    # ----------------------------------------------------------------- orders

    def _orders(self) -> sa.Select[Order]:
        return sa.select(Order).where(Order.customer_id == self._customer_id)

    async def get_order(self, order_number: str) -> OrderView | None:
        """The order with items and latest shipment, or None (unknown or not this customer's)."""
        number = normalize_order_number(order_number)
        rows = await self._db.fetch_all(
            _GET_ORDER, {"customer_id": self._customer_id, "number": number}
        )
        views = _order_views(rows)
        return views[0] if views else None

    async def recent_orders(self, limit: int = 5) -> list[OrderView]:
        """Most recent orders first (index ``orders(customer_id, placed_at desc)``)."""
        rows = await self._db.fetch_all(
            _recent_orders(_clamp(limit)), {"customer_id": self._customer_id}
        )
        return _order_views(rows)

    async def get_shipment(self, order_number: str) -> ShipmentView | None:
        """Latest shipment of this customer's order, or None (no order / not shipped yet)."""
        number = normalize_order_number(order_number)
        rows = await self._db.fetch_all(
            _GET_SHIPMENT, {"customer_id": self._customer_id, "number": number}
        )
        return ShipmentView(*rows[0]) if rows else None

    async def cancel_order(self, order_number: str) -> CancelOutcome:
        """Cancel a ``processing`` order. Atomic: a conditional UPDATE, then a status read."""
        number = normalize_order_number(order_number)
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(Order)
                .where(
                    Order.customer_id == self._customer_id,
                    Order.order_number == number,
                    Order.status == OrderStatus.PROCESSING,
                )
                .values(status=OrderStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                outcome = CancelOutcome("cancelled", number, OrderStatus.CANCELLED)
            else:
                status = await s.scalar(
                    sa.select(Order.status).where(
                        Order.customer_id == self._customer_id, Order.order_number == number
                    )
                )
                if status is None:
                    outcome = CancelOutcome("not_found", number)
                elif status == OrderStatus.CANCELLED:
                    outcome = CancelOutcome("already_cancelled", number, status)
                else:
                    outcome = CancelOutcome("not_cancellable", number, status)
        log.info("cancel_order: customer_id=%s result=%s", self._customer_id, outcome.result)
        return outcome

    async def start_return(
        self,
        order_number: str,
        reason: str,
        *,
        now: dt.datetime | None = None,
        call_id: str | None = None,
    ) -> ReturnOutcome:
        """Open a return (RMA ``RMA-<order>-<n>``) for a delivered order within 30 days.

        ``now`` defaults to the current UTC time (tests pass a fixed one). Also opens a
        ``return`` ticket so staff see it. The order stays ``delivered`` until the goods
        are received (a later back-office step sets ``returned``).
        """
        number = normalize_order_number(order_number)
        when = now or utcnow()
        if when.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        async with self._db.session() as s, s.begin():
            order = await s.scalar(
                self._orders()
                .where(Order.order_number == number)
                .options(selectinload(Order.shipments), selectinload(Order.returns))
                .with_for_update()
            )
            if order is None:
                outcome = ReturnOutcome("not_found", number)
            else:
                outcome = await self._start_return_locked(s, order, reason, when, call_id)
        log.info("start_return: customer_id=%s result=%s", self._customer_id, outcome.result)
        return outcome

    async def _start_return_locked(
        self,
        s: AsyncSession,
        order: Order,
        reason: str,
        now: dt.datetime,
        call_id: str | None,
    ) -> ReturnOutcome:
        number = order.order_number
        open_returns = [
            r for r in order.returns if r.status in (ReturnStatus.REQUESTED, ReturnStatus.RECEIVED)
        ]
        if open_returns:
            existing = open_returns[-1]
            return ReturnOutcome(
                "already_requested", number, order.status, _return_view(existing, number)
            )
        if order.status != OrderStatus.DELIVERED:
            return ReturnOutcome("not_returnable", number, order.status)
        delivered = [sh.delivered_at for sh in order.shipments if sh.delivered_at is not None]
        if not delivered:
            return ReturnOutcome("not_returnable", number, order.status)
        delivered_at = max(delivered)
        deadline = delivered_at + RETURN_WINDOW
        if now > deadline:
            return ReturnOutcome(
                "window_expired", number, order.status, delivered_at=delivered_at, deadline=deadline
            )
        clean_reason = (reason or "").strip() or "not given"
        ret = Return(
            order_id=order.id,
            reason=clean_reason,
            status=ReturnStatus.REQUESTED,
            rma_number=f"RMA-{number}-{len(order.returns) + 1}",
            created_at=now,
        )
        s.add(ret)
        s.add(
            Ticket(
                kind=TicketKind.RETURN,
                customer_id=self._customer_id,
                call_id=call_id,
                reason=clean_reason,
                summary=f"Return requested for order {number} ({ret.rma_number})",
                status=TicketStatus.OPEN,
                created_at=now,
            )
        )
        await s.flush()
        return ReturnOutcome(
            "started",
            number,
            order.status,
            _return_view(ret, number),
            delivered_at=delivered_at,
            deadline=deadline,
        )

    # ----------------------------------------------------------------- billing

    async def balance(self, now: dt.datetime | None = None) -> BalanceView:
        """Outstanding balance at ``now`` (default: current time); see :class:`BalanceView`."""
        today = (now or utcnow()).astimezone(dt.UTC).date()
        [(open_cents, overdue_cents, next_due)] = await self._db.fetch_all(
            _BALANCE, {"customer_id": self._customer_id, "today": today}
        )
        return BalanceView(int(open_cents), int(overdue_cents), next_due)

    async def recent_invoices(self, limit: int = 5) -> list[InvoiceView]:
        """Most recent invoices first, with lines and paid amounts."""
        rows = await self._db.fetch_all(
            _recent_invoices(_clamp(limit)), {"customer_id": self._customer_id}
        )
        return _invoice_views(rows)

    async def get_invoice(self, invoice_number: str) -> InvoiceView | None:
        """One invoice with lines, or None (unknown or not this customer's)."""
        number = normalize_invoice_number(invoice_number)
        rows = await self._db.fetch_all(
            _GET_INVOICE, {"customer_id": self._customer_id, "number": number}
        )
        views = _invoice_views(rows)
        return views[0] if views else None

    async def recent_payments(self, limit: int = 5) -> list[PaymentView]:
        """Most recent payments first (index ``payments(customer_id, received_at desc)``)."""
        rows = await self._db.fetch_all(
            _recent_payments(_clamp(limit)), {"customer_id": self._customer_id}
        )
        return [PaymentView(*row) for row in rows]

    async def create_refund_ticket(
        self,
        invoice_number: str,
        amount_cents: int,
        reason: str,
        call_id: str | None = None,
    ) -> TicketView:
        """Open a ``refund_request`` ticket for staff review. No money moves.

        Raises:
            InvoiceNotFoundError: invoice unknown or not this customer's.
            InvalidRefundAmountError: amount not an int in ``(0, invoice total]``.
        """
        number = normalize_invoice_number(invoice_number)
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
            raise InvalidRefundAmountError("refund amount must be a whole number of cents")
        async with self._db.session() as s, s.begin():
            invoice = await s.scalar(
                sa.select(Invoice).where(
                    Invoice.customer_id == self._customer_id, Invoice.invoice_number == number
                )
            )
            if invoice is None:
                raise InvoiceNotFoundError(f"no invoice {number} on this account")
            if not 0 < amount_cents <= invoice.total_cents:
                raise InvalidRefundAmountError(
                    f"refund amount must be more than $0.00 and at most the invoice total "
                    f"{format_cents(invoice.total_cents, invoice.currency)}"
                )
            ticket = Ticket(
                kind=TicketKind.REFUND_REQUEST,
                customer_id=self._customer_id,
                call_id=call_id,
                reason=(reason or "").strip() or "not given",
                summary=(
                    f"Refund request of {format_cents(amount_cents, invoice.currency)} "
                    f"on invoice {number}"
                ),
                amount_cents=amount_cents,
                invoice_number=number,
                status=TicketStatus.OPEN,
                created_at=utcnow(),
            )
            s.add(ticket)
            await s.flush()
            view = _ticket_view(ticket)
        log.info("refund ticket created: ticket_id=%s customer_id=%s", view.id, self._customer_id)
        return view


# --------------------------------------------------------------------------- tickets


class TicketStore:
    """Tickets not tied to a verified session (callbacks for unverified callers, etc.)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_callback(
        self,
        phone_e164: str,
        reason: str,
        summary: str = "",
        preferred_time: str | None = None,
        customer_id: int | None = None,
        call_id: str | None = None,
    ) -> TicketView:
        """Open a ``callback`` ticket. ``phone_e164`` is normalised; ValueError if invalid."""
        phone = normalize_phone(phone_e164)
        if phone is None:
            raise ValueError("callback phone number is not a valid phone number")
        async with self._db.session() as s, s.begin():
            ticket = Ticket(
                kind=TicketKind.CALLBACK,
                customer_id=customer_id,
                call_id=call_id,
                phone_e164=phone,
                reason=(reason or "").strip() or "not given",
                summary=summary or "",
                preferred_time=(preferred_time or "").strip() or None,
                status=TicketStatus.OPEN,
                created_at=utcnow(),
            )
            s.add(ticket)
            await s.flush()
            view = _ticket_view(ticket)
        log.info("callback ticket created: ticket_id=%s", view.id)
        return view

    async def list_open(self, kind: TicketKind | None = None, limit: int = 100) -> list[TicketView]:
        """Open tickets, oldest first (index ``tickets(status, created_at)``)."""
        query = sa.select(Ticket).where(Ticket.status == TicketStatus.OPEN)
        if kind is not None:
            query = query.where(Ticket.kind == kind)
        async with self._db.session() as s:
            rows = await s.scalars(
                query.order_by(Ticket.created_at, Ticket.id).limit(max(1, int(limit)))
            )
            return [_ticket_view(t) for t in rows]

    async def close_ticket(self, ticket_id: int) -> bool:
        """Mark a ticket closed; False if it does not exist."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(Ticket).where(Ticket.id == ticket_id).values(status=TicketStatus.CLOSED)
            )
            return getattr(result, "rowcount", 0) == 1


# --------------------------------------------------------------------------- supervisors

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SKILLS = frozenset({"orders", "billing", "general"})


class SupervisorValidationError(ValueError):
    """Invalid supervisor field (contact, skills, timezone, working hours, mode)."""


def _parse_hhmm(value: str) -> dt.time:
    try:
        hh, mm = value.split(":")
        return dt.time(int(hh), int(mm))
    except (ValueError, AttributeError) as exc:
        if value == "24:00":
            return dt.time.max
        raise SupervisorValidationError(f"invalid time {value!r}; expected HH:MM") from exc


@dataclass(frozen=True, slots=True)
class SupervisorView:
    id: int
    name: str
    contact: str
    skills: tuple[str, ...]
    timezone: str
    working_hours: Mapping[str, Sequence[Sequence[str]]]
    priority: int
    active: bool
    transfer_mode: TransferMode

    @property
    def is_sip_uri(self) -> bool:
        return self.contact.startswith(("sip:", "sips:"))

    def is_on_duty(self, now: dt.datetime) -> bool:
        """True if ``now`` (aware) falls in one of today's ranges in the supervisor's zone."""
        local = now.astimezone(ZoneInfo(self.timezone))
        day = _DAYS[local.weekday()]
        t = local.time().replace(tzinfo=None)
        for start, end in self.working_hours.get(day, ()):
            if _parse_hhmm(start) <= t < _parse_hhmm(end):
                return True
        return False


def _supervisor_view(s: Supervisor) -> SupervisorView:
    return SupervisorView(
        id=s.id,
        name=s.name,
        contact=s.contact,
        skills=tuple(s.skills),
        timezone=s.timezone,
        working_hours={k: [list(r) for r in v] for k, v in s.working_hours.items()},
        priority=s.priority,
        active=s.active,
        transfer_mode=s.transfer_mode,
    )


def _validate_supervisor(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "name" in out:
        name = str(out["name"]).strip()
        if not name:
            raise SupervisorValidationError("name must not be empty")
        out["name"] = name
    if "contact" in out:
        contact = str(out["contact"]).strip()
        if contact.startswith(("sip:", "sips:")):
            if "@" not in contact:
                raise SupervisorValidationError("SIP URI must look like sip:user@host")
        else:
            phone = normalize_phone(contact)
            if phone is None or not contact.startswith("+"):
                raise SupervisorValidationError(
                    "contact must be an E.164 number (+14155550100) or a SIP URI"
                )
            contact = phone
        out["contact"] = contact
    if "skills" in out:
        skills = [str(x).strip().lower() for x in out["skills"]]
        bad = sorted(set(skills) - _SKILLS)
        if bad or not skills:
            raise SupervisorValidationError(
                f"skills must be a non-empty subset of {sorted(_SKILLS)}; got {skills}"
            )
        out["skills"] = list(dict.fromkeys(skills))
    if "timezone" in out:
        try:
            ZoneInfo(str(out["timezone"]))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SupervisorValidationError(f"unknown IANA timezone {out['timezone']!r}") from exc
    if "working_hours" in out:
        hours = out["working_hours"]
        if not isinstance(hours, Mapping):
            raise SupervisorValidationError("working_hours must map day -> [[start, end], ...]")
        clean: dict[str, list[list[str]]] = {}
        for day, ranges in hours.items():
            if day not in _DAYS:
                raise SupervisorValidationError(f"unknown day {day!r}; use {list(_DAYS)}")
            clean[day] = []
            for rng in ranges:
                start, end = rng
                if _parse_hhmm(start) >= _parse_hhmm(end):
                    raise SupervisorValidationError(f"range {start}-{end} on {day} is empty")
                clean[day].append([start, end])
        out["working_hours"] = clean
    if "transfer_mode" in out:
        try:
            out["transfer_mode"] = TransferMode(out["transfer_mode"])
        except ValueError as exc:
            raise SupervisorValidationError("transfer_mode must be 'warm' or 'cold'") from exc
    if "priority" in out:
        out["priority"] = int(out["priority"])
    if "active" in out:
        out["active"] = bool(out["active"])
    return out


class SupervisorStore:
    """CRUD for transfer targets (used by the ``callcenter supervisors`` CLI and transfers)."""

    _FIELDS = frozenset(
        {
            "name",
            "contact",
            "skills",
            "timezone",
            "working_hours",
            "priority",
            "active",
            "transfer_mode",
        }
    )

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(
        self, *, active_only: bool = False, skill: str | None = None
    ) -> list[SupervisorView]:
        """Supervisors by priority (lower first), then id; optionally filtered."""
        query = sa.select(Supervisor).order_by(Supervisor.priority, Supervisor.id)
        if active_only:
            query = query.where(Supervisor.active.is_(True))
        async with self._db.session() as s:
            views = [_supervisor_view(x) for x in await s.scalars(query)]
        if skill is not None:
            views = [v for v in views if skill in v.skills]
        return views

    async def available(
        self, skill: str, now: dt.datetime | None = None
    ) -> builtins.list[SupervisorView]:
        """Active supervisors with ``skill`` who are on duty at ``now``, best first."""
        when = now or utcnow()
        return [v for v in await self.list(active_only=True, skill=skill) if v.is_on_duty(when)]

    async def get(self, supervisor_id: int) -> SupervisorView | None:
        async with self._db.session() as s:
            sup = await s.get(Supervisor, supervisor_id)
            return _supervisor_view(sup) if sup is not None else None

    async def add(
        self,
        name: str,
        contact: str,
        skills: Sequence[str],
        timezone: str,
        working_hours: Mapping[str, Sequence[Sequence[str]]],
        *,
        priority: int = 100,
        active: bool = True,
        transfer_mode: TransferMode | str = TransferMode.WARM,
    ) -> SupervisorView:
        """Validate and insert; raises :class:`SupervisorValidationError` on bad input."""
        fields = _validate_supervisor(
            {
                "name": name,
                "contact": contact,
                "skills": list(skills),
                "timezone": timezone,
                "working_hours": working_hours,
                "priority": priority,
                "active": active,
                "transfer_mode": transfer_mode,
            }
        )
        async with self._db.session() as s, s.begin():
            sup = Supervisor(**fields)
            s.add(sup)
            await s.flush()
            view = _supervisor_view(sup)
        log.info("supervisor added: id=%s", view.id)
        return view

    async def update(self, supervisor_id: int, **changes: Any) -> SupervisorView | None:
        """Update some fields; None if no such supervisor."""
        unknown = set(changes) - self._FIELDS
        if unknown:
            raise SupervisorValidationError(f"unknown supervisor fields: {sorted(unknown)}")
        fields = _validate_supervisor(changes)
        async with self._db.session() as s, s.begin():
            sup = await s.get(Supervisor, supervisor_id)
            if sup is None:
                return None
            for key, value in fields.items():
                setattr(sup, key, value)
            await s.flush()
            view = _supervisor_view(sup)
        log.info("supervisor updated: id=%s fields=%s", supervisor_id, sorted(fields))
        return view

    async def remove(self, supervisor_id: int) -> bool:
        """Delete; False if it did not exist."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(sa.delete(Supervisor).where(Supervisor.id == supervisor_id))
            removed = getattr(result, "rowcount", 0) == 1
        log.info("supervisor removed: id=%s removed=%s", supervisor_id, removed)
        return removed


# --------------------------------------------------------------------------- call records


@dataclass(frozen=True, slots=True)
class CallRecordView:
    """One call's record. Supports ``view["outcome"]`` and :meth:`to_dict` for JSON dumps."""

    id: int
    call_id: str
    room_name: str
    caller_e164: str | None
    dialled_e164: str | None
    customer_id: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    outcome: CallOutcome | None
    transferred_to: str | None
    data: dict[str, Any] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
