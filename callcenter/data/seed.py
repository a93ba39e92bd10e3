"""Deterministic demo dataset: 4 customers, their orders/shipments/returns/billing, 3 supervisors.

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
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

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
    Return,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
    Supervisor,
    TransferMode,
)
from callcenter.data.security import hash_pin

__all__ = [
    "DEMO_CUSTOMERS",
    "DEMO_REFERENCE_NOW",
    "DEMO_SUPERVISORS",
    "DemoCustomer",
    "DemoSupervisor",
    "default_reference_now",
    "demo_data_text",
    "seed_demo_data",
]

DEMO_REFERENCE_NOW = dt.datetime(2025, 6, 2, 0, 0, tzinfo=dt.UTC)
"""Fixed reference time tests seed with (a Monday)."""


def default_reference_now() -> dt.datetime:
    """Start of the current UTC day: stable for a whole day, so re-seeding is repeatable."""
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- spec types


@dataclass(frozen=True)
class _Item:
    sku: str
    description: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class _Ship:
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    shipped_day: int | None
    eta_day: int | None
    delivered_day: int | None = None
    last_location: str | None = None


@dataclass(frozen=True)
class _Ret:
    reason: str
    status: ReturnStatus
    rma_number: str
    created_day: int


@dataclass(frozen=True)
class _Order:
    number: str
    status: OrderStatus
    placed_day: int
    items: tuple[_Item, ...]
    shipment: _Ship | None = None
    returns: tuple[_Ret, ...] = ()

    @property
    def total_cents(self) -> int:
        return sum(i.quantity * i.unit_price_cents for i in self.items)


@dataclass(frozen=True)
class _Line:
    description: str
    amount_cents: int
    order_number: str | None = None


@dataclass(frozen=True)
class _Invoice:
    number: str
    status: InvoiceStatus
    issued_day: int
    due_day: int
    lines: tuple[_Line, ...]

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True)
class _Payment:
    invoice_number: str | None
    amount_cents: int
    method: PaymentMethod
    card_last4: str | None
    received_day: int
    status: PaymentStatus = PaymentStatus.COMPLETED


@dataclass(frozen=True)
class _Customer:
    full_name: str
    email: str
    zip_code: str
    account_number: str
    pin: str
    phones: tuple[tuple[str, str], ...]
    created_day: int
    orders: tuple[_Order, ...]
    invoices: tuple[_Invoice, ...]
    payments: tuple[_Payment, ...]


_S = ShipmentStatus
_O = OrderStatus
_I = InvoiceStatus

_SPEC: tuple[_Customer, ...] = (
    _Customer(
        full_name="Maya Patel",
        email="maya.patel@example.com",
        zip_code="94107",
        account_number="ACC-100042",
        pin="4421",
        phones=(("+14155550142", "mobile"), ("+14155550143", "home")),
        created_day=-400,
        orders=(
            _Order(
                "1001",
                _O.SHIPPED,
                -3,
                (
                    _Item("HP-200", "Wireless headphones", 1, 12999),
                    _Item("CBL-USB-C", "USB-C cable, 1 m", 2, 1299),
                ),
                _Ship("UPS", "1Z999AA10123456784", _S.IN_TRANSIT, -2, 2, None, "Oakland, CA"),
            ),
            _Order("1002", _O.PROCESSING, -1, (_Item("MUG-11", "Ceramic mug, 11 oz", 2, 1450),)),
            _Order(
                "1003",
                _O.DELIVERED,
                -12,
                (_Item("LAMP-DSK", "LED desk lamp", 1, 4999),),
                _Ship(
                    "USPS", "9400111899223100012345", _S.DELIVERED, -10, -7, -7, "San Francisco, CA"
                ),
            ),
            _Order(
                "1004",
                _O.DELIVERED,
                -80,
                (_Item("BKPK-20", "Travel backpack, 20 L", 1, 8900),),
                _Ship("FedEx", "771234567890", _S.DELIVERED, -78, -75, -75, "San Francisco, CA"),
            ),
            _Order("1005", _O.CANCELLED, -20, (_Item("TSHIRT-M", "Cotton T-shirt, M", 3, 1800),)),
        ),
        invoices=(
            _Invoice(
                "INV-2001",
                _I.PAID,
                -45,
                -15,
                (_Line("Order 1004 merchandise", 8900, "1004"), _Line("Standard shipping", 599)),
            ),
            _Invoice(
                "INV-2002",
                _I.OPEN,
                -3,
                27,
                (
                    _Line("Order 1001 merchandise", 15597, "1001"),
                    _Line("Premium support plan, monthly", 999),
                ),
            ),
            _Invoice(
                "INV-2003",
                _I.OVERDUE,
                -40,
                -10,
                (_Line("Premium support plan, monthly", 999), _Line("Late payment fee", 500)),
            ),
        ),
        payments=(_Payment("INV-2001", 9499, PaymentMethod.CARD, "4242", -20),),
    ),
    _Customer(
        full_name="Daniel Okafor",
        email="daniel.okafor@example.com",
        zip_code="10001",
        account_number="ACC-100077",
        pin="7788",
        phones=(("+12125550199", "mobile"),),
        created_day=-300,
        orders=(
            _Order(
                "2001",
                _O.DELIVERED,
                -9,
                (_Item("KETTLE-EL", "Electric kettle", 1, 3999),),
                _Ship("UPS", "1Z999AA10123456791", _S.DELIVERED, -7, -3, -3, "New York, NY"),
            ),
            _Order(
                "2002",
                _O.SHIPPED,
                -4,
                (_Item("SHOE-RUN-10", "Running shoes, size 10", 1, 11000),),
                _Ship("FedEx", "771234567891", _S.OUT_FOR_DELIVERY, -2, 0, None, "Brooklyn, NY"),
            ),
            _Order(
                "2003",
                _O.RETURNED,
                -50,
                (_Item("JKT-RAIN-L", "Rain jacket, L", 1, 7500),),
                _Ship("UPS", "1Z999AA10123456802", _S.DELIVERED, -48, -45, -45, "New York, NY"),
                (_Ret("Too small", ReturnStatus.RECEIVED, "RMA-2003-1", -40),),
            ),
        ),
        invoices=(
            _Invoice(
                "INV-2004", _I.PAID, -50, -20, (_Line("Order 2003 merchandise", 7500, "2003"),)
            ),
            _Invoice(
                "INV-2005",
                _I.OPEN,
                -4,
                26,
                (
                    _Line("Order 2001 merchandise", 3999, "2001"),
                    _Line("Order 2002 merchandise", 11000, "2002"),
                ),
            ),
        ),
        payments=(
            _Payment("INV-2004", 7500, PaymentMethod.ACH, None, -25),
            _Payment("INV-2005", 5000, PaymentMethod.CARD, "1881", -2),
        ),
    ),
    _Customer(
        full_name="Sofia Ramirez",
        email="sofia.ramirez@example.com",
        zip_code="60601",
        account_number="ACC-100318",
        pin="2580",
        phones=(("+13125550123", "mobile"),),
        created_day=-200,
        orders=(
            _Order(
                "3001",
                _O.PROCESSING,
                -1,
                (_Item("COFFEE-1KG", "Whole bean coffee, 1 kg", 2, 2400),),
            ),
            _Order(
                "3002",
                _O.SHIPPED,
                -6,
                (_Item("BLNDR-PRO", "Countertop blender", 1, 8999),),
                _Ship(
                    "USPS",
                    "9400111899223100067890",
                    _S.EXCEPTION,
                    -5,
                    -1,
                    None,
                    "Chicago, IL (address issue)",
                ),
            ),
            _Order(
                "3003",
                _O.DELIVERED,
                -35,
                (_Item("YOGA-MAT", "Yoga mat", 1, 3500),),
                _Ship("UPS", "1Z999AA10123456813", _S.DELIVERED, -33, -31, -31, "Chicago, IL"),
            ),
        ),
        invoices=(
            _Invoice(
                "INV-2006",
                _I.OVERDUE,
                -45,
                -15,
                (_Line("Order 3003 merchandise", 3500, "3003"), _Line("Standard shipping", 599)),
            ),
            _Invoice("INV-2007", _I.PAID, -75, -45, (_Line("Annual membership", 4900),)),
        ),
        payments=(_Payment("INV-2007", 4900, PaymentMethod.CARD, "0005", -50),),
    ),
    _Customer(
        full_name="James Chen",
        email="james.chen@example.com",
        zip_code="02139",
        account_number="ACC-100555",
        pin="0007",
        phones=(("+16175550188", "mobile"), ("+16175550189", "work")),
        created_day=-150,
        orders=(
            _Order(
                "4001",
                _O.SHIPPED,
                -2,
                (_Item("MON-27", "27-inch monitor", 1, 24999),),
                _Ship("UPS", "1Z999AA10123456824", _S.LABEL_CREATED, None, 5),
            ),
            _Order(
                "4002",
                _O.DELIVERED,
                -33,
                (_Item("KB-MECH", "Mechanical keyboard", 1, 9900),),
                _Ship("DHL", "JD014600003828391234", _S.DELIVERED, -31, -29, -29, "Cambridge, MA"),
            ),
            _Order("4003", _O.CANCELLED, -15, (_Item("MOUSE-WL", "Wireless mouse", 1, 2999),)),
            _Order("4004", _O.PROCESSING, -1, (_Item("HUB-USB", "USB-C hub", 1, 3499),)),
        ),
        invoices=(
            _Invoice(
                "INV-2008", _I.OPEN, -2, 28, (_Line("Order 4001 merchandise", 24999, "4001"),)
            ),
            _Invoice(
                "INV-2009", _I.PAID, -33, -3, (_Line("Order 4002 merchandise", 9900, "4002"),)
            ),
        ),
        payments=(_Payment("INV-2009", 9900, PaymentMethod.ACH, None, -10),),
    ),
)

# --------------------------------------------------------------------------- public description


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
    for c in _SPEC
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


@dataclass(frozen=True)
class DemoSupervisor:
    name: str
    contact: str
    skills: tuple[str, ...]
    timezone: str
    working_hours: dict[str, list[list[str]]]
    priority: int
    transfer_mode: TransferMode


def _weekdays(start: str, end: str) -> dict[str, list[list[str]]]:
    return {d: [[start, end]] for d in ("mon", "tue", "wed", "thu", "fri")}


DEMO_SUPERVISORS: tuple[DemoSupervisor, ...] = (
    DemoSupervisor(
        "Alex Rivera",
        "+14155550100",
        ("general",),
        "America/Los_Angeles",
        _weekdays("09:00", "17:00"),
        10,
        TransferMode.WARM,
    ),
    DemoSupervisor(
        "Priya Shah",
        "sip:billing-lead@pbx.example.com",
        ("billing",),
        "America/New_York",
        _weekdays("08:00", "16:00"),
        10,
        TransferMode.WARM,
    ),
    DemoSupervisor(
        "Marcus Lee",
        "+14155550101",
        ("orders", "general"),
        "America/Chicago",
        {**_weekdays("09:00", "17:00"), "sat": [["10:00", "14:00"]]},
        20,
        TransferMode.COLD,
    ),
)

# --------------------------------------------------------------------------- seeding


@functools.lru_cache(maxsize=16)
def _demo_pin_hash(account_number: str, pin: str) -> str:
    """Demo PIN hash with a salt derived from the account number (reproducible rows).

    Real customers get random salts from :func:`hash_pin`; cached because scrypt is slow
    by design and tests seed many databases.
    """
    salt = hashlib.sha256(f"callcenter-demo-salt:{account_number}".encode()).digest()[:16]
    return hash_pin(pin, salt=salt)


async def seed_demo_data(session: AsyncSession, *, now: dt.datetime | None = None) -> None:
    """Insert the demo dataset into an empty database (caller owns the transaction).

    Args:
        session: an open session; this function only adds and flushes.
        now: reference time all day offsets are relative to (aware); defaults to
            :func:`default_reference_now`. Tests pass :data:`DEMO_REFERENCE_NOW`.
    """
    ref = now or default_reference_now()
    if ref.tzinfo is None:
        raise ValueError("seed reference time must be timezone-aware")

    def at(day: int) -> dt.datetime:
        return ref + dt.timedelta(days=day)

    def on(day: int) -> dt.date:
        return (ref + dt.timedelta(days=day)).date()

    for spec in _SPEC:
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

    for sup in DEMO_SUPERVISORS:
        session.add(
            Supervisor(
                name=sup.name,
                contact=sup.contact,
                skills=list(sup.skills),
                timezone=sup.timezone,
                working_hours=sup.working_hours,
                priority=sup.priority,
                active=True,
                transfer_mode=sup.transfer_mode,
            )
        )
    await session.flush()
