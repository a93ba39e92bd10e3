"""Keyed digits (`callcenter.telephony.dtmf`): a burst becomes one caller turn, and a value
the step expects goes in the moment its last digit is keyed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc

from callcenter import end_of_turn
from callcenter.end_of_turn import IDENTITY_FACTOR, ORDER_NUMBER, Expecting
from callcenter.telephony.dtmf import KeypadRouter, KeypadTask

GAP = 0.2


@dataclass
class StubSession:
    """What the router uses of an `AgentSession`."""

    current_agent: Any
    replies: list[str] = field(default_factory=list)
    cleared: int = 0
    interrupted: int = 0

    def interrupt(self) -> None:
        self.interrupted += 1

    def clear_user_turn(self) -> None:
        self.cleared += 1

    def generate_reply(self, *, user_input: str) -> None:
        self.replies.append(user_input)

    @property
    def turn_detection(self) -> None:
        return None


@dataclass
class Step:
    expecting: Expecting


def key(router: KeypadRouter, digits: str) -> None:
    for d in digits:
        router.on_dtmf(rtc.SipDTMF(code=0, digit=d))


async def test_a_whole_order_number_goes_in_at_once() -> None:
    session = StubSession(Step(ORDER_NUMBER))
    router = KeypadRouter(session, burst_gap_s=GAP)  # type: ignore[arg-type]
    key(router, "100")
    assert session.replies == []  # 3 of 4 digits: wait for more
    key(router, "1")
    assert session.replies == ["(keypad) 1001"]  # no burst gap
    assert session.cleared == 1  # a held spoken fragment ("my order number is") is dropped


async def test_four_keys_wait_for_a_possible_fifth_when_the_step_takes_either() -> None:
    session = StubSession(Step(IDENTITY_FACTOR))  # PIN/last four (4) or ZIP (5)
    router = KeypadRouter(session, burst_gap_s=GAP)  # type: ignore[arg-type]
    key(router, "4421")
    assert session.replies == []
    await asyncio.sleep(GAP + 0.1)
    assert session.replies == ["(keypad) 4421"]
    key(router, "94107")
    assert session.replies[-1] == "(keypad) 94107"


async def test_pound_ends_the_input_and_a_lone_zero_waits_for_the_gap() -> None:
    session = StubSession(object())  # free text: no digit count
    router = KeypadRouter(session, burst_gap_s=GAP)  # type: ignore[arg-type]
    key(router, "12#")
    assert session.replies == ["(keypad) 12"]
    key(router, "0")
    assert session.replies == ["(keypad) 12"]
    await asyncio.sleep(GAP + 0.1)
    assert session.replies == ["(keypad) 12", "(keypad) 0"]  # "a person", after the gap


async def test_keypad_task_gets_its_pound_after_the_last_digit() -> None:
    task = KeypadTask(num_digits=4, dtmf_input_timeout=5.0)
    assert end_of_turn.declared_expectation(task).digits == (4,)
    session = StubSession(task)
    room = rtc.Room()
    router = KeypadRouter(session, burst_gap_s=GAP)  # type: ignore[arg-type]
    router.attach(room)
    pressed: list[str] = []
    room.on("sip_dtmf_received", lambda ev: pressed.append(ev.digit))
    for d in "442":
        room.emit("sip_dtmf_received", rtc.SipDTMF(code=0, digit=d))
    await asyncio.sleep(0.01)
    assert pressed == ["4", "4", "2"]
    room.emit("sip_dtmf_received", rtc.SipDTMF(code=0, digit="1"))
    await asyncio.sleep(0.01)
    assert pressed == ["4", "4", "2", "1", "#"]  # the task completes now, not after 5 s
    assert session.replies == []  # the task, not the router, owns these keys
