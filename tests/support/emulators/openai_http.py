"""OpenAI HTTP emulator: Chat Completions (streaming SSE), audio transcriptions (STT) and
audio speech (TTS), i.e. every OpenAI HTTP endpoint the agent uses, on one server.

Point the real plugins at it with ``base_url=emu.base_url`` (``http://127.0.0.1:PORT/v1``)::

    openai.LLM(model="gpt-4.1-mini", base_url=emu.base_url, api_key="test")
    openai.STT(model="gpt-4o-mini-transcribe", base_url=emu.base_url, api_key="test",
               use_realtime=False)
    openai.TTS(model="gpt-4o-mini-tts", base_url=emu.base_url, api_key="test")

Scripting chat (``emu.chat``):

    emu.chat.script("Hello!", ToolCall("lookup_order", {"order_id": "1001"}))
    emu.chat.responder = lambda req: "you said " + req.last_user_text
    emu.chat.default_reply = "OK."  # used when the script is empty (else HTTP 500)

Scripting STT: ``emu.transcripts.extend([...])`` (by order) or ``emu.transcriber = fn(wav)``.
TTS returns a real tone (duration ~60 ms per character) in the requested response_format
(pcm = 24 kHz s16le, wav, mp3 via PyAV), raw bytes or SSE ``speech.audio.delta`` events when
the SDK asks for ``stream_format=sse`` (every model except tts-1/tts-1-hd).

Faults: see :class:`~._base.Faults`; set ``emu.faults.path_contains`` to ``"/chat"``,
``"/audio/transcriptions"`` or ``"/audio/speech"`` to break only one endpoint.
"""

from __future__ import annotations

import base64
import inspect
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ._base import (
    ChunkGate,
    ConnectionDropped,
    EmulatorServer,
    chunk_bytes,
    encode_audio,
    split_text,
    text_duration,
    tone_pcm,
)

OPENAI_TTS_SAMPLE_RATE = 24000


@dataclass
class ToolCall:
    """A scripted function call. ``arguments`` (dict or raw JSON string) is streamed in
    ``arg_pieces`` fragments like the real API does."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None
    arg_pieces: int = 3

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass
class ChatReply:
    """A scripted assistant turn: optional text (streamed in ``text_pieces`` deltas), optional
    tool calls (streamed after the text), usage numbers (defaults derived from the text)."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    text_pieces: int = 4
    chunk_delay: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


ChatReplyLike = ChatReply | ToolCall | str | list[ToolCall]


def as_chat_reply(reply: ChatReplyLike) -> ChatReply:
    """Normalise the shorthand forms (str, ToolCall, [ToolCall, ...]) into a ChatReply."""
    if isinstance(reply, ChatReply):
        return reply
    if isinstance(reply, str):
        return ChatReply(text=reply)
    if isinstance(reply, ToolCall):
        return ChatReply(tool_calls=[reply])
    return ChatReply(tool_calls=list(reply))


@dataclass
class ChatRequest:
    """The parsed JSON body of one ``/chat/completions`` request, with conveniences."""

    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or [])

    @property
    def tool_names(self) -> list[str]:
        return [t.get("function", {}).get("name", "") for t in self.tools]

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @staticmethod
    def _text(content: Any) -> str:
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        return ""

    @property
    def last_user_text(self) -> str:
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return self._text(m.get("content"))
        return ""

    @property
    def last_message(self) -> dict[str, Any]:
        return self.messages[-1] if self.messages else {}

    @property
    def last_tool_output(self) -> str | None:
        """Content of the last message if it is a tool result, else None."""
        last = self.last_message
        if last.get("role") == "tool":
            return self._text(last.get("content"))
        return None


ChatResponder = Callable[[ChatRequest], ChatReplyLike | Awaitable[ChatReplyLike]]


class ChatScript:
    """Replies for ``/chat/completions``: a FIFO ``queue``, else ``responder``, else
    ``default_reply``; if none applies the emulator answers HTTP 500 (so a missing script fails
    loudly). ``requests`` records every parsed request."""

    def __init__(self) -> None:
        self.queue: deque[ChatReplyLike] = deque()
        self.responder: ChatResponder | None = None
        self.default_reply: ChatReplyLike | None = None
        self.requests: list[ChatRequest] = []

    def script(self, *replies: ChatReplyLike) -> None:
        """Append replies served one per request, in order."""
        self.queue.extend(replies)

    async def next_reply(self, req: ChatRequest) -> ChatReply | None:
        if self.queue:
            return as_chat_reply(self.queue.popleft())
        if self.responder is not None:
            out = self.responder(req)
            if inspect.isawaitable(out):
                out = await out
            return as_chat_reply(out)  # type: ignore[arg-type]
        if self.default_reply is not None:
            return as_chat_reply(self.default_reply)
        return None


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


