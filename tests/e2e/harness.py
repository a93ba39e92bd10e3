"""What the end-to-end tests run around a real LiveKit: provider emulators, a scripted model,
our worker as a subprocess, and the audio measurements the assertions read.

- `ProviderEmulators`: the product's OpenAI (chat + realtime on one base URL), Deepgram and
  ElevenLabs emulators at fixed latencies, serving from their own thread so they answer the
  worker subprocess whatever the test's event loop is doing.
- `ScriptedModel`: plays the models' part the way a model would (greet, route, verify, escalate,
  brief the supervisor, take the supervisor's "yes"), from what it hears: the caller's
  utterances are transcribed from a queue the test fills (`model.caller_says(...)`), the
  supervisor's from the tone they play (`SUPERVISOR_YES_HZ`).
- `WorkerProcess`: `callcenter dev` with that environment, stopped (its whole process group)
  when the test session ends.
- Tones: every agent voice is the emulators' 440 Hz tone; the supervisor briefing is
  `BRIEFING_HZ` (so a caller's recording proves it never heard it); the caller's and the
  supervisor's own "voices" after the connect are `CALLER_HZ` and `SUPERVISOR_HZ`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

from tests.support.emulators import (
    ChatReply,
    ChatRequest,
    DeepgramEmulator,
    ElevenLabsEmulator,
    OpenAIHTTPEmulator,
    OpenAIRealtimeEmulator,
    RealtimeReply,
    RealtimeTurn,
    ToolCall,
)

REPO = Path(__file__).resolve().parents[2]

AGENT_HZ = 440.0
"""Every emulated agent voice (realtime, ElevenLabs, OpenAI TTS)."""
BRIEFING_HZ = 1500.0
"""The supervisor briefing (ElevenLabs, only for text that starts with BRIEFING_MARK)."""
CALLER_HZ = 700.0
SUPERVISOR_HZ = 1100.0
SUPERVISOR_YES_HZ = 1300.0
"""A supervisor "voice" clip the model hears as 'Yes, put them through.'"""
SUPERVISOR_NO_HZ = 1700.0
"""... and as 'No, I can't take it right now.'"""
SUPERVISOR_HELLO_HZ = 900.0
"""What a supervisor says on answering ('Hello, Pat speaking.'): the caller must not hear it."""
BRIEFING_MARK = "Briefing"

GREETING = "Thanks for calling Northwind Supply. How can I help today?"


def _line(key: str) -> str:
    from callcenter import prompts

    return prompts.line(key)


def _nobody_took_it() -> str:
    from callcenter.escalation.manager import with_callback_offer

    return with_callback_offer(_line("escalation.nobody_took_it"))


NOBODY_TOOK_IT = _nobody_took_it()
"""What the product tells a caller when no supervisor took the call: the line and the
callback offer (prompts/lines.toml, `escalation.manager.with_callback_offer`)."""


@dataclass
class Latencies:
    """The provider latencies every e2e call runs at (the latency benchmark's defaults)."""

    stt_final: float = 0.100
    llm_first_token: float = 0.300
    tts_first_audio: float = 0.150


# ============================================================================ audio


def tone_hz(pcm: bytes, rate: int) -> float | None:
    """The frequency of `pcm` when it is one pure tone (most of its energy within 40 Hz of
    the peak), else None: speech is never that narrow, whatever its strongest formant."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    if len(x) < 256 or np.sqrt(np.mean(x * x)) < 200:
        return None
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    peak = float(freqs[int(np.argmax(power))])
    near = power[np.abs(freqs - peak) <= 40].sum()
    return peak if near / power.sum() > 0.6 else None


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples as float64 and the sample rate."""
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        if w.getnchannels() > 1:
            data = data[:: w.getnchannels()]
    return data.astype(np.float64), rate


