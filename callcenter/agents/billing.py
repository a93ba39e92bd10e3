"""BILLING: the pipeline specialist for balance, invoices, charges, payments, refunds.

Reads go through `CallState.account()`, scoped to the verified customer. No money moves
on this line: a refund request opens a ticket for a human billing specialist.
"""

from __future__ import annotations

from typing import Annotated

from livekit.agents import RunContext, ToolError, function_tool
from pydantic import Field

from callcenter import end_of_turn
from callcenter.agents.base import CallAgent
from callcenter.agents.describe import (
    describe_balance,
    describe_invoice,
    describe_payment,
)
from callcenter.agents.handoff import handoff
from callcenter.agents.step_up import require_strong
from callcenter.core.phases import Phase
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.data import RefundRequestError
from callcenter.money import format_cents, parse_amount_to_cents
from callcenter.redaction import preview
from callcenter.speech import digits_in

MAX_SAID = 200
"""Characters of a said number or amount the tools read; the schema refuses longer ones."""

InvoiceNumber = Annotated[
    str,
    Field(
        description="The invoice number as the caller said it, e.g. 'INV-2001' or '2001'.",
        max_length=MAX_SAID,
    ),
]


def parse_invoice_number(raw: str) -> str:
    """'inv 2001', 'two zero zero one' → 'INV-2001'; `ToolError` when there is no number
    (echoing at most a short, masked prefix of what it was given)."""
    digits = digits_in(raw[:MAX_SAID])
    if not 3 <= len(digits) <= 10:
        raise ToolReply(
            say="That is not an invoice number. Invoice numbers look like INV-2001.",
            do=f"The number given began {preview(raw)!r}. Ask the caller to read it again, "
            "or offer to list their recent invoices.",
        ).error()
    return f"INV-{digits}"


class BillingAgent(CallAgent):
    phase = Phase.BILLING
    prompt = "billing"
    expecting = end_of_turn.INVOICE_NUMBER

    def prompt_facts(self) -> dict[str, object]:
        first_name = self.state.caller.first_name if self.state.caller else "the caller"
        return {**super().prompt_facts(), "first_name": first_name}

    @function_tool
    async def get_balance(self, ctx: RunContext[CallState]) -> ToolReply:
        """The caller's current balance: what is open, what is overdue, the next due date."""
        balance = await ctx.userdata.account().balance()
        ctx.userdata.note("checked balance")
        return ToolReply(say=describe_balance(balance))

    @function_tool
    async def list_invoices(
        self,
        ctx: RunContext[CallState],
        limit: Annotated[int, Field(ge=1, le=10, description="How many, newest first.")] = 3,
    ) -> ToolReply:
        """List the caller's most recent invoices with amount, date and status."""
        invoices = await ctx.userdata.account().recent_invoices(limit=limit)
        if not invoices:
            return ToolReply(say="There are no invoices on this account.")
        ctx.userdata.note("listed invoices")
        return ToolReply(say=" ".join(describe_invoice(i) for i in invoices))

    @function_tool
    async def explain_charge(
        self, ctx: RunContext[CallState], invoice_number: InvoiceNumber
    ) -> ToolReply:
        """Explain what an invoice charged for, line by line."""
        number = parse_invoice_number(invoice_number)
        invoice = await ctx.userdata.account().get_invoice(number)
        if invoice is None:
            raise _not_found(number)
        ctx.userdata.note(f"explained invoice {number}")
        return ToolReply(say=describe_invoice(invoice, with_lines=True))

    @function_tool
    async def payment_history(
        self,
        ctx: RunContext[CallState],
        limit: Annotated[int, Field(ge=1, le=10, description="How many, newest first.")] = 3,
    ) -> ToolReply:
        """The caller's recent payments: date, amount, method (card last four only)."""
        payments = await ctx.userdata.account().recent_payments(limit=limit)
        if not payments:
            return ToolReply(say="There are no payments on this account yet.")
        ctx.userdata.note("reviewed payment history")
        return ToolReply(say=" ".join(describe_payment(p) for p in payments))

    @function_tool
    async def request_refund(
        self,
        ctx: RunContext[CallState],
        invoice_number: InvoiceNumber,
        amount: Annotated[
            str,
            Field(
                description="The amount to refund as the caller said it, e.g. '12.50'.",
                max_length=MAX_SAID,
            ),
        ],
        reason: Annotated[
            str, Field(description="Why the caller wants the refund, briefly.", max_length=500)
        ],
    ) -> ToolReply:
        """Open a refund request ticket for a billing specialist. No money moves now.

        Tell the caller the ticket number and that a person will review it.
        """
        number = parse_invoice_number(invoice_number)
        try:
            cents = parse_amount_to_cents(amount[:MAX_SAID])
        except ValueError:
            raise ToolReply(
                say="I couldn't read that amount.",
                do=f"The amount given began {preview(amount)!r}. Ask the caller for the "
                "amount again, in dollars and cents.",
            ).error() from None
        state = ctx.userdata
        state.account()  # an unverified caller is refused before any step-up
        refused = await require_strong(ctx, action="open the refund request")
        if refused is not None:
            return refused
        try:
            ticket = await state.account().create_refund_ticket(
                number, cents, reason, call_id=state.call.call_id
            )
        except RefundRequestError as exc:
            raise ToolReply(say=str(exc)).error() from None
        ticket_ref = f"R-{ticket.id}"
        state.note(f"opened refund ticket {ticket_ref} for {format_cents(cents)}")
        return ToolReply(
            say=f"Refund request {ticket_ref} is open for {format_cents(cents)} on "
            f"invoice {number}. A billing specialist reviews it within two business days; "
            "no money has moved yet."
        )

    @function_tool
    async def transfer_to_orders(self, ctx: RunContext[CallState]) -> object:
        """Hand the caller to the orders specialist for orders, deliveries or returns."""
        return handoff(ctx, Phase.ORDERS, reason="caller asked about an order")

    @function_tool
    async def finish_request(self, ctx: RunContext[CallState]) -> object:
        """The caller's billing question is answered: move on to wrapping up the call."""
        return handoff(ctx, Phase.WRAP_UP, reason="billing request done")


def _not_found(number: str) -> ToolError:
    return ToolReply(
        say=f"No invoice {number} was found on your account.",
        do="Ask them to check the number, or offer to list their recent invoices.",
    ).error()
