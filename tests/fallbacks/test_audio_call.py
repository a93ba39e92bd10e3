"""A whole call through the session's audio input and output, in real time.

Real Silero VAD and the product's turn-taking; the product's providers (`build_providers`)
pointed at emulators with fixed latencies: Deepgram (STT), the OpenAI chat emulator
(LLM, scripted to route, verify and look up), ElevenLabs (TTS). The committed caller WAVs
are fed through `session.input.audio` at real-time pace with silence in between, and
`session.output.audio` captures the agent's audio and "plays" it in real time. Asserts the
phases reached and that every caller turn got agent audio back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest
from livekit import rtc
from livekit.agents.testing import fake_job_context
from livekit.agents.utils import http_context
from livekit.agents.voice.io import AudioInput, AudioOutput, AudioOutputCapabilities

from callcenter.call import start_call
from callcenter.data import CallRecordStore, Database
from callcenter.providers import build_providers
from callcenter.telephony.sip import CallInfo
from tests.fallbacks.support import MAYA, emulator_settings, flow_responder, load_vad
from tests.support.audio import load_frames, silence_frames
from tests.support.emulators import DeepgramEmulator, ElevenLabsEmulator, OpenAIHTTPEmulator

RATE = 16000
FRAME_S = 0.02
TURNS = [  # (fixture, what the Deepgram emulator transcribes it as)
    ("check_order.wav", "I want to check on my order"),
    ("zip_code.wav", "my zip code is 94107"),
    ("order_number.wav", "order number 1001"),
]


class CallerMic(AudioInput):
    """The caller's line: 20 ms frames in real time, silence unless a phrase is queued."""

    def __init__(self) -> None:
        super().__init__(label="caller-mic")
        self._queue: list[rtc.AudioFrame] = []
        self._silence = silence_frames(20, sample_rate=RATE)[0]
        self._next = time.perf_counter()
        self.spoken = asyncio.Event()
        self.phrase_ended_at = 0.0

    def say(self, frames: list[rtc.AudioFrame]) -> None:
        self.spoken.clear()
        self._queue = list(frames)

    async def __anext__(self) -> rtc.AudioFrame:
        self._next += FRAME_S
        delay = self._next - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._queue:
            frame = self._queue.pop(0)
            if not self._queue:
                self.phrase_ended_at = time.perf_counter()
                self.spoken.set()
            return frame
        return self._silence


@dataclass
class Segment:
    started: float
    frames: int = 0
    seconds: float = 0.0
    finished: float | None = None
    interrupted: bool = False


@dataclass
class CallerEar(AudioOutput):
    """Captures the agent's audio; each flushed segment "plays" in real time."""

    segments: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(label="caller-ear", capabilities=AudioOutputCapabilities(pause=False))
        self._current: Segment | None = None
        self._timer: asyncio.Task[None] | None = None

    def __hash__(self) -> int:
        return id(self)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._current is None:
            self._current = Segment(started=time.perf_counter())
            self.segments.append(self._current)
            self.on_playback_started(created_at=time.time())
        self._current.frames += 1
        self._current.seconds += frame.duration

    def flush(self) -> None:
        super().flush()
        seg, self._current = self._current, None
        if seg is None:
            return
        remaining = seg.seconds - (time.perf_counter() - seg.started)
        self._timer = asyncio.create_task(self._finish(seg, max(0.0, remaining)))

    async def _finish(self, seg: Segment, after: float) -> None:
        await asyncio.sleep(after)
        seg.finished = time.perf_counter()
        self.on_playback_finished(playback_position=seg.seconds, interrupted=False)

    def clear_buffer(self) -> None:
        seg, self._current = self._current, None
        if seg is not None:
            seg.finished, seg.interrupted = time.perf_counter(), True
            self.on_playback_finished(
                playback_position=time.perf_counter() - seg.started, interrupted=True
            )

    @property
    def playing(self) -> bool:
        return self._current is not None or any(s.finished is None for s in self.segments)