def write_tone(path: Path, hz: float, seconds: float, *, rate: int = 8000) -> Path:
    """A WAV of one sine tone (amplitude 0.3 FS, 5 ms fades): a 'voice' a test can find."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * hz * t)
    fade = rate // 200
    x[:fade] *= np.linspace(0, 1, fade)
    x[-fade:] *= np.linspace(1, 0, fade)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


@dataclass
class ToneTrack:
    """Where given tones sound in one recording, per 20 ms window.

    A tone counts in a window when its Hann-windowed DFT amplitude is above `level` and at
    least 4x the amplitude 100 and 200 Hz either side: a pure tone is sharp, music and speech
    are not, so hold music does not count as a 1500 Hz briefing, while a tone mixed under
    music still does.
    """

    rate: int
    window_s: float
    """The time step between windows (the window length unless `hop_s` was given)."""
    hits: dict[float, np.ndarray]
    """Frequency -> bool per window."""
    rms: np.ndarray

    @classmethod
    def of(
        cls,
        path: Path,
        freqs: list[float],
        *,
        window_s: float = 0.02,
        hop_s: float | None = None,
        level: float = 600.0,
    ) -> ToneTrack:
        """`hop_s` (default: `window_s`) steps overlapping windows for a finer time grid; the
        20 ms window itself is what tells 100 Hz neighbours apart."""
        x, rate = read_wav(path)
        size = int(rate * window_s)
        hop = int(rate * (hop_s or window_s))
        if len(x) >= size:
            frames = np.lib.stride_tricks.sliding_window_view(x, size)[::hop]
        else:
            frames = np.zeros((0, size))
        n = len(frames)
        t = np.arange(size) / rate
        hann = np.hanning(size)

        def amplitude(f: float) -> np.ndarray:
            ref = hann * np.exp(-2j * np.pi * f * t)
            return np.abs(frames @ ref) * 2 / hann.sum()

        hits = {}
        for f in freqs:
            at = amplitude(f)
            around = np.max([amplitude(f + d) for d in (-200, -100, 100, 200)], axis=0)
            hits[f] = (at > level) & (at > 4 * around)
        rms = np.sqrt(np.mean(frames * frames, axis=1)) if n else np.zeros(0)
        return cls(rate, (hop_s or window_s), hits, rms)

    def _span(self, start_s: float, end_s: float | None) -> slice:
        a = max(0, int(start_s / self.window_s))
        b = len(self.rms) if end_s is None else max(a, int(end_s / self.window_s))
        return slice(a, b)

    def present(self, hz: float, *, start_s: float = 0.0, end_s: float | None = None) -> float:
        """Seconds of windows in [start, end) where `hz` sounds."""
        return float(np.sum(self.hits[hz][self._span(start_s, end_s)]) * self.window_s)

    def onset(self, hz: float, *, after_s: float = 0.0) -> float | None:
        """Start (s) of the first window at/after `after_s` where `hz` sounds."""
        a = max(0, int(after_s / self.window_s))
        found = np.nonzero(self.hits[hz][a:])[0]
        return None if len(found) == 0 else (a + int(found[0])) * self.window_s

    def loud(
        self,
        *,
        start_s: float = 0.0,
        end_s: float | None = None,
        level: float = 300.0,
        besides: tuple[float, ...] = (),
    ) -> float:
        """Seconds of windows above `level` RMS (music, speech, tones), leaving out windows
        where one of the tones `besides` sounds."""
        span = self._span(start_s, end_s)
        loud = self.rms[span] > level
        for hz in besides:
            loud &= ~self.hits[hz][span]
        return float(np.sum(loud) * self.window_s)

    @property
    def duration(self) -> float:
        return len(self.rms) * self.window_s


# ============================================================================ the model


@dataclass
class ScriptedModel:
    """The model's part, decided from what it hears (see the module docstring).

    A caller utterance reaches two transcribers in the greeting phase: the realtime model
    (which answers from its own transcript) and the STT the session uses for turn detection.
    Each has its own queue; `caller_says` feeds both. In the pipeline phases only the STT
    transcribes, so the realtime queue is dropped when a pipeline model request arrives.
    """

    stt_queue: collections.deque[str] = field(default_factory=collections.deque)
    realtime_queue: collections.deque[str] = field(default_factory=collections.deque)
    heard: list[str] = field(default_factory=list)
    """Every transcript handed to an STT/realtime session, in order (for failure messages)."""
    decisions: list[str] = field(default_factory=list)
    """Every tool call the model made, by name, in order."""
    replies: list[tuple[float, str]] = field(default_factory=list)
    """(time.time(), text) of every spoken reply the model produced."""
    _texts: dict[tuple[str, int], str] = field(default_factory=dict)

    def reset(self) -> None:
        self.stt_queue.clear()
        self.realtime_queue.clear()
        self.heard.clear()
        self.decisions.clear()
        self.replies.clear()
        self.requests.clear()

    def caller_says(self, *texts: str) -> None:
        """What the next caller utterances will be transcribed as (FIFO)."""
        self.stt_queue.extend(texts)
        self.realtime_queue.extend(texts)

    def transcribe(self, index: int, pcm: bytes, rate: int, *, realtime: bool = False) -> str:
        """Utterance `index` of one transcriber (asked again for each interim: same text)."""
        key = ("realtime" if realtime else "stt", index)
        if key not in self._texts:
            self._texts[key] = self._first_heard(pcm, rate, realtime=realtime)
            self.heard.append(f"{key[0]}: {self._texts[key]}")
        return self._texts[key]

    def _first_heard(self, pcm: bytes, rate: int, *, realtime: bool) -> str:
        hz = tone_hz(pcm, rate) or -1000.0
        queue = self.realtime_queue if realtime else self.stt_queue
        if abs(hz - SUPERVISOR_YES_HZ) < 60:
            text = "Yes, put them through."
        elif abs(hz - SUPERVISOR_HELLO_HZ) < 60:
            text = "Hello, Pat speaking."
        elif abs(hz - SUPERVISOR_NO_HZ) < 60:
            text = "No, I can't take it right now."
        elif abs(hz - SUPERVISOR_HZ) < 60 or abs(hz - CALLER_HZ) < 60:
            text = ""  # the two people talking after the connect: nobody transcribes them
        else:
            text = queue.popleft() if queue else ""
        return text

    def _tool(self, name: str, args: dict[str, Any]) -> ToolCall:
        self.decisions.append(name)
        return ToolCall(name, args)

    # ----- realtime (the greeting agent) -------------------------------------------------

    requests: list[str] = field(default_factory=list)
    """One line per model request: which tools it offered and what it last heard."""

    def story(self) -> str:
        """What the model heard, said and decided so far (for failure messages)."""
        return (
            f"heard {self.heard}; said {[t for _, t in self.replies]}; "
            f"decided {self.decisions}; requests {self.requests[-6:]}"
        )

    def _say(self, text: str) -> str:
        if text:
            self.replies.append((time.time(), text))
        return text

    def realtime(self, turn: RealtimeTurn) -> RealtimeReply | ToolCall:
        reply = self._realtime(turn)
        if isinstance(reply, RealtimeReply):
            self._say(reply.text)
        return reply

    def chat(self, req: ChatRequest) -> ChatReply | ToolCall:
        reply = self._chat(req)
        if isinstance(reply, ChatReply):
            self._say(reply.text or "")
        return reply

    def _realtime(self, turn: RealtimeTurn) -> RealtimeReply | ToolCall:
        last = turn.last_item
        self.requests.append(f"realtime last={last.get('type')}/{last.get('role')}")
        if last.get("type") == "function_call_output":
            return RealtimeReply(text=_spoken_result(str(last.get("output", ""))))
        said = turn.last_user_text.lower()
        if not said:
            return RealtimeReply(text=GREETING)
        if "(keypad) 0" in said or "person" in said:
            return self._tool("transfer_to_human", {"reason": "The caller asked for a person."})
        if "order" in said:
            return self._tool("route_to_orders", {})
        if "bill" in said:
            return self._tool("route_to_billing", {})
        return RealtimeReply(text="Could you tell me a little more?")

    # ----- chat (verification, specialists, the briefing leg) ----------------------------

    def _chat(self, req: ChatRequest) -> ChatReply | ToolCall:
        tools = set(req.tool_names)
        self.requests.append(f"chat tools={sorted(tools)} last={req.last_message.get('role')}")
        if "connect_to_caller" not in tools:
            self.realtime_queue.clear()  # the caller is in a pipeline phase now
        output = req.last_tool_output
        said = req.last_user_text.lower() if req.last_message.get("role") == "user" else ""
        if "connect_to_caller" in tools:  # the supervisor briefing leg
            if output is not None:
                return ChatReply(text="Thank you.")
            if said.startswith("yes"):
                return self._tool("connect_to_caller", {})
            if said.startswith("no"):
                return self._tool("decline_transfer", {"reason": "busy right now"})
            if said.startswith("hello") and any(BRIEFING_MARK in t for _, t in self.replies[-3:]):
                return ChatReply(text=f"{BRIEFING_MARK}: one moment, here is the summary.")
            return ChatReply(
                text=f"{BRIEFING_MARK} for a supervisor: a verified caller needs help with an "
                "order. Will you take the call?"
            )
        if "record_inputs" in tools:  # LiveKit's GetDtmfTask: the digits arrive as DTMF
            return ChatReply(text="Please key your four digit PIN, then press pound.")
        if output is not None:
            return ChatReply(text=_spoken_result(output))
        if "(keypad) 0" in said or "person" in said:
            return self._tool("transfer_to_human", {"reason": "The caller asked for a person."})
        if "enter_pin_on_keypad" in tools:
            if "key" in said or "keypad" in said:
                return self._tool("enter_pin_on_keypad", {})
            return ChatReply(text="First I need to verify you: your ZIP code, or your PIN.")
        return ChatReply(text="Sure. What would you like to know about your order?")


def _spoken_result(output: str) -> str:
    """What the model says after a tool: the reply's `Say:` line (`callcenter.core.replies`),
    else the output's first sentence; nothing once a transfer has connected."""
    from callcenter.core.replies import parse

    if "do not say anything more" in output or "Say nothing more" in output:
        return ""
    reply = parse(output)
    if reply is not None and reply.say:
        return reply.say
    return "Okay. " + output.split(".")[0][:80] + "."


