"""Turn-taking: does the agent wait for a caller who pauses, and answer at once when the
caller is done?

Four sessions hear the same caller utterances in one run (`tests/fixtures/turns`, made by
`scripts/make_turn_fixtures.py`: 37 with pauses of 300-1500 ms inside them, reading
numbers in groups, "um …", lists, corrections, and 20 without a pause; synthetic and from
human recordings), in real time through a custom `AudioInput` (50 ms frames, 8 kHz for
ours, 24 kHz for stock, as RoomIO delivers them), against the same provider emulators as
the latency section (STT final 100 ms after the endpointing silence the client asks for,
LLM first token 300 ms, TTS first audio 150 ms):

- `ours`: the product (`callcenter.providers.build_providers`, `load_vad`,
  `telephony_turn_handling`: Silero plus `callcenter.end_of_turn.CallerTurnDetector`);
  the agent declares what each utterance answers (`expecting`), as the product's steps do;
- `ours-vad`: the same with the previous release's `turn_detection="vad"` (Silero alone);
- `stock`: `AgentSession` with LiveKit's defaults, which in 1.8.9 means the local audio
  end-of-turn model `turn-detector-v1-mini` (from livekit-local-inference; LiveKit Cloud's
  `v1` only under `LIVEKIT_REMOTE_EOT_URL` or `LIVEKIT_DEV_MODE=1`);
- `stock-vad`: the stock session with `turn_detection="vad"`.

The STT emulator transcribes by time: each utterance's words are spread evenly over its
segments, and an STT utterance carries the words spoken inside it (so a 25 ms endpointing
that splits a segment splits its words too).

Per utterance (times on one clock; `t_eos` is the end of its last word):
- **cut-off**: a user turn committed before `t_eos`, i.e. inside one of its pauses (for
  an utterance without a pause this cannot happen);
- **first audio**: the first agent audio frame after `t_eos`, minus `t_eos` (p50/p95 over
  the controls, and over every utterance, each of which ends complete);
- **LLM requests** that arrived between the utterance's start and the next one's, and
  user turns committed in the same window;
- **CPU per call**: process user+sys CPU over wall time while the session runs (the
  in-process emulators included, so an upper bound).

It also scores LiveKit's local audio end-of-turn model offline on every pause and every
end in the set (the last 1.2 s of 16 kHz audio, 200 ms into the silence, as the framework
asks it): what it would hold and what it would let through.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import Agent, AgentSession
from livekit.agents.utils import http_context

from benchmarks._common import pct, summary, table, write_json
from benchmarks.latency import REPLY, CaptureOutput, FeedInput, Latencies
from tests.support.audio import read_wav, resample, silence_frames
from tests.support.emulators import DeepgramEmulator, ElevenLabsEmulator, OpenAIHTTPEmulator
from tests.support.turn_fixtures import Utterance, utterances

FRAME_MS = 50
STOCK_SAMPLE_RATE = 24000
ENDPOINT_RMS = 150.0
"""The STT emulator's energy threshold (the fixtures are checked against it)."""
LEAD_IN_S = 1.0
MIN_GAP_S, MAX_GAP_S, AFTER_REPLY_S = 1.0, 4.0, 0.6
"""Silence after an utterance: until the reply has started plus `AFTER_REPLY_S`, at least
`MIN_GAP_S` and at most `MAX_GAP_S` (stock's local model may hold a turn 3 s)."""
QUICK = [
    "s01",
    "s05",
    "s12",
    "s18",
    "s21",
    "s22",
    "h01",
    "h07",
    "h11",
    "sc01",
    "sc04",
    "hc01",
]  # a mix of every category for --quick
SESSIONS = ("ours", "ours-vad", "stock", "stock-vad")


@dataclass
class Fed:
    utt: Utterance
    t_start: float
    """`time.perf_counter()` at which its first frame was due."""
    stream_start: float
    """Seconds of audio fed before it (the STT emulator's clock)."""

    @property
    def t_eos(self) -> float:
        return self.t_start + self.utt.speech_end


