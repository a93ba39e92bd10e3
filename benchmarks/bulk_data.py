"""Bulk synthetic data for the data benchmark (e.g. 1M orders): fast Core inserts.

Benchmark tooling, not product: it lives here so the product package carries no generator.

``generate_orders`` appends customers (with one phone each), orders, order items and
shipments to an already-migrated database, in batches of ``batch_size`` orders: PostgreSQL
(asyncpg) uses ``COPY ... FROM STDIN`` (``copy_records_to_table``), other backends a Core
``insert()`` executemany. Primary keys are
assigned here (continuing after the current maxima) so child rows can reference parents
without ``RETURNING``; PostgreSQL sequences are bumped afterwards so ORM inserts keep working.

Deterministic for a given ``seed``, ``now`` and starting database. Synthetic customers all
share one PIN hash (PIN ``0000``) — hashing a million scrypt PINs would dominate load time,
and these rows are never real people. Order numbers are ``str(10_000_000 + order id)`` and
phone numbers ``+1206xxxxxxx`` (:func:`bulk_phone`: valid E.164, so the product's one
normaliser accepts them; no demo customer is in area code 206).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.data.database import Database
from callcenter.data.models import (
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
    Shipment,
    ShipmentStatus,
)
from callcenter.data.security import hash_pin

__all__ = ["BULK_ORDER_NUMBER_BASE", "BulkResult", "bulk_phone", "generate_orders"]

BULK_ORDER_NUMBER_BASE = 10_000_000


def bulk_phone(customer_id: int) -> str:
    """The synthetic customer's phone: ``+1 206 <200-999> <0000-9999>`` (8M distinct)."""
    return f"+1206{2_000_000 + customer_id % 8_000_000:07d}"


_STATUSES = (
    (OrderStatus.DELIVERED, 60),
    (OrderStatus.SHIPPED, 15),
    (OrderStatus.PROCESSING, 10),
    (OrderStatus.CANCELLED, 10),
    (OrderStatus.RETURNED, 5),
)
_CATALOG = (
    ("HP-200", "Wireless headphones", 12999),
    ("CBL-USB-C", "USB-C cable, 1 m", 1299),
    ("MUG-11", "Ceramic mug, 11 oz", 1450),
    ("LAMP-DSK", "LED desk lamp", 4999),
    ("BKPK-20", "Travel backpack, 20 L", 8900),
    ("KETTLE-EL", "Electric kettle", 3999),
    ("YOGA-MAT", "Yoga mat", 3500),
    ("KB-MECH", "Mechanical keyboard", 9900),
)
_CARRIERS = ("UPS", "FedEx", "USPS", "DHL")


@dataclass(frozen=True, slots=True)
class BulkResult:
    customers: int
    orders: int
    items: int
    shipments: int
    first_customer_id: int
    first_order_id: int
    seconds: float
    invoices: int = 0
    payments: int = 0

    def order_number(self, index: int) -> str:
        """Order number of the ``index``-th generated order (0-based)."""
        return str(BULK_ORDER_NUMBER_BASE + self.first_order_id + index)


async def _max_id(conn: AsyncConnection, table: sa.Table) -> int:
    return int(await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) or 0)


_CUSTOMER_COLS = (
    "id",
    "full_name",
    "email",
    "zip_code",
    "account_number",
    "pin_hash",
    "created_at",
)
_PHONE_COLS = ("id", "customer_id", "e164", "label")
_ORDER_COLS = (
    "id",
    "order_number",
    "customer_id",
    "status",
    "placed_at",
    "total_cents",
    "currency",
)
_ITEM_COLS = ("id", "order_id", "sku", "description", "quantity", "unit_price_cents")
_INVOICE_COLS = (
    "id", "invoice_number", "customer_id", "issued_at", "due_date", "status", "total_cents",
    "currency",
)  # fmt: skip
_LINE_COLS = ("id", "invoice_id", "description", "amount_cents", "order_id")
_PAYMENT_COLS = (
    "id", "customer_id", "invoice_id", "amount_cents", "method", "card_last4", "received_at",
    "status",
)  # fmt: skip
_SHIPMENT_COLS = (
    "id", "order_id", "carrier", "tracking_number", "status", "shipped_at",
    "estimated_delivery", "delivered_at", "last_location",
)  # fmt: skip


