"""What every call process would otherwise do on its first request, done once ahead of time.

LiveKit imports `callcenter.worker.JOB_PROCESS_PRELOAD` once in the forkserver that forks a
process per call, then freezes what it loaded out of the GC; every call process inherits it
copy-on-write. Three kinds of first-request work move here (BENCHMARKS.md, "Capacity"):

- Imports: the OpenAI SDK, its HTTP stack (httpx2 → httpcore2, h11, anyio's asyncio
  backend), jiter and truststore are imported lazily, on the first chat request: ~80
  modules, about a quarter of the call's event-loop CPU in the py-spy profile.
- The OpenAI SDK's lazily built schemas and type-hint caches (`warm_request_path`): built in
  the middle of the caller's first turn otherwise.
- TLS contexts (`callcenter.provider_clients.tls_context`, the framework's session context):
  ~20 ms each, four per call, at the start of every call.
- The Silero VAD (`callcenter.turn_taking.process_vad`): its ONNX Runtime session was ~34
  MiB of private memory in every call process; loaded here, the processes share it.

`tests/ops/test_ops_capacity.py` checks each: a first request imports none of these
families, builds no schema and no TLS context.
"""

from __future__ import annotations

import importlib

LAZY_ON_FIRST_REQUEST = (
    "anyio._backends._asyncio",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    "h11",
    "httpcore2",
    "jiter",
    # the framework's: its speaking-rate estimate (numpy's FFT) and its event-loop monitor's
    # GC hook import these in the middle of a call (its "event loop blocked ... importing"
    # warnings at 10 calls started together, benchmarks.sip_capacity)
    "multiprocessing.util",
    "numpy.fft",
    "openai.lib.streaming.chat",
    "openai.pagination",
    "openai.resources.chat",
    "openai.resources.chat.chat",
    "openai.resources.chat.completions.completions",
    "openai.resources.chat.completions.messages",
    "openai.resources.models",
    "openai.types.chat.completions.message_list_params",
    "truststore",
)

for _name in LAZY_ON_FIRST_REQUEST:
    importlib.import_module(_name)


WARM_UP_REPLY_TEXT = "One moment."
"""What the in-memory endpoint of `warm_request_path` answers: a few words, then a tool call."""


def _warm_up_stream_body() -> bytes:
    """A streamed chat completion as OpenAI sends it: role, text, a tool call in two pieces,
    the finish reason, the usage chunk, `[DONE]`. Every chunk type the plugin reads."""
    import json

    def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
        return {
            "id": "chatcmpl-preload",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    call = {"index": 0, "id": "call_preload", "type": "function"}
    chunks: list[dict[str, object]] = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": WARM_UP_REPLY_TEXT}),
        chunk({"tool_calls": [{**call, "function": {"name": "look_up", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"reference": "A1"}'}}]}),
        chunk({}, "tool_calls"),
        {
            "id": "chatcmpl-preload",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 15,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        },
    ]
    events = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    return "".join(events).encode()


async def _one_chat_request() -> str:
    import httpx2
    import openai as openai_sdk
    from livekit.agents import llm
    from livekit.plugins import openai

    body = _warm_up_stream_body()

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    @llm.function_tool
    async def look_up(reference: str) -> str:
        """Look up a reference (the warm-up's tool: never called)."""
        return reference

    client = openai_sdk.AsyncClient(
        api_key="preload",
        base_url="http://preload.invalid/v1",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(answer)),
        max_retries=0,
    )
    model = openai.LLM(model="gpt-4o-mini", client=client)
    ctx = llm.ChatContext()
    ctx.add_message(role="system", content="You are a contact-center agent.")
    ctx.add_message(role="user", content="Where is my order?")
    heard = []
    try:
        async with model.chat(chat_ctx=ctx, tools=[look_up]) as stream:
            async for chunk in stream:
                if chunk.delta is not None and chunk.delta.content:
                    heard.append(chunk.delta.content)
    finally:
        await model.aclose()
        await client.close()
    return "".join(heard)


def warm_request_path() -> str:
    """Send one streamed chat request, with a tool, through the OpenAI plugin to an in-memory
    endpoint (`httpx2.MockTransport`: no socket, no thread, nothing left running) and return
    the text it streamed back.

    The OpenAI SDK builds its pydantic schemas and type-hint caches lazily: on the first
    request of a process it resolves the request's TypedDicts (`_transform.get_type_hints`)
    and the response chunk models (`_models.construct_type`, `_get_extra_fields_type`). In
    every call process that was done in the middle of the caller's first turn, at the
    moment every call that started together also needs the CPU (`python -m
    benchmarks.forkserver_warmup` counts the schemas and the CPU; BENCHMARKS.md,
    "Capacity"). Run here, in the forkserver, the caches are built once and every call
    process inherits them, frozen with the rest of the preload."""
    import asyncio

    return asyncio.run(_one_chat_request())


def warm() -> None:
    """Everything above, once: the request path, the TLS contexts, the VAD."""
    from callcenter.framework.session_tls import warm_session_tls_context
    from callcenter.provider_clients import tls_context
    from callcenter.turn_taking import process_vad

    warm_request_path()
    tls_context()
    warm_session_tls_context()
    process_vad()


warm()
