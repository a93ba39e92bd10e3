"""The two agents the caller-ear benchmark calls through a real LiveKit (benchmarks/caller_ear.py).

    python -m benchmarks.caller_ear_agents {ours|stock} dev

- `ours` (agent name `bench-ours`): the session `benchmarks.latency` measures in-process as
  "ours": the product's `callcenter.call.build_session` (providers, telephony turn-taking,
  end-of-turn detector, VAD) and the worker's room input options
  (`callcenter.worker._room_options`: caller audio at 8 kHz), prewarmed like the worker.
- `stock` (agent name `bench-stock`): `benchmarks.latency`'s "stock-vad": a stock
  `AgentSession` with the same plugins and LiveKit's defaults, VAD turn detection (the default
  turn detector needs LiveKit Cloud) and default room options.

Both answer every turn with the emulated LLM's reply; provider URLs come from the environment
(`OPENAI_BASE_URL`, `DEEPGRAM_BASE_URL`, `ELEVENLABS_BASE_URL`), as for the real worker.

With `BENCH_EVENTS_FILE` set, each session appends one JSON line per event the benchmark
splits the path with, on the wall clock the caller shares (same machine): `stopped` (the
agent's VAD's end of the caller's speech, from the user message's metrics) and `speaking`
(the agent's first audio of a reply goes out to the room).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobProcess, cli

INSTRUCTIONS = "You are a contact-center agent. Be brief."


def _record_events(session: AgentSession, room: str) -> None:
    path = os.environ.get("BENCH_EVENTS_FILE")
    if not path:
        return

    def write(kind: str, t: float) -> None:
        with open(path, "a") as out:
            out.write(json.dumps({"kind": kind, "t": t, "room": room}) + "\n")

    def on_item(ev: Any) -> None:
        stopped = (getattr(ev.item, "metrics", None) or {}).get("stopped_speaking_at")
        if getattr(ev.item, "role", None) == "user" and stopped:
            write("stopped", float(stopped))

    def on_state(ev: Any) -> None:
        if ev.new_state == "speaking":
            write("speaking", float(getattr(ev, "created_at", None) or time.time()))

    session.on("conversation_item_added", on_item)
    session.on("agent_state_changed", on_state)


def _prewarm(proc: JobProcess) -> None:
    from callcenter.turn_taking import process_vad

    proc.userdata["vad"] = process_vad()


def _prewarm_stock(proc: JobProcess) -> None:
    from livekit.plugins import silero

    proc.userdata["vad"] = silero.VAD.load()


async def ours(ctx: JobContext) -> None:
    from callcenter.call import build_session
    from callcenter.config import load_settings
    from callcenter.providers import build_providers
    from callcenter.worker import _room_options

    settings = load_settings()
    vad = ctx.proc.userdata["vad"]
    await ctx.connect()
    # the product's own session (callcenter.call.build_session), without a call state
    session = build_session(settings, build_providers(settings, vad=vad), vad=vad)
    _record_events(session, ctx.room.name)
    await session.start(
        agent=Agent(instructions=INSTRUCTIONS), room=ctx.room, room_options=_room_options(settings)
    )


async def stock(ctx: JobContext) -> None:
    from livekit.plugins import deepgram, elevenlabs, openai

    await ctx.connect()
    session = AgentSession(
        vad=ctx.proc.userdata["vad"],
        stt=deepgram.STT(base_url=os.environ["DEEPGRAM_BASE_URL"], api_key="test"),
        llm=openai.LLM(base_url=os.environ["OPENAI_BASE_URL"], api_key="test"),
        tts=elevenlabs.TTS(base_url=os.environ["ELEVENLABS_BASE_URL"], api_key="test"),
        turn_handling={"turn_detection": "vad"},
    )
    _record_events(session, ctx.room.name)
    await session.start(agent=Agent(instructions=INSTRUCTIONS), room=ctx.room)


def main() -> None:
    which = sys.argv.pop(1)
    os.environ.setdefault("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")
    server = AgentServer()
    if which == "ours":
        server.setup_fnc = _prewarm
        server.rtc_session(ours, agent_name="bench-ours")
    else:
        server.setup_fnc = _prewarm_stock
        server.rtc_session(stock, agent_name="bench-stock")
    cli.run_app(server)


if __name__ == "__main__":
    main()