@dataclass
class Trace:
    label: str
    fed: list[Fed] = field(default_factory=list)
    commits: list[float] = field(default_factory=list)
    audio: list[float] = field(default_factory=list)
    llm: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    stream_offset_s: float | None = None
    """First speech the STT emulator heard minus where the fixture puts it (clock check)."""


class BenchAgent(Agent):
    """A plain agent whose `expecting` the driver sets before each utterance, as each step
    of the product declares what it collects (`callcenter.end_of_turn`)."""

    def __init__(self) -> None:
        super().__init__(instructions="You are a contact-center agent. Be brief.")
        from callcenter.end_of_turn import FREE_TEXT

        self.expecting = FREE_TEXT


def words_between(fed: list[Fed], start: float, end: float) -> str:
    """The words spoken between `start` and `end` (stream seconds): each segment's words
    spread evenly over it, a word counted where its middle falls."""
    words: list[str] = []
    for f in fed:
        for seg in f.utt.segments:
            seg_words = seg.text.split()
            a, b = f.stream_start + seg.start, f.stream_start + seg.end
            if b < start or a > end:
                continue
            per = (b - a) / len(seg_words)
            for i, w in enumerate(seg_words):
                middle = a + (i + 0.5) * per
                if start - 0.05 <= middle <= end:
                    words.append(w)
    return " ".join(words)


async def drive(
    label: str, make_session: Any, utts: list[Utterance], lat: Latencies, *, sample_rate: int
) -> Trace:
    trace = Trace(label)
    silence = silence_frames(FRAME_MS, sample_rate=sample_rate, frame_ms=FRAME_MS)[0]

    async def llm_responder(req: Any) -> str:
        trace.llm.append(time.perf_counter())
        await asyncio.sleep(lat.llm_first_token)
        return REPLY

    def span_transcriber(start: float, end: float) -> str:
        if trace.stream_offset_s is None and trace.fed:
            trace.stream_offset_s = start - (
                trace.fed[0].stream_start + trace.fed[0].utt.segments[0].start
            )
        return words_between(trace.fed, start, end)

    async with contextlib.AsyncExitStack() as stack:
        oa = await stack.enter_async_context(OpenAIHTTPEmulator())
        dg = await stack.enter_async_context(
            DeepgramEmulator(
                final_delay=lat.stt_final,
                end_silence_ms=lat.stt_end_silence_ms,
                vad_threshold=ENDPOINT_RMS,
            )
        )
        el = await stack.enter_async_context(
            ElevenLabsEmulator(first_audio_latency=lat.tts_first_audio)
        )
        oa.chat.responder = llm_responder
        dg.span_transcriber = span_transcriber
        await stack.enter_async_context(http_context.open())

        session: AgentSession = make_session(dg, oa, el)
        feed = FeedInput()
        session.input.audio = feed
        session.output.audio = CaptureOutput(trace.audio.append)
        session.on(
            "conversation_item_added",
            lambda ev: (
                trace.commits.append(time.perf_counter())
                if getattr(ev.item, "role", None) == "user"
                else None
            ),
        )
        agent = BenchAgent()
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        await session.start(agent)

        sched = 0.0  # seconds of audio scheduled so far

        async def push(frame: rtc.AudioFrame) -> None:
            nonlocal sched
            delay = t0 + sched - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            feed.queue.put_nowait(frame)
            sched += frame.duration

        for _ in range(int(LEAD_IN_S * 1000 / FRAME_MS)):
            await push(silence)
        for utt in utts:
            agent.expecting = utt.expecting
            fed = Fed(utt, t_start=t0 + sched, stream_start=sched)
            trace.fed.append(fed)
            for frame in utt.frames(sample_rate=sample_rate, frame_ms=FRAME_MS):
                await push(frame)
            gap_start = sched
            while True:
                replied = [t for t in trace.audio if t > fed.t_eos]
                waited = sched - gap_start
                if waited >= MAX_GAP_S or (
                    waited >= MIN_GAP_S and replied and t0 + sched - replied[0] >= AFTER_REPLY_S
                ):
                    break
                await push(silence)
        await asyncio.sleep(0.3)
        trace.wall_s = time.perf_counter() - t0
        trace.cpu_s = _cpu_s() - cpu0
        await session.aclose()
    return trace


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --- sessions -------------------------------------------------------------------------------
def _ours(vad: Any, *, vad_turns: bool = False) -> Any:
    from benchmarks.latency import _ours as latency_ours
    from callcenter.turn_taking import telephony_turn_handling

    handling = telephony_turn_handling(has_stt=True)
    if vad_turns:
        handling = {**handling, "turn_detection": "vad"}  # the previous release
    return latency_ours(vad, turn_handling=handling)


