"""The scoped account repository: everything about ONE verified customer.

Security model: :class:`AccountRepository` is constructed for one verified customer and
every query it runs filters on that ``customer_id`` in SQL. An order/invoice number that
belongs to somebody else is indistinguishable from one that does not exist (``None`` /
``not_found`` / :class:`InvoiceNotFoundError`), so a caller cannot probe for other
customers' data by reading out numbers. Views never carry the PIN hash.

Reads are one prebuilt statement each (:mod:`callcenter.data.account_queries`); writes
(cancel, return, refund ticket) open their own short transaction. Business outcomes are
typed results; exceptions are for invalid input (:class:`RefundRequestError` and its
subclasses are ``ValueError``). Log lines carry ids and outcomes only. Reasons come from a
model and are redacted (:func:`callcenter.redaction.redact`) before they are stored.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from callcenter.data import billing_queries as bq
from callcenter.data import order_queries as oq
from callcenter.data.account_queries import clamp_limit
from callcenter.data.columns import utcnow
from callcenter.data.database import Database
from callcenter.data.enums import OrderStatus, ReturnStatus, TicketKind, TicketStatus
from callcenter.data.models import Invoice, Order, Return, Ticket
from callcenter.data.tickets import ticket_view
from callcenter.data.views import (
    BalanceView,
    CancelOutcome,
    InvoiceView,
    OrderView,
    PaymentView,
    ReturnOutcome,
    ReturnView,
    ShipmentView,
    TicketView,
)
from callcenter.money import format_cents
from callcenter.redaction import redact

__all__ = [
    "RETURN_WINDOW",
    "AccountRepository",
    "InvalidRefundAmountError",
    "InvoiceNotFoundError",
    "RefundRequestError",
]

log = logging.getLogger(__name__)

RETURN_WINDOW = dt.timedelta(days=30)
"""Returns are accepted up to 30 days after the shipment's ``delivered_at``."""


class RefundRequestError(ValueError):
    """A refund ticket could not be created from the given input."""


class InvoiceNotFoundError(RefundRequestError):
    """No such invoice for this customer (unknown, or belongs to someone else)."""


class InvalidRefundAmountError(RefundRequestError):
    """The amount is not in ``(0, invoice total]``."""


def _return_view(r: Return, order_number: str) -> ReturnView:
    return ReturnView(r.rma_number, order_number, r.reason, r.status, r.created_at)


