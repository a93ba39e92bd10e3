"""Barge-in on the phone: a caller who talks over the agent is heard at once, and
"uh-huh" is not an interruption.

LiveKit 1.8.9, without its cloud interruption model, stops the agent on voice activity:
after `min_duration` of caller speech it pauses the agent's audio, a final transcript makes
that an interruption (and a turn the agent answers), and silence resumes the agent after
`false_interruption_timeout`. On a phone call that goes wrong three ways, each set here
on purpose:

- **The first 3 s of the call are deaf.** For inbound SIP calls the framework applies
  `aec_warmup_duration` = 3 s from the agent's first words (only *outbound* SIP calls get
  none): while it runs the caller's audio reaches the STT as silence, so a caller who
  talks over the greeting is not heard at all. A phone line's echo is cancelled by the
  handset and the carrier before it reaches LiveKit, so on SIP calls there is no warm-up
  (`PHONE_AEC_WARMUP_S`). Web callers keep the default: a browser's echo canceller needs
  those seconds.
- **Backchannels stop the agent.** "Uh-huh", "okay", "right" said while the agent reads
  out an order are transcribed, so they interrupt it and become a turn it answers.
  `BackchannelFilter` (mixed into every agent) drops a transcript made only of
  backchannel words when the caller began it over the agent's speech, and
  `INTERRUPTION["min_words"] = 1` makes a word, not a noise, what stops the agent: "wait"
  or "no, the other one" still stops it at the first word Deepgram returns, and "yes"
  after the agent's question is an answer.
- **Long dead air after a false interruption.** A cough or a dropped backchannel paused
  the agent for the framework's 2 s before it resumed; `false_interruption_timeout` is
  1 s (the silence budget: never more than 2 s of dead air).

Proven at audio level, with real Silero VAD and caller audio mixed over the agent's
playback: `tests/fallbacks/test_barge_in_audio.py`.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any, Final

from livekit import rtc
from livekit.agents import Agent, stt
from livekit.agents.voice.turn import InterruptionOptions

from callcenter.end_of_turn import tokens_of

if TYPE_CHECKING:
    from livekit.agents import AgentSession, ModelSettings

PHONE_AEC_WARMUP_S: Final = None
"""`AgentSession(aec_warmup_duration=...)` on SIP calls: no warm-up (see the module
docstring; the framework's default for inbound SIP is 3 s of the caller going unheard)."""

INTERRUPTION: Final[InterruptionOptions] = {
    "enabled": True,
    "min_duration": 0.5,
    "min_words": 1,
    "false_interruption_timeout": 1.0,
    "resume_false_interruption": True,
}
"""`turn_handling["interruption"]` for calls (see the module docstring)."""

BACKCHANNEL_PHRASES: Final[frozenset[tuple[str, ...]]] = frozenset(
    {
        ("uh", "huh"),
        ("uh", "hum"),
        ("mm", "hmm"),
        ("mhm",),
        ("mm",),
        ("hmm",),
        ("uh",),
        ("um",),
        ("okay",),
        ("ok",),
        ("right",),
        ("yeah",),
        ("yep",),
        ("yes",),
        ("sure",),
        ("alright",),
        ("all", "right"),
        ("got", "it"),
        ("i", "see"),
        ("gotcha",),
        ("cool",),
        ("great",),
        ("perfect",),
        ("thanks",),
        ("thank", "you"),
    }
)
"""What a caller says to show they are listening. Not "no", "wait", "stop": those stop
the agent."""


def is_backchannel(text: str) -> bool:
    """`text` is nothing but backchannel phrases ("uh-huh", "okay okay", "right, got it")."""
    tokens = tokens_of(text)
    i = 0
    while i < len(tokens):
        for size in (2, 1):
            if tuple(tokens[i : i + size]) in BACKCHANNEL_PHRASES:
                i += size
                break
        else:
            return False
    return bool(tokens)


class _Overlap:
    """Whether the caller's latest speech began while the agent was talking (one per
    session). Decided when the VAD hears the caller start, so a "yes" said right after the
    agent's question (whose transcript arrives once the agent is silent) is an answer, and
    an "okay" begun over the agent's sentence stays a backchannel even if the agent
    finishes before its transcript arrives."""

    def __init__(self, session: AgentSession[Any]) -> None:
        self._session = session
        self.caller_over_agent = False
        session.on("user_state_changed", self._on_user_state)

    def _on_user_state(self, ev: Any) -> None:
        if ev.new_state == "speaking":
            self.caller_over_agent = self._session.agent_state == "speaking"


_OVERLAP: weakref.WeakKeyDictionary[Any, _Overlap] = weakref.WeakKeyDictionary()

_TRANSCRIPTS: Final = frozenset(
    {
        stt.SpeechEventType.INTERIM_TRANSCRIPT,
        stt.SpeechEventType.PREFLIGHT_TRANSCRIPT,
        stt.SpeechEventType.FINAL_TRANSCRIPT,
    }
)


class BackchannelFilter(Agent):
    """Agent mixin: the caller's backchannels over the agent's speech never reach turn
    detection or interruption (see the module docstring). The session's STT pipeline
    outlives handoffs and runs the first agent's node, so every agent of a call mixes
    this in (`CallAgent`, `VerifyCallerTask`)."""

    async def stt_node(
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterable[stt.SpeechEvent | str]:
        session = self.session
        overlap = _OVERLAP.get(session)
        if overlap is None:
            overlap = _OVERLAP[session] = _Overlap(session)
        events = Agent.default.stt_node(self, audio, model_settings)
        async for ev in events:
            if (
                isinstance(ev, stt.SpeechEvent)
                and ev.type in _TRANSCRIPTS
                and ev.alternatives
                and overlap.caller_over_agent
                and is_backchannel(ev.alternatives[0].text)
            ):
                continue  # "uh-huh" while the agent talks: not a turn, not an interruption
            yield ev
