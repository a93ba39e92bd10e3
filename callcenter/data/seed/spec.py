"""The shapes of the demo dataset (:mod:`callcenter.data.seed.dataset`): plain frozen
dataclasses, dates as day offsets from the seeding reference time."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.data.enums import (
    InvoiceStatus,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
)

__all__ = [
    "Customer",
    "DemoInvoice",
    "DemoOrder",
    "DemoPayment",
    "Item",
    "Line",
    "Ret",
    "Ship",
]


@dataclass(frozen=True)
class Item:
    sku: str
    description: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class Ship:
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    shipped_day: int | None
    eta_day: int | None
    delivered_day: int | None = None
    last_location: str | None = None


@dataclass(frozen=True)
class Ret:
    reason: str
    status: ReturnStatus
    rma_number: str
    created_day: int


@dataclass(frozen=True)
class DemoOrder:
    number: str
    status: OrderStatus
    placed_day: int
    items: tuple[Item, ...]
    shipment: Ship | None = None
    returns: tuple[Ret, ...] = ()

    @property
    def total_cents(self) -> int:
        return sum(i.quantity * i.unit_price_cents for i in self.items)


@dataclass(frozen=True)
class Line:
    description: str
    amount_cents: int
    order_number: str | None = None


@dataclass(frozen=True)
class DemoInvoice:
    number: str
    status: InvoiceStatus
    issued_day: int
    due_day: int
    lines: tuple[Line, ...]

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True)
class DemoPayment:
    invoice_number: str | None
    amount_cents: int
    method: PaymentMethod
    card_last4: str | None
    received_day: int
    status: PaymentStatus = PaymentStatus.COMPLETED


@dataclass(frozen=True)
class Customer:
    full_name: str
    email: str
    zip_code: str
    account_number: str
    pin: str
    phones: tuple[tuple[str, str], ...]
    created_day: int
    orders: tuple[DemoOrder, ...]
    invoices: tuple[DemoInvoice, ...]
    payments: tuple[DemoPayment, ...]