# --- analysis -------------------------------------------------------------------------------
def analyse(trace: Trace) -> dict[str, Any]:
    rows = []
    for i, f in enumerate(trace.fed):
        window_end = trace.fed[i + 1].t_start if i + 1 < len(trace.fed) else float("inf")
        early = [t for t in trace.commits if f.t_start <= t < f.t_eos]
        after = [t for t in trace.audio if f.t_eos < t < window_end]
        rows.append(
            {
                "name": f.utt.name,
                "category": f.utt.category,
                "source": "human" if f.utt.human else "synthetic",
                "paused": f.utt.paused,
                "cut_off": bool(early),
                "first_audio_ms": (after[0] - f.t_eos) * 1000 if after else None,
                "llm_requests": sum(f.t_start <= t < window_end for t in trace.llm),
                "commits": sum(f.t_start <= t < window_end for t in trace.commits),
            }
        )
    paused = [r for r in rows if r["paused"]]
    controls = [r for r in rows if not r["paused"]]

    def lat(rs: list[dict[str, Any]]) -> dict[str, float]:
        return summary([r["first_audio_ms"] for r in rs if r["first_audio_ms"] is not None])

    def mean(rs: list[dict[str, Any]], key: str) -> float:
        return sum(r[key] for r in rs) / len(rs) if rs else float("nan")

    return {
        "label": trace.label,
        "utterances": len(rows),
        "paused": len(paused),
        "cut_offs": sum(r["cut_off"] for r in paused),
        "cut_off_names": [r["name"] for r in paused if r["cut_off"]],
        "cut_offs_by_category": dict(Counter(r["category"] for r in paused if r["cut_off"])),
        "first_audio_controls": lat(controls),
        "first_audio_all": lat(rows),
        "no_reply": [r["name"] for r in rows if r["first_audio_ms"] is None],
        "llm_per_utterance": mean(rows, "llm_requests"),
        "llm_per_control": mean(controls, "llm_requests"),
        "llm_per_paused": mean(paused, "llm_requests"),
        "commits_per_utterance": mean(rows, "commits"),
        "cpu_pct_core": 100 * trace.cpu_s / trace.wall_s if trace.wall_s else float("nan"),
        "stream_offset_ms": (trace.stream_offset_s or 0.0) * 1000,
        "per_utterance": rows,
    }


def audio_model_scores(utts: list[Utterance]) -> dict[str, Any]:
    """LiveKit's local end-of-turn model on every pause and every end of the set."""
    from livekit.agents.inference.eot.languages import LOCAL_LANGUAGES
    from livekit.local_inference import EOT, EOT_MAX_SAMPLES

    threshold = LOCAL_LANGUAGES["en"]
    model = EOT()
    rate = 16000
    rows = []
    for utt in utts:
        samples, file_rate = read_wav(utt.file)
        audio = resample(samples, file_rate, rate)
        for i, seg in enumerate(utt.segments):
            cut = int((seg.end + 0.2) * rate)  # 200 ms into the silence after the segment
            window = audio[max(0, cut - EOT_MAX_SAMPLES) : cut]
            window = np.concatenate([window, np.zeros(max(0, cut - len(audio)), np.int16)])
            t = time.perf_counter()
            p = float(model.predict(window[-EOT_MAX_SAMPLES:]))
            rows.append(
                {
                    "name": utt.name,
                    "at": "end" if i == len(utt.segments) - 1 else "pause",
                    "source": "human" if utt.human else "synthetic",
                    "category": utt.category,
                    "probability": p,
                    "held": p < threshold,
                    "ms": (time.perf_counter() - t) * 1000,
                }
            )
    return {"threshold": threshold, "rows": rows}


