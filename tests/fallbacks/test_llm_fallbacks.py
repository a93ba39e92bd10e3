"""LLM chain faults at the session level: a whole call in text mode on the product's chain
(primary OpenAI endpoint → fallback endpoint → degraded mode), faults injected through the
emulators. Times to recovery are printed (`-s`), never asserted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from livekit.agents import AgentSession

from callcenter.core.phases import Phase
from tests.fallbacks.support import (
    FALLBACK_MODEL,
    PRIMARY_MODEL,
    emulator_settings,
    flow_responder,
    text_call,
)
from tests.support.emulators import ChatReply, OpenAIHTTPEmulator, unused_port

TIMEOUT_S = 1.0


async def settle(session: AgentSession, timeout: float = 10.0) -> None:
    """Wait until the agent is done speaking (the greeting on entry)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await asyncio.sleep(0.05)
    while loop.time() < deadline and session.agent_state not in ("listening", "idle"):
        await asyncio.sleep(0.02)


def report(row: str, seconds: float) -> None:
    print(f"\n[recovery] {row}: {seconds:.2f} s")


def two_endpoints(db_url: str, primary: OpenAIHTTPEmulator, fallback: OpenAIHTTPEmulator) -> Any:
    return emulator_settings(db_url, openai_url=primary.base_url, fallback_url=fallback.base_url)


def llm_switches(record: dict) -> list[dict]:
    return [s for s in record["data"]["provider_switches"] if s["kind"] == "llm"]


async def _run_orders_flow(call, row: str) -> str:  # type: ignore[no-untyped-def]
    first, elapsed = await call.say("I want to check on my order")
    report(row, elapsed)
    second, _ = await call.say("my zip code is 94107")
    third, _ = await call.say("order number 1001")
    return " | ".join((first, second, third))


async def test_happy_path_every_agent_through_emulator(
    db_url: str, primary: OpenAIHTTPEmulator, fallback: OpenAIHTTPEmulator
) -> None:
    primary.chat.responder = flow_responder("PRIMARY")
    fallback.chat.responder = flow_responder("FALLBACK")
    settings = emulator_settings(
        db_url, openai_url=primary.base_url, fallback_url=fallback.base_url
    )
    async with text_call(settings) as call:
        await settle(call.session)
        said = await _run_orders_flow(call, "happy path: first reply")
        assert call.state.phase is Phase.ORDERS
        assert call.state.verified
        record = await call.record()
    assert "shipped" in said.lower()
    assert "FALLBACK" not in said
    assert fallback.chat.requests == []
    assert record["data"]["provider_switches"] == []
    assert {"greeting", "verification", "orders"} <= set(record["data"]["phases"])


async def test_llm_5xx_fallback_model_answers(
    db_url: str, primary: OpenAIHTTPEmulator, fallback: OpenAIHTTPEmulator
) -> None:
    primary.chat.responder = flow_responder("PRIMARY")
    fallback.chat.responder = flow_responder("FALLBACK")
    settings = emulator_settings(
        db_url, openai_url=primary.base_url, fallback_url=fallback.base_url
    )
    async with text_call(settings) as call:
        await settle(call.session)
        assert fallback.chat.requests == []  # the greeting came from the primary
        primary.faults.http_status = 500
        primary.faults.http_status_times = -1
        said = await _run_orders_flow(call, "LLM 5xx")
        assert call.state.phase is Phase.ORDERS
        record = await call.record()
    assert "shipped" in said.lower()
    assert "PRIMARY" not in said
    assert len(fallback.chat.requests) >= 3
    assert all(r.model == FALLBACK_MODEL for r in fallback.chat.requests)
    switches = llm_switches(record)
    assert switches[0]["from_provider"].endswith(PRIMARY_MODEL)
    assert switches[0]["to_provider"].endswith(FALLBACK_MODEL)
    assert switches[0]["reason"] == "unavailable"


