"""Turn-taking settings for phone calls: when the agent decides the caller is done.

The silence after a caller stops speaking is the product's most audible number, so
these settings live in one place and the latency benchmark (`benchmarks/`) measures
them against LiveKit's defaults.
"""

from __future__ import annotations

from livekit.agents.voice.turn import TurnHandlingOptions


def telephony_turn_handling(*, has_stt: bool) -> TurnHandlingOptions:
    """Options for `AgentSession(turn_handling=...)`.

    - Deepgram's streaming endpointing decides the end of a turn on the phone (no
      turn-detector model to download); a text-only session (the console) takes turns
      manually.
    - Short endpointing delays: on the phone a long silence reads as a dropped line.
    - Preemptive generation: the reply starts on the final transcript, before the
      endpointing delay has elapsed.
    """
    return {
        "turn_detection": "stt" if has_stt else "manual",
        "endpointing": {"min_delay": 0.3, "max_delay": 2.0},
        "preemptive_generation": {"enabled": True},
    }
