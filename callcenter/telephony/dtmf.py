"""Keypad input on a live call.

Digits arrive as `sip_dtmf_received` room events. While the framework's `GetDtmfTask`
is collecting (the caller chose to key their PIN) it owns them. Otherwise the router
buffers a burst of keys and hands it to the current agent as one caller turn,
"(keypad) 1234", which the prompts and the degraded mode understand; a lone `0` is
the universal "get me a person".
"""

from __future__ import annotations

import asyncio

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.beta.workflows import GetDtmfTask

from callcenter.vocabulary import KEYPAD_PREFIX

KEYPAD_TASK_TOOL = "record_inputs"
"""The tool the framework's `GetDtmfTask` offers while it collects keys (its tools are made
per instance, so tests/framework checks this name against a live task)."""

BURST_GAP_S = 1.5
"""Keys pressed within this gap of each other form one input."""


def keypad_turn(digits: str) -> str:
    """The caller turn that stands for keyed `digits`."""
    return f"{KEYPAD_PREFIX} {digits}"


class KeypadRouter:
    def __init__(self, session: AgentSession, *, burst_gap_s: float = BURST_GAP_S) -> None:
        self._session = session
        self._gap = burst_gap_s
        self._digits = ""
        self._flush: asyncio.TimerHandle | None = None

    def attach(self, room: rtc.Room) -> None:
        room.on("sip_dtmf_received", self.on_dtmf)

    def on_dtmf(self, event: rtc.SipDTMF) -> None:
        if isinstance(self._session.current_agent, GetDtmfTask):
            return  # the framework task is collecting these keys itself
        self._digits += event.digit
        if self._flush is not None:
            self._flush.cancel()
        self._flush = asyncio.get_running_loop().call_later(self._gap, self.flush)

    def flush(self) -> None:
        digits, self._digits = self._digits, ""
        self._flush = None
        if digits:
            self._session.interrupt()
            self._session.generate_reply(user_input=keypad_turn(digits))
