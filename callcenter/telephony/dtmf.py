"""Keypad input on a live call.

Digits arrive as `sip_dtmf_received` room events. While a `KeypadTask` (the framework's
`GetDtmfTask`) is collecting (the caller chose to key their PIN) it owns them. Otherwise
the router buffers a burst of keys and hands it to the current agent as one caller turn,
"(keypad) 1234", which the prompts and the degraded mode understand; a lone `0` is the
universal "get me a person".

Keyed digits complete a value at once: when they reach the digit count the current step
expects (`callcenter.end_of_turn`: a PIN has 4, a ZIP code 5, an order number 4) or the
caller presses `#`, the turn goes in without waiting for the burst gap (or, for
`GetDtmfTask`, its per-key timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession
from livekit.agents.beta.workflows import GetDtmfTask

from callcenter import end_of_turn
from callcenter.vocabulary import KEYPAD_PREFIX

KEYPAD_TASK_TOOL = "record_inputs"
"""The tool the framework's `GetDtmfTask` offers while it collects keys (its tools are made
per instance, so tests/framework checks this name against a live task)."""

BURST_GAP_S = 1.5
"""Keys pressed within this gap of each other form one input (when the step does not say
how many digits make a value, or they have not all been keyed yet)."""
POUND = "#"
POUND_CODE = 11
"""RFC 4733 event code of the `#` key."""


def keypad_turn(digits: str) -> str:
    """The caller turn that stands for keyed `digits`."""
    return f"{KEYPAD_PREFIX} {digits}"


class KeypadTask(GetDtmfTask):
    """`GetDtmfTask` that declares the value it collects, so the keypad router can end it
    the moment the last digit is keyed (the framework waits `dtmf_input_timeout` after
    every key unless the caller presses `#`)."""

    def __init__(self, *, num_digits: int, **kwargs: Any) -> None:
        super().__init__(num_digits=num_digits, **kwargs)
        self.expecting = end_of_turn.Expecting("keypad", digits=(num_digits,))


class KeypadRouter:
    """Buffers key bursts into caller turns; `on_key` hears of every key (the idle timer)."""

    def __init__(
        self,
        session: AgentSession,
        *,
        burst_gap_s: float = BURST_GAP_S,
        on_key: Callable[[], None] | None = None,
    ) -> None:
        self._session = session
        self._gap = burst_gap_s
        self._on_key = on_key
        self._digits = ""
        self._flush: asyncio.TimerHandle | None = None
        self._room: rtc.Room | None = None
        self._task_keys: tuple[int, int] = (0, 0)
        """(id of the `KeypadTask` being keyed into, keys it has had)."""

    def attach(self, room: rtc.Room) -> None:
        self._room = room
        room.on("sip_dtmf_received", self.on_dtmf)

    def on_dtmf(self, event: rtc.SipDTMF) -> None:
        if self._on_key is not None:
            self._on_key()  # any key is the caller being there, whoever collects it
        agent = self._session.current_agent
        if isinstance(agent, GetDtmfTask):
            self._count_for_task(agent, event)
            return  # the framework task is collecting these keys itself
        if event.digit == POUND:
            self.flush()  # "that's all": the keyed value is complete
            return
        self._digits += event.digit
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        expecting = end_of_turn.current_expectation(self._session)
        if end_of_turn.keyed_value_complete(self._digits, expecting):
            self.flush()
            return
        self._flush = asyncio.get_running_loop().call_later(self._gap, self.flush)

    def _count_for_task(self, task: GetDtmfTask, event: rtc.SipDTMF) -> None:
        """Press `#` for the caller once a `KeypadTask` has all its digits."""
        if event.digit == POUND or not isinstance(task, KeypadTask) or self._room is None:
            return
        task_id, keys = self._task_keys
        keys = keys + 1 if task_id == id(task) else 1
        self._task_keys = (id(task), keys)
        if end_of_turn.keyed_value_complete("x" * keys, task.expecting):
            self._task_keys = (0, 0)
            pound = rtc.SipDTMF(code=POUND_CODE, digit=POUND, participant=event.participant)
            # after every handler has seen this key, as if the caller had pressed "#"
            asyncio.get_running_loop().call_soon(self._room.emit, "sip_dtmf_received", pound)

    def flush(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        digits, self._digits = self._digits, ""
        self._flush = None
        if digits:
            self._session.interrupt()
            # the keyed value supersedes a spoken turn still being held ("my PIN is …")
            self._session.clear_user_turn()
            self._session.generate_reply(user_input=keypad_turn(digits))
