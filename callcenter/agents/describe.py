"""Account facts as short sentences to be spoken. Amounts and dates formatted in code.

Tools put these in the `say` part of their `ToolReply`: the model repeats them, and the
degraded mode reads them verbatim, so they are written for the ear and to the caller
("your account"): one fact per clause, no symbols but `$`.
"""

from __future__ import annotations

from callcenter.data import (
    BalanceView,
    CancelOutcome,
    InvoiceView,
    OrderView,
    PaymentView,
    ReturnOutcome,
    ShipmentView,
)
from callcenter.money import format_cents
from callcenter.speech import spoken_date


def _words(value: str) -> str:
    return str(value).replace("_", " ")


def describe_order(order: OrderView, *, brief: bool = False, with_number: bool = True) -> str:
    """'Order 1001, placed March 3, 2026, is shipped: ... Total $84.50.'"""
    head = f"Order {order.order_number}, " if with_number else ""
    placed = f"placed {spoken_date(order.placed_at)}"
    if brief:
        return (
            f"{head}{placed}, is {_words(order.status)}, total {format_cents(order.total_cents)}."
        )
    items = ", ".join(
        f"{i.quantity} {i.description}" if i.quantity > 1 else i.description for i in order.items
    )
    text = (
        f"{head}{placed}, is {_words(order.status)}. Items: {items}. "
        f"Total {format_cents(order.total_cents)}."
    )
    if order.shipment is not None:
        text += " " + describe_shipment(order.order_number, order.shipment)
    return text


def describe_shipment(order_number: str, shipment: ShipmentView) -> str:
    """Carrier, status, where it is, when it arrives; tracking number's last 4 only."""
    head = f"Order {order_number} shipped with {shipment.carrier}"
    if shipment.tracking_number:
        head += f", tracking number ending {shipment.tracking_number[-4:]}"
    status = [f"It is {_words(shipment.status)}"]
    if shipment.delivered_at is not None:
        status.append(f"delivered on {spoken_date(shipment.delivered_at)}")
    else:
        if shipment.last_location:
            status.append(f"last seen in {shipment.last_location}")
        if shipment.estimated_delivery is not None:
            status.append(f"expected by {spoken_date(shipment.estimated_delivery)}")
    return f"{head}. {', '.join(status)}."


def describe_cancel(outcome: CancelOutcome) -> str:
    if outcome.result == "cancelled":
        return f"Order {outcome.order_number} is now cancelled. Any charge for it is voided."
    if outcome.result == "already_cancelled":
        return f"Order {outcome.order_number} was already cancelled."
    if outcome.result == "not_found":
        return f"No order {outcome.order_number} was found on your account."
    return (
        f"Order {outcome.order_number} is {_words(outcome.status or 'not cancellable')} and "
        "can no longer be cancelled."
    )


def describe_return(outcome: ReturnOutcome) -> str:
    number = outcome.order_number
    if outcome.return_ is not None and outcome.result in ("started", "already_requested"):
        verb = "is started" if outcome.result == "started" else "was already requested"
        return (
            f"A return for order {number} {verb}. The return number is "
            f"{outcome.return_.rma_number}. A prepaid label is sent by email."
        )
    if outcome.result == "window_expired" and outcome.deadline is not None:
        return (
            f"Order {number} is past its 30 day return window, which ended "
            f"{spoken_date(outcome.deadline)}."
        )
    if outcome.result == "not_found":
        return f"No order {number} was found on your account."
    status = _words(outcome.status or "not delivered")
    return f"Order {number} is {status}, so it cannot be returned yet."


def describe_invoice(invoice: InvoiceView, *, with_lines: bool = False) -> str:
    text = (
        f"Invoice {invoice.invoice_number}, issued {spoken_date(invoice.issued_at)}, for "
        f"{format_cents(invoice.total_cents)}, is {_words(invoice.status)}"
    )
    if invoice.balance_cents and invoice.status != "paid":
        text += f", {format_cents(invoice.balance_cents)} due by {spoken_date(invoice.due_date)}"
    text += "."
    if with_lines and invoice.lines:
        lines = "; ".join(
            f"{line.description}"
            + (f" for order {line.order_number}" if line.order_number else "")
            + f", {format_cents(line.amount_cents)}"
            for line in invoice.lines
        )
        text += f" It covers: {lines}."
    return text


def describe_payment(payment: PaymentView) -> str:
    method = (
        f"card ending {payment.card_last4}"
        if payment.card_last4
        else ("bank transfer" if payment.method == "ach" else _words(payment.method))
    )
    target = f" toward invoice {payment.invoice_number}" if payment.invoice_number else ""
    return (
        f"{format_cents(payment.amount_cents)} by {method} on "
        f"{spoken_date(payment.received_at)}{target}, {_words(payment.status)}."
    )


def describe_balance(balance: BalanceView) -> str:
    if balance.total_due_cents == 0:
        return "The account is paid in full: nothing is due."
    parts = [f"The balance due is {format_cents(balance.total_due_cents)}"]
    if balance.overdue_cents:
        parts.append(f"of which {format_cents(balance.overdue_cents)} is overdue")
    if balance.next_due_date is not None and balance.open_cents:
        parts.append(
            f"{format_cents(balance.open_cents)} is due by {spoken_date(balance.next_due_date)}"
        )
    return ", ".join(parts) + "."