class AccountRepository:
    """Everything about ONE verified customer. Every query filters on ``customer_id``."""

    def __init__(self, db: Database, customer_id: int) -> None:
        if isinstance(customer_id, bool) or not isinstance(customer_id, int):
            raise TypeError("customer_id must be an int")
        self._db = db
        self._customer_id = customer_id

    @property
    def customer_id(self) -> int:
        return self._customer_id

    # ----------------------------------------------------------------- orders

    async def get_order(self, order_number: str) -> OrderView | None:
        """The order with items and latest shipment, or None (unknown or not this customer's)."""
        number = oq.normalize_order_number(order_number)
        rows = await self._db.fetch_all(
            oq.GET_ORDER, {"customer_id": self._customer_id, "number": number}
        )
        views = oq.order_views(rows)
        return views[0] if views else None

    async def recent_orders(self, limit: int = 5) -> list[OrderView]:
        """Most recent orders first (index ``orders(customer_id, placed_at desc)``)."""
        rows = await self._db.fetch_all(
            oq.recent_orders(clamp_limit(limit)), {"customer_id": self._customer_id}
        )
        return oq.order_views(rows)

    async def get_shipment(self, order_number: str) -> ShipmentView | None:
        """Latest shipment of this customer's order, or None (no order / not shipped yet)."""
        number = oq.normalize_order_number(order_number)
        rows = await self._db.fetch_all(
            oq.GET_SHIPMENT, {"customer_id": self._customer_id, "number": number}
        )
        return ShipmentView(*rows[0]) if rows else None

    async def cancel_order(self, order_number: str) -> CancelOutcome:
        """Cancel a ``processing`` order. Atomic: a conditional UPDATE, then a status read."""
        number = oq.normalize_order_number(order_number)
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(Order)
                .where(
                    Order.customer_id == self._customer_id,
                    Order.order_number == number,
                    Order.status == OrderStatus.PROCESSING,
                )
                .values(status=OrderStatus.CANCELLED)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                outcome = CancelOutcome("cancelled", number, OrderStatus.CANCELLED)
            else:
                status = await s.scalar(
                    sa.select(Order.status).where(
                        Order.customer_id == self._customer_id, Order.order_number == number
                    )
                )
                if status is None:
                    outcome = CancelOutcome("not_found", number)
                elif status == OrderStatus.CANCELLED:
                    outcome = CancelOutcome("already_cancelled", number, status)
                else:
                    outcome = CancelOutcome("not_cancellable", number, status)
        log.info("cancel_order: customer_id=%s result=%s", self._customer_id, outcome.result)
        return outcome

    async def start_return(
        self,
        order_number: str,
        reason: str,
        *,
        now: dt.datetime | None = None,
        call_id: str | None = None,
    ) -> ReturnOutcome:
        """Open a return (RMA ``RMA-<order>-<n>``) for a delivered order within 30 days.

        ``now`` defaults to the current UTC time (tests pass a fixed one). Also opens a
        ``return`` ticket so staff see it. The order stays ``delivered`` until the goods
        are received (a later back-office step sets ``returned``).
        """
        number = oq.normalize_order_number(order_number)
        when = now or utcnow()
        if when.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        async with self._db.session() as s, s.begin():
            order = await s.scalar(
                sa.select(Order)
                .where(Order.customer_id == self._customer_id, Order.order_number == number)
                .options(selectinload(Order.shipments), selectinload(Order.returns))
                .with_for_update()
            )
            if order is None:
                outcome = ReturnOutcome("not_found", number)
            else:
                outcome = await self._start_return_locked(s, order, reason, when, call_id)
        log.info("start_return: customer_id=%s result=%s", self._customer_id, outcome.result)
        return outcome

    async def _start_return_locked(
        self,
        s: AsyncSession,
        order: Order,
        reason: str,
        now: dt.datetime,
        call_id: str | None,
    ) -> ReturnOutcome:
        number = order.order_number
        open_returns = [
            r for r in order.returns if r.status in (ReturnStatus.REQUESTED, ReturnStatus.RECEIVED)
        ]
        if open_returns:
            existing = open_returns[-1]
            return ReturnOutcome(
                "already_requested", number, order.status, _return_view(existing, number)
            )
        if order.status != OrderStatus.DELIVERED:
            return ReturnOutcome("not_returnable", number, order.status)
        delivered = [sh.delivered_at for sh in order.shipments if sh.delivered_at is not None]
        if not delivered:
            return ReturnOutcome("not_returnable", number, order.status)
        delivered_at = max(delivered)
        deadline = delivered_at + RETURN_WINDOW
        if now > deadline:
            return ReturnOutcome(
                "window_expired", number, order.status, delivered_at=delivered_at, deadline=deadline
            )
        clean_reason = redact((reason or "").strip()) or "not given"  # the model's words
        ret = Return(
            order_id=order.id,
            reason=clean_reason,
            status=ReturnStatus.REQUESTED,
            rma_number=f"RMA-{number}-{len(order.returns) + 1}",
            created_at=now,
        )
        s.add(ret)
        s.add(
            Ticket(
                kind=TicketKind.RETURN,
                customer_id=self._customer_id,
                call_id=call_id,
                reason=clean_reason,
                summary=f"Return requested for order {number} ({ret.rma_number})",
                status=TicketStatus.OPEN,
                created_at=now,
            )
        )
        await s.flush()
        return ReturnOutcome(
            "started",
            number,
            order.status,
            _return_view(ret, number),
            delivered_at=delivered_at,
            deadline=deadline,
        )

    # ----------------------------------------------------------------- billing

    async def balance(self, now: dt.datetime | None = None) -> BalanceView:
        """Outstanding balance at ``now`` (default: current time); see :class:`BalanceView`."""
        today = (now or utcnow()).astimezone(dt.UTC).date()
        [(open_cents, overdue_cents, next_due)] = await self._db.fetch_all(
            bq.BALANCE, {"customer_id": self._customer_id, "today": today}
        )
        return BalanceView(int(open_cents), int(overdue_cents), next_due)

    async def recent_invoices(self, limit: int = 5) -> list[InvoiceView]:
        """Most recent invoices first, with lines and paid amounts."""
        rows = await self._db.fetch_all(
            bq.recent_invoices(clamp_limit(limit)), {"customer_id": self._customer_id}
        )
        return bq.invoice_views(rows)

    async def get_invoice(self, invoice_number: str) -> InvoiceView | None:
        """One invoice with lines, or None (unknown or not this customer's)."""
        number = bq.normalize_invoice_number(invoice_number)
        rows = await self._db.fetch_all(
            bq.GET_INVOICE, {"customer_id": self._customer_id, "number": number}
        )
        views = bq.invoice_views(rows)
        return views[0] if views else None

    async def recent_payments(self, limit: int = 5) -> list[PaymentView]:
        """Most recent payments first (index ``payments(customer_id, received_at desc)``)."""
        rows = await self._db.fetch_all(
            bq.recent_payments(clamp_limit(limit)), {"customer_id": self._customer_id}
        )
        return [PaymentView(*row) for row in rows]

    async def create_refund_ticket(
        self,
        invoice_number: str,
        amount_cents: int,
        reason: str,
        call_id: str | None = None,
    ) -> TicketView:
        """Open a ``refund_request`` ticket for staff review. No money moves.

        Raises:
            InvoiceNotFoundError: invoice unknown or not this customer's.
            InvalidRefundAmountError: amount not an int in ``(0, invoice total]``.
        """
        number = bq.normalize_invoice_number(invoice_number)
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
            raise InvalidRefundAmountError("refund amount must be a whole number of cents")
        async with self._db.session() as s, s.begin():
            invoice = await s.scalar(
                sa.select(Invoice).where(
                    Invoice.customer_id == self._customer_id, Invoice.invoice_number == number
                )
            )
            if invoice is None:
                raise InvoiceNotFoundError(f"no invoice {number} on this account")
            if not 0 < amount_cents <= invoice.total_cents:
                raise InvalidRefundAmountError(
                    f"refund amount must be more than $0.00 and at most the invoice total "
                    f"{format_cents(invoice.total_cents, invoice.currency)}"
                )
            ticket = Ticket(
                kind=TicketKind.REFUND_REQUEST,
                customer_id=self._customer_id,
                call_id=call_id,
                reason=redact((reason or "").strip()) or "not given",
                summary=(
                    f"Refund request of {format_cents(amount_cents, invoice.currency)} "
                    f"on invoice {number}"
                ),
                amount_cents=amount_cents,
                invoice_number=number,
                status=TicketStatus.OPEN,
                created_at=utcnow(),
            )
            s.add(ticket)
            await s.flush()
            view = ticket_view(ticket)
        log.info("refund ticket created: ticket_id=%s customer_id=%s", view.id, self._customer_id)
        return view
