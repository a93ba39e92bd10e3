"""The greeting agent's realtime chain, which never ends a call when it runs out.

`RealtimeModelFallbackAdapter` swaps between realtime models while one is left; when
the last one fails it emits an unrecoverable error, and `AgentSession` closes on that,
dropping the caller. `GreetingRealtimeChain` turns exhaustion into a recoverable error
plus an `on_exhausted` callback, which the call lifecycle uses to rebuild the greeting
agent on the pipeline (STT → LLM → TTS) with the conversation so far.

It reads two private fields of the framework adapter (`_available`, `_active_index`);
livekit-agents is pinned to 1.8.x and tests/providers prove the behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

from livekit.agents import llm


class GreetingRealtimeChain(llm.RealtimeModelFallbackAdapter):
    def __init__(self, models: list[llm.RealtimeModel], **kwargs: object) -> None:
        super().__init__(models, **kwargs)  # type: ignore[arg-type]
        self.on_exhausted: Callable[[llm.RealtimeModelError], None] | None = None

    def _on_child_error(self, error: llm.RealtimeModelError) -> None:
        others_left = any(
            available for i, available in enumerate(self._available) if i != self._active_index
        )
        if error.recoverable or others_left or self.on_exhausted is None:
            super()._on_child_error(error)
            return
        self._set_available(self._active_index, False)
        # keep the session alive: the greeting agent moves to the pipeline instead
        self.emit("error", error.model_copy(update={"recoverable": True}))
        self.on_exhausted(error)