async def _insert(
    conn: AsyncConnection,
    table: sa.Table,
    columns: tuple[str, ...],
    records: list[tuple[Any, ...]],
) -> None:
    """Insert a batch: ``COPY`` on PostgreSQL (asyncpg), Core executemany elsewhere.

    Records hold plain values (enum *values* as ``str``, aware datetimes) in ``columns`` order.
    """
    if not records:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg":
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        # Same connection and transaction as ``conn``; the table resolves via search_path.
        await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
        return
    await conn.execute(sa.insert(table), [dict(zip(columns, r, strict=True)) for r in records])


async def generate_orders(
    db: Database,
    n_orders: int,
    n_customers: int,
    seed: int = 42,
    *,
    batch_size: int = 10_000,
    now: dt.datetime | None = None,
    with_billing: bool = False,
) -> BulkResult:
    """Append ``n_customers`` customers and ``n_orders`` orders (+ items, shipments).

    Each batch of ``batch_size`` orders commits separately, so a 1M-order load does not hold
    one giant transaction. ``now`` (default 2025-06-02 UTC) anchors the 2-year date spread.

    ``with_billing=True`` also writes one invoice per non-cancelled order (number
    ``INV-B<order id>``, one line referencing the order; paid if older than 60 days with a
    completed card payment, overdue if 30-60 days old, else open), so billing tools can be
    measured at the same scale.
    """
    if n_customers < 1 or n_orders < 0:
        raise ValueError("need n_customers >= 1 and n_orders >= 0")
    started = time.perf_counter()
    rng = random.Random(seed)
    ref = now or dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
    customers_t: sa.Table = Customer.__table__  # type: ignore[assignment]
    phones_t: sa.Table = CustomerPhone.__table__  # type: ignore[assignment]
    orders_t: sa.Table = Order.__table__  # type: ignore[assignment]
    items_t: sa.Table = OrderItem.__table__  # type: ignore[assignment]
    shipments_t: sa.Table = Shipment.__table__  # type: ignore[assignment]
    invoices_t: sa.Table = Invoice.__table__  # type: ignore[assignment]
    lines_t: sa.Table = InvoiceLine.__table__  # type: ignore[assignment]
    payments_t: sa.Table = Payment.__table__  # type: ignore[assignment]
    tables = (
        customers_t, phones_t, orders_t, items_t, shipments_t, invoices_t, lines_t, payments_t
    )  # fmt: skip

    async with db.engine.connect() as conn:
        next_ids = {t.name: await _max_id(conn, t) + 1 for t in tables}
    first_customer = next_ids["customers"]
    first_order = next_ids["orders"]
    first_phone = next_ids["customer_phones"]
    pin_hash = hash_pin("0000")
    created = ref - dt.timedelta(days=800)

    async with db.engine.begin() as conn:
        for start in range(0, n_customers, batch_size):
            stop = min(start + batch_size, n_customers)
            customers = [
                (
                    first_customer + k,
                    f"Bulk Customer {first_customer + k}",
                    None,
                    f"{rng.randrange(1000, 99999):05d}",
                    f"ACC-B{first_customer + k:09d}",
                    pin_hash,
                    created,
                )
                for k in range(start, stop)
            ]
            phones = [
                (first_phone + k, first_customer + k, bulk_phone(first_customer + k), "mobile")
                for k in range(start, stop)
            ]  # fmt: skip
            await _insert(conn, customers_t, _CUSTOMER_COLS, customers)
            await _insert(conn, phones_t, _PHONE_COLS, phones)

    # Cumulative weights -> status value; plain strings keep COPY and executemany simple.
    statuses = [s.value for s, _ in _STATUSES]
    cum_weights = list(itertools.accumulate(w for _, w in _STATUSES))
    shipped_states = {OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value,
                      OrderStatus.RETURNED.value}  # fmt: skip
    delivered_value = ShipmentStatus.DELIVERED.value
    in_transit_value = ShipmentStatus.IN_TRANSIT.value
    span = 730 * 86400
    one_day, three_days, four_days = (dt.timedelta(days=d) for d in (1, 3, 4))
    n_catalog = len(_CATALOG)
    item_id = next_ids["order_items"]
    shipment_id = next_ids["shipments"]
    invoice_id = next_ids["invoices"]
    line_id = next_ids["invoice_lines"]
    payment_id = next_ids["payments"]
    cancelled_value = OrderStatus.CANCELLED.value
    paid_before = ref - dt.timedelta(days=60)
    overdue_before = ref - dt.timedelta(days=30)
    n_items = n_shipments = n_invoices = n_payments = 0
    for start in range(0, n_orders, batch_size):
        orders: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        shipments: list[tuple[Any, ...]] = []
        invoices: list[tuple[Any, ...]] = []
        lines: list[tuple[Any, ...]] = []
        payments: list[tuple[Any, ...]] = []
        for k in range(start, min(start + batch_size, n_orders)):
            oid = first_order + k
            status = rng.choices(statuses, cum_weights=cum_weights)[0]
            placed = ref - dt.timedelta(seconds=1 + int(rng.random() * span))
            total = 0
            for _ in range(1 + int(rng.random() * 3)):
                sku, desc, price = _CATALOG[int(rng.random() * n_catalog)]
                qty = 1 + int(rng.random() * 3)
                total += qty * price
                items.append((item_id, oid, sku, desc, qty, price))
                item_id += 1
            customer_id = first_customer + int(rng.random() * n_customers)
            orders.append(
                (oid, str(BULK_ORDER_NUMBER_BASE + oid), customer_id, status, placed, total, "USD")
            )
            if status in shipped_states:
                shipped = placed + one_day
                delivered = status != OrderStatus.SHIPPED.value
                shipments.append(
                    (
                        shipment_id,
                        oid,
                        _CARRIERS[oid % len(_CARRIERS)],
                        f"BULK{oid:012d}",
                        delivered_value if delivered else in_transit_value,
                        shipped,
                        (shipped + four_days).date(),
                        shipped + three_days if delivered else None,
                        None,
                    )
                )
                shipment_id += 1
            if with_billing and status != cancelled_value:
                if placed < paid_before:
                    inv_status = InvoiceStatus.PAID.value
                elif placed < overdue_before:
                    inv_status = InvoiceStatus.OVERDUE.value
                else:
                    inv_status = InvoiceStatus.OPEN.value
                invoices.append(
                    (invoice_id, f"INV-B{oid}", customer_id, placed, (placed + three_days * 10)
                     .date(), inv_status, total, "USD")
                )  # fmt: skip
                lines.append((line_id, invoice_id, f"Order {BULK_ORDER_NUMBER_BASE + oid}",
                              total, oid))  # fmt: skip
                line_id += 1
                if inv_status == InvoiceStatus.PAID.value:
                    payments.append(
                        (payment_id, customer_id, invoice_id, total, PaymentMethod.CARD.value,
                         f"{oid % 10_000:04d}", placed + four_days, PaymentStatus.COMPLETED.value)
                    )  # fmt: skip
                    payment_id += 1
                invoice_id += 1
        async with db.engine.begin() as conn:
            await _insert(conn, orders_t, _ORDER_COLS, orders)
            await _insert(conn, items_t, _ITEM_COLS, items)
            await _insert(conn, shipments_t, _SHIPMENT_COLS, shipments)
            await _insert(conn, invoices_t, _INVOICE_COLS, invoices)
            await _insert(conn, lines_t, _LINE_COLS, lines)
            await _insert(conn, payments_t, _PAYMENT_COLS, payments)
        n_items += len(items)
        n_shipments += len(shipments)
        n_invoices += len(invoices)
        n_payments += len(payments)

    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            for t in tables:
                await conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {t.name}))"
                    )
                )
    return BulkResult(
        customers=n_customers,
        orders=n_orders,
        items=n_items,
        shipments=n_shipments,
        first_customer_id=first_customer,
        first_order_id=first_order,
        seconds=time.perf_counter() - started,
        invoices=n_invoices,
        payments=n_payments,
    )
