"""AccountRepository, orders: reads, cancel, returns, and scoping to one customer."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa

from callcenter.data import (
    AccountRepository,
    Database,
    OrderStatus,
    ReturnStatus,
    ShipmentStatus,
    TicketKind,
    TicketStore,
    normalize_order_number,
)
from callcenter.data.models import Order, Return
from callcenter.data.seed import DEMO_REFERENCE_NOW

NOW = DEMO_REFERENCE_NOW


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1001", "1001"), ("#1001", "1001"), (" 10 01 ", "1001"), ("10-01", "1001"), ("ab-1", "AB-1")],
)
def test_normalize_order_number(raw: str, expected: str) -> None:
    assert normalize_order_number(raw) == expected


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


def test_customer_id_must_be_int(db: Database) -> None:
    with pytest.raises(TypeError):
        AccountRepository(db, "1")  # type: ignore[arg-type]
