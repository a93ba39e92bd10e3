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

from collections.abc import Callable

from livekit.agents import llm
from livekit.agents.llm.realtime_fallback_adapter import _FallbackRealtimeSession


class _GreetingRealtimeSession(_FallbackRealtimeSession):
    def _on_child_error(self, error: llm.RealtimeModelError) -> None:
        chain = self._adapter
        assert isinstance(chain, GreetingRealtimeChain)
        others_left = self._next_available_index(exclude_current=True) is not None
        if error.recoverable or others_left or chain.on_exhausted is None:
            super()._on_child_error(error)
            return
        self._set_available(self._active_index, False)
        # keep the session alive: the greeting agent moves to the pipeline instead
        self.emit("error", error.model_copy(update={"recoverable": True}))
        chain.on_exhausted(error)


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