# ============================================================================ emulators


class ProviderEmulators:
    """See the module docstring. `start()` blocks until every emulator listens."""

    def __init__(self, model: ScriptedModel, latencies: Latencies | None = None) -> None:
        self.model = model
        self.lat = latencies or Latencies()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.openai: OpenAIHTTPEmulator
        self.realtime: OpenAIRealtimeEmulator
        self.deepgram: DeepgramEmulator
        self.elevenlabs: ElevenLabsEmulator

    def start(self) -> ProviderEmulators:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    async def _start(self) -> None:
        model, lat = self.model, self.lat
        self.openai = OpenAIHTTPEmulator()
        self.realtime = OpenAIRealtimeEmulator()
        # one OPENAI_BASE_URL serves the pipeline LLM and the realtime greeting model
        self.realtime._setup_routes(self.openai._app)
        self.deepgram = DeepgramEmulator(final_delay=lat.stt_final, end_silence_ms=None)
        self.elevenlabs = ElevenLabsEmulator(first_audio_latency=lat.tts_first_audio)
        self.elevenlabs.tone_for = lambda text: (
            BRIEFING_HZ if text.lstrip().startswith(BRIEFING_MARK) else AGENT_HZ
        )

        async def chat(req: ChatRequest) -> Any:
            await asyncio.sleep(lat.llm_first_token)
            return model.chat(req)

        self.openai.chat.responder = chat
        self.realtime.responder = model.realtime
        self.realtime.transcriber = lambda i, pcm: model.transcribe(i, pcm, 24000, realtime=True)
        self.deepgram.transcriber = lambda i, pcm, rate: model.transcribe(i, pcm, rate)
        for emu in (self.openai, self.deepgram, self.elevenlabs):
            await emu.start()

    def env(self) -> dict[str, str]:
        return {
            "OPENAI_API_KEY": "test",
            "OPENAI_BASE_URL": self.openai.base_url,
            "DEEPGRAM_API_KEY": "test",
            "DEEPGRAM_BASE_URL": self.deepgram.base_url,
            "ELEVEN_API_KEY": "test",
            "ELEVENLABS_BASE_URL": self.elevenlabs.base_url,
        }

    def briefings(self) -> list[str]:
        """Texts the briefing leg sent to TTS."""
        return [s.text for s in self.elevenlabs.syntheses if s.text.startswith(BRIEFING_MARK)]

    def stop(self) -> None:
        async def _stop() -> None:
            for emu in (self.openai, self.realtime, self.deepgram, self.elevenlabs):
                with contextlib.suppress(Exception):
                    await emu.stop()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