async def test_llm_timeout_stall_fallback_model_answers(
    db_url: str, primary: OpenAIHTTPEmulator, fallback: OpenAIHTTPEmulator
) -> None:
    primary.chat.responder = flow_responder("PRIMARY")
    fallback.chat.responder = flow_responder("FALLBACK")
    settings = emulator_settings(
        db_url, openai_url=primary.base_url, fallback_url=fallback.base_url, timeout_s=TIMEOUT_S
    )
    async with text_call(settings) as call:
        await settle(call.session)
        primary.faults.stall = True  # headers never come: the attempt timeout must fire
        said, elapsed = await call.say("I want to check on my order")
        report("LLM timeout (stall)", elapsed)
        assert call.state.phase is Phase.VERIFICATION or call.state.phase is Phase.ORDERS
        record = await call.record()
    assert "FALLBACK" in said and "PRIMARY" not in said
    assert elapsed >= TIMEOUT_S  # the primary was given its whole attempt budget
    assert fallback.chat.requests and fallback.chat.requests[0].model == FALLBACK_MODEL
    switches = llm_switches(record)
    assert switches and switches[0]["from_provider"].endswith(PRIMARY_MODEL)
    assert switches[0]["to_provider"].endswith(FALLBACK_MODEL)


async def test_llm_stream_cut_after_first_tokens(
    db_url: str,
    primary: OpenAIHTTPEmulator,
    fallback: OpenAIHTTPEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary.chat.responder = lambda req: ChatReply(
        text="PRIMARY: let me see what I can do for you today", text_pieces=8
    )
    fallback.chat.responder = lambda req: ChatReply(text="FALLBACK: I can help with that.")
    settings = emulator_settings(
        db_url, openai_url=primary.base_url, fallback_url=fallback.base_url
    )
    async with text_call(settings) as call:
        await settle(call.session)
        primary.faults.close_after_chunks = 3  # role chunk + the first text deltas, then a reset
        said, elapsed = await call.say("hello, can you help me")
        report("LLM stream cut after first tokens", elapsed)
        record = await call.record()
    # the caller gets a whole answer: the fallback regenerates it (retry_on_chunk_sent)
    assert "FALLBACK: I can help with that." in said
    assert "PRIMARY" in said  # the first words already went out before the cut
    assert len(fallback.chat.requests) == 1
    switches = llm_switches(record)
    assert switches and switches[0]["from_provider"].endswith(PRIMARY_MODEL)
    # the framework logs the cut with the text sent so far: the product redacts it
    cut_logs = [r for r in caplog.records if hasattr(r, "text_sent")]
    assert cut_logs and all(r.text_sent == "[redacted]" for r in cut_logs)


async def test_all_llm_endpoints_down_degraded_mode_takes_over(
    db_url: str, primary: OpenAIHTTPEmulator
) -> None:
    primary.chat.responder = flow_responder("PRIMARY")
    down = f"http://127.0.0.1:{unused_port()}/v1"  # the fallback endpoint refuses connections
    settings = emulator_settings(db_url, openai_url=primary.base_url, fallback_url=down)
    async with text_call(settings) as call:
        await settle(call.session)
        primary.faults.http_status = 503
        primary.faults.http_status_times = -1
        first, elapsed = await call.say("I want to check on my order")
        report("all LLM endpoints down -> degraded mode", elapsed)
        assert call.state.phase is Phase.VERIFICATION
        second, _ = await call.say("my zip code is 94107")
        third, _ = await call.say("order number 1001")
        assert call.state.phase is Phase.ORDERS
        fourth, _ = await call.say("can you call me back later")
        record = await call.record()
    said = " | ".join((first, second, third, fourth))
    assert "PRIMARY" not in said
    assert "shipped" in said.lower()
    assert "callback" in said.lower() or "call you back" in said.lower()
    switches = llm_switches(record)
    assert [s["from_provider"].split("/")[-1] for s in switches[:2]] == [
        PRIMARY_MODEL,
        FALLBACK_MODEL,
    ]
    assert switches[1]["to_provider"] == "callcenter/degraded-rules"
