"""Caller-ear latency: the silence a caller hears over the real path, next to the in-process
benchmark, for our session and a stock `AgentSession`.

    uv run python -m benchmarks --only caller_ear [--quick]

Paths, each measured from the end of the caller's speech in the audio *sent* to the first
agent audio in the audio the caller *received*, on the caller's own clock:

- `in-process`: `benchmarks.latency.drive_session` (frames in and out of the session, no
  network): the floor the other two add to.
- `webrtc`: a WebRTC participant (`rtc.Room`, 16 kHz mono, 20 ms frames) → livekit-server →
  the agent worker (`benchmarks.caller_ear_agents`, a subprocess) → back. Reproducible
  wherever livekit-server builds (CI).
- `sip`: a pjsua2 phone (G.711 over RTP) → livekit-sip → livekit-server → the agent worker
  → back, recorded by the phone. Needs the livekit-sip binary (see scripts/livekit_local.py);
  left out, with the reason, without it.

The real paths use a private livekit-server (+ livekit-sip) on free ports with its own Redis,
the provider emulators at the latencies of `benchmarks.latency.Latencies` in this process,
and the same committed caller phrases with 2.6 s between them. End of speech is the end of
the last 10 ms window above RMS 500 in the phrase (`benchmarks.latency.speech_end_offset`);
first agent audio is the start of the first 20 ms window (stepped by 5 ms) where the
emulators' 440 Hz voice sounds in the recording (`tests.e2e.harness.ToneTrack`): the tone may
start up to a window later than that, so the real paths read up to ~15 ms early.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
import wave
from pathlib import Path
from typing import Any

from benchmarks._common import summary, table, write_json
from benchmarks.latency import PHRASES, REPLY, Latencies, analyse, drive_session, speech_end_offset
from tests.support.audio import FIXTURES_DIR

SESSIONS = {"ours": "bench-ours", "stock-vad": "bench-stock"}
AGENT_MODULE_ARG = {"ours": "ours", "stock-vad": "stock"}
GAP_S = 2.6
TONE_HZ = 440.0


class BenchModel:
    """The emulators' scripted model for this benchmark: every turn answered with `REPLY`."""

    def __init__(self, transcript: str = "I have a question about my order") -> None:
        self.heard: list[str] = []
        self.transcript = transcript

    def transcribe(self, index: int, pcm: bytes, rate: int, *, realtime: bool = False) -> str:
        return self.transcript

    def chat(self, req: Any) -> Any:
        from tests.support.emulators import ChatReply

        return ChatReply(text=REPLY)

    def realtime(self, turn: Any) -> Any:  # pragma: no cover - no realtime model here
        from tests.support.emulators import RealtimeReply

        return RealtimeReply(text=REPLY)


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _load_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _turns(
    recording: Path,
    rec_start: float,
    eos_offsets: list[float],
    next_starts: list[float],
    events: list[dict[str, Any]],
) -> list[dict[str, float] | None]:
    """Per turn, in ms: `total` from the end of speech (as sent) to the first 440 Hz window
    heard after it, split by the agent's own timestamps into `uplink` (end of speech until the
    agent's VAD places it), `agent` (until its first reply audio goes out) and `downlink`
    (until the caller hears it). None when no reply was heard before the next turn."""
    from tests.e2e.harness import ToneTrack

    track = ToneTrack.of(recording, [TONE_HZ], window_s=0.02, hop_s=0.005)
    stopped = sorted(e["t"] for e in events if e["kind"] == "stopped")
    speaking = sorted(e["t"] for e in events if e["kind"] == "speaking")
    out: list[dict[str, float] | None] = []
    for eos, nxt in zip(eos_offsets, next_starts, strict=True):
        onset = track.onset(TONE_HZ, after_s=eos)
        if onset is None or onset > nxt:
            out.append(None)
            continue
        eos_t, heard_t = rec_start + eos, rec_start + onset
        row = {"total": (heard_t - eos_t) * 1000}
        stop = next((t for t in stopped if eos_t - 0.3 <= t <= heard_t), None)
        speak = next(
            (t for t in speaking if stop is not None and stop <= t <= heard_t + 0.05), None
        )
        if stop is not None and speak is not None:
            row.update(
                uplink=(stop - eos_t) * 1000,
                agent=(speak - stop) * 1000,
                downlink=(heard_t - speak) * 1000,
            )
        out.append(row)
    return out


