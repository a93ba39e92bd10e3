"""Per-call numbers for the call record: turn latencies, tool calls, model usage.

Attached to the session by `call.py` (one line) and read by `CallRecorder` when it closes
the record, which stores `record_data()` beside the state's JSON:

- ``turn_latencies_ms``: for each agent reply that answered speech, the end of the caller's
  speech → the first agent audio, from the framework's per-turn report
  (`ChatMessage.metrics["e2e_latency"]`, livekit-agents 1.8.9). A typed turn (the terminal
  console, `session.run(user_input=...)`) has no speech, so no such number: the list
  stays empty rather than holding something measured differently.
- ``tool_calls``: every tool the model called, by name (`function_tools_executed`).
- ``usage``: what the call consumed, from the framework's usage collector
  (`AgentSession.usage`, the same numbers as its `session_usage_updated` event): LLM prompt
  and completion tokens (the realtime greeting's included), TTS characters and seconds, STT
  audio seconds, and the same per provider/model. A model that reported nothing adds
  nothing: all-zero totals mean "not reported", not "free".

Post-call analysis (`postcall/analysis.py`) turns these into p50/p95 and totals; the
transcript (`behaviours/transcript.py`) puts each reply's latency on its own line with
`observability.call_observer.reply_latency_ms`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.metrics import (
    AgentSessionUsage,
    LLMModelUsage,
    STTModelUsage,
    TTSModelUsage,
)

from callcenter.observability.call_observer import reply_latency_ms

MAX_LATENCIES = 2000
"""Turn latencies kept per call (a four-hour call has fewer turns than this)."""


def usage_summary(usage: AgentSessionUsage | None) -> dict[str, Any]:
    """`AgentSession.usage` as the record's JSON: totals by kind, then one entry per
    provider/model with its non-zero numbers."""
    totals: dict[str, float] = {
        "llm_prompt_tokens": 0,
        "llm_prompt_cached_tokens": 0,
        "llm_completion_tokens": 0,
        "tts_characters": 0,
        "tts_audio_s": 0.0,
        "stt_audio_s": 0.0,
    }
    models: list[dict[str, Any]] = []
    for u in usage.model_usage if usage is not None else []:
        if isinstance(u, LLMModelUsage):
            kind = "llm"
            totals["llm_prompt_tokens"] += u.input_tokens
            totals["llm_prompt_cached_tokens"] += u.input_cached_tokens
            totals["llm_completion_tokens"] += u.output_tokens
        elif isinstance(u, TTSModelUsage):
            kind = "tts"
            totals["tts_characters"] += u.characters_count
            totals["tts_audio_s"] += u.audio_duration
        elif isinstance(u, STTModelUsage):
            kind = "stt"
            totals["stt_audio_s"] += u.audio_duration
        else:
            continue  # interruption / end-of-turn model requests: not billed per call here
        numbers = {
            k: (round(v, 2) if isinstance(v, float) else v)
            for k, v in u.model_dump().items()
            if k not in ("type", "provider", "model") and isinstance(v, (int, float)) and v
        }
        models.append({"kind": kind, "provider": u.provider, "model": u.model, **numbers})
    return {
        **{k: (round(v, 2) if isinstance(v, float) else int(v)) for k, v in totals.items()},
        "models": models,
    }


class CallMetrics:
    """One call's turn latencies, tool calls and model usage (see the module docstring)."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.tool_calls: Counter[str] = Counter()
        self._session: AgentSession[Any] | None = None

    def attach(self, session: AgentSession[Any]) -> CallMetrics:
        self._session = session
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)
        return self

    def _on_item(self, ev: Any) -> None:
        latency = reply_latency_ms(ev.item)
        if latency is not None and len(self.latencies_ms) < MAX_LATENCIES:
            self.latencies_ms.append(latency)

    def _on_tools(self, ev: Any) -> None:
        for call in ev.function_calls:
            self.tool_calls[str(call.name)[:64]] += 1

    def record_data(self) -> dict[str, Any]:
        """The fields this adds to the call record's JSON."""
        usage = usage_summary(self._session.usage) if self._session is not None else None
        return {
            "turn_latencies_ms": list(self.latencies_ms),
            "tool_calls": dict(sorted(self.tool_calls.items())),
            "usage": usage,
        }
