"""The call's transcript: caller and agent turns, redacted before they are kept.

Every turn, in every phase, goes through the one redaction layer (`callcenter.redaction`):
cards, phone numbers, e-mails, SSNs, secret-labelled numbers and unlabelled numbers, the
names known on the call; and every number a caller says while answering verification
questions (`CallState.collecting_secrets`: the verification phase or a step-up).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from livekit.agents import AgentSession, llm
from livekit.agents.voice.events import ConversationItemAddedEvent

from callcenter.core.state import CallState
from callcenter.observability.call_observer import reply_latency_ms
from callcenter.redaction import redact


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    role: str
    text: str
    phase: str
    at: float = field(default_factory=time.time)
    latency_ms: float | None = None
    """An agent reply's end of caller speech → first audio, when measured."""


class Transcript:
    """Collects the turns of one session as they are added to its history."""

    def __init__(self, state: CallState) -> None:
        self.state = state
        self.lines: list[TranscriptLine] = []

    def attach(self, session: AgentSession[CallState]) -> Transcript:
        session.on("conversation_item_added", self._on_item)
        return self

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if not isinstance(item, llm.ChatMessage) or item.role not in ("user", "assistant"):
            return
        text = item.text_content or ""
        if not text:
            return
        secret = self.state.collecting_secrets and item.role == "user"
        self.lines.append(
            TranscriptLine(
                role="caller" if item.role == "user" else "agent",
                text=redact(text, secrets=secret, names=self.state.known_names()),
                phase=self.state.phase.value,
                latency_ms=reply_latency_ms(item),
            )
        )

    def as_record(self, *, names: Iterable[str] = ()) -> list[dict[str, object]]:
        """The lines as the call record stores them (`names` learnt later in the call, such
        as an account the caller named, are removed from earlier lines too)."""
        return [
            {
                "role": t.role,
                "text": redact(t.text, names=names) if names else t.text,
                "phase": t.phase,
                "at": round(t.at, 3),
                **({"latency_ms": t.latency_ms} if t.latency_ms is not None else {}),
            }
            for t in self.lines
        ]
