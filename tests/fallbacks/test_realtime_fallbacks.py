"""Realtime chain faults at the session level: the greeting agent on the product's
`GreetingRealtimeChain` (primary model on OPENAI_BASE_URL, fallback model on
OPENAI_FALLBACK_BASE_URL), then the greeting rebuilt on the pipeline when both are down.
Text mode (no audio I/O); times to recovery are printed, never asserted."""

from __future__ import annotations

import time

from callcenter.core.phases import Phase
from callcenter.vocabulary import CallOutcome
from tests.fallbacks.support import emulator_settings, flow_responder, text_call
from tests.support.emulators import OpenAIHTTPEmulator, OpenAIRealtimeEmulator, unused_port


def report(row: str, seconds: float) -> None:
    print(f"\n[recovery] {row}: {seconds:.2f} s")


def kinds(record: dict) -> list[str]:
    return [s["kind"] for s in record["data"]["provider_switches"]]


async def test_realtime_happy_path_greets_and_answers(
    db_url: str, realtime: OpenAIRealtimeEmulator, primary: OpenAIHTTPEmulator
) -> None:
    realtime.responder = lambda turn: f"REALTIME: you said {turn.last_user_text}".strip()
    settings = emulator_settings(
        db_url, openai_url=realtime.base_url, fallback_url=primary.base_url
    )
    async with text_call(settings, realtime=True) as call:
        greeting, _ = await call.first_agent_line()
        said, _ = await call.say("hello there")
        record = await call.record()
    assert greeting.startswith("REALTIME")
    assert "REALTIME: you said hello there" in said
    assert {r.query["model"] for r in realtime.requests} == {"gpt-realtime"}
    assert primary.chat.requests == []
    assert record["data"]["provider_switches"] == []


async def test_realtime_primary_refused_fallback_model_greets(
    db_url: str, realtime: OpenAIRealtimeEmulator
) -> None:
    realtime.responder = lambda turn: f"FALLBACK-RT: you said {turn.last_user_text}".strip()
    refused = f"http://127.0.0.1:{unused_port()}/v1"
    settings = emulator_settings(db_url, openai_url=refused, fallback_url=realtime.base_url)
    async with text_call(settings, realtime=True) as call:
        greeting, to_greeting = await call.first_agent_line()
        report("realtime primary refused (answer -> greeting)", to_greeting)
        said, _ = await call.say("hello there")
        record = await call.record()
    assert greeting.startswith("FALLBACK-RT")
    assert "FALLBACK-RT: you said hello there" in said
    assert {r.query["model"] for r in realtime.requests} == {"gpt-4o-realtime-preview"}
    [switch] = record["data"]["provider_switches"]
    assert switch["kind"] == "realtime"
    assert switch["from_provider"].endswith("/gpt-realtime")
    assert switch["to_provider"].endswith("/gpt-4o-realtime-preview")
    assert record["outcome"] == CallOutcome.ABANDONED.value  # the caller hung up; no failure


async def test_both_realtime_models_refused_greeting_moves_to_pipeline(
    db_url: str, primary: OpenAIHTTPEmulator
) -> None:
    primary.chat.responder = flow_responder("PIPELINE")
    primary.faults.path_contains = "/realtime"  # realtime handshakes rejected, chat works
    primary.faults.http_status = 503
    primary.faults.http_status_times = -1
    refused = f"http://127.0.0.1:{unused_port()}/v1"
    settings = emulator_settings(db_url, openai_url=primary.base_url, fallback_url=refused)
    async with text_call(settings, realtime=True) as call:
        greeting, to_greeting = await call.first_agent_line()
        report("both realtime models down at answer (answer -> pipeline greeting)", to_greeting)
        said, _ = await call.say("I want to check on my order")
        assert call.state.phase is Phase.VERIFICATION  # the pipeline greeting agent routed
        record = await call.record()
    assert greeting.startswith("PIPELINE")
    assert "PIPELINE" in said
    assert kinds(record)[-1] == "greeting_to_pipeline"
    assert "realtime" in kinds(record)
    assert record["outcome"] != CallOutcome.FAILED.value


async def test_realtime_disconnect_mid_call_greeting_continues_on_pipeline(
    db_url: str, realtime: OpenAIRealtimeEmulator, primary: OpenAIHTTPEmulator
) -> None:
    # realtime models: primary on the realtime emulator; the fallback's endpoint (the chat
    # emulator) rejects realtime handshakes, so a dropped primary exhausts the chain
    realtime.responder = lambda turn: "REALTIME: thanks for calling, how can I help?"
    primary.chat.responder = flow_responder("PIPELINE")
    primary.faults.path_contains = "/realtime"
    primary.faults.http_status = 503
    primary.faults.http_status_times = -1
    settings = emulator_settings(
        db_url, openai_url=realtime.base_url, fallback_url=primary.base_url
    )
    async with text_call(settings, realtime=True) as call:
        greeting, _ = await call.first_agent_line()
        assert greeting.startswith("REALTIME")
        realtime.faults.close_after_chunks = 2  # the next reply is cut, the socket dies
        turn_started = time.perf_counter()
        await call.say("hello, are you there")
        # the dropped reply is not repeated by realtime: the pipeline greeting agent apologises
        await call.first_agent_line("PIPELINE")
        report(
            "realtime disconnect mid-call (caller turn -> pipeline speaks)",
            time.perf_counter() - turn_started,
        )
        routed, _ = await call.say("I want to check on my order")
        assert call.state.phase is Phase.VERIFICATION
        record = await call.record()
    assert "PIPELINE" in routed
    assert "greeting_to_pipeline" in kinds(record)
    assert record["outcome"] != CallOutcome.FAILED.value