def print_tables(results: list[dict[str, Any]], model: dict[str, Any], lat: Latencies) -> None:
    print(
        f"\nTurn-taking on {results[0]['utterances']} caller utterances "
        f"({results[0]['paused']} with pauses). Emulated latencies: STT final "
        f"{lat.stt_final * 1000:.0f} ms after the requested endpointing, LLM "
        f"{lat.llm_first_token * 1000:.0f}, TTS {lat.tts_first_audio * 1000:.0f}. "
        "First audio = end of the caller's last word -> first agent audio (ms)."
    )
    rows = []
    for r in results:
        c, a = r["first_audio_controls"], r["first_audio_all"]
        rows.append(
            [
                r["label"],
                f"{r['cut_offs']}/{r['paused']} ({100 * r['cut_offs'] / r['paused']:.1f}%)",
                c["p50"],
                c["p95"],
                a["p50"],
                a["p95"],
                len(r["no_reply"]),
                f"{r['llm_per_control']:.2f}",
                f"{r['llm_per_paused']:.2f}",
                f"{r['commits_per_utterance']:.2f}",
                f"{r['cpu_pct_core']:.1f}",
            ]
        )
    print(
        table(
            [
                "session",
                "cut-offs",
                "ctrl p50",
                "ctrl p95",
                "all p50",
                "all p95",
                "no reply",
                "LLM/ctrl",
                "LLM/paused",
                "turns/utt",
                "CPU %core",
            ],
            rows,
        )
    )
    for r in results:
        if r["cut_off_names"]:
            print(f"{r['label']} cut off: {', '.join(r['cut_off_names'])}")
    # the audio model, offline
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in model["rows"]:
        by.setdefault((row["at"], row["source"]), []).append(row)
    print(
        f"\nLocal audio end-of-turn model (turn-detector-v1-mini) on the same audio, 200 ms "
        f"into each silence; it holds the turn below {model['threshold']:.2f}:"
    )
    mrows = []
    for (at, source), rs in sorted(by.items()):
        probs = [r["probability"] for r in rs]
        mrows.append(
            [
                f"{at} ({'pause: holding is right' if at == 'pause' else 'end: holding is wrong'})",
                source,
                len(rs),
                sum(r["held"] for r in rs),
                pct(probs, 50),
            ]
        )
    print(table(["where", "source", "n", "held", "p50 prob"], mrows))
    weak = [r for r in model["rows"] if r["at"] == "pause" and "weak cue" in r["category"]]
    print(
        "pauses after a whole sentence (ours holds them a beat only): "
        + ", ".join(f"{r['name']} p={r['probability']:.2f}" for r in weak)
        + f"; inference p50 {pct([r['ms'] for r in model['rows']], 50):.1f} ms"
    )


async def run(
    out_dir: Path,
    *,
    quick: bool = False,
    sessions: tuple[str, ...] = SESSIONS,
    names: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """`quick`: a dozen utterances covering every category; `names`: exactly these."""
    from livekit.plugins import silero

    from benchmarks.latency import _stock, _stock_vad
    from callcenter.telephony.audio import CALLER_SAMPLE_RATE
    from callcenter.turn_taking import load_vad

    lat = Latencies()
    wanted = names or (QUICK if quick else None)
    utts = [u for u in utterances() if wanted is None or u.name in wanted]
    results = []
    for label in sessions:
        vad = load_vad() if label.startswith("ours") else silero.VAD.load()
        factory = {
            "ours": lambda v: _ours(v),
            "ours-vad": lambda v: _ours(v, vad_turns=True),
            "stock": _stock,
            "stock-vad": _stock_vad,
        }[label](vad)
        rate = CALLER_SAMPLE_RATE if label.startswith("ours") else STOCK_SAMPLE_RATE
        print(f"[turns] {label}: {len(utts)} utterances in real time ...", flush=True)
        trace = await drive(label, factory, utts, lat, sample_rate=rate)
        results.append(analyse(trace))
    model = audio_model_scores(utts)
    print_tables(results, model, lat)
    payload = {"latencies_s": lat.__dict__, "results": results, "audio_model": model}
    write_json(out_dir, "turns", payload)
    return payload
