"""A phone call at audio level for tests: the product's call (`start_call`, its providers
pointed at emulators, its Silero VAD) with a caller's line in and a handset out.

- `PhoneMic` feeds the caller's audio in real time (8 kHz, 20 ms frames, as our worker asks
  the room for), silence unless the test makes the caller speak, at any moment, so caller
  audio lands over the agent's playback as it would on a call.
- `PhoneEar` plays the agent's audio in real time and, like LiveKit's room output, can be
  paused and resumed (what the framework does on a possible interruption); it records
  each segment: when it started, how much was heard, whether it was cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession, llm
from livekit.agents.testing import fake_job_context
from livekit.agents.utils import http_context
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

from callcenter.call import Call, start_call
from callcenter.config import Settings
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.providers import Providers, build_providers
from callcenter.telephony.audio import CALLER_SAMPLE_RATE
from callcenter.telephony.sip import CallInfo
from callcenter.turn_taking import load_vad
from tests.support.audio import silence_frames

FRAME_S = 0.02


class PhoneMic(AudioInput):
    """The caller's line: real-time frames, silence unless `say()` queued some."""

    def __init__(self, sample_rate: int = CALLER_SAMPLE_RATE) -> None:
        super().__init__(label="phone-mic")
        self.sample_rate = sample_rate
        self._queue: list[rtc.AudioFrame] = []
        self._silence = silence_frames(20, sample_rate=sample_rate)[0]
        self._next = time.perf_counter()
        self.spoken = asyncio.Event()
        self.started_at = 0.0
        """`time.perf_counter()` when the latest phrase's first frame went out."""
        self.ended_at = 0.0
        """... and when its last frame went out."""

    def say(self, frames: list[rtc.AudioFrame]) -> None:
        self.spoken.clear()
        self._queue = list(frames)
        self.started_at = 0.0

    async def __anext__(self) -> rtc.AudioFrame:
        self._next += FRAME_S
        delay = self._next - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._queue:
            if not self.started_at:
                self.started_at = time.perf_counter()
            frame = self._queue.pop(0)
            if not self._queue:
                self.ended_at = time.perf_counter()
                self.spoken.set()
            return frame
        return self._silence


@dataclass
class Played:
    """One agent audio segment as the caller heard it."""

    started: float
    seconds: float = 0.0
    """Audio received for the segment."""
    heard: float = 0.0
    """Audio played so far (pauses do not count)."""
    flushed: bool = False
    paused_for: float = 0.0
    finished: float | None = None
    interrupted: bool = False


@dataclass
class PhoneEar(AudioOutput):
    """The caller's handset: plays each segment in real time; pausable like RoomIO."""

    segments: list[Played] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(label="phone-ear", capabilities=AudioOutputCapabilities(pause=True))
        self._current: Played | None = None
        self._paused = False
        self._player: asyncio.Task[None] | None = None

    def __hash__(self) -> int:
        return id(self)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._current is None:
            self._current = Played(started=time.perf_counter())
            self.segments.append(self._current)
            self.on_playback_started(created_at=time.time())
            self._player = asyncio.create_task(self._play(self._current))
        self._current.seconds += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._current is not None:
            self._current.flushed = True

    def clear_buffer(self) -> None:
        if self._current is not None:
            self._finish(self._current, interrupted=True)

    def pause(self) -> None:
        super().pause()
        self._paused = True

    def resume(self) -> None:
        super().resume()
        self._paused = False

    async def _play(self, seg: Played) -> None:
        last = time.perf_counter()
        while seg.finished is None:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            if self._paused:
                seg.paused_for += now - last
            else:
                seg.heard = min(seg.seconds, seg.heard + now - last)
            last = now
            if seg.flushed and seg.heard >= seg.seconds:
                self._finish(seg, interrupted=False)

    def _finish(self, seg: Played, *, interrupted: bool) -> None:
        if seg.finished is not None:
            return
        seg.finished, seg.interrupted = time.perf_counter(), interrupted
        if self._current is seg:
            self._current = None
        self.on_playback_finished(playback_position=seg.heard, interrupted=interrupted)

    @property
    def playing(self) -> bool:
        return any(s.finished is None for s in self.segments)

    async def wait_playing(self, after: int, timeout: float = 10.0) -> Played:
        """The first segment beyond `after`, once it has started."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if len(self.segments) > after:
                return self.segments[after]
            await asyncio.sleep(0.01)
        raise AssertionError(f"the agent did not start segment {after + 1} within {timeout} s")

    async def wait_quiet(self, timeout: float = 15.0) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if not self.playing:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the agent was still talking after {timeout} s")


@dataclass
class PhoneCall:
    call: Call
    mic: PhoneMic
    ear: PhoneEar

    @property
    def session(self) -> AgentSession[CallState]:
        return self.call.session

    @property
    def state(self) -> CallState:
        return self.call.state

    def user_lines(self) -> list[str]:
        return [
            m.text_content or ""
            for m in self.session.history.items
            if isinstance(m, llm.ChatMessage) and m.role == "user"
        ]


@contextlib.asynccontextmanager
async def phone_call(
    settings: Settings, *, caller: str, sip: bool = True, realtime: bool = False
) -> AsyncIterator[PhoneCall]:
    """The product's call from `caller` (a SIP call unless `sip=False`), audio in and out.
    Without `realtime` the greeting agent runs on the pipeline LLM."""
    db = await Database.open(settings.database_url)
    vad = load_vad()
    info = CallInfo.for_console(caller_e164=caller, call_id=f"phone-{uuid.uuid4().hex[:8]}")
    if sip:
        info = replace(info, is_sip=True, participant_identity="sip-caller")
    mic, ear = PhoneMic(), PhoneEar()

    def attach_io(session: AgentSession[CallState]) -> None:
        session.input.audio = mic
        session.output.audio = ear

    providers: Providers | None = None
    try:
        async with http_context.open():
            providers = build_providers(settings, vad=vad)
            if not realtime:
                providers = replace(providers, realtime=None)
            with fake_job_context(room=rtc.Room()):
                call = await start_call(
                    settings=settings,
                    db=db,
                    call=info,
                    providers=providers,
                    vad=vad,
                    before_start=attach_io,
                )
                try:
                    yield PhoneCall(call, mic, ear)
                finally:
                    await call.session.aclose()
                    await call.wait_closed()
            with contextlib.suppress(Exception):
                stt: Any = providers.stt
                await stt.aclose()
    finally:
        await db.close()
