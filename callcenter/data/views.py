"""The read models the repositories return: immutable dataclasses, detached from any session.

Safe to hand to the agents' tools (and, through ``agents/describe.py``, to the model):
no view carries a PIN hash or a full account number. Money is integer cents. Business
outcomes (cannot cancel a shipped order, return window closed, ...) are typed results
(:class:`CancelOutcome`, :class:`ReturnOutcome`), not exceptions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from callcenter.data.enums import (
    InvoiceStatus,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
    TicketKind,
    TicketStatus,
)
from callcenter.data.models import CallOutcome

__all__ = [
    "BalanceView",
    "CallRecordView",
    "CancelOutcome",
    "CustomerSummary",
    "InvoiceLineView",
    "InvoiceView",
    "OrderItemView",
    "OrderView",
    "PaymentView",
    "ReturnOutcome",
    "ReturnView",
    "ShipmentView",
    "TicketView",
]


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
    assurance: str | None = None
    """How sure we were of the caller (`vocabulary.Assurance`): none, basic or strong."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
