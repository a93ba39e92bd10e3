"""Turn-taking settings for phone calls: when the agent decides the caller is done.

The silence after a caller stops speaking is the product's most audible number, so
these settings live in one place and the latency benchmark (`python -m benchmarks
--only latency`, see BENCHMARKS.md) measures them against LiveKit's defaults.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final, Literal

from livekit.agents.voice.turn import TurnHandlingOptions

from callcenter.barge_in import INTERRUPTION
from callcenter.end_of_turn import CallerTurnDetector
from callcenter.telephony.audio import CALLER_SAMPLE_RATE

if TYPE_CHECKING:
    from livekit.agents import vad

VAD_SAMPLE_RATE: Final[Literal[8000]] = CALLER_SAMPLE_RATE
"""Silero runs at the caller's 8 kHz (`callcenter.telephony.audio`): nothing to resample,
and the 8 kHz model costs less CPU than the 16 kHz default (a one-off measurement on the
same 72 s of fixture audio: 2.8 % vs 3.2 % of a core)."""

VAD_MIN_SILENCE_S = 0.4
"""Silence Silero needs before it reports the end of the caller's speech (Silero's default
is 0.55 s). This commits the turn. With preemptive generation the reply is ready about
STT final + LLM first token + TTS first audio after the caller stops (benchmark: ~0.6 s),
so a commit before that buys nothing and only cuts callers off at shorter pauses (reading
out a number, say); 0.4 s commits at ~0.52 s, just under it. At 0.55 s the commit came
at ~0.69 s and was the critical path (12-turn probes, BENCHMARKS.md: p50 703 ms vs 660 ms
at 0.4 s)."""

ENDPOINTING_MIN_DELAY_S = 0.1
"""Silence, counted from the caller's last speech, before a *complete* turn is committed
(`callcenter.end_of_turn` decides what is complete).

Silero's own end of speech already needs `VAD_MIN_SILENCE_S` of silence, which
dominates: the benchmark measured the same endpointing with 0.1 s here and with
LiveKit's 0.5 s default (while Silero waited 0.55 s). Kept short so it never adds to
Silero's wait."""

ENDPOINTING_MAX_DELAY_S = 2.0
"""The longest the turn is held, counted from the caller's last speech, while what they
said is unfinished (half a number, "um", "and", "let me find it"). Callers' pauses inside
a turn run to ~1.5 s (reading a number off a card); Silero hears the caller resume ~0.1 s
after they do, so 2.0 s covers them, and an unfinished turn that really is over costs at
most this much silence (turn-taking benchmark, BENCHMARKS.md)."""


ENDPOINTING_BRIEF_HOLD_S = 1.2
"""The beat, counted from the caller's last speech, for a turn that is a whole sentence
after which callers usually go on: a topic announced ("I have a question about my bill",
"I'm calling about my order", "quick question") or a bare "no"/"yes"/"okay" where the step
asked for a number (`end_of_turn.Verdict.brief`). A person on the phone lets such a
sentence sit about a second before "sure, go ahead?"; a caller who goes on within it is
not cut off, one who does not hears the reply at ~1.45 s instead of ~0.65 s (well inside
the 2 s silence budget, and shorter than the full `ENDPOINTING_MAX_DELAY_S` hold). Silero
hears a resumed caller ~0.1 s after they start, so this holds pauses up to ~1.1 s."""


def telephony_turn_handling(*, has_stt: bool) -> TurnHandlingOptions:
    """Options for `AgentSession(turn_handling=...)`.

    - On the phone: the session's Silero VAD hears the silence and
      `callcenter.end_of_turn.CallerTurnDetector` (a fresh one per session; attach it with
      `end_of_turn.attach(session)`) decides from the words and the step whether the
      turn is over: a complete one commits after `ENDPOINTING_MIN_DELAY_S`, an unfinished
      one is held up to `ENDPOINTING_MAX_DELAY_S`, a sentence callers usually follow up
      (a topic announced, a bare "no" where a number was asked) for
      `ENDPOINTING_BRIEF_HOLD_S`. No model to download. A text-only
      session (the console) takes turns manually. Not "stt" mode: in LiveKit 1.8.9 it
      starts preemptive generation only on preflight transcripts (Deepgram sends none),
      so the LLM started only after the commit (benchmark: +~300 ms).
    - Short endpointing delay for a complete turn (`ENDPOINTING_MIN_DELAY_S`): on the
      phone a long silence reads as a dropped line.
    - Preemptive generation with preemptive TTS: the LLM starts on each final transcript
      and its first sentence is synthesized before the turn is committed, so the reply
      plays the moment the turn commits (benchmark p50 858 -> 703 ms). The cost: a
      generation is thrown away whenever another final transcript arrives (Deepgram
      endpoints at short pauses) or the caller keeps talking, and with it the TTS
      characters already synthesized.
    - Interruptions for the phone (`callcenter.barge_in.INTERRUPTION`): a word, not a
      noise or a backchannel, stops the agent; a false interruption resumes after 1 s.
    """
    return {
        "turn_detection": (
            # the detector is first asked at Silero's end of speech, VAD_MIN_SILENCE_S after
            # the caller's last word: the beat is counted from there
            CallerTurnDetector(brief_wait_s=ENDPOINTING_BRIEF_HOLD_S - VAD_MIN_SILENCE_S)
            if has_stt
            else "manual"
        ),
        "endpointing": {"min_delay": ENDPOINTING_MIN_DELAY_S, "max_delay": ENDPOINTING_MAX_DELAY_S},
        "preemptive_generation": {"enabled": True, "preemptive_tts": True},
        "interruption": INTERRUPTION,
    }


def load_vad() -> vad.VAD:
    """The Silero VAD for one process's calls (worker prewarm, console, benchmarks).

    One instance per process is right for the worker (one process per call); never share
    one instance between sessions in the same process (each session would then process
    every other session's VAD metrics)."""
    from callcenter.framework.silero_inline import InlineSileroVAD  # no thread hand-off

    return InlineSileroVAD.load(sample_rate=VAD_SAMPLE_RATE, min_silence_duration=VAD_MIN_SILENCE_S)


@functools.cache
def process_vad() -> vad.VAD:
    """The VAD of the one call a worker's job process runs: `load_vad()`, once per process.

    `callcenter.preload` calls it in LiveKit's forkserver, so the Silero model (its ONNX
    Runtime session: ~34 MiB of private memory when each call process loaded its own,
    `python -m benchmarks.forkserver_warmup`) is
    loaded once and every job process inherits it, shared copy-on-write; a job process's
    prewarm gets that instance back from this cache. The session is read-only once loaded
    and starts no thread (one intra-op thread, the caller's), so it is safe across fork.
    Each process still has its own copy of the Python object, and so its own listeners:
    one per call, as `load_vad` asks. Outside the worker (console, tests), use `load_vad`."""
    return load_vad()
