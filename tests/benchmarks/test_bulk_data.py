"""Bulk generator: fast Core inserts that keep the repositories and sequences working."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from benchmarks.bulk_data import bulk_phone, generate_orders
from callcenter.data import (
    AccountRepository,
    BalanceView,
    CustomerDirectory,
    Database,
    TicketStore,
)
from callcenter.data.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from callcenter.data.seed import DEMO_REFERENCE_NOW


async def test_generate_orders(db: Database) -> None:
    result = await generate_orders(db, n_orders=2500, n_customers=40, seed=7, batch_size=1000)
    assert (result.orders, result.customers) == (2500, 40)
    async with db.session() as s:
        n_orders = await s.scalar(sa.select(sa.func.count()).select_from(Order))
        n_items = await s.scalar(sa.select(sa.func.count()).select_from(OrderItem))
    assert n_orders == 2500 + 15  # + demo orders
    assert n_items == result.items + 16

    first = await CustomerDirectory(db).find_by_phone(bulk_phone(result.first_customer_id))
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
    first = await CustomerDirectory(db).find_by_phone(bulk_phone(result.first_customer_id))
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


async def test_generate_orders_billing_rows_and_relations(db: Database) -> None:
    """``with_billing``: one invoice + line per non-cancelled order, a payment per paid one."""
    now = DEMO_REFERENCE_NOW
    result = await generate_orders(
        db, n_orders=900, n_customers=6, seed=11, batch_size=400, now=now, with_billing=True
    )
    orders_t, invoices_t = Order.__table__, Invoice.__table__
    lines_t, payments_t = InvoiceLine.__table__, Payment.__table__
    async with db.engine.connect() as conn:
        orders = {
            r.id: r
            for r in await conn.execute(
                sa.select(orders_t).where(orders_t.c.id >= result.first_order_id)
            )
        }
        invoices = {
            r.id: r
            for r in await conn.execute(
                sa.select(invoices_t).where(invoices_t.c.invoice_number.like("INV-B%"))
            )
        }
        lines = (
            await conn.execute(sa.select(lines_t).where(lines_t.c.invoice_id.in_(list(invoices))))
        ).all()
        payments = (
            await conn.execute(
                sa.select(payments_t).where(payments_t.c.invoice_id.in_(list(invoices)))
            )
        ).all()
        other_payments = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(payments_t)
            .where(payments_t.c.customer_id >= result.first_customer_id)
            .where(payments_t.c.invoice_id.not_in(list(invoices)))
        )

    billable = {oid for oid, o in orders.items() if o.status != OrderStatus.CANCELLED}
    assert len(orders) == result.orders == 900
    assert len(invoices) == result.invoices == len(billable) > 0
    # Exactly one line per invoice, pointing at its own (non-cancelled) order.
    assert sorted(line.invoice_id for line in lines) == sorted(invoices)
    assert {line.order_id for line in lines} == billable
    for line in lines:
        inv, order = invoices[line.invoice_id], orders[line.order_id]
        assert inv.invoice_number == f"INV-B{order.id}"
        assert line.description == f"Order {order.order_number}"
        assert inv.customer_id == order.customer_id
        assert inv.total_cents == line.amount_cents == order.total_cents
        assert inv.issued_at == order.placed_at
        assert inv.due_date == (order.placed_at + dt.timedelta(days=30)).date()
        age = now - order.placed_at
        expected = (
            InvoiceStatus.PAID
            if age > dt.timedelta(days=60)
            else InvoiceStatus.OVERDUE
            if age > dt.timedelta(days=30)
            else InvoiceStatus.OPEN
        )
        assert inv.status == expected
    # One completed card payment per paid invoice, none elsewhere.
    paid_ids = {i for i, inv in invoices.items() if inv.status == InvoiceStatus.PAID}
    assert len(payments) == result.payments == len(paid_ids) > 0
    assert sorted(p.invoice_id for p in payments) == sorted(paid_ids)
    assert other_payments == 0
    for p in payments:
        inv = invoices[p.invoice_id]
        assert p.customer_id == inv.customer_id
        assert p.amount_cents == inv.total_cents
        assert (p.status, p.method) == (PaymentStatus.COMPLETED, PaymentMethod.CARD)
        assert p.received_at == inv.issued_at + dt.timedelta(days=4)
    assert {i.status for i in invoices.values()} == set(InvoiceStatus)

    # The billing tools agree with the rows for a bulk customer.
    customer = result.first_customer_id
    mine = [i for i in invoices.values() if i.customer_id == customer]
    repo = AccountRepository(db, customer)
    today = now.date()
    unpaid = [i for i in mine if i.status != InvoiceStatus.PAID]
    late = [i for i in unpaid if i.status == InvoiceStatus.OVERDUE or i.due_date < today]
    still_open = [i for i in unpaid if i not in late]
    assert late and still_open
    assert await repo.balance(now) == BalanceView(
        sum(i.total_cents for i in still_open),
        sum(i.total_cents for i in late),
        min((i.due_date for i in still_open), default=None),
    )
    newest = sorted(mine, key=lambda i: (i.issued_at, i.id), reverse=True)[:5]
    views = await repo.recent_invoices(5)
    assert [v.invoice_number for v in views] == [i.invoice_number for i in newest]
    for v, i in zip(views, newest, strict=True):
        assert v.paid_cents == (i.total_cents if i.status == InvoiceStatus.PAID else 0)
        order = orders[int(i.invoice_number.removeprefix("INV-B"))]
        assert [line.order_number for line in v.lines] == [order.order_number]

    # Sequences were bumped past the explicit ids: ORM inserts still get fresh ids.
    async with db.transaction() as s:
        new_invoice = Invoice(
            invoice_number="INV-AFTER-BULK",
            customer_id=customer,
            issued_at=now,
            due_date=now.date(),
            status=InvoiceStatus.OPEN,
            total_cents=1,
            currency="USD",
        )
        s.add(new_invoice)
        await s.flush()
        new_payment = Payment(
            customer_id=customer,
            invoice_id=new_invoice.id,
            amount_cents=1,
            method=PaymentMethod.ACH,
            received_at=now,
            status=PaymentStatus.PENDING,
        )
        s.add(new_payment)
        await s.flush()
        assert new_invoice.id > max(invoices)
        assert new_payment.id > max(p.id for p in payments)
