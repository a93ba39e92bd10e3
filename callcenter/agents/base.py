"""What every phase agent shares: the call state, the shared tools, one reply on entry."""

from __future__ import annotations

from typing import ClassVar

from livekit.agents import llm
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from callcenter import prompts
from callcenter.agents.shared_tools import SHARED_TOOLS, end_call_tool
from callcenter.barge_in import BackchannelFilter
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.fillers import SilenceFiller


class CallAgent(BackchannelFilter, SilenceFiller):
    """Base of the phase agents.

    Subclasses set `phase` (the phase they run: `agents/catalog.py` lists them by it) and
    `prompt`, add their own `@function_tool` methods, and
    supply prompt facts through `prompt_facts()`. Tools shared by every phase
    (`transfer_to_human`, `request_callback`, `end_call`) are added here, so escalation
    is reachable from everywhere by construction.
    """

    phase: ClassVar[Phase]
    prompt: ClassVar[str]

    def __init__(
        self,
        state: CallState,
        *,
        chat_ctx: llm.ChatContext | None = None,
        llm_model: NotGivenOr[llm.LLM | llm.RealtimeModel | None] = NOT_GIVEN,
    ) -> None:
        self.state = state
        super().__init__(
            instructions=prompts.render(self.prompt, caller_facing=True, **self.prompt_facts()),
            chat_ctx=chat_ctx,
            tools=[*SHARED_TOOLS, end_call_tool()],
            llm=llm_model,
        )

    def prompt_facts(self) -> dict[str, object]:
        """Facts from code that the prompt interpolates (never from the model)."""
        return {"company": self.state.deps.settings.company_name}

    async def on_enter(self) -> None:
        """Answer once on entry: the caller's request is already in the spoken history."""
        self.session.generate_reply(instructions=ENTRY_INSTRUCTIONS)


ENTRY_INSTRUCTIONS = (
    "You have just taken over this call. Do not greet again or repeat what was said. "
    "If the caller's request is clear from the conversation, act on it now with your tools; "
    "otherwise ask one short question about what they need."
)
