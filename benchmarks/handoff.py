"""Handoff cost: from the handoff tool's return to the next agent's first model request
and first audio; ours (`callcenter.agents.handoff` via GreetingAgent.route_to_orders -> OrdersAgent,
verified caller) vs a bare framework handoff (a tool returning a new `Agent` whose
`on_enter` calls `generate_reply()`).

Both run on the same emulators (LLM first token 300 ms, TTS first audio 150 ms), text in
(`generate_reply(user_input=...)`), audio out through the capture `AudioOutput`. The chat
emulator answers the caller's request with the routing tool call and everything else
(our greeting on entry, the next agent's reply) with text. Measured per iteration
(fresh session each time):
  to_request = next agent's first chat request arrival - tool return (function_tools_executed)
  to_audio   = first agent audio after the tool return - tool return
  spoken     = audio segments started after the tool return (1 = no extra spoken turn)
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from livekit.agents import Agent, AgentSession, RunContext, function_tool
from livekit.agents.utils import http_context

from benchmarks._common import summary, table, write_json
from benchmarks.latency import CaptureOutput, Latencies
from tests.support.emulators import ElevenLabsEmulator, OpenAIHTTPEmulator, ToolCall

USER = "I want to check on my order"


class _Next(Agent):
    def __init__(self, chat_ctx: Any) -> None:
        super().__init__(instructions="You are the orders specialist.", chat_ctx=chat_ctx)

    async def on_enter(self) -> None:
        self.session.generate_reply()


class _Bare(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You route callers.")

    @function_tool
    async def route_to_orders(self, ctx: RunContext) -> Any:
        """Route the caller to the orders specialist."""
        return _Next(chat_ctx=self.chat_ctx)


async def _one(
    kind: str, oa: OpenAIHTTPEmulator, el: ElevenLabsEmulator, lat: Latencies, db: Any
) -> dict[str, Any]:
    from livekit.plugins import elevenlabs, openai

    marks: dict[str, Any] = {"tool_return": None, "next_request": None, "audio": [], "requests": 0}

    async def responder(req: Any) -> Any:
        now = time.perf_counter()
        marks["requests"] += 1
        if marks["tool_return"] is not None and marks["next_request"] is None:
            marks["next_request"] = now
        await asyncio.sleep(lat.llm_first_token)
        if (
            "route_to_orders" in req.tool_names
            and req.last_user_text == USER
            and req.last_tool_output is None
            and marks["tool_return"] is None
        ):
            return ToolCall("route_to_orders", {})
        return "Sure, let me look at your order."

    oa.chat.responder = responder
    out = CaptureOutput(lambda now: marks["audio"].append(now))
    if kind == "stock":
        session: AgentSession = AgentSession(
            llm=openai.LLM(base_url=oa.base_url, api_key="test"),
            tts=elevenlabs.TTS(base_url=el.base_url, api_key="test"),
        )
        agent: Agent = _Bare()
    else:
        from callcenter.agents.greeting import GreetingAgent
        from callcenter.call import build_session
        from callcenter.config import Settings
        from callcenter.providers import build_providers
        from tests.callpath.helpers import FakeEscalation, make_state

        settings = Settings(
            OPENAI_API_KEY="test",
            OPENAI_BASE_URL=oa.base_url,
            ELEVEN_API_KEY="test",
            ELEVENLABS_BASE_URL=el.base_url,
            _env_file=None,
        )
        from livekit.plugins import silero

        providers = build_providers(settings, vad=_VAD.get() or silero.VAD.load())
        state = await make_state(db, settings, FakeEscalation(), verified=True)
        # the product's session (callcenter.call), text in: no STT, greeting on the pipeline
        session = build_session(
            settings, replace(providers, stt=None, realtime=None), vad=None, state=state
        )
        agent = GreetingAgent(state)

    def on_tools(ev: Any) -> None:
        if marks["tool_return"] is None:
            marks["tool_return"] = time.perf_counter()

    session.on("function_tools_executed", on_tools)
    session.output.audio = out
    await session.start(agent)
    # the greeting agent greets on entry; let that finish before the caller speaks
    await asyncio.sleep(1.0)
    marks["audio"].clear()
    session.generate_reply(user_input=USER)
    for _ in range(60):
        await asyncio.sleep(0.1)
        if (
            marks["tool_return"]
            and marks["audio"]
            and time.perf_counter() - marks["audio"][-1] > 0.8
        ):
            break
    await session.aclose()
    tr = marks["tool_return"]
    after = [a for a in marks["audio"] if tr is not None and a >= tr]
    return {
        "to_request_ms": (marks["next_request"] - tr) * 1000
        if tr and marks["next_request"]
        else None,
        "to_audio_ms": (after[0] - tr) * 1000 if after else None,
        "spoken_segments_after_tool": len(after),
    }


async def _tool_schema_cost(db: Any, n: int) -> dict[str, Any]:
    """Time building the orders agent's tool schemas for one model request (what the OpenAI
    plugin does per request), with the framework's own builders and through
    `callcenter.framework.tool_schemas`' cache; ms per request."""
    from livekit.agents import llm

    from callcenter.agents.orders import OrdersAgent
    from callcenter.config import Settings
    from callcenter.framework import tool_schemas
    from tests.callpath.helpers import FakeEscalation, make_state

    state = await make_state(db, Settings(_env_file=None), FakeEscalation(), verified=True)
    tools = OrdersAgent(state).tools

    def per_request_ms() -> float:
        llm.ToolContext(tools).parse_function_tools("openai", strict=True)  # warm
        t0 = time.perf_counter()
        for _ in range(n):
            llm.ToolContext(tools).parse_function_tools("openai", strict=True)
        return (time.perf_counter() - t0) / n * 1000

    tool_schemas.uninstall()
    try:
        uncached = per_request_ms()
    finally:
        tool_schemas.install()
    return {"tools": len(tools), "uncached_ms": uncached, "cached_ms": per_request_ms()}


