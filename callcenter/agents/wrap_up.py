"""WRAP_UP: "anything else?" — back to triage, or a polite goodbye and hang-up."""

from __future__ import annotations

from livekit.agents import RunContext, function_tool

from callcenter.agents.base import CallAgent
from callcenter.agents.handoff import handoff
from callcenter.core.phases import Phase
from callcenter.core.state import CallState


class WrapUpAgent(CallAgent):
    phase = Phase.WRAP_UP
    prompt = "wrap_up"

    async def on_enter(self) -> None:
        # the move here marked the request resolved (`CallState.route_to`)
        self.session.generate_reply(
            instructions="Confirm briefly that it's done and ask if there is anything else."
        )

    @function_tool
    async def help_with_something_else(self, ctx: RunContext[CallState]) -> object:
        """The caller has another request: route them again."""
        return handoff(ctx, Phase.GREETING, reason="caller has another request")
