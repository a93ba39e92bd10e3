"""Contract: livekit-plugins-openai LLM (Chat Completions) against the OpenAI HTTP emulator."""

from __future__ import annotations

import json

import pytest
from livekit.agents import APIConnectOptions, APIStatusError, llm
from livekit.agents.llm import ChatContext, function_tool
from livekit.plugins import openai

from tests.support.emulators import ChatRequest, OpenAIHTTPEmulator, ToolCall

FAST = APIConnectOptions(max_retry=0, timeout=5.0, retry_interval=0.0)


@function_tool
async def lookup_order(order_id: str, zip_code: str) -> str:
    """Look up an order by number and billing ZIP code."""
    return "shipped"


def _ctx(text: str) -> ChatContext:
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="You are a helpful agent.")
    ctx.add_message(role="user", content=text)
    return ctx


async def _collect(stream: llm.LLMStream) -> list[llm.ChatChunk]:
    out = []
    async with stream:
        async for chunk in stream:
            out.append(chunk)
    return out


def _llm(emu: OpenAIHTTPEmulator) -> openai.LLM:
    return openai.LLM(model="gpt-4.1-mini", base_url=emu.base_url, api_key="test")


async def test_streams_scripted_text_and_usage(openai_http: OpenAIHTTPEmulator) -> None:
    openai_http.chat.script("Sure, I can help with your order. What is the order number?")
    model = _llm(openai_http)
    chunks = await _collect(model.chat(chat_ctx=_ctx("check my order"), conn_options=FAST))

    deltas = [c.delta.content for c in chunks if c.delta and c.delta.content]
    assert len(deltas) > 1, "text should arrive in several streamed deltas"
    assert "".join(deltas) == "Sure, I can help with your order. What is the order number?"
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1
    assert usage[0].completion_tokens > 0
    assert usage[0].total_tokens == usage[0].prompt_tokens + usage[0].completion_tokens

    req = openai_http.chat.requests[0]
    assert req.last_user_text == "check my order"
    assert req.body["stream"] is True
    assert openai_http.counts["chat"] == 1
    await model.aclose()


async def test_tool_call_arrives_with_parsed_args(openai_http: OpenAIHTTPEmulator) -> None:
    openai_http.chat.script(
        ToolCall("lookup_order", {"order_id": "1001", "zip_code": "94107"}, arg_pieces=4)
    )
    model = _llm(openai_http)
    chunks = await _collect(
        model.chat(chat_ctx=_ctx("order 1001 zip 94107"), tools=[lookup_order], conn_options=FAST)
    )
    calls = [tc for c in chunks if c.delta for tc in c.delta.tool_calls]
    assert len(calls) == 1
    assert calls[0].name == "lookup_order"
    assert json.loads(calls[0].arguments) == {"order_id": "1001", "zip_code": "94107"}
    assert calls[0].call_id
    # the emulator saw the tool schema the plugin sent
    assert openai_http.chat.requests[0].tool_names == ["lookup_order"]
    await model.aclose()


async def test_responder_sees_tool_output(openai_http: OpenAIHTTPEmulator) -> None:
    def respond(req: ChatRequest) -> str:
        if req.last_tool_output is not None:
            return f"Your order is {req.last_tool_output}."
        return ToolCall("lookup_order", {"order_id": "1001", "zip_code": "94107"})  # type: ignore[return-value]

    openai_http.chat.responder = respond
    model = _llm(openai_http)
    ctx = _ctx("where is my order")
    first = await _collect(model.chat(chat_ctx=ctx, tools=[lookup_order], conn_options=FAST))
    call = next(tc for c in first if c.delta for tc in c.delta.tool_calls)

    fc = llm.FunctionCall(call_id=call.call_id, name=call.name, arguments=call.arguments)
    ctx.insert(fc)
    ctx.insert(
        llm.FunctionCallOutput(
            call_id=call.call_id, name=call.name, output="shipped", is_error=False
        )
    )
    second = await _collect(model.chat(chat_ctx=ctx, tools=[lookup_order], conn_options=FAST))
    text = "".join(c.delta.content for c in second if c.delta and c.delta.content)
    assert text == "Your order is shipped."
    assert openai_http.counts["chat"] == 2
    await model.aclose()


@pytest.mark.parametrize("status", [500, 429])
async def test_http_error_surfaces_as_api_status_error(
    openai_http: OpenAIHTTPEmulator, status: int
) -> None:
    openai_http.chat.script("never sent")
    openai_http.faults.http_status = status
    model = _llm(openai_http)
    with pytest.raises(APIStatusError) as exc:
        await _collect(model.chat(chat_ctx=_ctx("hi"), conn_options=FAST))
    assert exc.value.status_code == status
    # the fault was consumed: the next request succeeds
    chunks = await _collect(model.chat(chat_ctx=_ctx("hi"), conn_options=FAST))
    assert "".join(c.delta.content for c in chunks if c.delta and c.delta.content) == "never sent"
    await model.aclose()
