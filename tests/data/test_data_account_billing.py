"""AccountRepository, billing: balance, invoices, payments, refund tickets, and scoping."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.data import (
    AccountRepository,
    Database,
    InvalidRefundAmountError,
    InvoiceNotFoundError,
    InvoiceStatus,
    RefundRequestError,
    TicketKind,
    TicketStatus,
    TicketStore,
    normalize_invoice_number,
)
from callcenter.data.seed import DEMO_REFERENCE_NOW

NOW = DEMO_REFERENCE_NOW


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("INV-2001", "INV-2001"),
        ("inv 2001", "INV-2001"),
        ("inv2001", "INV-2001"),
        ("Invoice #2001", "INV-2001"),
        ("2001", "INV-2001"),
        ("INV-B42", "INV-B42"),
    ],
)
def test_normalize_invoice_number(raw: str, expected: str) -> None:
    assert normalize_invoice_number(raw) == expected


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
