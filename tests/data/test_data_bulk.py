"""Bulk generator: fast Core inserts that keep the repositories and sequences working."""

from __future__ import annotations

import sqlalchemy as sa

from callcenter.data import (
    DEMO_REFERENCE_NOW,
    AccountRepository,
    CustomerDirectory,
    Database,
    TicketStore,
)
from callcenter.data.bulk import generate_orders
from callcenter.data.models import Order, OrderItem


async def test_generate_orders(db: Database) -> None:
    result = await generate_orders(db, n_orders=2500, n_customers=40, seed=7, batch_size=1000)
    assert (result.orders, result.customers) == (2500, 40)
    async with db.session() as s:
        n_orders = await s.scalar(sa.select(sa.func.count()).select_from(Order))
        n_items = await s.scalar(sa.select(sa.func.count()).select_from(OrderItem))
    assert n_orders == 2500 + 15  # + demo orders
    assert n_items == result.items + 16

    first = await CustomerDirectory(db).find_by_phone(f"+1555{result.first_customer_id:07d}")
    assert first is not None
    repo = AccountRepository(db, first.id)
    recent = await repo.recent_orders(limit=50)
    assert recent, "every bulk customer gets orders with 2500 orders over 40 customers"
    assert await repo.get_order(recent[0].order_number) == recent[0]
    async with db.session() as s:
        owner = await s.scalar(
            sa.select(Order.customer_id).where(Order.order_number == result.order_number(0))
        )
    assert owner is not None
    owner_view = await AccountRepository(db, owner).get_order(result.order_number(0))
    assert owner_view is not None
    if owner != first.id:
        assert await repo.get_order(result.order_number(0)) is None

    # ORM inserts still work after explicit ids (PostgreSQL sequences were bumped).
    ticket = await TicketStore(db).create_callback("+14155550142", "after bulk")
    assert ticket.id >= 1


async def test_generate_orders_is_deterministic(db: Database) -> None:
    a = await generate_orders(db, n_orders=200, n_customers=5, seed=1)
    async with db.session() as s:
        rows_a = (
            await s.execute(
                sa.select(Order.customer_id - a.first_customer_id, Order.status, Order.total_cents)
                .where(Order.id >= a.first_order_id)
                .order_by(Order.id)
            )
        ).all()
    b = await generate_orders(db, n_orders=200, n_customers=5, seed=1)
    async with db.session() as s:
        rows_b = (
            await s.execute(
                sa.select(Order.customer_id - b.first_customer_id, Order.status, Order.total_cents)
                .where(Order.id >= b.first_order_id)
                .order_by(Order.id)
            )
        ).all()
    assert rows_a == rows_b


async def test_generate_orders_with_billing(db: Database) -> None:
    result = await generate_orders(
        db, n_orders=600, n_customers=10, seed=3, batch_size=250, with_billing=True
    )
    assert result.invoices > 0 and result.payments > 0
    first = await CustomerDirectory(db).find_by_phone(f"+1555{result.first_customer_id:07d}")
    assert first is not None
    repo = AccountRepository(db, first.id)
    invoices = await repo.recent_invoices(limit=50)
    assert invoices and all(i.invoice_number.startswith("INV-B") for i in invoices)
    inv = await repo.get_invoice(invoices[0].invoice_number)
    assert inv is not None and inv.lines[0].amount_cents == inv.total_cents
    assert inv.lines[0].order_number is not None
    balance = await repo.balance(DEMO_REFERENCE_NOW)
    assert balance.total_due_cents >= 0
    assert await repo.recent_payments()
    # Daniel cannot see bulk invoices.
    daniel = await CustomerDirectory(db).find_by_phone("+12125550199")
    assert daniel is not None
    assert await AccountRepository(db, daniel.id).get_invoice(invoices[0].invoice_number) is None
