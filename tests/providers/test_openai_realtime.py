"""Contract: livekit-plugins-openai RealtimeModel (GA realtime protocol) against the emulator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, llm
from livekit.agents.metrics import RealtimeModelMetrics
from livekit.plugins.openai import realtime

from tests.support.audio import load_frames, phrase_text, silence_frames
from tests.support.emulators import (
    OpenAIRealtimeEmulator,
    RealtimeReply,
    RealtimeTurn,
    ToolCall,
    unused_port,
)

FAST = APIConnectOptions(max_retry=0, timeout=2.0, retry_interval=0.0)


def _model(base_url: str, **kwargs: Any) -> realtime.RealtimeModel:
    return realtime.RealtimeModel(base_url=base_url, api_key="test", conn_options=FAST, **kwargs)


async def _collect(
    gen: llm.GenerationCreatedEvent,
) -> tuple[str, list[rtc.AudioFrame], list[llm.FunctionCall]]:
    text, frames = "", []
    async for msg in gen.message_stream:
        async for delta in msg.text_stream:
            text += delta
        frames += [f async for f in msg.audio_stream]
    calls = [c async for c in gen.function_stream]
    return text, frames, calls


async def _aclose_session(sess: llm.RealtimeSession) -> BaseException | None:
    """Close a session; returns the error its main task died with (aclose re-raises it)."""
    try:
        await sess.aclose()
    except Exception as e:
        return e
    return None


def _duration(frames: list[rtc.AudioFrame]) -> float:
    return sum(f.samples_per_channel / f.sample_rate for f in frames)


def _peak(frames: list[rtc.AudioFrame]) -> int:
    return max(int(np.abs(np.frombuffer(f.data, dtype=np.int16)).max()) for f in frames)


async def test_generate_reply_streams_audio_and_transcript(
    openai_realtime: OpenAIRealtimeEmulator,
) -> None:
    reply = "Hi, thanks for calling Acme. How can I help you today?"
    openai_realtime.script(RealtimeReply(text=reply))
    model = _model(openai_realtime.base_url)
    sess = model.session()
    metrics: list[RealtimeModelMetrics] = []
    sess.on("metrics_collected", lambda m: metrics.append(m))
    try:
        gen = await asyncio.wait_for(sess.generate_reply(instructions="greet"), 5)
        assert gen.user_initiated
        text, frames, calls = await asyncio.wait_for(_collect(gen), 5)
    finally:
        await sess.aclose()
        await model.aclose()
    assert text == reply
    assert calls == []
    assert all(f.sample_rate == 24000 for f in frames)
    assert _peak(frames) > 1000
    assert abs(_duration(frames) - len(reply) * 0.060) < 0.15
    # handshake went to /v1/realtime?model=... with the bearer key, session was configured
    hs = openai_realtime.requests[0]
    assert hs.path == "/v1/realtime" and hs.query["model"] == "gpt-realtime"
    assert hs.headers["Authorization"] == "Bearer test"
    assert openai_realtime.counts["session.update"] >= 1
    create = openai_realtime.events_of("response.create")[0]
    assert "greet" in create["response"]["instructions"]
    await asyncio.sleep(0)
    assert metrics and metrics[-1].output_tokens == 20 and not metrics[-1].cancelled


async def test_text_modality_and_text_user_turn(openai_realtime: OpenAIRealtimeEmulator) -> None:
    """A ``session.run(user_input=...)``-style turn: the user text goes in through
    update_chat_ctx (conversation.item.create -> conversation.item.added), then
    generate_reply; the responder answers from the last user message."""

    def respond(turn: RealtimeTurn) -> str:
        return f"You said: {turn.last_user_text}"

    openai_realtime.responder = respond
    model = _model(openai_realtime.base_url, modalities=["text"])
    sess = model.session()
    try:
        ctx = sess.chat_ctx.copy()
        ctx.add_message(role="user", content="what is my balance")
        await asyncio.wait_for(sess.update_chat_ctx(ctx), 5)
        gen = await asyncio.wait_for(sess.generate_reply(), 5)
        text, frames, _ = await asyncio.wait_for(_collect(gen), 5)
        remote = [m.text_content for m in sess.chat_ctx.messages()]
    finally:
        await sess.aclose()
        await model.aclose()
    assert text == "You said: what is my balance"
    assert frames == []
    assert "what is my balance" in remote
    created = openai_realtime.events_of("conversation.item.create")[0]
    assert created["item"]["content"][0] == {"type": "input_text", "text": "what is my balance"}


async def test_function_call_then_tool_output(openai_realtime: OpenAIRealtimeEmulator) -> None:
    def respond(turn: RealtimeTurn) -> Any:
        if turn.last_tool_output is not None:
            return f"Your order is {turn.last_tool_output}."
        return ToolCall("lookup_order", {"order_id": "1001", "zip_code": "94107"})

    openai_realtime.responder = respond
    model = _model(openai_realtime.base_url)
    sess = model.session()
    try:
        gen = await asyncio.wait_for(sess.generate_reply(), 5)
        text, _, calls = await asyncio.wait_for(_collect(gen), 5)
        assert text == ""
        assert len(calls) == 1 and calls[0].name == "lookup_order"
        assert json.loads(calls[0].arguments) == {"order_id": "1001", "zip_code": "94107"}

        ctx = sess.chat_ctx.copy()
        ctx.items.append(
            llm.FunctionCallOutput(
                call_id=calls[0].call_id, name="lookup_order", output="shipped", is_error=False
            )
        )
        await asyncio.wait_for(sess.update_chat_ctx(ctx), 5)
        gen2 = await asyncio.wait_for(sess.generate_reply(), 5)
        text2, frames2, _ = await asyncio.wait_for(_collect(gen2), 5)
    finally:
        await sess.aclose()
        await model.aclose()
    assert text2 == "Your order is shipped."
    assert frames2
    out = openai_realtime.events_of("conversation.item.create")[-1]["item"]
    assert out["type"] == "function_call_output" and out["output"] == "shipped"


async def test_input_audio_yields_scripted_transcription(
    openai_realtime: OpenAIRealtimeEmulator,
) -> None:
    openai_realtime.transcripts.append(phrase_text("order_number.wav"))
    openai_realtime.default_reply = "Thanks, one moment."
    model = _model(openai_realtime.base_url)
    sess = model.session()
    seen: list[str] = []
    finals: list[llm.InputTranscriptionCompleted] = []
    generations: list[llm.GenerationCreatedEvent] = []
    done = asyncio.Event()

    def on_transcript(ev: llm.InputTranscriptionCompleted) -> None:
        if ev.is_final:
            finals.append(ev)
            done.set()

    sess.on("input_speech_started", lambda _: seen.append("started"))
    sess.on("input_speech_stopped", lambda _: seen.append("stopped"))
    sess.on("input_audio_transcription_completed", on_transcript)
    sess.on("generation_created", lambda g: generations.append(g))
    try:
        # 8 kHz telephony frames; the plugin resamples to 24 kHz itself
        for f in load_frames("order_number.wav", sample_rate=8000, frame_ms=20) + silence_frames(
            600, sample_rate=8000
        ):
            sess.push_audio(f)
        await asyncio.wait_for(done.wait(), 5)
        assert generations, "server VAD should have started a response"
        text, _, _ = await asyncio.wait_for(_collect(generations[0]), 5)
    finally:
        await sess.aclose()
        await model.aclose()
    assert seen == ["started", "stopped"]
    assert [f.transcript for f in finals] == ["order number one zero zero one"]
    assert not generations[0].user_initiated
    assert text == "Thanks, one moment."
    assert openai_realtime.audio_bytes > 24000 * 2 * 2  # > 2 s at 24 kHz s16


async def test_interrupt_cancels_the_response(openai_realtime: OpenAIRealtimeEmulator) -> None:
    long = "Let me read you the full terms and conditions of your account, " * 3
    openai_realtime.script(RealtimeReply(text=long, chunk_delay=0.03))
    model = _model(openai_realtime.base_url)
    sess = model.session()
    metrics: list[RealtimeModelMetrics] = []
    sess.on("metrics_collected", lambda m: metrics.append(m))
    try:
        gen = await asyncio.wait_for(sess.generate_reply(), 5)
        frames: list[rtc.AudioFrame] = []
        async for msg in gen.message_stream:
            async for f in msg.audio_stream:
                frames.append(f)
                if len(frames) == 3:
                    sess.interrupt()
        await asyncio.sleep(0.05)
    finally:
        await sess.aclose()
        await model.aclose()
    full = len(long) * 0.060
    assert 0 < _duration(frames) < full / 2
    assert len(openai_realtime.cancelled_responses) == 1
    assert openai_realtime.counts["response.cancel"] == 1
    assert metrics and metrics[-1].cancelled


async def test_refused_connection_surfaces_api_connection_error() -> None:
    model = _model(f"http://127.0.0.1:{unused_port()}/v1")
    sess = model.session()
    errors: list[llm.RealtimeModelError] = []
    sess.on("error", lambda e: errors.append(e))
    with pytest.raises(llm.RealtimeError):
        await asyncio.wait_for(sess.generate_reply(), 5)
    closed_with = await _aclose_session(sess)
    await model.aclose()
    assert isinstance(closed_with, APIConnectionError)
    assert errors and isinstance(errors[0].error, APIConnectionError)
    assert not errors[0].recoverable


async def test_handshake_500_and_close_mid_response(
    openai_realtime: OpenAIRealtimeEmulator,
) -> None:
    openai_realtime.faults.http_status = 500
    model = _model(openai_realtime.base_url)
    sess = model.session()
    errors: list[llm.RealtimeModelError] = []
    sess.on("error", lambda e: errors.append(e))
    with pytest.raises(llm.RealtimeError):
        await asyncio.wait_for(sess.generate_reply(), 5)
    assert isinstance(await _aclose_session(sess), APIConnectionError)
    assert errors and isinstance(errors[0].error, APIConnectionError)

    # a socket dropped after 3 events of a reply ends the generation with an error too
    openai_realtime.faults.reset()
    openai_realtime.faults.close_after_chunks = 3
    openai_realtime.script("This reply will be cut off.")
    sess = model.session()
    errors.clear()
    sess.on("error", lambda e: errors.append(e))
    gen = await asyncio.wait_for(sess.generate_reply(), 5)
    await asyncio.wait_for(_collect(gen), 5)
    await asyncio.sleep(0.1)
    closed_with = await _aclose_session(sess)
    await model.aclose()
    assert isinstance(closed_with, APIConnectionError)
    assert "closed unexpectedly" in str(closed_with)
    assert errors and isinstance(errors[0].error, APIConnectionError)
    # handshake #1 was rejected with 500, #2 connected then dropped
    assert openai_realtime.counts["realtime"] == 2
    assert openai_realtime.connection_count == 1
