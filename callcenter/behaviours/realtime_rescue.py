"""When every realtime model has failed, the greeting carries on over the pipeline.

`GreetingRealtimeChain` (`callcenter.framework.realtime_chain`) turns the exhaustion of its
models into a callback instead of an unrecoverable error; this behaviour answers it: the
call's greeting model is dropped, the switch is recorded, and a greeting agent built on the
session's pipeline LLM takes over with the conversation so far (and does not greet again).
"""

from __future__ import annotations

import logging

from livekit.agents import AgentSession, llm

from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.handoff import spoken_history
from callcenter.core.state import CallState
from callcenter.providers import Providers

logger = logging.getLogger("callcenter.call")


class RealtimeRescue:
    def __init__(self, session: AgentSession[CallState], state: CallState) -> None:
        self.session = session
        self.state = state

    def attach(self, providers: Providers) -> RealtimeRescue:
        if providers.realtime is not None:
            providers.realtime.on_exhausted = self.greeting_to_pipeline
        return self

    def greeting_to_pipeline(self, error: llm.RealtimeModelError) -> None:
        """Every realtime model failed: the greeting agent continues on the pipeline."""
        state = self.state
        state.deps.greeting_model = None
        state.provider_switched(
            "greeting_to_pipeline", "realtime", "pipeline", reason=type(error.error).__name__
        )
        logger.warning(
            "realtime models down, greeting continues on the pipeline",
            extra={"call_id": state.call.call_id},
        )
        if isinstance(self.session.current_agent, GreetingAgent):
            self.session.update_agent(
                GreetingAgent(state, chat_ctx=spoken_history(self.session), resumed=True)
            )
