"""The demo dataset, seeded only when asked: 4 customers with orders and billing, 3 supervisors.

Everything is fixed data — no randomness. Dates are offsets (in days) from a reference
"now": tests pass :data:`DEMO_REFERENCE_NOW`; the app seeds with the start of the current
UTC day so that "in transit", "delivered 7 days ago, returnable" etc. are true on the day
the demo database is created. Two databases seeded with the same ``now`` are identical,
row for row (including primary keys and PIN hashes, whose salts are derived from the
account number *for demo data only*).

:data:`DEMO_CUSTOMERS` describes the dataset (for the ``callcenter demo-data`` CLI and for
tests); it is derived from the same spec the seeder uses, so the two cannot drift.

Quick reference (statuses as seeded):

=============  ===============================  =====  ====  ====  ==========================
Customer       Phones                           ZIP    Last4 PIN   Orders / invoices
=============  ===============================  =====  ====  ====  ==========================
Maya Patel     +14155550142, +14155550143       94107  0042  4421  1001 shipped (UPS in
                                                                   transit), 1002 processing,
                                                                   1003 delivered (7 d ago),
                                                                   1004 delivered (75 d ago),
                                                                   1005 cancelled; INV-2001
                                                                   paid, INV-2002 open,
                                                                   INV-2003 overdue
Daniel Okafor  +12125550199                     10001  0077  7788  2001 delivered (3 d ago),
                                                                   2002 shipped (out for
                                                                   delivery), 2003 returned;
                                                                   INV-2004 paid, INV-2005
                                                                   open (part-paid)
Sofia Ramirez  +13125550123                     60601  0318  2580  3001 processing, 3002
                                                                   shipped (exception), 3003
                                                                   delivered (31 d ago);
                                                                   INV-2006 overdue, INV-2007
                                                                   paid
James Chen     +16175550188, +16175550189       02139  0555  0007  4001 shipped (label
                                                                   created), 4002 delivered
                                                                   (29 d ago), 4003
                                                                   cancelled, 4004
                                                                   processing; INV-2008 open,
                                                                   INV-2009 paid
=============  ===============================  =====  ====  ====  ==========================
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.data.database import Database
from callcenter.data.models import (
    Customer,
    CustomerPhone,
    Invoice,
    InvoiceLine,
    Order,
    OrderItem,
    Payment,
    Return,
    Shipment,
)
from callcenter.data.security import hash_pin
from callcenter.data.seed.dataset import CUSTOMERS, SUPERVISORS
from callcenter.data.supervisors import supervisor_row
from callcenter.staff import Supervisor

__all__ = [
    "DEMO_CUSTOMERS",
    "DEMO_REFERENCE_NOW",
    "DEMO_SUPERVISORS",
    "DemoCustomer",
    "default_reference_now",
    "demo_data_text",
    "seed_demo",
]

log = logging.getLogger(__name__)

DEMO_REFERENCE_NOW = dt.datetime(2025, 6, 2, 0, 0, tzinfo=dt.UTC)
"""Fixed reference time tests seed with (a Monday)."""


def default_reference_now() -> dt.datetime:
    """Start of the current UTC day: stable for a whole day, so re-seeding is repeatable."""
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC)


@dataclass(frozen=True)
class DemoCustomer:
    """What a tester needs to know to call in as a demo customer."""

    full_name: str
    phones: tuple[str, ...]
    zip_code: str
    account_number: str
    last_four: str
    pin: str
    orders: tuple[tuple[str, str], ...]
    """``(order_number, status)`` pairs."""
    invoices: tuple[tuple[str, str], ...]
    """``(invoice_number, status)`` pairs."""

    @property
    def order_numbers(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.orders)

    @property
    def invoice_numbers(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.invoices)


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = tuple(
    DemoCustomer(
        full_name=c.full_name,
        phones=tuple(p for p, _ in c.phones),
        zip_code=c.zip_code,
        account_number=c.account_number,
        last_four=c.account_number[-4:],
        pin=c.pin,
        orders=tuple((o.number, o.status.value) for o in c.orders),
        invoices=tuple((i.number, i.status.value) for i in c.invoices),
    )
    for c in CUSTOMERS
)


def demo_data_text() -> str:
    """Human-readable listing of :data:`DEMO_CUSTOMERS` (for ``callcenter demo-data``)."""
    lines: list[str] = []
    for c in DEMO_CUSTOMERS:
        lines.append(f"{c.full_name}  ({c.account_number})")
        lines.append(f"  phones:    {', '.join(c.phones)}")
        lines.append(f"  ZIP: {c.zip_code}   last four: {c.last_four}   PIN: {c.pin}")
        lines.append("  orders:    " + ", ".join(f"{n} ({st})" for n, st in c.orders))
        lines.append("  invoices:  " + ", ".join(f"{n} ({st})" for n, st in c.invoices))
    return "\n".join(lines)


DEMO_SUPERVISORS: tuple[Supervisor, ...] = SUPERVISORS
"""The demo roster: a general lead in Los Angeles, a billing lead on SIP in New York and a
cold-transfer orders lead in Chicago who also works Saturdays."""


# --------------------------------------------------------------------------- seeding


@functools.lru_cache(maxsize=16)
def _demo_pin_hash(account_number: str, pin: str) -> str:
    """Demo PIN hash with a salt derived from the account number (reproducible rows).

    Real customers get random salts from :func:`hash_pin`; cached because scrypt is slow
    by design and tests seed many databases.
    """
    salt = hashlib.sha256(f"callcenter-demo-salt:{account_number}".encode()).digest()[:16]
    return hash_pin(pin, salt=salt)


async def seed_demo(db: Database, *, now: dt.datetime | None = None) -> bool:
    """Seed the demo dataset if the database has no customers; True if it seeded.

    An explicit start-up step (the console, a SQLite development worker, `callcenter db
    upgrade --seed-demo`), never part of opening a database. Serialised across processes
    that find the same empty database at once.

    Args:
        db: an opened, migrated database.
        now: reference time all day offsets are relative to (aware); defaults to
            :func:`default_reference_now`. Tests pass :data:`DEMO_REFERENCE_NOW`.
    """
    ref = now or default_reference_now()
    if ref.tzinfo is None:
        raise ValueError("seed reference time must be timezone-aware")
    try:
        async with db.startup_transaction() as session:
            count = await session.scalar(sa.select(sa.func.count()).select_from(Customer))
            if count:
                return False
            await _insert(session, ref)
    finally:
        await db.engine.dispose()  # like Database.open: leave no connection tied to this loop
    log.info("seeded demo dataset")
    return True


async def _insert(session: AsyncSession, ref: dt.datetime) -> None:
    """Add every demo row (the caller owns the transaction)."""

    def at(day: int) -> dt.datetime:
        return ref + dt.timedelta(days=day)

    def on(day: int) -> dt.date:
        return (ref + dt.timedelta(days=day)).date()

    for spec in CUSTOMERS:
        customer = Customer(
            full_name=spec.full_name,
            email=spec.email,
            zip_code=spec.zip_code,
            account_number=spec.account_number,
            pin_hash=_demo_pin_hash(spec.account_number, spec.pin),
            created_at=at(spec.created_day),
            phones=[CustomerPhone(e164=e164, label=label) for e164, label in spec.phones],
        )
        session.add(customer)
        await session.flush()

        orders: dict[str, Order] = {}
        for o in spec.orders:
            order = Order(
                order_number=o.number,
                customer_id=customer.id,
                status=o.status,
                placed_at=at(o.placed_day) + dt.timedelta(hours=15),
                total_cents=o.total_cents,
                currency="USD",
                items=[
                    OrderItem(
                        sku=i.sku,
                        description=i.description,
                        quantity=i.quantity,
                        unit_price_cents=i.unit_price_cents,
                    )
                    for i in o.items
                ],
            )
            if o.shipment is not None:
                s = o.shipment
                order.shipments.append(
                    Shipment(
                        carrier=s.carrier,
                        tracking_number=s.tracking_number,
                        status=s.status,
                        shipped_at=None if s.shipped_day is None else at(s.shipped_day),
                        estimated_delivery=None if s.eta_day is None else on(s.eta_day),
                        delivered_at=(
                            None
                            if s.delivered_day is None
                            else at(s.delivered_day) + dt.timedelta(hours=18)
                        ),
                        last_location=s.last_location,
                    )
                )
            for r in o.returns:
                order.returns.append(
                    Return(
                        reason=r.reason,
                        status=r.status,
                        rma_number=r.rma_number,
                        created_at=at(r.created_day),
                    )
                )
            session.add(order)
            orders[o.number] = order
        await session.flush()

        invoices: dict[str, Invoice] = {}
        for inv in spec.invoices:
            invoice = Invoice(
                invoice_number=inv.number,
                customer_id=customer.id,
                issued_at=at(inv.issued_day),
                due_date=on(inv.due_day),
                status=inv.status,
                total_cents=inv.total_cents,
                currency="USD",
                lines=[
                    InvoiceLine(
                        description=line.description,
                        amount_cents=line.amount_cents,
                        order_id=orders[line.order_number].id if line.order_number else None,
                    )
                    for line in inv.lines
                ],
            )
            session.add(invoice)
            invoices[inv.number] = invoice
        await session.flush()

        for p in spec.payments:
            session.add(
                Payment(
                    customer_id=customer.id,
                    invoice_id=invoices[p.invoice_number].id if p.invoice_number else None,
                    amount_cents=p.amount_cents,
                    method=p.method,
                    card_last4=p.card_last4,
                    received_at=at(p.received_day) + dt.timedelta(hours=10),
                    status=p.status,
                )
            )
        await session.flush()

    for supervisor in SUPERVISORS:
        session.add(supervisor_row(supervisor))
    await session.flush()
