"""Silero VAD with its inference run on the call's event loop instead of a thread pool.

livekit-plugins-silero 1.8.9 hands every 32 ms window (256 samples at 8 kHz) to the
default thread pool: `await self._loop.run_in_executor(None, self._model, window)`. At
8 kHz the model itself takes ~0.1 ms of CPU per window; the hand-off (a future, a queue
put, waking a worker thread, the GIL going back and forth, the loop's self-pipe) costs
more than the inference: 0.20 ms of CPU per window through the executor against 0.11 ms
inline (`python -m benchmarks.profile_call --vad-handoff`), and the executor's `submit`
was a fifth of the call's event-loop time in the py-spy profile (BENCHMARKS.md,
"Capacity"). Inline, the loop is busy 0.1 ms at a time, which no turn notices.

`InlineSileroVAD` is `silero.VAD` whose streams get a view of their event loop that runs
`run_in_executor` calls at once and returns a finished future. This touches one private
attribute of the plugin (`VADStream._loop`): `tests/framework/test_framework_internals.py`
fails loudly if the plugin stops reading it that way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from livekit.plugins import silero


class _InlineExecutorLoop:
    """The stream's event loop, except that `run_in_executor` runs the call right here."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    def run_in_executor(self, _executor: Any, fn: Callable[..., Any], *args: Any) -> Any:
        future = self._loop.create_future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future


class InlineSileroVAD(silero.VAD):
    """`silero.VAD` (same options, `InlineSileroVAD.load(...)`) with inline inference."""

    def stream(self) -> silero.VADStream:
        stream = super().stream()
        # The stream's task starts on the next loop iteration and reads `_loop` only then.
        stream._loop = _InlineExecutorLoop(stream._loop)  # type: ignore[assignment]
        return stream