# ============================================================================ the worker


class WorkerProcess:
    """`callcenter dev` (or another agent worker, `argv`) as a subprocess in its own process
    group, so stopping it stops its job processes too."""

    def __init__(self, env: dict[str, str], log: Path, argv: list[str] | None = None) -> None:
        self.env = env
        self.log = log
        self.argv = argv or ["-m", "callcenter.cli", "dev"]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> WorkerProcess:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *self.argv],
                env={**os.environ, **self.env},
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "registered worker" in self.text():
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited ({self.proc.returncode}):\n{self.tail()}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the worker did not register within {timeout:.0f} s:\n{self.tail()}")

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        # job processes share the group: make sure none outlives the worker
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


async def agent_reply(
    model: ScriptedModel, *, after: float, timeout: float = 30.0, contains: str = ""
) -> str:
    """Wait for the model's next spoken reply after `after` (time.time()), then for it to be
    played out (60 ms per character, the emulators' pace, plus a second of slack)."""

    def found() -> tuple[float, str] | None:
        for t, text in model.replies:
            if t > after and contains in text:
                return t, text
        return None

    t, text = await wait_until(
        found,
        timeout=timeout,
        what=lambda: f"the agent to say {contains!r} ({model.story()})",
    )
    await asyncio.sleep(max(0.0, t + len(text) * 0.06 + 1.0 - time.time()))
    return text