class OpenAIHTTPEmulator(EmulatorServer):
    """Chat Completions + audio transcriptions + audio speech. ``base_url`` ends in ``/v1``.

    Counters (``emu.counts``): ``"chat"``, ``"transcriptions"``, ``"speech"``.
    """

    name = "openai-http"

    def __init__(self, *, tts_ms_per_char: float = 60.0) -> None:
        self.chat = ChatScript()
        self.transcripts: deque[str] = deque()
        self.transcriber: Callable[[bytes], str] | None = None
        self.default_transcript = ""
        self.tts_ms_per_char = tts_ms_per_char
        self.speech_requests: list[dict[str, Any]] = []
        super().__init__()

    @property
    def base_url(self) -> str:
        """Pass as ``base_url=`` to openai.LLM / openai.STT / openai.TTS."""
        return f"{self.http_url}/v1"

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_post("/v1/audio/speech", self._speech)
        app.router.add_get("/v1/models", self._models)

    async def _models(self, request: web.Request) -> web.Response:
        await self._record(request, "models")
        return web.json_response({"object": "list", "data": [{"id": "gpt-4.1", "object": "model"}]})

    # -- chat ------------------------------------------------------------------------------
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await self._record(request, "chat", body)
        req = ChatRequest(body)
        self.chat.requests.append(req)
        if (early := await self._pre_response_faults(request)) is not None:
            return early
        reply = await self.chat.next_reply(req)
        if reply is None:
            return web.json_response(
                {"error": {"message": "openai emulator: no scripted chat reply", "type": "x"}},
                status=500,
            )
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())
        model = req.model

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        chunks: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""})]
        if reply.text:
            for piece in split_text(reply.text, reply.text_pieces):
                chunks.append(chunk({"content": piece}))
        for idx, call in enumerate(reply.tool_calls):
            call_id = call.call_id or f"call_{uuid.uuid4().hex[:16]}"
            args = call.arguments_json
            step = max(1, -(-len(args) // max(1, call.arg_pieces)))
            pieces = [args[i : i + step] for i in range(0, len(args), step)] or [""]
            chunks.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": idx,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            for piece in pieces:
                chunks.append(
                    chunk({"tool_calls": [{"index": idx, "function": {"arguments": piece}}]})
                )
        chunks.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))

        completion_text = reply.text + "".join(c.arguments_json for c in reply.tool_calls)
        prompt_tokens = (
            reply.prompt_tokens
            if reply.prompt_tokens is not None
            else _approx_tokens(json.dumps(req.messages))
        )
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else _approx_tokens(completion_text)
        )
        usage_chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if include_usage:
            chunks.append(usage_chunk)

        if not body.get("stream"):
            return web.json_response(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                            "message": {"role": "assistant", "content": reply.text or None},
                        }
                    ],
                    "usage": usage_chunk["usage"],
                }
            )

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        try:
            await resp.prepare(request)
        except ConnectionResetError:
            # the client gave up while the reply was pending (e.g. a cancelled preemptive
            # generation): nothing to send, and not an emulator error
            return resp
        # first_byte_delay was already applied before the headers
        gate = ChunkGate(self, request.path, base_delay=reply.chunk_delay)
        gate._first = False
        try:
            for c in chunks:
                await gate.before_chunk()
                await resp.write(f"data: {json.dumps(c)}\n\n".encode())
            await gate.before_chunk()
            await resp.write(b"data: [DONE]\n\n")
        except ConnectionDropped:
            _abort(request)
            return resp
        await resp.write_eof()
        return resp

    # -- STT -------------------------------------------------------------------------------
    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        fields = {k: v for k, v in form.items() if not hasattr(v, "file")}
        upload = form.get("file")
        audio = upload.file.read() if upload is not None and hasattr(upload, "file") else b""
        await self._record(request, "transcriptions", {**fields, "audio_bytes": len(audio)})
        if (early := await self._pre_response_faults(request)) is not None:
            return early
        if self.transcripts:
            text = self.transcripts.popleft()
        elif self.transcriber is not None:
            text = self.transcriber(audio)
        else:
            text = self.default_transcript
        payload: dict[str, Any] = {
            "text": text,
            "usage": {"type": "duration", "seconds": 1},
        }
        if fields.get("response_format") == "verbose_json":
            payload.update({"language": "english", "duration": 1.0, "segments": []})
        return web.json_response(payload)

    # -- TTS -------------------------------------------------------------------------------
    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await self._record(request, "speech", body)
        self.speech_requests.append(body)
        if (early := await self._pre_response_faults(request)) is not None:
            return early
        fmt = body.get("response_format", "mp3")
        if fmt not in ("pcm", "wav", "mp3", "opus"):
            return web.json_response(
                {"error": {"message": f"emulator: unsupported format {fmt}"}}, status=400
            )
        text = str(body.get("input", ""))
        pcm = tone_pcm(
            text_duration(text, ms_per_char=self.tts_ms_per_char), OPENAI_TTS_SAMPLE_RATE
        )
        audio = encode_audio(pcm, OPENAI_TTS_SAMPLE_RATE, fmt, bitrate=64000)
        mime = {
            "pcm": "audio/pcm",
            "wav": "audio/wav",
            "mp3": "audio/mpeg",
            "opus": "audio/ogg",
        }[fmt]
        sse = body.get("stream_format") == "sse"
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream" if sse else mime, "x-request-id": "req"}
        )
        await resp.prepare(request)
        gate = ChunkGate(self, request.path)
        gate._first = False
        try:
            for piece in chunk_bytes(audio, 4800):
                await gate.before_chunk()
                if sse:
                    ev = {"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()}
                    await resp.write(f"data: {json.dumps(ev)}\n\n".encode())
                else:
                    await resp.write(piece)
            if sse:
                done = {
                    "type": "speech.audio.done",
                    "usage": {
                        "input_tokens": _approx_tokens(text),
                        "output_tokens": len(audio) // 1000,
                        "total_tokens": _approx_tokens(text) + len(audio) // 1000,
                    },
                }
                await resp.write(f"data: {json.dumps(done)}\n\n".encode())
        except ConnectionDropped:
            _abort(request)
            return resp
        await resp.write_eof()
        return resp


def _abort(request: web.Request) -> None:
    """Kill the TCP connection mid-body (the client sees an incomplete chunked response)."""
    transport = request.transport
    if transport is not None:
        transport.abort()