class _VAD:
    _vad: Any = None

    @classmethod
    def get(cls) -> Any:
        return cls._vad


async def run(
    out_dir: Path, *, quick: bool = False, iterations: int | None = None
) -> dict[str, Any]:
    from livekit.plugins import silero

    from callcenter.data import Database
    from callcenter.data.seed import DEMO_REFERENCE_NOW, seed_demo

    iterations = iterations or (3 if quick else 20)
    lat = Latencies()
    _VAD._vad = silero.VAD.load()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(f"sqlite+aiosqlite:///{tmp}/h.db", migrate=True)
        await seed_demo(db, now=DEMO_REFERENCE_NOW)
        try:
            schema_cost = await _tool_schema_cost(db, 10 if quick else 50)
            async with contextlib.AsyncExitStack() as stack:
                oa = await stack.enter_async_context(OpenAIHTTPEmulator())
                el = await stack.enter_async_context(
                    ElevenLabsEmulator(first_audio_latency=lat.tts_first_audio)
                )
                await stack.enter_async_context(http_context.open())
                for kind in ("ours", "stock"):
                    print(f"[handoff] {kind}: {iterations} handoffs ...", flush=True)
                    runs = [await _one(kind, oa, el, lat, db) for _ in range(iterations)]
                    results[kind] = {
                        "runs": runs,
                        "to_request": summary(
                            [r["to_request_ms"] for r in runs if r["to_request_ms"] is not None]
                        ),
                        "to_audio": summary(
                            [r["to_audio_ms"] for r in runs if r["to_audio_ms"] is not None]
                        ),
                        "max_spoken_segments_after_tool": max(
                            r["spoken_segments_after_tool"] for r in runs
                        ),
                        "incomplete": sum(1 for r in runs if r["to_audio_ms"] is None),
                    }
        finally:
            await db.close()
    rows = []
    for kind, r in results.items():
        for part in ("to_request", "to_audio"):
            s = r[part]
            rows.append(
                [
                    kind,
                    part,
                    s["n"],
                    s["p50"],
                    s["p95"],
                    s["max"],
                    r["max_spoken_segments_after_tool"],
                    r["incomplete"],
                ]
            )
    print(
        f"\nHandoff: tool return -> next agent's first LLM request / first audio (ms); "
        f"LLM {lat.llm_first_token * 1000:.0f} + TTS {lat.tts_first_audio * 1000:.0f} ms injected"
    )
    print(table(["handoff", "to", "n", "p50", "p95", "max", "spoken segs", "incomplete"], rows))
    if results["ours"]["to_audio"]["n"] and results["stock"]["to_audio"]["n"]:
        d = results["ours"]["to_audio"]["p50"] - results["stock"]["to_audio"]["p50"]
        print(f"ours - bare, first audio p50: {d:+.1f} ms (target <= +15 ms, 1 spoken segment)")
    print(
        f"orders agent's {schema_cost['tools']} tool schemas per model request: "
        f"{schema_cost['uncached_ms']:.2f} ms as livekit-agents builds them, "
        f"{schema_cost['cached_ms']:.2f} ms with callcenter.framework.tool_schemas"
    )
    payload = {
        "iterations": iterations,
        "latencies_s": lat.__dict__,
        "results": results,
        "tool_schemas_per_request": schema_cost,
    }
    write_json(out_dir, "handoff", payload)
    return payload
