"""Never a silence the caller has to fill: "one moment while I check that" when an answer
is slow, and no provider wait longer than the silence budget.

A phone caller who hears nothing for two seconds says "hello?". Three waits can leave
them there, and each is covered here:

- **The model is slow, or its fallback chain is switching** (a stalled primary is waited
  on for `CALLCENTER_PROVIDER_TIMEOUT_S` before the next model is asked).
  `SilenceFiller.llm_node` (mixed into every agent) speaks a short line from
  `prompts/lines.toml` (`[fillers]`) when the model has produced nothing `FILLER_AFTER_S` after the
  request, and another every `FILLER_REPEAT_S` while it still has not, at most
  `MAX_FILLERS`. Each line is its own speech segment (LiveKit's `FlushSentinel`), so it
  is synthesized and played at once; the reply follows when it comes. The line is part of
  what the agent said, so it stays in the transcript.
- **A tool is slow.** When the model calls a tool, `ToolWait` watches the session: each
  time the agent has been thinking with nothing playing for `FILLER_AFTER_S` it says a
  line (`session.say`, which plays while tools run, as LiveKit's own
  `RunContext.with_filler` does), at most `MAX_FILLERS`, until the tools return.
- **A speech provider stalls.** The filler itself needs the TTS: a stalled ElevenLabs is
  abandoned after `TTS_ATTEMPT_TIMEOUT_S` for OpenAI's voice
  (`providers.BudgetedTTSFallback`), and the OpenAI STT/TTS plugins' hard-coded 30 s read
  timeout is capped at the provider timeout by `capped_openai_client`.

The realtime greeting model speaks by itself and gets no filler. Measured: tests in
`tests/fallbacks/test_silence_fillers.py` print `[silence]` lines; docs/fallbacks.md.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, Final

import httpx2 as httpx
from livekit.agents import Agent, llm
from livekit.agents.types import FlushSentinel

from callcenter import prompts
from callcenter.provider_clients import tls_context

if TYPE_CHECKING:
    from livekit.agents import AgentSession, FunctionTool, ModelSettings

logger = logging.getLogger("callcenter.fillers")

FILLER_AFTER_S: Final = 1.2
"""Silence after which the caller hears a filler line (the issue's budget: about 1.2 s)."""
FILLER_REPEAT_S: Final = 3.5
"""Between filler lines while the wait goes on: a line lasts ~1.5-2 s, so the caller
never hears more than ~2 s of silence."""
MAX_FILLERS: Final = 3
"""Lines per wait; covers a stalled model plus its fallback (~8 s) without a monologue."""
TTS_ATTEMPT_TIMEOUT_S: Final = 1.5
"""A TTS that has not started speaking in this long is abandoned for the next voice
(normal first audio is 0.2-0.5 s): with it the caller hears the reply, or a filler,
within the silence budget even while ElevenLabs stalls."""


def filler_lines() -> tuple[str, ...]:
    """The filler lines (`[fillers] wait` in `prompts/lines.toml`)."""
    return prompts.variants("fillers.wait")


class FillerPicker:
    """Varied lines: random, never the same twice in a row."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._last: str | None = None

    def next(self) -> str:
        lines = filler_lines()
        choices = [line for line in lines if line != self._last] or list(lines)
        self._last = self._rng.choice(choices)
        return self._last


# --- the model is slow ------------------------------------------------------------------------
async def with_fillers(
    chunks: AsyncIterable[Any],
    picker: FillerPicker,
    *,
    on_tool_call: Any = None,
    after_s: float = FILLER_AFTER_S,
    repeat_s: float = FILLER_REPEAT_S,
    max_fillers: int = MAX_FILLERS,
) -> AsyncIterator[Any]:
    """`chunks` (an LLM node's output) with filler lines, each its own segment, spoken
    while the first chunk is late. `on_tool_call()` is called at the first tool call."""
    iterator = aiter(chunks)
    pending: asyncio.Future[Any] = asyncio.ensure_future(anext(iterator))
    answered, fillers, tools_seen = False, 0, False
    try:
        while True:
            if not answered and fillers < max_fillers:
                wait = after_s if fillers == 0 else repeat_s
                done, _ = await asyncio.wait({pending}, timeout=wait)
                if not done:
                    fillers += 1
                    logger.info("model is slow, filler line", extra={"filler": fillers})
                    yield picker.next()
                    yield FlushSentinel()
                    continue
            try:
                chunk = await pending
            except StopAsyncIteration:
                return
            answered = True
            if (
                not tools_seen
                and on_tool_call is not None
                and isinstance(chunk, llm.ChatChunk)
                and chunk.delta is not None
                and chunk.delta.tool_calls
            ):
                tools_seen = True
                on_tool_call()
            yield chunk
            pending = asyncio.ensure_future(anext(iterator))
    finally:
        if not pending.done():
            pending.cancel()
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class SilenceFiller(Agent):
    """Agent mixin: filler lines while the model is slow, and while its tools run (see the
    module docstring). Mixed into every agent of a call (`CallAgent`, `VerifyCallerTask`)."""

    async def llm_node(
        self,
        chat_ctx: llm.ChatContext,
        tools: list[FunctionTool | llm.RawFunctionTool | Any],
        model_settings: ModelSettings,
    ) -> AsyncIterable[llm.ChatChunk | str | FlushSentinel]:
        session = self.session
        watch = tool_wait(session)
        node = Agent.default.llm_node(self, chat_ctx, tools, model_settings)
        async for chunk in with_fillers(node, watch.picker, on_tool_call=watch.arm):
            yield chunk


# --- a tool is slow ---------------------------------------------------------------------------
class ToolWait:
    """One per session: filler lines while the agent thinks during tool calls."""

    POLL_S: Final = 0.1

    def __init__(self, session: AgentSession[Any]) -> None:
        self._session = session
        self.picker = FillerPicker()
        self._task: asyncio.Task[None] | None = None
        session.on("function_tools_executed", lambda _: self.disarm())
        session.on("close", lambda _: self.disarm())

    def arm(self) -> None:
        """The model called a tool: watch for silence until the tools return."""
        self.disarm()
        self._task = asyncio.create_task(self._watch(), name="tool-wait-filler")

    def disarm(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def _watch(self) -> None:
        silent, said = 0.0, 0
        while said < MAX_FILLERS:
            await asyncio.sleep(self.POLL_S)
            if self._session.agent_state != "thinking":
                silent = 0.0  # speaking, or the turn was dropped: no dead air to fill
                continue
            silent += self.POLL_S
            if silent + 1e-9 >= FILLER_AFTER_S:
                said += 1
                logger.info("tool is slow, filler line", extra={"filler": said})
                handle = self._session.say(self.picker.next(), add_to_chat_ctx=False)
                await handle.wait_for_playout()
                silent = 0.0


_TOOL_WAITS: weakref.WeakKeyDictionary[Any, ToolWait] = weakref.WeakKeyDictionary()


def tool_wait(session: AgentSession[Any]) -> ToolWait:
    watch = _TOOL_WAITS.get(session)
    if watch is None:
        watch = _TOOL_WAITS[session] = ToolWait(session)
    return watch


# --- a speech provider stalls -----------------------------------------------------------------
class _CappedTimeouts(httpx.AsyncBaseTransport):
    """Caps every timeout of each request at `cap` seconds. The OpenAI STT and TTS plugins
    ask for a 30 s read timeout on every request; a stalled server would keep the caller in
    silence that long."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cap: float) -> None:
        self._inner = inner
        self._cap = cap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = dict(request.extensions.get("timeout") or {})
        for name in ("connect", "read", "write", "pool"):
            value = timeouts.get(name)
            timeouts[name] = self._cap if value is None else min(value, self._cap)
        request.extensions["timeout"] = timeouts
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def capped_openai_client(*, api_key: str, base_url: str | None, timeout_s: float) -> Any:
    """An `openai.AsyncClient` for the speech plugins (`openai.STT(client=...)`,
    `openai.TTS(client=...)`) whose requests wait at most `timeout_s` for any byte; no SDK
    retries (the fallback chains retry)."""
    import openai

    http = httpx.AsyncClient(
        transport=_CappedTimeouts(httpx.AsyncHTTPTransport(verify=tls_context()), timeout_s),
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=True,
    )
    return openai.AsyncClient(
        api_key=api_key, base_url=base_url or None, max_retries=0, http_client=http
    )
