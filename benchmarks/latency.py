"""End of caller speech -> first agent audio: our session vs a stock AgentSession.

Both sessions hear the same committed caller phrases (tests/fixtures/audio, resampled to
24 kHz and fed in real time in 50 ms frames, as RoomIO delivers a room's audio, through a
custom `AudioInput`, silence between phrases) and talk to the same local provider
emulators at fixed latencies:

- STT (DeepgramEmulator): final transcript `final_delay` (default 100 ms) after its energy
  endpointer has seen the silence the client asked Deepgram for (`endpointing`: the
  plugin's 25 ms default, for both sessions), so short pauses split an utterance as live;
- LLM (OpenAIHTTPEmulator): first token `llm_latency` (300 ms) after the request arrives;
- TTS (ElevenLabsEmulator): first audio `first_audio_latency` (150 ms).

Per turn we record, on one clock (`time.perf_counter`, emulators run in-process):
  t_eos     end of caller speech (last 10 ms window above an energy threshold in the WAV)
  t_llm     the last chat request before the reply arrives at the LLM emulator
  t_commit  user turn committed (user message added to the chat context)
  t_audio   first agent audio frame reaches our `AudioOutput`

Split of `total = t_audio - t_eos` (sums exactly):
  endpointing = t_commit - t_eos - stt_final_delay   (turn detection: silence + decision wait)
  injected    = stt_final_delay + the LLM/TTS latency still ahead once the turn is committed:
                ideal - t_commit, where ideal (the earliest first audio the providers allow) is
                max(t_commit, t_llm + llm) + tts              TTS starts at the commit (default)
                max(t_commit, t_llm + llm + tts)              preemptive TTS (ours)
                (with preemptive generation the LLM, and TTS, run while endpointing waits)
  overhead    = total - endpointing - injected = t_audio - ideal  (framework, plugins, ours)
`llm_request_after_eos` (t_llm - t_eos) is reported too: it shows whether the LLM was
started preemptively (at the final transcript) or only at the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import Agent, AgentSession
from livekit.agents.utils import http_context
from livekit.agents.voice import io

from benchmarks._common import summary, table, write_json
from tests.support.audio import load_frames, phrase_text, silence_frames
from tests.support.emulators import DeepgramEmulator, ElevenLabsEmulator, OpenAIHTTPEmulator

STOCK_SAMPLE_RATE = 24000
FRAME_MS = 50
"""Caller audio reaches a session as RoomIO delivers it from the room: 50 ms frames, at
24 kHz for stock sessions (`room_io.AudioInputOptions` defaults) and at the rate our worker
asks for (`callcenter.telephony.audio.CALLER_SAMPLE_RATE`, 8 kHz) for ours; the fixtures
are 8 kHz recordings, resampled where needed."""
EOS_WINDOW_MS = 10
PHRASES = [
    "check_order.wav",
    "zip_code.wav",
    "order_number.wav",
    "yes.wav",
    "help_bill.wav",
    "balance.wav",
    "speak_person.wav",
    "cancel_order.wav",
    "where_package.wav",
    "what_charge.wav",
    "pin.wav",
    "thats_all.wav",
]
REPLY = "Sure, one moment."
GAP_S = 2.6
"""Silence after each phrase (the caller waits for the reply)."""


@dataclass
class Latencies:
    stt_final: float = 0.100
    llm_first_token: float = 0.300
    tts_first_audio: float = 0.150
    stt_end_silence_ms: int | None = None
    """Silence that ends an STT utterance; None = the client's `endpointing` (Deepgram's
    behaviour; the plugin sends 25 ms). The previous runs used a fixed 300 ms."""

    @property
    def injected(self) -> float:
        return self.stt_final + self.llm_first_token + self.tts_first_audio


@functools.cache
def speech_end_offset(phrase: str, threshold: float = 500.0) -> float:
    """Seconds from the phrase start to the end of the last 10 ms window above `threshold`
    RMS (finer than the 50 ms frames the session is fed)."""
    last = 0
    windows = load_frames(phrase, sample_rate=STOCK_SAMPLE_RATE, frame_ms=EOS_WINDOW_MS)
    for i, f in enumerate(windows):
        a = np.frombuffer(f.data, dtype=np.int16).astype(np.float64)
        if len(a) and np.sqrt(np.mean(a * a)) > threshold:
            last = i + 1
    return last * EOS_WINDOW_MS / 1000


@functools.cache
def caller_audio(sample_rate: int) -> tuple[dict[str, list[rtc.AudioFrame]], dict[str, float]]:
    """The caller's phrases as `FRAME_MS` frames at `sample_rate`, and where each one's
    speech ends (`speech_end_offset`). Cached: a harness that runs several calls in one
    process, or that must not spend the calls' CPU while they run (`benchmarks.concurrency`
    calls it before its calls start), prepares them once."""
    clips = {p: load_frames(p, sample_rate=sample_rate, frame_ms=FRAME_MS) for p in PHRASES}
    return clips, {p: speech_end_offset(p) for p in clips}


@dataclass
class Turn:
    phrase: str
    t_start: float
    t_eos: float
    t_llm: float | None = None
    t_commit: float | None = None
    t_audio: float | None = None


class FeedInput(io.AudioInput):
    """Frames pushed by the benchmark driver; silence when nothing is queued."""

    def __init__(self) -> None:
        super().__init__(label="bench-feed")
        self.queue: asyncio.Queue[rtc.AudioFrame] = asyncio.Queue()

    async def __anext__(self) -> rtc.AudioFrame:
        return await self.queue.get()


class CaptureOutput(io.AudioOutput):
    """Records when the first frame of each agent segment arrives; 'plays' instantly."""

    def __init__(self, on_first_frame: Any) -> None:
        super().__init__(
            label="bench-capture", capabilities=io.AudioOutputCapabilities(pause=False)
        )
        self._on_first = on_first_frame
        self._segment_started = False
        self._pos = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if not self._segment_started:
            self._segment_started = True
            self._pos = 0.0
            self._on_first(time.perf_counter())
            self.on_playback_started(created_at=time.time())
        self._pos += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._segment_started:
            self._segment_started = False
            self.on_playback_finished(playback_position=self._pos, interrupted=False)

    def clear_buffer(self) -> None:
        if self._segment_started:
            self._segment_started = False
            self.on_playback_finished(playback_position=self._pos, interrupted=True)


@dataclass
class Run:
    label: str
    turns: list[Turn] = field(default_factory=list)


@dataclass
class RemoteEmulators:
    """Emulators that run in another process (`benchmarks.emulator_host`): their base URLs,
    and `started(t0)`, told when this call's audio schedule begins (the host derives the
    phrase being spoken from it). The LLM request times come back from the host afterwards
    (`assign_llm_times`); `perf_counter` is CLOCK_MONOTONIC, one clock for all processes."""

    dg: Any
    oa: Any
    el: Any
    started: Any


def turn_schedule(t0: float, n_turns: int, gap_s: float) -> list[tuple[str, float, float]]:
    """(phrase, start, end of speech) of each turn when the feed starts at `t0`: 1 s of
    silence, then each phrase followed by `gap_s` of silence, in whole 50 ms frames."""
    out = []
    sched = 1.0
    for i in range(n_turns):
        p = PHRASES[i % len(PHRASES)]
        frames = len(load_frames(p, sample_rate=8000, frame_ms=FRAME_MS))
        out.append((p, t0 + sched, t0 + sched + speech_end_offset(p)))
        sched += frames * FRAME_MS / 1000 + int(gap_s * 1000 / FRAME_MS) * FRAME_MS / 1000
    return out


def assign_llm_times(run: Run, request_times: list[float]) -> None:
    """Give each turn the last LLM request before its reply was heard, as the in-process
    responder does at request time (a request belongs to the latest turn whose speech end,
    less 0.5 s, precedes it, if that turn's audio has not started yet)."""
    for r in sorted(request_times):
        current = None
        for t in run.turns:
            if t.t_eos - 0.5 <= r:
                current = t
        if current is not None and (current.t_audio is None or r < current.t_audio):
            current.t_llm = r


async def drive_session(
    label: str,
    make_session: Any,
    *,
    n_turns: int,
    lat: Latencies,
    gap_s: float = 2.6,
    sample_rate: int = STOCK_SAMPLE_RATE,
    remote: RemoteEmulators | None = None,
) -> Run:
    """Start a session built by `make_session(dg, el, oa)`, feed `n_turns` phrases (as
    `sample_rate` frames), time them. With `remote`, the providers are emulated in another
    process and `t_llm` is filled in later (`assign_llm_times`)."""
    run = Run(label)
    texts = [phrase_text(PHRASES[i % len(PHRASES)]) for i in range(n_turns)]
    clips, ends = caller_audio(sample_rate)

    def current_turn(now: float) -> Turn | None:
        for t in reversed(run.turns):
            if t.t_eos - 0.5 <= now:
                return t
        return None

    async def llm_responder(req: Any) -> str:
        now = time.perf_counter()
        t = current_turn(now)
        if t is not None and t.t_audio is None:
            # the last request before the reply is heard is the one answered (preemptive
            # generation restarts on every new final transcript)
            t.t_llm = now
        await asyncio.sleep(lat.llm_first_token)
        return REPLY

    def transcriber(index: int, pcm: Any, rate: int) -> str:
        # the phrase being spoken (an utterance may be part of it: the STT endpoints at
        # short pauses, and every final restarts preemptive generation, as live)
        return texts[len(run.turns) - 1] if run.turns else ""

    async with contextlib.AsyncExitStack() as stack:
        if remote is None:
            oa = await stack.enter_async_context(OpenAIHTTPEmulator())
            dg = await stack.enter_async_context(
                DeepgramEmulator(final_delay=lat.stt_final, end_silence_ms=lat.stt_end_silence_ms)
            )
            el = await stack.enter_async_context(
                ElevenLabsEmulator(first_audio_latency=lat.tts_first_audio)
            )
            oa.chat.responder = llm_responder
            dg.transcriber = transcriber
        else:
            oa, dg, el = remote.oa, remote.dg, remote.el
        await stack.enter_async_context(http_context.open())

        session: AgentSession = make_session(dg, oa, el)
        feed = FeedInput()

        def on_first_audio(now: float) -> None:
            t = current_turn(now)
            if t is not None and t.t_audio is None and now >= t.t_eos:
                t.t_audio = now

        out = CaptureOutput(on_first_audio)
        session.input.audio = feed
        session.output.audio = out

        def on_item(ev: Any) -> None:
            item = ev.item
            if getattr(item, "role", None) == "user":
                now = time.perf_counter()
                t = current_turn(now)
                if t is not None and t.t_commit is None:
                    t.t_commit = now

        session.on("conversation_item_added", on_item)
        await session.start(Agent(instructions="You are a contact-center agent. Be brief."))

        # lead-in silence so VAD/STT streams are up
        t0 = time.perf_counter()
        if remote is not None:
            remote.started(t0)
        sched = 0.0
        silence = silence_frames(FRAME_MS, sample_rate=sample_rate, frame_ms=FRAME_MS)[0]

        async def push(frame: rtc.AudioFrame) -> None:
            nonlocal sched
            delay = t0 + sched - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            feed.queue.put_nowait(frame)
            sched += FRAME_MS / 1000

        for _ in range(int(1.0 * 1000 / FRAME_MS)):
            await push(silence)
        for i in range(n_turns):
            p = PHRASES[i % len(PHRASES)]
            start = t0 + sched
            run.turns.append(Turn(phrase=p, t_start=start, t_eos=start + ends[p]))
            for f in clips[p]:
                await push(f)
            for _ in range(int(gap_s * 1000 / FRAME_MS)):
                await push(silence)
        await asyncio.sleep(0.2)
        await session.aclose()
    return run


def _ours(vad: Any, turn_handling: Any = None) -> Any:
    from callcenter.call import build_session
    from callcenter.config import Settings
    from callcenter.providers import build_providers

    # read once, as the worker loads its settings once per process (in its prewarm), not
    # per call; each call only points them at its emulators
    base = Settings(OPENAI_API_KEY="test", DEEPGRAM_API_KEY="test", ELEVEN_API_KEY="test")

    def make(dg: Any, oa: Any, el: Any) -> AgentSession:
        settings = base.model_copy(
            update={
                "openai_base_url": oa.base_url,
                "deepgram_base_url": dg.base_url,
                "elevenlabs_base_url": el.base_url,
            }
        )
        providers = build_providers(settings, vad=vad)
        # the product's own session (callcenter.call), driven without a call state
        return build_session(settings, providers, vad=vad, turn_handling=turn_handling)

    return make


def _stock(vad: Any) -> Any:
    from livekit.plugins import deepgram, elevenlabs, openai

    def make(dg: Any, oa: Any, el: Any) -> AgentSession:
        return AgentSession(
            vad=vad,
            stt=deepgram.STT(base_url=dg.base_url, api_key="test"),
            llm=openai.LLM(base_url=oa.base_url, api_key="test"),
            tts=elevenlabs.TTS(base_url=el.base_url, api_key="test"),
        )

    return make


def _stock_vad(vad: Any) -> Any:
    """Stock defaults except turn detection: Silero alone decides turns, instead of the
    1.8.9 default `inference.TurnDetector()` (here the local audio model
    `turn-detector-v1-mini`, which scores these synthetic phrases below its threshold and
    so holds most turns to `max_delay`)."""
    from livekit.plugins import deepgram, elevenlabs, openai

    def make(dg: Any, oa: Any, el: Any) -> AgentSession:
        return AgentSession(
            vad=vad,
            stt=deepgram.STT(base_url=dg.base_url, api_key="test"),
            llm=openai.LLM(base_url=oa.base_url, api_key="test"),
            tts=elevenlabs.TTS(base_url=el.base_url, api_key="test"),
            turn_handling={"turn_detection": "vad"},
        )

    return make


def analyse(run: Run, lat: Latencies, *, preemptive_tts: bool = False) -> dict[str, Any]:
    """Split each turn (see the module docstring). `preemptive_tts`: the session starts TTS
    on the preemptive reply before the commit (ours), so LLM and TTS may both finish while
    endpointing waits; otherwise (LiveKit's default) TTS starts at the commit."""
    rows = []
    missed = 0
    for t in run.turns:
        if t.t_audio is None or t.t_llm is None or t.t_commit is None:
            missed += 1
            rows.append({"phrase": t.phrase, "missed": True})
            continue
        total = (t.t_audio - t.t_eos) * 1000
        endpointing = (t.t_commit - t.t_eos - lat.stt_final) * 1000
        # earliest first audio the providers allow, given when the turn committed
        llm_done = t.t_llm + lat.llm_first_token
        if preemptive_tts:
            ideal = max(t.t_commit, llm_done + lat.tts_first_audio)
        else:
            ideal = max(t.t_commit, llm_done) + lat.tts_first_audio
        injected = (lat.stt_final + ideal - t.t_commit) * 1000
        rows.append(
            {
                "phrase": t.phrase,
                "missed": False,
                "total_ms": total,
                "endpointing_ms": endpointing,
                "injected_ms": injected,
                "overhead_ms": total - endpointing - injected,
                "llm_request_after_eos_ms": (t.t_llm - t.t_eos) * 1000,
            }
        )
    ok = [r for r in rows if not r["missed"]]
    return {
        "label": run.label,
        "turns": len(run.turns),
        "missed": missed,
        "per_turn": rows,
        "total": summary([r["total_ms"] for r in ok]),
        "endpointing": summary([r["endpointing_ms"] for r in ok]),
        "overhead": summary([r["overhead_ms"] for r in ok]),
        "injected": summary([r["injected_ms"] for r in ok]),
        "llm_request_after_eos": summary([r["llm_request_after_eos_ms"] for r in ok]),
    }


def print_tables(results: list[dict[str, Any]], lat: Latencies) -> None:
    print(
        f"\nEnd of speech -> first agent audio (ms). Emulated latencies: STT final "
        f"{lat.stt_final * 1000:.0f} ms after "
        f"{lat.stt_end_silence_ms or 'the requested (25)'} ms of silence, "
        f"LLM first token {lat.llm_first_token * 1000:.0f}, TTS first audio "
        f"{lat.tts_first_audio * 1000:.0f}. total = endpointing + injected (on the critical path) "
        f"+ overhead"
    )
    rows = []
    for r in results:
        for part in ("total", "endpointing", "injected", "overhead", "llm_request_after_eos"):
            s = r[part]
            rows.append(
                [
                    r["label"],
                    part,
                    f"{s['n']}",
                    s["p50"],
                    s["p95"],
                    s["max"],
                    r["missed"] if part == "total" else "",
                ]
            )
    print(table(["session", "part", "n", "p50", "p95", "max", "missed"], rows))
    o = results[0]["total"]
    for other in results[1:]:
        s = other["total"]
        if o["n"] and s["n"]:
            print(
                f"ratio ours/{other['label']}: p50 {o['p50'] / s['p50']:.2f} (target <= 0.75), "
                f"p95 {o['p95'] / s['p95']:.2f} (target <= 0.50)"
            )
    print(f"ours overhead p95 {results[0]['overhead']['p95']:.1f} ms (target <= 25)")


async def run(
    out_dir: Path, *, quick: bool = False, n_turns: int | None = None, lat: Latencies | None = None
) -> dict[str, Any]:
    from livekit.plugins import silero

    from callcenter.telephony.audio import CALLER_SAMPLE_RATE
    from callcenter.turn_taking import load_vad, telephony_turn_handling

    lat = lat or Latencies()
    n_turns = n_turns or (4 if quick else 20)
    ours_preemptive_tts = bool(
        telephony_turn_handling(has_stt=True)["preemptive_generation"].get("preemptive_tts")
    )
    results = []
    for label, factory in (("ours", _ours), ("stock", _stock), ("stock-vad", _stock_vad)):
        # one VAD per session (never shared across sessions): ours is the worker's
        # (callcenter.turn_taking.load_vad), stock is Silero's defaults
        vad = load_vad() if label == "ours" else silero.VAD.load()
        print(f"[latency] {label}: {n_turns} turns in real time ...", flush=True)
        rate = CALLER_SAMPLE_RATE if label == "ours" else STOCK_SAMPLE_RATE
        r = await drive_session(label, factory(vad), n_turns=n_turns, lat=lat, sample_rate=rate)
        results.append(analyse(r, lat, preemptive_tts=label == "ours" and ours_preemptive_tts))
    print_tables(results, lat)
    from callcenter.turn_taking import telephony_turn_handling

    payload = {
        "latencies_s": lat.__dict__,
        "n_turns": n_turns,
        "ours_turn_handling": telephony_turn_handling(has_stt=True),
        "results": results,
    }
    write_json(out_dir, "latency", payload)
    return payload
