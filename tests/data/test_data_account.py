"""AccountRepository: happy paths, edge cases and — above all — scoping to one customer."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from callcenter.data import (
    DEMO_REFERENCE_NOW,
    AccountRepository,
    Database,
    InvalidRefundAmountError,
    InvoiceNotFoundError,
    InvoiceStatus,
    OrderStatus,
    RefundRequestError,
    ReturnStatus,
    ShipmentStatus,
    TicketKind,
    TicketStatus,
    TicketStore,
)
from callcenter.data.models import Order, Return

NOW = DEMO_REFERENCE_NOW


# ------------------------------------------------------------------ orders


async def test_get_order_with_items_and_shipment(db: Database, maya_id: int) -> None:
    order = await AccountRepository(db, maya_id).get_order("1001")
    assert order is not None
    assert order.status is OrderStatus.SHIPPED
    assert order.total_cents == 15597 == sum(i.line_total_cents for i in order.items)
    assert [i.sku for i in order.items] == ["HP-200", "CBL-USB-C"]
    assert order.shipment is not None
    assert order.shipment.carrier == "UPS"
    assert order.shipment.tracking_number == "1Z999AA10123456784"
    assert order.shipment.status is ShipmentStatus.IN_TRANSIT
    assert order.shipment.estimated_delivery == (NOW + dt.timedelta(days=2)).date()
    assert order.placed_at.tzinfo is not None
    assert order.placed_at.utcoffset() == dt.timedelta(0)


async def test_get_order_normalises_number(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    for spoken in ("#1001", " 1001 ", "10-01", "1 0 0 1"):
        order = await repo.get_order(spoken)
        assert order is not None and order.order_number == "1001"


async def test_processing_order_has_no_shipment(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    order = await repo.get_order("1002")
    assert order is not None and order.status is OrderStatus.PROCESSING
    assert order.shipment is None
    assert await repo.get_shipment("1002") is None


async def test_get_shipment(db: Database, maya_id: int) -> None:
    shipment = await AccountRepository(db, maya_id).get_shipment("1003")
    assert shipment is not None
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.delivered_at is not None and shipment.delivered_at.tzinfo is not None


async def test_recent_orders_newest_first(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    orders = await repo.recent_orders()
    assert [o.order_number for o in orders] == ["1002", "1001", "1003", "1005", "1004"]
    assert [o.order_number for o in await repo.recent_orders(limit=2)] == ["1002", "1001"]
    assert len(await repo.recent_orders(limit=0)) == 1  # clamped to at least one


async def test_other_customers_order_is_invisible(
    db: Database, maya_id: int, daniel_id: int
) -> None:
    maya = AccountRepository(db, maya_id)
    assert await maya.get_order("2001") is None
    assert await maya.get_order("9999") is None
    assert await maya.get_shipment("2002") is None
    assert all(o.order_number.startswith("1") for o in await maya.recent_orders(limit=50))
    assert await AccountRepository(db, daniel_id).get_order("1001") is None


# ------------------------------------------------------------------ cancel


async def test_cancel_processing_order(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    outcome = await repo.cancel_order("1002")
    assert outcome.ok and outcome.result == "cancelled"
    assert outcome.status is OrderStatus.CANCELLED
    order = await repo.get_order("1002")
    assert order is not None and order.status is OrderStatus.CANCELLED
    again = await repo.cancel_order("1002")
    assert again.result == "already_cancelled" and not again.ok


async def test_cancel_shipped_is_not_cancellable(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    outcome = await repo.cancel_order("1001")
    assert outcome.result == "not_cancellable"
    assert outcome.status is OrderStatus.SHIPPED
    delivered = await repo.cancel_order("1003")
    assert delivered.result == "not_cancellable" and delivered.status is OrderStatus.DELIVERED
    order = await repo.get_order("1001")
    assert order is not None and order.status is OrderStatus.SHIPPED


async def test_concurrent_cancels_cancel_once(db: Database, sofia_id: int) -> None:
    repo = AccountRepository(db, sofia_id)
    results = await asyncio.gather(*(repo.cancel_order("3001") for _ in range(4)))
    assert sorted(r.result for r in results) == ["already_cancelled"] * 3 + ["cancelled"]


async def test_cancel_previously_cancelled(db: Database, maya_id: int) -> None:
    outcome = await AccountRepository(db, maya_id).cancel_order("1005")
    assert outcome.result == "already_cancelled"


async def test_cancel_other_customers_order_is_not_found(
    db: Database, maya_id: int, james_id: int
) -> None:
    # 4004 is James's *processing* order: Maya must not be able to cancel it.
    outcome = await AccountRepository(db, maya_id).cancel_order("4004")
    assert outcome.result == "not_found" and outcome.status is None
    assert (await AccountRepository(db, maya_id).cancel_order("0000")).result == "not_found"
    order = await AccountRepository(db, james_id).get_order("4004")
    assert order is not None and order.status is OrderStatus.PROCESSING


# ------------------------------------------------------------------ returns


async def test_start_return_within_window(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    outcome = await repo.start_return("1003", "Flickers when dimmed", now=NOW, call_id="call-1")
    assert outcome.ok and outcome.result == "started"
    assert outcome.return_ is not None
    assert outcome.return_.rma_number == "RMA-1003-1"
    assert outcome.return_.status is ReturnStatus.REQUESTED
    assert outcome.return_.order_number == "1003"
    assert outcome.deadline is not None and outcome.deadline > NOW
    again = await repo.start_return("1003", "again", now=NOW)
    assert again.result == "already_requested"
    assert again.return_ is not None and again.return_.rma_number == "RMA-1003-1"
    tickets = await TicketStore(db).list_open(kind=TicketKind.RETURN)
    assert [t.call_id for t in tickets] == ["call-1"]
    assert tickets[0].customer_id == maya_id


async def test_return_rma_counts_previous_returns(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    first = await repo.start_return("1003", "wrong colour", now=NOW)
    assert first.return_ is not None
    async with db.session() as s, s.begin():
        await s.execute(
            sa.update(Return)
            .where(Return.rma_number == first.return_.rma_number)
            .values(status=ReturnStatus.REJECTED)
        )
    second = await repo.start_return("1003", "wrong colour", now=NOW)
    assert second.return_ is not None and second.return_.rma_number == "RMA-1003-2"


async def test_return_window_boundaries(db: Database, james_id: int, sofia_id: int) -> None:
    # James's 4002 was delivered ~28 days before NOW; Sofia's 3003 ~30.25 days before.
    assert (await AccountRepository(db, james_id).start_return("4002", "x", now=NOW)).ok
    expired = await AccountRepository(db, sofia_id).start_return("3003", "x", now=NOW)
    assert expired.result == "window_expired"
    assert expired.deadline is not None and expired.deadline < NOW
    assert expired.delivered_at is not None


async def test_return_outside_window_later_now(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    assert (await repo.start_return("1004", "x", now=NOW)).result == "window_expired"
    late = await repo.start_return("1003", "x", now=NOW + dt.timedelta(days=30))
    assert late.result == "window_expired"


async def test_return_not_delivered(db: Database, maya_id: int, daniel_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    for number, status in (("1001", OrderStatus.SHIPPED), ("1002", OrderStatus.PROCESSING)):
        outcome = await repo.start_return(number, "x", now=NOW)
        assert outcome.result == "not_returnable" and outcome.status is status
    returned = await AccountRepository(db, daniel_id).start_return("2003", "x", now=NOW)
    assert returned.result == "already_requested"  # RMA-2003-1 already received


async def test_return_other_customers_order(db: Database, maya_id: int) -> None:
    outcome = await AccountRepository(db, maya_id).start_return("2001", "x", now=NOW)
    assert outcome.result == "not_found"
    async with db.session() as s:
        n = await s.scalar(
            sa.select(sa.func.count())
            .select_from(Return)
            .join(Order)
            .where(Order.order_number == "2001")
        )
    assert n == 0


async def test_return_requires_aware_now(db: Database, maya_id: int) -> None:
    with pytest.raises(ValueError):
        await AccountRepository(db, maya_id).start_return("1003", "x", now=dt.datetime(2025, 6, 1))


# ------------------------------------------------------------------ billing


async def test_balance(db: Database, maya_id: int, daniel_id: int, james_id: int) -> None:
    maya = await AccountRepository(db, maya_id).balance(NOW)
    assert maya.open_cents == 16596  # INV-2002
    assert maya.overdue_cents == 1499  # INV-2003
    assert maya.total_due_cents == 18095
    assert maya.next_due_date == (NOW + dt.timedelta(days=27)).date()
    daniel = await AccountRepository(db, daniel_id).balance(NOW)
    assert (daniel.open_cents, daniel.overdue_cents) == (14999 - 5000, 0)  # part-paid
    later = await AccountRepository(db, james_id).balance(NOW + dt.timedelta(days=40))
    assert (later.open_cents, later.overdue_cents, later.next_due_date) == (0, 24999, None)


async def test_recent_invoices(db: Database, maya_id: int) -> None:
    invoices = await AccountRepository(db, maya_id).recent_invoices()
    assert [i.invoice_number for i in invoices] == ["INV-2002", "INV-2003", "INV-2001"]
    assert [i.status for i in invoices] == [
        InvoiceStatus.OPEN,
        InvoiceStatus.OVERDUE,
        InvoiceStatus.PAID,
    ]
    paid = invoices[2]
    assert paid.paid_cents == paid.total_cents == 9499 and paid.balance_cents == 0


async def test_get_invoice_with_lines(db: Database, maya_id: int, daniel_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    inv = await repo.get_invoice("INV-2002")
    assert inv is not None
    assert inv.total_cents == sum(line.amount_cents for line in inv.lines) == 16596
    assert [(line.order_number, line.amount_cents) for line in inv.lines] == [
        ("1001", 15597),
        (None, 999),
    ]
    assert (await repo.get_invoice("inv 2002")) == inv
    assert (await repo.get_invoice("2002")) == inv
    assert (await repo.get_invoice("invoice #2002")) == inv
    daniel_inv = await AccountRepository(db, daniel_id).get_invoice("INV-2005")
    assert daniel_inv is not None and daniel_inv.paid_cents == 5000
    assert daniel_inv.balance_cents == 9999


async def test_other_customers_invoice_is_invisible(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    assert await repo.get_invoice("INV-2004") is None
    assert await repo.get_invoice("INV-9999") is None


async def test_recent_payments(db: Database, daniel_id: int, maya_id: int) -> None:
    payments = await AccountRepository(db, daniel_id).recent_payments()
    assert [(p.invoice_number, p.amount_cents) for p in payments] == [
        ("INV-2005", 5000),
        ("INV-2004", 7500),
    ]
    assert payments[0].card_last4 == "1881" and payments[1].card_last4 is None
    maya = await AccountRepository(db, maya_id).recent_payments(limit=10)
    assert [p.invoice_number for p in maya] == ["INV-2001"]


async def test_create_refund_ticket(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    ticket = await repo.create_refund_ticket("INV-2001", 599, "Shipping was free", "call-9")
    assert ticket.kind is TicketKind.REFUND_REQUEST
    assert ticket.status is TicketStatus.OPEN
    assert ticket.amount_cents == 599
    assert ticket.invoice_number == "INV-2001"
    assert ticket.customer_id == maya_id and ticket.call_id == "call-9"
    assert "$5.99" in ticket.summary
    full = await repo.create_refund_ticket("inv-2001", 9499, "all of it")
    assert full.amount_cents == 9499
    open_ids = [t.id for t in await TicketStore(db).list_open(kind=TicketKind.REFUND_REQUEST)]
    assert open_ids == [ticket.id, full.id]


@pytest.mark.parametrize("amount", [0, -100, 9500])
async def test_refund_amount_out_of_range(db: Database, maya_id: int, amount: int) -> None:
    with pytest.raises(InvalidRefundAmountError) as info:
        await AccountRepository(db, maya_id).create_refund_ticket("INV-2001", amount, "x")
    assert isinstance(info.value, ValueError)
    assert "$94.99" in str(info.value)


async def test_refund_amount_must_be_int_cents(db: Database, maya_id: int) -> None:
    with pytest.raises(InvalidRefundAmountError):
        await AccountRepository(db, maya_id).create_refund_ticket(
            "INV-2001",
            5.5,  # type: ignore[arg-type]
            "x",
        )


async def test_refund_on_other_customers_invoice(db: Database, maya_id: int) -> None:
    repo = AccountRepository(db, maya_id)
    for number in ("INV-2004", "INV-9999"):
        with pytest.raises(InvoiceNotFoundError) as info:
            await repo.create_refund_ticket(number, 100, "x")
        assert isinstance(info.value, RefundRequestError)
    assert await TicketStore(db).list_open(kind=TicketKind.REFUND_REQUEST) == []


def test_customer_id_must_be_int(db: Database) -> None:
    with pytest.raises(TypeError):
        AccountRepository(db, "1")  # type: ignore[arg-type]