async def wait_quiet(ear: CallerEar, session, after: int, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Until the agent produced a segment beyond `after` and went quiet for 0.6 s."""
    deadline = time.perf_counter() + timeout
    quiet_since: float | None = None
    while time.perf_counter() < deadline:
        quiet = (
            len(ear.segments) > after
            and not ear.playing
            and session.agent_state in ("listening", "idle")
        )
        if quiet:
            quiet_since = quiet_since or time.perf_counter()
            if time.perf_counter() - quiet_since >= 0.6:
                return
        else:
            quiet_since = None
        await asyncio.sleep(0.05)
    raise AssertionError(f"no agent audio after segment {after} within {timeout} s")


@pytest.fixture
async def emulators() -> AsyncIterator[
    tuple[OpenAIHTTPEmulator, DeepgramEmulator, ElevenLabsEmulator]
]:
    async with (
        OpenAIHTTPEmulator() as chat,
        DeepgramEmulator() as deepgram,
        ElevenLabsEmulator(first_audio_latency=0.15, ms_per_char=25) as eleven,
    ):
        yield chat, deepgram, eleven


@pytest.mark.slow
async def test_whole_call_through_audio_io(
    db_url: str,
    emulators: tuple[OpenAIHTTPEmulator, DeepgramEmulator, ElevenLabsEmulator],
) -> None:
    chat, deepgram, eleven = emulators
    chat.chat.responder = flow_responder("AGENT")
    deepgram.transcripts.extend(text for _, text in TURNS)
    settings = emulator_settings(
        db_url,
        openai_url=chat.base_url,
        deepgram_url=deepgram.base_url,
        elevenlabs_url=eleven.base_url,
    )
    mic, ear = CallerMic(), CallerEar()

    def attach_io(session) -> None:  # type: ignore[no-untyped-def]
        session.input.audio = mic
        session.output.audio = ear

    db = await Database.open(settings.database_url)
    vad = load_vad()
    call = CallInfo.for_console(caller_e164=MAYA, call_id=f"audio-{uuid.uuid4().hex[:8]}")
    replies: list[float] = []
    try:
        async with http_context.open():
            providers = replace(build_providers(settings, vad=vad), realtime=None)
            with fake_job_context(room=rtc.Room()):
                lifecycle = await start_call(
                    settings=settings,
                    db=db,
                    call=call,
                    providers=providers,
                    vad=vad,
                    before_start=attach_io,
                )
                session, state = lifecycle.session, lifecycle.state
                try:
                    await wait_quiet(ear, session, after=0)  # the greeting
                    for name, _ in TURNS:
                        before = len(ear.segments)
                        mic.say(load_frames(name, sample_rate=RATE))
                        await asyncio.wait_for(mic.spoken.wait(), 10)
                        await wait_quiet(ear, session, after=before)
                        replies.append(ear.segments[before].started - mic.phrase_ended_at)
                        await asyncio.sleep(0.3)
                finally:
                    phases = state.phases_visited()
                    verified = state.verified
                    await session.aclose()
                    await lifecycle.wait_closed()
            with contextlib.suppress(Exception):
                await providers.stt.aclose()  # type: ignore[union-attr]
        record = await CallRecordStore(db).get(call.call_id)
    finally:
        await db.close()

    for (name, _), gap in zip(TURNS, replies, strict=True):
        print(f"\n[audio] {name}: end of caller speech -> agent audio {gap:.2f} s")
    # phases reached, caller verified, every caller turn answered with audio
    assert phases[:3] == ["greeting", "verification", "orders"]
    assert verified
    assert len(replies) == len(TURNS)
    assert all(gap > 0 for gap in replies)  # the agent spoke after the caller, not over them
    assert all(s.seconds > 0.3 for s in ear.segments)
    assert len(deepgram.utterances) >= len(TURNS)
    spoken = " ".join(s.text for s in eleven.syntheses).lower()
    assert "zip code" in spoken or "verify" in spoken or "how can i help" in spoken
    assert "shipped" in spoken  # order 1001 was looked up and read back
    assert chat.requests_for("/audio") == []  # no fallback to OpenAI STT/TTS
    assert record is not None and record.to_dict()["data"]["provider_switches"] == []
    # the call's numbers on its record (behaviours/call_metrics.py): each answered caller
    # turn's end of speech -> first agent audio, the tools by name, what the models used
    data = record.to_dict()["data"]
    assert len(data["turn_latencies_ms"]) >= len(TURNS)
    assert all(ms > 0 for ms in data["turn_latencies_ms"])
    assert data["tool_calls"].get("lookup_order") == 1
    usage = data["usage"]
    assert usage["llm_prompt_tokens"] > 0 and usage["llm_completion_tokens"] > 0
    assert usage["tts_characters"] >= len("shipped")
    assert usage["stt_audio_s"] > 0
    assert {m["kind"] for m in usage["models"]} >= {"llm", "tts", "stt"}
    # and each agent line that answered speech shows its own latency in the transcript
    timed = [t for t in record.to_dict()["transcript"] if t.get("latency_ms") is not None]
    assert len(timed) >= len(TURNS) and all(t["role"] == "agent" for t in timed)
    assert sorted(t["latency_ms"] for t in timed) == sorted(data["turn_latencies_ms"])