async def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    what: str | Callable[[], str],
    interval: float = 0.1,
) -> Any:
    """Poll `predicate` (sync or async) until truthy; AssertionError naming `what` (a text,
    or a function giving it at the time of failure) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {said}")
        await asyncio.sleep(interval)


# ============================================================================ a WebRTC caller


class WebCaller:
    """A caller in the browser's place: an `rtc.Room` participant that speaks WAVs in real
    time (silence otherwise), keys digits (`publish_dtmf`) and records what it hears.

    Its token carries the room configuration a SIP dispatch rule would give (our agent
    dispatched by name), so the room is created with the explicit dispatch on join.
    """

    RATE = 16000
    FRAME = 320  # 20 ms

    def __init__(self) -> None:
        self.room = rtc.Room()
        self.heard: list[tuple[float, str, np.ndarray]] = []
        """(arrival time, track name, int16 samples at RATE) for every frame received."""
        self._speech: collections.deque[np.ndarray] = collections.deque()
        self._tasks: list[asyncio.Task[None]] = []
        self.started_at = 0.0
        self.spoke: list[tuple[float, float]] = []
        """(start, end of speech) per `say`, on `time.time()`."""

    async def join(self, url: str, token: str) -> None:
        self.room.on("track_subscribed", self._on_track)
        await self.room.connect(url, token)
        self.started_at = time.time()
        self.source = rtc.AudioSource(self.RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
        await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        self._tasks.append(asyncio.create_task(self._mic()))

    def _on_track(self, track: rtc.Track, pub: rtc.RemoteTrackPublication, _p: Any) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            self._tasks.append(asyncio.create_task(self._listen(track, pub.name)))

    async def _listen(self, track: rtc.Track, name: str) -> None:
        stream = rtc.AudioStream(track, sample_rate=self.RATE, num_channels=1)
        async for ev in stream:
            samples = np.frombuffer(ev.frame.data, dtype=np.int16).copy()
            self.heard.append((time.time(), name, samples))

    async def _mic(self) -> None:
        silence = np.zeros(self.FRAME, dtype=np.int16)
        next_at = time.monotonic()
        while True:
            frame = self._speech.popleft() if self._speech else silence
            await self.source.capture_frame(
                rtc.AudioFrame(frame.tobytes(), self.RATE, 1, self.FRAME)
            )
            next_at += self.FRAME / self.RATE
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def loud_until(self, *, level: float = 500.0) -> float:
        """Arrival time of the last heard frame above `level` RMS (0 when none)."""
        for t, _, samples in reversed(self.heard):
            if np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > level:
                return t
        return 0.0

    async def wait_agent_done(self, *, quiet_s: float = 0.8, timeout: float = 30.0) -> None:
        """Until the agent has spoken and then been quiet for `quiet_s` (a turn ended)."""

        def done() -> bool:
            last = self.loud_until()
            return bool(last) and time.time() - last > quiet_s

        await wait_until(done, timeout=timeout, what="the agent to finish speaking")

    async def say(self, wav: Path) -> float:
        """Speak `wav` now; returns when it has been sent, with the end-of-speech time."""
        x, rate = read_wav(wav)
        if rate != self.RATE:
            x = np.interp(np.arange(0, len(x), rate / self.RATE), np.arange(len(x)), x)
        samples = x.astype(np.int16)
        pad = (-len(samples)) % self.FRAME
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
        start = time.time()
        for i in range(0, len(samples), self.FRAME):
            self._speech.append(samples[i : i + self.FRAME])
        duration = len(samples) / self.RATE
        await asyncio.sleep(duration + 0.05)
        self.spoke.append((start, start + duration))
        return start + duration

    async def key(self, digits: str) -> None:
        codes = {"*": 10, "#": 11}
        for digit in digits:
            code = codes.get(digit, int(digit) if digit.isdigit() else 0)
            await self.room.local_participant.publish_dtmf(code=code, digit=digit)
            await asyncio.sleep(0.15)

    def save(self, path: Path) -> Path:
        """Everything heard, mixed, as a WAV starting at `started_at`."""
        if not self.heard:
            total = np.zeros(0, dtype=np.float64)
        else:
            end = max(t for t, _, _ in self.heard) - self.started_at + 1.0
            total = np.zeros(int(end * self.RATE) + self.FRAME * 4)
            by_track: dict[str, list[tuple[float, np.ndarray]]] = collections.defaultdict(list)
            for t, name, samples in self.heard:
                by_track[name].append((t, samples))
            for frames in by_track.values():
                # frames of one track are contiguous: place them from the first arrival on
                pos = int((frames[0][0] - self.started_at) * self.RATE)
                for _, samples in frames:
                    n = len(samples)
                    if pos + n > len(total):
                        break
                    total[pos : pos + n] += samples
                    pos += n
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.RATE)
            w.writeframes(np.clip(total, -32768, 32767).astype("<i2").tobytes())
        return path

    async def leave(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.room.disconnect()


def caller_token(info: Any, identity: str, room: str, *, agent_name: str) -> str:
    """A join token whose room configuration dispatches `agent_name` (as a SIP rule's does)."""
    from livekit import api

    return (
        api.AccessToken(info.api_key, info.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_room_config(
            api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=agent_name)])
        )
        .to_jwt()
    )