async def _webrtc_turns(
    info: Any, agent: str, n: int, tmp: Path, events: Path
) -> list[dict[str, float] | None]:
    from tests.e2e.harness import WebCaller, caller_token

    caller = WebCaller()
    room = f"bench-{uuid.uuid4().hex[:8]}"
    await caller.join(info.url, caller_token(info, "bench-caller", room, agent_name=agent))
    eos, starts = [], []
    try:
        await asyncio.sleep(3.0)  # the agent joins and subscribes
        for i in range(n):
            phrase = PHRASES[i % len(PHRASES)]
            start = time.time()
            starts.append(start - caller.started_at)
            eos.append(start - caller.started_at + speech_end_offset(phrase))
            await caller.say(FIXTURES_DIR / phrase)
            await asyncio.sleep(GAP_S)
        recording = caller.save(tmp / f"webrtc-{agent}.wav")
    finally:
        await caller.leave()
    return _turns(
        recording, caller.started_at, eos, [*starts[1:], starts[-1] + 30], _load_events(events)
    )


async def _sip_turns(
    stack_info: Any, number: str, n: int, tmp: Path, events: Path
) -> list[dict[str, float] | None]:
    from scripts.livekit_local import free_udp_range, free_udp_tcp_port
    from tests.e2e.sip_phone import SipPhone

    record = tmp / f"sip-{number}.wav"
    async with SipPhone.start(
        f"bench-{number[-2:]}",
        port=free_udp_tcp_port(),
        rtp_port=free_udp_range(20)[0],
        log_dir=tmp,
        user="+14155550142",
        auth=("bench", "bench-pa55"),
    ) as phone:
        await phone.call(f"sip:{number}@{stack_info.sip_address}", record=record)
        await phone.wait_for("confirmed", timeout=60)
        started = await phone.wait_for("recording_started", timeout=10)
        await asyncio.sleep(1.0)
        eos, starts = [], []
        for i in range(n):
            phrase = PHRASES[i % len(PHRASES)]
            played = await phone.play(FIXTURES_DIR / phrase)
            starts.append(played.t - started.t)
            eos.append(played.t - started.t + speech_end_offset(phrase))
            await asyncio.sleep(_wav_seconds(FIXTURES_DIR / phrase) + GAP_S)
        await phone.hangup()
        await phone.wait_for("recording_closed", timeout=20)
    return _turns(record, started.t, eos, [*starts[1:], starts[-1] + 30], _load_events(events))


async def _provision_bench_numbers(info: Any) -> dict[str, str]:
    """One inbound number per bench agent (trunk + individual dispatch rule each)."""
    from livekit import api

    numbers = {"ours": "+12025550130", "stock-vad": "+12025550131"}
    async with api.LiveKitAPI(info.http_url, info.api_key, info.api_secret) as lk:
        for label, number in numbers.items():
            trunk = await lk.sip.create_inbound_trunk(
                api.CreateSIPInboundTrunkRequest(
                    trunk=api.SIPInboundTrunkInfo(
                        name=f"bench-{label}",
                        numbers=[number],
                        allowed_addresses=["127.0.0.1/32"],
                        auth_username="bench",
                        auth_password="bench-pa55",
                    )
                )
            )
            await lk.sip.create_dispatch_rule(
                api.CreateSIPDispatchRuleRequest(
                    dispatch_rule=api.SIPDispatchRuleInfo(
                        name=f"bench-{label}",
                        trunk_ids=[trunk.sip_trunk_id],
                        rule=api.SIPDispatchRule(
                            dispatch_rule_individual=api.SIPDispatchRuleIndividual(
                                room_prefix=f"bench-{label}-"
                            )
                        ),
                        room_config=api.RoomConfiguration(
                            agents=[api.RoomAgentDispatch(agent_name=SESSIONS[label])]
                        ),
                    )
                )
            )
    return numbers


async def _in_process(label: str, n: int, lat: Latencies) -> dict[str, Any]:
    """`benchmarks.latency` for one session, plus the same uplink/agent split as the real
    paths: the session's own `stopped_speaking_at` (its VAD's end of speech) per turn."""
    from livekit.plugins import silero

    from benchmarks.latency import _ours, _stock_vad
    from callcenter.telephony.audio import CALLER_SAMPLE_RATE
    from callcenter.turn_taking import load_vad, telephony_turn_handling

    stopped: list[float] = []
    clock = time.time() - time.perf_counter()  # wall = perf + clock

    def recording(factory: Any) -> Any:
        def make(*emulators: Any) -> Any:
            session = factory(*emulators)

            def on_item(ev: Any) -> None:
                at = (getattr(ev.item, "metrics", None) or {}).get("stopped_speaking_at")
                if getattr(ev.item, "role", None) == "user" and at:
                    stopped.append(float(at) - clock)

            session.on("conversation_item_added", on_item)
            return session

        return make

    if label == "ours":
        run = await drive_session(
            label,
            recording(_ours(load_vad())),
            n_turns=n,
            lat=lat,
            sample_rate=CALLER_SAMPLE_RATE,
        )
        preemptive = bool(
            telephony_turn_handling(has_stt=True)["preemptive_generation"].get("preemptive_tts")
        )
        result = analyse(run, lat, preemptive_tts=preemptive)
    else:
        run = await drive_session(
            label, recording(_stock_vad(silero.VAD.load())), n_turns=n, lat=lat
        )
        result = analyse(run, lat)
    uplink, agent = [], []
    for turn in run.turns:
        if turn.t_audio is None:
            continue
        stop = next((t for t in sorted(stopped) if turn.t_eos - 0.3 <= t <= turn.t_audio), None)
        if stop is not None:
            uplink.append((stop - turn.t_eos) * 1000)
            agent.append((turn.t_audio - stop) * 1000)
    result["uplink"], result["agent"] = summary(uplink), summary(agent)
    return result


