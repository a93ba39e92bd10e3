"""ORDERS: the pipeline specialist for orders, tracking, cancellations and returns.

Every tool reads through `CallState.account()`, the repository scoped to the verified
customer: an order number that belongs to someone else is indistinguishable from one
that does not exist. Each tool returns a `ToolReply`: facts for the caller (`say`, read
verbatim by the degraded mode) apart from the model's next step (`do`); amounts are
formatted in code, never by the model.
"""

from __future__ import annotations

from typing import Annotated

from livekit.agents import RunContext, ToolError, function_tool
from pydantic import Field

from callcenter import end_of_turn
from callcenter.agents.base import CallAgent
from callcenter.agents.describe import (
    describe_cancel,
    describe_order,
    describe_return,
    describe_shipment,
)
from callcenter.agents.handoff import handoff
from callcenter.agents.step_up import require_strong
from callcenter.core.phases import Phase
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.redaction import preview
from callcenter.speech import digits_in

MAX_SAID = 200
"""Characters of a said number the tools read; the schema refuses longer arguments."""

OrderNumber = Annotated[
    str,
    Field(
        description="The order number exactly as the caller said it, e.g. '1001'.",
        max_length=MAX_SAID,
    ),
]


def parse_order_number(raw: str) -> str:
    """Digits of an order number as said; `ToolError` the model can act on otherwise (it
    echoes at most a short, masked prefix of what it was given)."""
    digits = digits_in(raw[:MAX_SAID])
    if not 3 <= len(digits) <= 12:
        raise ToolReply(
            say="That is not an order number. Order numbers are 4 digits, like 1001.",
            do=f"The number given began {preview(raw)!r}. Ask the caller to read it again, "
            "or offer to list their recent orders.",
        ).error()
    return digits


class OrdersAgent(CallAgent):
    phase = Phase.ORDERS
    prompt = "orders"
    expecting = end_of_turn.ORDER_NUMBER

    def prompt_facts(self) -> dict[str, object]:
        first_name = self.state.caller.first_name if self.state.caller else "the caller"
        return {**super().prompt_facts(), "first_name": first_name}

    @function_tool
    async def lookup_order(
        self, ctx: RunContext[CallState], order_number: OrderNumber
    ) -> ToolReply:
        """Look up one of the caller's orders: status, items, total and delivery."""
        number = parse_order_number(order_number)
        order = await ctx.userdata.account().get_order(number)
        if order is None:
            raise _not_found(number)
        ctx.userdata.note(f"looked up order {number}")
        return ToolReply(say=describe_order(order))

    @function_tool
    async def list_recent_orders(
        self,
        ctx: RunContext[CallState],
        limit: Annotated[int, Field(ge=1, le=10, description="How many orders, newest first.")] = 3,
    ) -> ToolReply:
        """List the caller's most recent orders with their status."""
        orders = await ctx.userdata.account().recent_orders(limit=limit)
        if not orders:
            return ToolReply(say="You have no orders on this account.")
        ctx.userdata.note("listed recent orders")
        return ToolReply(say=" ".join(describe_order(o, brief=True) for o in orders))

    @function_tool
    async def track_shipment(
        self, ctx: RunContext[CallState], order_number: OrderNumber
    ) -> ToolReply:
        """Where an order's package is: carrier, tracking status, expected delivery."""
        number = parse_order_number(order_number)
        order = await ctx.userdata.account().get_order(number)
        if order is None:
            raise _not_found(number)
        ctx.userdata.note(f"tracked order {number}")
        if order.shipment is None:
            status = order.status.replace("_", " ")
            return ToolReply(say=f"Order {number} has not shipped yet; it is {status}.")
        return ToolReply(say=describe_shipment(number, order.shipment))

    @function_tool
    async def cancel_order(
        self,
        ctx: RunContext[CallState],
        order_number: OrderNumber,
        confirmed: Annotated[
            bool,
            Field(
                description="False to check and ask the caller; true only after the caller "
                "clearly said yes to cancelling this order."
            ),
        ] = False,
    ) -> ToolReply:
        """Cancel an order that has not shipped yet. Two steps: check, then confirm.

        Call first with confirmed=false and ask the caller to confirm what it returns.
        Call again with confirmed=true only after the caller says yes.
        """
        number = parse_order_number(order_number)
        account = ctx.userdata.account()
        order = await account.get_order(number)
        if order is None:
            raise _not_found(number)
        if order.status != "processing":
            raise ToolReply(
                say=f"Order {number} is {order.status} and can no longer be cancelled.",
                do="Offer to start a return instead." if order.status == "delivered" else "",
            ).error()
        if not confirmed:
            end_of_turn.expect_answer(ctx.session, end_of_turn.CONFIRMATION)
            return ToolReply(
                say=f"Order {number}, {describe_order(order, brief=True, with_number=False)} "
                "can be cancelled. Should I cancel it?",
                do="Do not cancel until the caller says yes.",
            )
        refused = await require_strong(ctx, action="cancel the order")
        if refused is not None:
            return refused
        outcome = await ctx.userdata.account().cancel_order(number)
        if not outcome.ok:
            raise ToolReply(say=describe_cancel(outcome)).error()
        ctx.userdata.note(f"cancelled order {number}")
        return ToolReply(say=describe_cancel(outcome))

    @function_tool
    async def start_return(
        self,
        ctx: RunContext[CallState],
        order_number: OrderNumber,
        reason: Annotated[
            str, Field(description="Why the caller is returning it, briefly.", max_length=500)
        ],
    ) -> ToolReply:
        """Start a return for a delivered order; gives the return (RMA) number."""
        number = parse_order_number(order_number)
        ctx.userdata.account()  # an unverified caller is refused before any step-up
        refused = await require_strong(ctx, action="start the return")
        if refused is not None:
            return refused
        outcome = await ctx.userdata.account().start_return(
            number, reason, call_id=ctx.userdata.call.call_id
        )
        if outcome.result not in ("started", "already_requested"):
            raise ToolReply(say=describe_return(outcome)).error()
        ctx.userdata.note(f"started return for order {number}")
        return ToolReply(say=describe_return(outcome))

    @function_tool
    async def transfer_to_billing(self, ctx: RunContext[CallState]) -> object:
        """Hand the caller to the billing specialist for bills, charges or refunds."""
        return handoff(ctx, Phase.BILLING, reason="caller asked about billing")

    @function_tool
    async def finish_request(self, ctx: RunContext[CallState]) -> object:
        """The caller's order question is answered: move on to wrapping up the call."""
        return handoff(ctx, Phase.WRAP_UP, reason="orders request done")


def _not_found(number: str) -> ToolError:
    return ToolReply(
        say=f"No order {number} was found on your account.",
        do="Ask them to check the number, or offer to list their recent orders.",
    ).error()
