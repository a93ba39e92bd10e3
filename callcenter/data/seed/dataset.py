"""The demo dataset as data: 4 customers with orders, shipments, returns and billing, and
3 supervisors.

Day numbers are offsets from the seeding reference time (see :mod:`callcenter.data.seed`).
Edit the customers here; the seeder, ``callcenter demo-data`` and the tests all read
this one spec, so they cannot drift.
"""

from __future__ import annotations

from callcenter.data.enums import (
    InvoiceStatus,
    OrderStatus,
    PaymentMethod,
    ReturnStatus,
    ShipmentStatus,
)
from callcenter.data.seed.spec import (
    Customer,
    DemoInvoice,
    DemoOrder,
    DemoPayment,
    Item,
    Line,
    Ret,
    Ship,
)
from callcenter.staff import Supervisor

__all__ = ["CUSTOMERS", "SUPERVISORS"]

_S = ShipmentStatus
_O = OrderStatus
_I = InvoiceStatus

CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        full_name="Maya Patel",
        email="maya.patel@example.com",
        zip_code="94107",
        account_number="ACC-100042",
        pin="4421",
        phones=(("+14155550142", "mobile"), ("+14155550143", "home")),
        created_day=-400,
        orders=(
            DemoOrder(
                "1001",
                _O.SHIPPED,
                -3,
                (
                    Item("HP-200", "Wireless headphones", 1, 12999),
                    Item("CBL-USB-C", "USB-C cable, 1 m", 2, 1299),
                ),
                Ship("UPS", "1Z999AA10123456784", _S.IN_TRANSIT, -2, 2, None, "Oakland, CA"),
            ),
            DemoOrder("1002", _O.PROCESSING, -1, (Item("MUG-11", "Ceramic mug, 11 oz", 2, 1450),)),
            DemoOrder(
                "1003",
                _O.DELIVERED,
                -12,
                (Item("LAMP-DSK", "LED desk lamp", 1, 4999),),
                Ship(
                    "USPS", "9400111899223100012345", _S.DELIVERED, -10, -7, -7, "San Francisco, CA"
                ),
            ),
            DemoOrder(
                "1004",
                _O.DELIVERED,
                -80,
                (Item("BKPK-20", "Travel backpack, 20 L", 1, 8900),),
                Ship("FedEx", "771234567890", _S.DELIVERED, -78, -75, -75, "San Francisco, CA"),
            ),
            DemoOrder("1005", _O.CANCELLED, -20, (Item("TSHIRT-M", "Cotton T-shirt, M", 3, 1800),)),
        ),
        invoices=(
            DemoInvoice(
                "INV-2001",
                _I.PAID,
                -45,
                -15,
                (Line("Order 1004 merchandise", 8900, "1004"), Line("Standard shipping", 599)),
            ),
            DemoInvoice(
                "INV-2002",
                _I.OPEN,
                -3,
                27,
                (
                    Line("Order 1001 merchandise", 15597, "1001"),
                    Line("Premium support plan, monthly", 999),
                ),
            ),
            DemoInvoice(
                "INV-2003",
                _I.OVERDUE,
                -40,
                -10,
                (Line("Premium support plan, monthly", 999), Line("Late payment fee", 500)),
            ),
        ),
        payments=(DemoPayment("INV-2001", 9499, PaymentMethod.CARD, "4242", -20),),
    ),
    Customer(
        full_name="Daniel Okafor",
        email="daniel.okafor@example.com",
        zip_code="10001",
        account_number="ACC-100077",
        pin="7788",
        phones=(("+12125550199", "mobile"),),
        created_day=-300,
        orders=(
            DemoOrder(
                "2001",
                _O.DELIVERED,
                -9,
                (Item("KETTLE-EL", "Electric kettle", 1, 3999),),
                Ship("UPS", "1Z999AA10123456791", _S.DELIVERED, -7, -3, -3, "New York, NY"),
            ),
            DemoOrder(
                "2002",
                _O.SHIPPED,
                -4,
                (Item("SHOE-RUN-10", "Running shoes, size 10", 1, 11000),),
                Ship("FedEx", "771234567891", _S.OUT_FOR_DELIVERY, -2, 0, None, "Brooklyn, NY"),
            ),
            DemoOrder(
                "2003",
                _O.RETURNED,
                -50,
                (Item("JKT-RAIN-L", "Rain jacket, L", 1, 7500),),
                Ship("UPS", "1Z999AA10123456802", _S.DELIVERED, -48, -45, -45, "New York, NY"),
                (Ret("Too small", ReturnStatus.RECEIVED, "RMA-2003-1", -40),),
            ),
        ),
        invoices=(
            DemoInvoice(
                "INV-2004", _I.PAID, -50, -20, (Line("Order 2003 merchandise", 7500, "2003"),)
            ),
            DemoInvoice(
                "INV-2005",
                _I.OPEN,
                -4,
                26,
                (
                    Line("Order 2001 merchandise", 3999, "2001"),
                    Line("Order 2002 merchandise", 11000, "2002"),
                ),
            ),
        ),
        payments=(
            DemoPayment("INV-2004", 7500, PaymentMethod.ACH, None, -25),
            DemoPayment("INV-2005", 5000, PaymentMethod.CARD, "1881", -2),
        ),
    ),
    Customer(
        full_name="Sofia Ramirez",
        email="sofia.ramirez@example.com",
        zip_code="60601",
        account_number="ACC-100318",
        pin="2580",
        phones=(("+13125550123", "mobile"),),
        created_day=-200,
        orders=(
            DemoOrder(
                "3001",
                _O.PROCESSING,
                -1,
                (Item("COFFEE-1KG", "Whole bean coffee, 1 kg", 2, 2400),),
            ),
            DemoOrder(
                "3002",
                _O.SHIPPED,
                -6,
                (Item("BLNDR-PRO", "Countertop blender", 1, 8999),),
                Ship(
                    "USPS",
                    "9400111899223100067890",
                    _S.EXCEPTION,
                    -5,
                    -1,
                    None,
                    "Chicago, IL (address issue)",
                ),
            ),
            DemoOrder(
                "3003",
                _O.DELIVERED,
                -35,
                (Item("YOGA-MAT", "Yoga mat", 1, 3500),),
                Ship("UPS", "1Z999AA10123456813", _S.DELIVERED, -33, -31, -31, "Chicago, IL"),
            ),
        ),
        invoices=(
            DemoInvoice(
                "INV-2006",
                _I.OVERDUE,
                -45,
                -15,
                (Line("Order 3003 merchandise", 3500, "3003"), Line("Standard shipping", 599)),
            ),
            DemoInvoice("INV-2007", _I.PAID, -75, -45, (Line("Annual membership", 4900),)),
        ),
        payments=(DemoPayment("INV-2007", 4900, PaymentMethod.CARD, "0005", -50),),
    ),
    Customer(
        full_name="James Chen",
        email="james.chen@example.com",
        zip_code="02139",
        account_number="ACC-100555",
        pin="0007",
        phones=(("+16175550188", "mobile"), ("+16175550189", "work")),
        created_day=-150,
        orders=(
            DemoOrder(
                "4001",
                _O.SHIPPED,
                -2,
                (Item("MON-27", "27-inch monitor", 1, 24999),),
                Ship("UPS", "1Z999AA10123456824", _S.LABEL_CREATED, None, 5),
            ),
            DemoOrder(
                "4002",
                _O.DELIVERED,
                -33,
                (Item("KB-MECH", "Mechanical keyboard", 1, 9900),),
                Ship("DHL", "JD014600003828391234", _S.DELIVERED, -31, -29, -29, "Cambridge, MA"),
            ),
            DemoOrder("4003", _O.CANCELLED, -15, (Item("MOUSE-WL", "Wireless mouse", 1, 2999),)),
            DemoOrder("4004", _O.PROCESSING, -1, (Item("HUB-USB", "USB-C hub", 1, 3499),)),
        ),
        invoices=(
            DemoInvoice(
                "INV-2008", _I.OPEN, -2, 28, (Line("Order 4001 merchandise", 24999, "4001"),)
            ),
            DemoInvoice(
                "INV-2009", _I.PAID, -33, -3, (Line("Order 4002 merchandise", 9900, "4002"),)
            ),
        ),
        payments=(DemoPayment("INV-2009", 9900, PaymentMethod.ACH, None, -10),),
    ),
)

SUPERVISORS: tuple[Supervisor, ...] = (
    Supervisor.create(
        name="Alex Rivera",
        contact="+14155550100",
        skills=["general"],
        timezone="America/Los_Angeles",
        working_hours="mon-fri 09:00-17:00",
        priority=10,
    ),
    Supervisor.create(
        name="Priya Shah",
        contact="sip:billing-lead@pbx.example.com",
        skills=["billing"],
        timezone="America/New_York",
        working_hours="mon-fri 08:00-16:00",
        priority=10,
    ),
    Supervisor.create(
        name="Marcus Lee",
        contact="+14155550101",
        skills=["orders", "general"],
        timezone="America/Chicago",
        working_hours="mon-fri 09:00-17:00, sat 10:00-14:00",
        priority=20,
        transfer_mode="cold",
    ),
)
"""Validated like any other supervisor (`Supervisor.create`)."""