async def run(out_dir: Path, *, quick: bool = False, n_turns: int | None = None) -> dict[str, Any]:
    from scripts.livekit_local import SERVER, SIP, find_binary, start_private_stack
    from tests.e2e.harness import Latencies as E2ELatencies
    from tests.e2e.harness import ProviderEmulators, WorkerProcess

    n = n_turns or (4 if quick else 12)
    lat = Latencies()
    server_bin, missing = find_binary(SERVER)
    if server_bin is None:
        print(f"[caller_ear] not available: {missing}; `python scripts/livekit_local.py build`")
        return {}
    sip_bin, why = find_binary(SIP)
    results: dict[str, dict[str, list[Any]]] = {label: {} for label in SESSIONS}
    in_process: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="caller-ear-"))

    for label in SESSIONS:
        print(f"[caller_ear] {label}: in-process, {n} turns ...", flush=True)
        in_process[label] = await _in_process(label, n, lat)

    stack, info = start_private_stack(tmp / "stack", sip=sip_bin is not None, log=lambda *_: None)
    emus = ProviderEmulators(
        BenchModel(),  # type: ignore[arg-type]
        E2ELatencies(lat.stt_final, lat.llm_first_token, lat.tts_first_audio),
    ).start()
    try:
        numbers = await _provision_bench_numbers(info) if sip_bin is not None else {}
        for label, agent in SESSIONS.items():
            events = tmp / f"events-{label}.jsonl"
            env = {
                **info.env(),
                **emus.env(),
                "BENCH_EVENTS_FILE": str(events),
                "CALLCENTER_PROVIDER_MODE": "live",
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
            }
            worker = WorkerProcess(
                env,
                tmp / f"worker-{label}.log",
                argv=["-m", "benchmarks.caller_ear_agents", AGENT_MODULE_ARG[label], "dev"],
            ).start()
            try:
                print(f"[caller_ear] {label}: WebRTC caller, {n} turns ...", flush=True)
                results[label]["webrtc"] = await _webrtc_turns(info, agent, n, tmp, events)
                if sip_bin is not None:
                    print(f"[caller_ear] {label}: SIP phone, {n} turns ...", flush=True)
                    results[label]["sip"] = await _sip_turns(info, numbers[label], n, tmp, events)
            finally:
                worker.stop()
    finally:
        emus.stop()
        stack.down()

    rows, split_rows, payload = [], [], {}
    for label in SESSIONS:
        base = in_process[label]["total"]
        payload[label] = {"in-process": in_process[label]}
        rows.append([label, "in-process", base["n"], base["p50"], base["p95"], base["max"], "", ""])
        split_rows.append(
            [
                label,
                "in-process",
                in_process[label]["uplink"]["p50"],
                in_process[label]["agent"]["p50"],
                0.0,
            ]
        )
        for path, turns in results[label].items():
            ok = [t for t in turns if t is not None]
            s = summary([t["total"] for t in ok])
            parts = {
                part: summary([t[part] for t in ok if part in t])
                for part in ("uplink", "agent", "downlink")
            }
            payload[label][path] = {"turns_ms": turns, "total": s, **parts}
            rows.append(
                [label, path, s["n"], s["p50"], s["p95"], s["max"], s["p50"] - base["p50"],
                 len(turns) - len(ok)]
            )  # fmt: skip
            split_rows.append(
                [label, path, *(parts[p]["p50"] for p in ("uplink", "agent", "downlink"))]
            )
    print(
        f"\nCaller ear: end of the caller's speech -> first agent audio heard (ms), {n} turns "
        f"per path. Emulated latencies: STT final {lat.stt_final * 1000:.0f} ms, LLM first "
        f"token {lat.llm_first_token * 1000:.0f}, TTS first audio {lat.tts_first_audio * 1000:.0f}"
    )
    print(table(["session", "path", "n", "p50", "p95", "max", "p50 added", "missed"], rows))
    print(
        "\nWhere the time goes (p50 ms): uplink = end of speech -> the agent's VAD places it, "
        "agent = -> its first reply audio, downlink = -> the caller hears it"
    )
    print(table(["session", "path", "uplink", "agent", "downlink"], split_rows))
    if sip_bin is None:
        print(f"sip path not measured: {why} (see scripts/livekit_local.py)")
    write_json(out_dir, "caller_ear", {"n_turns": n, "latencies_s": lat.__dict__, **payload})
    print(f"recordings and logs: {tmp}")
    return payload
