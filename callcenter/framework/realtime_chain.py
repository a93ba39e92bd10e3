"""The greeting agent's realtime chain, which never ends a call when it runs out.

`RealtimeModelFallbackAdapter` swaps between realtime models while one is left; when
the last one fails its session emits an unrecoverable error, and `AgentSession` closes
on that, dropping the caller. `GreetingRealtimeChain` turns exhaustion into a
recoverable error plus an `on_exhausted` callback, which the call lifecycle uses to
rebuild the greeting agent on the pipeline (STT → LLM → TTS) with the conversation so
far.

It subclasses the framework's private `_FallbackRealtimeSession` (livekit-agents is
pinned to 1.8.x; the provider tests prove the behaviour through the real plugin).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from livekit.agents import llm
from livekit.agents.llm.realtime_fallback_adapter import _FallbackRealtimeSession
from livekit.agents.types import NOT_GIVEN, NotGivenOr

logger = logging.getLogger("callcenter.realtime")


class _GreetingRealtimeSession(_FallbackRealtimeSession):
    _exhausted = False
    _last_reply: asyncio.Future[llm.GenerationCreatedEvent] | None = None

    def generate_reply(
        self,
        *,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        tools: NotGivenOr[list[llm.Tool]] = NOT_GIVEN,
    ) -> asyncio.Future[llm.GenerationCreatedEvent]:
        fut = super().generate_reply(
            instructions=instructions, tool_choice=tool_choice, tools=tools
        )
        self._last_reply = fut
        return fut

    def _reply_lost(self) -> bool:
        """The last requested reply never started (the model died before answering)."""
        fut = self._last_reply
        if fut is None:
            return False
        return not fut.done() or fut.cancelled() or fut.exception() is not None

    async def _swap(self, target_index: int, was_speaking: bool) -> None:
        # The framework re-issues a reply on the new model only if the agent was speaking or
        # thinking when the old one died. A model refused at call start dies before the
        # greeting is even requested from it: without this the caller would hear nothing
        # until they spoke. Re-issue any reply the dead model never started.
        await super()._swap(target_index, was_speaking or self._reply_lost())

    async def aclose(self) -> None:
        # A dead child re-raises its connection error from `aclose()`. Once the chain is
        # exhausted that error is already handled (the greeting moved to the pipeline), and
        # raising it here would fail the agent update that closes this session.
        if not self._exhausted:
            await super().aclose()
            return
        try:
            await super().aclose()
        except Exception:
            logger.debug("exhausted realtime session closed with its last error")

    def emit(self, event: str, *args: Any) -> None:  # type: ignore[override]
        # The base session emits an unrecoverable error only when no model is left: either a
        # child failed with nothing to swap to (`_on_child_error`), or every model failed to
        # start during a swap (`_swap`). Both are exhaustion: keep the session alive instead.
        chain = self._adapter
        assert isinstance(chain, GreetingRealtimeChain)
        error = args[0] if args else None
        if (
            event == "error"
            and isinstance(error, llm.RealtimeModelError)
            and not error.recoverable
            and chain.on_exhausted is not None
        ):
            super().emit("error", error.model_copy(update={"recoverable": True}))
            if not self._exhausted:
                self._exhausted = True
                chain.on_exhausted(error)
            return
        super().emit(event, *args)


class GreetingRealtimeChain(llm.RealtimeModelFallbackAdapter):
    """Realtime models in order of preference; see the module docstring."""

    def __init__(self, models: list[llm.RealtimeModel], *, cooldown: float = 10.0) -> None:
        super().__init__(models, cooldown=cooldown)
        self.on_exhausted: Callable[[llm.RealtimeModelError], None] | None = None
        """Called once every model has failed; set per call by `CallLifecycle`."""

    def session(self, *, turn_detection_disabled: bool = False) -> _FallbackRealtimeSession:
        sess = _GreetingRealtimeSession(self, turn_detection_disabled=turn_detection_disabled)
        self._sessions.add(sess)
        return sess
