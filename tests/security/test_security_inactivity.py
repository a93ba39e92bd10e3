"""The idle timer (`behaviours/timers.py`): silence counted only while both sides are quiet,
from the end of the agent's playout; caller activity (speech, a transcript, the keypad)
resets it; never while the caller is on hold. (The whole silent call, prompt then goodbye
with end reason `inactivity`, is in test_security_other_findings.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

from livekit.agents.utils import EventEmitter
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)

from callcenter import prompts
from callcenter.behaviours.timers import CallTimers
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.data import Database
from tests.callpath.helpers import FakeEscalation, make_settings, make_state


class _Handle:
    def add_done_callback(self, fn: Any) -> None:
        fn(self)


class _Session(EventEmitter[str]):
    """The session events the timers listen to, and what they say."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []
        self.shut = False

    def say(self, text: str, **_: Any) -> _Handle:
        self.said.append(text)
        return _Handle()

    def shutdown(self) -> None:
        self.shut = True

    def agent(self, old: str, new: str) -> None:
        self.emit("agent_state_changed", AgentStateChangedEvent(old_state=old, new_state=new))  # type: ignore[arg-type]

    def user(self, old: str, new: str) -> None:
        self.emit("user_state_changed", UserStateChangedEvent(old_state=old, new_state=new))  # type: ignore[arg-type]


async def _timers(
    db: Database, db_path: object, timeout: float = 0.2, **kw: Any
) -> tuple[CallTimers, _Session, Any]:
    settings: Settings = make_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{db_path}", CALLCENTER_INACTIVITY_TIMEOUT_S=timeout
    )
    state = await make_state(db, settings, FakeEscalation(), **kw)
    session = _Session()
    timers = CallTimers(session, state).attach()  # type: ignore[arg-type]
    return timers, session, state


async def test_the_clock_runs_only_while_both_sides_are_quiet(
    db: Database, db_path: object
) -> None:
    timers, session, _ = await _timers(db, db_path, timeout=60)
    assert not timers.idle  # the agent has not spoken yet
    session.agent("initializing", "speaking")
    assert not timers.idle
    session.agent("speaking", "listening")  # the playout ended: the clock starts
    assert timers.idle
    session.user("listening", "speaking")
    assert not timers.idle
    session.user("speaking", "listening")
    assert timers.idle
    session.agent("listening", "thinking")  # a tool runs
    assert not timers.idle


async def test_caller_activity_resets_the_clock_and_the_prompt(
    db: Database, db_path: object
) -> None:
    timers, session, state = await _timers(db, db_path, timeout=0.15)
    session.agent("speaking", "listening")
    for _ in range(6):  # keys every 50 ms: never 150 ms of silence
        await asyncio.sleep(0.05)
        timers.caller_active()
    assert session.said == []
    await asyncio.sleep(0.4)
    assert session.said == [prompts.line("timers.still_there")]
    # the caller answers (a final transcript): the next silence prompts again, not hangs up
    session.emit(
        "user_input_transcribed", UserInputTranscribedEvent(transcript="yes", is_final=True)
    )
    assert timers.prompts_said == 0
    session.agent("speaking", "listening")
    await asyncio.sleep(0.4)
    assert session.said[-1] == prompts.line("timers.still_there") and not state.ended


async def test_a_second_silence_ends_the_call_for_inactivity(db: Database, db_path: object) -> None:
    _, session, state = await _timers(db, db_path, timeout=0.1)
    session.agent("speaking", "listening")
    await asyncio.sleep(0.3)
    session.agent("listening", "speaking")  # the prompt is played...
    session.agent("speaking", "listening")  # ...and ends: silence again from here
    await asyncio.sleep(0.3)
    assert session.said == [
        prompts.line("timers.still_there"),
        prompts.line("timers.inactivity_goodbye"),
    ]
    assert session.shut and state.end_reason == "inactivity" and state.ended


async def test_no_inactivity_while_the_caller_is_on_hold(db: Database, db_path: object) -> None:
    timers, session, state = await _timers(
        db, db_path, timeout=0.05, verified=True, phase=Phase.ESCALATION
    )
    session.agent("speaking", "listening")  # a hold line ended
    assert not timers.idle
    await asyncio.sleep(0.2)
    assert session.said == [] and not state.ended
