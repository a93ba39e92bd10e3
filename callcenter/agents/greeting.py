"""GREETING: the realtime-model agent that greets, triages and routes.

It never answers account questions: it has no account tools. Routing to a specialist
runs the verification task first when the caller is not yet verified.
"""

from __future__ import annotations

from livekit.agents import RunContext, function_tool, llm
from livekit.agents.types import NOT_GIVEN

from callcenter import prompts
from callcenter.agents.base import CallAgent
from callcenter.agents.handoff import handoff, spoken_history
from callcenter.agents.verification import OFFER_PERSON, VerifyCallerTask
from callcenter.core.phases import Phase
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.vocabulary import Intent, VerificationStatus


class GreetingAgent(CallAgent):
    phase = Phase.GREETING
    prompt = "greeting"

    def __init__(
        self, state: CallState, *, chat_ctx: llm.ChatContext | None = None, resumed: bool = False
    ) -> None:
        self.resumed = resumed
        """True when rebuilt mid-conversation (realtime → pipeline): do not greet again."""
        model = state.deps.greeting_model
        # None means "no realtime model for this call": use the session's pipeline LLM
        super().__init__(state, chat_ctx=chat_ctx, llm_model=model if model else NOT_GIVEN)

    def prompt_facts(self) -> dict[str, object]:
        returning = bool(self.state.phase_history)
        context = (
            "The caller is back from another request: ask what else you can help with."
            if returning
            else f"Open with: thanks for calling {self.state.deps.settings.company_name}, "
            "how can I help today?"
        )
        return {**super().prompt_facts(), "caller_context": context}

    async def on_enter(self) -> None:
        if self.resumed:
            self.session.generate_reply(
                instructions="Apologise briefly for the pause and continue where you left off."
            )
        elif self.state.phase_history:
            self.session.generate_reply()
        else:
            self.session.generate_reply(
                instructions="Greet the caller in one short sentence and ask how you can help."
            )

    @function_tool
    async def route_to_orders(self, ctx: RunContext[CallState]) -> object:
        """Route the caller to the orders specialist.

        Use for orders, deliveries, package tracking, cancellations and returns. The
        caller's identity is verified first when needed; you do not need to ask for it.
        """
        return await self._route(ctx, "orders", Phase.ORDERS)

    @function_tool
    async def route_to_billing(self, ctx: RunContext[CallState]) -> object:
        """Route the caller to the billing specialist.

        Use for bills, invoices, charges, balance, payments and refunds. The caller's
        identity is verified first when needed; you do not need to ask for it.
        """
        return await self._route(ctx, "billing", Phase.BILLING)

    async def _route(self, ctx: RunContext[CallState], intent: Intent, target: Phase) -> object:
        state = ctx.userdata
        if not state.accounts_available:
            return ToolReply(say=prompts.line("accounts.unavailable"), do=OFFER_PERSON)
        if not state.verified:
            if not state.can_verify:
                # spent or locked earlier in this call: a new route never starts again
                return ToolReply(say=prompts.line("verification.locked_for_call"), do=OFFER_PERSON)
            state.start_verification(intent)
            result = await VerifyCallerTask(state, chat_ctx=spoken_history(ctx.session))
            if state.ended:  # a supervisor took the call during verification
                return ToolReply(do="The call has ended; say nothing more.")
            if result.status is VerificationStatus.VERIFIED:
                return handoff(ctx, target, reason=f"caller wants help with {intent}")
            state.end_verification(reason=f"verification {result.status}")
            if result.unavailable:
                return ToolReply(say=prompts.line("accounts.unavailable"), do=OFFER_PERSON)
            if result.status is VerificationStatus.LOCKED:
                return await state.deps.escalation.escalate(
                    ctx, reason="The caller could not verify their identity."
                )
            if result.status is VerificationStatus.ACCOUNT_LOCKED:
                return await state.deps.escalation.escalate(
                    ctx, reason="The account is locked for phone verification."
                )
            return ToolReply(do=OFFER_PERSON)  # the caller stopped (the task said so)
        return handoff(ctx, target, reason=f"caller wants help with {intent}")