# ============================================================================ the database


ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def supervisor(name: str, contact: str, *, mode: str = "warm", priority: int = 10) -> dict:
    """A supervisor on duty around the clock, for `set_roster`."""
    return {
        "name": name,
        "contact": contact,
        "skills": ["general"],
        "timezone": "UTC",
        "working_hours": ALL_WEEK,
        "priority": priority,
        "transfer_mode": mode,
    }


async def set_roster(database_url: str, *supervisors: dict[str, Any]) -> None:
    """Replace the worker's supervisors (it reads the roster on every escalation)."""
    from callcenter.data import Database, SupervisorStore
    from callcenter.staff import Supervisor

    db = await Database.open(database_url)
    try:
        store = SupervisorStore(db)
        for row in await store.list():
            assert row.id is not None
            await store.remove(row.id)
        for values in supervisors:
            await store.add(Supervisor.create(**values))
    finally:
        await db.close()


async def call_record(database_url: str, room: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """The closed call record of the call in `room` (waits for the worker to close it)."""
    from callcenter.data import CallRecordStore, Database

    db = await Database.open(database_url)
    try:

        async def closed() -> dict[str, Any] | None:
            for rec in await CallRecordStore(db).list_recent(50):
                data = rec.to_dict()
                if data.get("room_name") == room and data.get("outcome"):
                    return data
            return None

        return await wait_until(closed, timeout=timeout, what=f"the call record of {room}")
    finally:
        await db.close()
