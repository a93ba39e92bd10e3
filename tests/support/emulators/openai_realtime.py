"""OpenAI Realtime (GA protocol) websocket emulator for
``livekit.plugins.openai.realtime.RealtimeModel`` (engine: ``livekit.agents.llm._realtime.openai``).

Point the plugin at it::

    RealtimeModel(base_url=emu.base_url, api_key="test")   # emu.base_url = http://127.0.0.1:P/v1
    # the plugin connects to ws://127.0.0.1:P/v1/realtime?model=gpt-realtime

Client events handled -> server events sent:

- ``session.update`` -> ``session.updated`` (``session.created`` is sent on connect)
- ``input_audio_buffer.append`` (24 kHz s16 base64) -> with server turn detection (the plugin
  default, ``turn_detection`` in the session): energy VAD ->
  ``input_audio_buffer.speech_started`` / ``speech_stopped`` / ``committed``,
  ``conversation.item.added`` (user ``input_audio`` item),
  ``conversation.item.input_audio_transcription.delta/completed`` (scripted transcript, after
  ``transcription_delay``), and a response if ``create_response`` is not false
- ``input_audio_buffer.commit`` (manual) -> ``committed`` + item + transcription (no response);
  ``input_audio_buffer.clear`` -> ``cleared``
- ``conversation.item.create`` (text message / function_call_output) -> ``conversation.item.added``
  + ``conversation.item.done``; ``conversation.item.delete`` -> ``conversation.item.deleted``;
  ``conversation.item.truncate`` -> ``conversation.item.truncated``
- ``response.create`` -> ``response.created`` (metadata echoed: the plugin matches its
  ``generate_reply`` future through ``metadata.client_event_id``), then for a message:
  ``response.output_item.added``, ``conversation.item.added``, ``response.content_part.added``,
  ``response.output_audio_transcript.delta`` + ``response.output_audio.delta`` (audio modality)
  or ``response.output_text.delta`` (text modality), ``...done`` events,
  ``response.output_item.done``; for a tool call: ``function_call`` item with
  ``response.function_call_arguments.delta/done``; finally ``response.done`` with usage.
- ``response.cancel`` -> the running reply stops; ``response.done`` with ``status=cancelled``.

Scripting: ``emu.replies`` (FIFO of :class:`RealtimeReply` / str / ToolCall), or
``emu.responder(RealtimeTurn) -> reply``; ``emu.default_reply`` otherwise (none -> an
``error`` event). Transcripts of user audio: ``emu.transcripts`` (FIFO per committed utterance)
or ``emu.transcriber(index, pcm24k) -> str``.

Faults (``emu.faults``): ``http_status`` rejects the websocket handshake; ``stall`` accepts and
never answers; ``close_after_chunks=N`` closes (1011) after N events of a response;
``first_byte_delay``/``chunk_delay`` delay response events. Use ``unused_port()`` for a refused
connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ._base import (
    ChunkGate,
    ConnectionDropped,
    EmulatorServer,
    EnergyVAD,
    chunk_bytes,
    split_text,
    text_duration,
    tone_pcm,
)
from .openai_http import ToolCall

REALTIME_SAMPLE_RATE = 24000


@dataclass
class RealtimeReply:
    """A scripted model response: spoken/written ``text`` and/or ``tool_calls``.

    ``chunk_delay`` paces each audio/text delta (use e.g. 0.05 to leave time to interrupt);
    ``audio_chunk_ms`` is the size of each ``response.output_audio.delta``.
    """

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    chunk_delay: float = 0.0
    audio_chunk_ms: int = 100
    input_tokens: int = 50
    output_tokens: int = 20


RealtimeReplyLike = RealtimeReply | ToolCall | str | list[ToolCall]


def as_realtime_reply(reply: RealtimeReplyLike) -> RealtimeReply:
    if isinstance(reply, RealtimeReply):
        return reply
    if isinstance(reply, str):
        return RealtimeReply(text=reply)
    if isinstance(reply, ToolCall):
        return RealtimeReply(tool_calls=[reply])
    return RealtimeReply(tool_calls=list(reply))


@dataclass
class RealtimeTurn:
    """What a responder sees: the conversation items so far, the ``response.create`` params
    (``None`` for a server-VAD auto response) and the session config."""

    items: list[dict[str, Any]]
    response_params: dict[str, Any] | None
    session: dict[str, Any]

    @property
    def last_item(self) -> dict[str, Any]:
        return self.items[-1] if self.items else {}

    @property
    def last_user_text(self) -> str:
        for item in reversed(self.items):
            if item.get("type") == "message" and item.get("role") == "user":
                for part in item.get("content") or []:
                    if part.get("type") == "input_text":
                        return str(part.get("text") or "")
                    if part.get("type") == "input_audio":
                        return str(part.get("transcript") or "")
        return ""

    @property
    def last_tool_output(self) -> str | None:
        last = self.last_item
        if last.get("type") == "function_call_output":
            return str(last.get("output"))
        return None


RealtimeResponder = Callable[[RealtimeTurn], RealtimeReplyLike | Awaitable[RealtimeReplyLike]]


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


class OpenAIRealtimeEmulator(EmulatorServer):
    """See module docstring. Counters: ``emu.counts["realtime"]`` (handshakes),
    ``emu.counts["response.create"]``, ``emu.counts["response.cancel"]``; ``emu.client_events``
    records every client event except audio appends (``emu.audio_bytes`` counts those)."""

    name = "openai-realtime"

    def __init__(
        self,
        *,
        transcription_delay: float = 0.05,
        vad_silence_ms: int = 300,
        vad_threshold: float = 300.0,
        ms_per_char: float = 60.0,
    ) -> None:
        self.replies: deque[RealtimeReplyLike] = deque()
        self.responder: RealtimeResponder | None = None
        self.default_reply: RealtimeReplyLike | None = None
        self.transcripts: deque[str] = deque()
        self.transcriber: Callable[[int, bytes], str] | None = None
        self.default_transcript = ""
        self.transcription_delay = transcription_delay
        self.vad_silence_ms = vad_silence_ms
        self.vad_threshold = vad_threshold
        self.ms_per_char = ms_per_char
        self.client_events: list[dict[str, Any]] = []
        self.audio_bytes = 0
        self.cancelled_responses: list[str] = []
        self._utterance_index = 0
        super().__init__()

    @property
    def base_url(self) -> str:
        """Pass as ``RealtimeModel(base_url=...)``."""
        return f"{self.http_url}/v1"

    def script(self, *replies: RealtimeReplyLike) -> None:
        """Append replies served one per response, in order."""
        self.replies.extend(replies)

    def events_of(self, type_: str) -> list[dict[str, Any]]:
        """Client events of one type, e.g. ``emu.events_of("response.create")``."""
        return [e for e in self.client_events if e.get("type") == type_]

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/realtime", self._ws)
        app.router.add_get("/realtime", self._ws)

    def _next_transcript(self, pcm: bytes) -> str:
        idx = self._utterance_index
        self._utterance_index += 1
        if self.transcripts:
            return self.transcripts.popleft()
        if self.transcriber is not None:
            return self.transcriber(idx, pcm)
        return self.default_transcript

    async def _next_reply(self, turn: RealtimeTurn) -> RealtimeReply | None:
        if self.replies:
            return as_realtime_reply(self.replies.popleft())
        if self.responder is not None:
            out = self.responder(turn)
            if inspect.isawaitable(out):
                out = await out
            return as_realtime_reply(out)  # type: ignore[arg-type]
        if self.default_reply is not None:
            return as_realtime_reply(self.default_reply)
        return None

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "realtime")
        if (early := await self._pre_handshake_faults(request)) is not None:
            return early
        ws = web.WebSocketResponse(heartbeat=None, max_msg_size=64 * 1024 * 1024)
        await ws.prepare(request)
        self.connection_count += 1
        self._websockets.add(ws)
        session = _RealtimeSession(self, request, ws)
        try:
            await session.run()
        finally:
            await session.shutdown()
            self._websockets.discard(ws)
        return ws


class _RealtimeSession:
    def __init__(
        self, emu: OpenAIRealtimeEmulator, request: web.Request, ws: web.WebSocketResponse
    ) -> None:
        self.emu = emu
        self.ws = ws
        self.path = request.path
        self.model = request.query.get("model", "gpt-realtime")
        self.stalled = emu._ws_stalled(self.path)
        self.session: dict[str, Any] = {
            "type": "realtime",
            "id": _id("sess"),
            "model": self.model,
            "output_modalities": ["audio"],
            "audio": {"input": {"turn_detection": None, "transcription": None}},
        }
        self.items: list[dict[str, Any]] = []
        self.vad = EnergyVAD(
            REALTIME_SAMPLE_RATE, threshold=emu.vad_threshold, silence_ms=emu.vad_silence_ms
        )
        self.buffer = bytearray()
        self.buffer_start_ms = 0.0
        self.lock = asyncio.Lock()
        self.response_task: asyncio.Task[None] | None = None
        self.current_response_id: str | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.pending_item_id = _id("item")

    # -- plumbing --------------------------------------------------------------------------
    async def send(self, event: dict[str, Any], gate: ChunkGate | None = None) -> None:
        if self.stalled or self.ws.closed:
            return
        event.setdefault("event_id", _id("event"))
        async with self.lock:
            if gate is not None:
                await gate.before_chunk()
            await self.ws.send_str(json.dumps(event))

    def spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def shutdown(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    @property
    def server_vad(self) -> bool:
        return bool(((self.session.get("audio") or {}).get("input") or {}).get("turn_detection"))

    @property
    def create_response_on_vad(self) -> bool:
        td = ((self.session.get("audio") or {}).get("input") or {}).get("turn_detection") or {}
        return td.get("create_response", True) is not False

    @property
    def audio_output(self) -> bool:
        return "audio" in (self.session.get("output_modalities") or ["audio"])

    def previous_item_id(self) -> str | None:
        return self.items[-1]["id"] if self.items else None

    # -- main loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        await self.send({"type": "session.created", "session": self.session})
        async for msg in self.ws:
            if msg.type != WSMsgType.TEXT:
                break
            event = json.loads(msg.data)
            etype = event.get("type", "")
            if etype == "input_audio_buffer.append":
                await self.on_append(event)
                continue
            self.emu.client_events.append(event)
            self.emu.counts[etype] += 1
            handler = {
                "session.update": self.on_session_update,
                "input_audio_buffer.commit": self.on_commit,
                "input_audio_buffer.clear": self.on_clear,
                "conversation.item.create": self.on_item_create,
                "conversation.item.delete": self.on_item_delete,
                "conversation.item.truncate": self.on_item_truncate,
                "response.create": self.on_response_create,
                "response.cancel": self.on_response_cancel,
            }.get(etype)
            if handler is None:
                await self.error(event, "unknown_event", f"emulator: unhandled event {etype}")
            else:
                await handler(event)

    async def error(self, event: dict[str, Any], code: str, message: str) -> None:
        await self.send(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": code,
                    "message": message,
                    "param": None,
                    "event_id": event.get("event_id"),
                },
            }
        )

    # -- session -------------------------------------------------------------------------
    async def on_session_update(self, event: dict[str, Any]) -> None:
        _deep_merge(self.session, event.get("session") or {})
        await self.send({"type": "session.updated", "session": self.session})

    # -- audio -----------------------------------------------------------------------------
    async def on_append(self, event: dict[str, Any]) -> None:
        pcm = base64.b64decode(event.get("audio", ""))
        self.emu.audio_bytes += len(pcm)
        if not self.buffer:
            self.buffer_start_ms = self.vad.audio_ms
        self.buffer += pcm
        events = self.vad.feed(pcm)
        if not self.server_vad:
            return
        for kind, at_ms in events:
            if kind == "start":
                self.pending_item_id = _id("item")
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(at_ms),
                        "item_id": self.pending_item_id,
                    }
                )
            else:
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": int(at_ms),
                        "item_id": self.pending_item_id,
                    }
                )
                await self.commit(self.pending_item_id, auto_response=self.create_response_on_vad)

    async def on_commit(self, event: dict[str, Any]) -> None:
        if len(self.buffer) < REALTIME_SAMPLE_RATE * 2 // 10:
            await self.error(
                event, "input_audio_buffer_commit_empty", "buffer too small (<100ms of audio)"
            )
            return
        self.vad.force_end()
        await self.commit(_id("item"), auto_response=False)

    async def on_clear(self, event: dict[str, Any]) -> None:
        self.buffer = bytearray()
        self.vad.force_end()
        await self.send({"type": "input_audio_buffer.cleared"})

    async def commit(self, item_id: str, *, auto_response: bool) -> None:
        pcm = bytes(self.buffer)
        self.buffer = bytearray()
        prev = self.previous_item_id()
        item = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.items.append(item)
        await self.send(
            {"type": "input_audio_buffer.committed", "previous_item_id": prev, "item_id": item_id}
        )
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": item})
        transcript = self.emu._next_transcript(pcm)
        item["content"][0]["transcript"] = transcript
        transcription_on = bool(
            ((self.session.get("audio") or {}).get("input") or {}).get("transcription")
        )
        if transcription_on:
            self.spawn(self.deliver_transcript(item_id, transcript))
        if auto_response:
            await self.start_response(None)

    async def deliver_transcript(self, item_id: str, transcript: str) -> None:
        await self.emu._sleep(self.emu.transcription_delay)
        for piece in split_text(transcript, 2):
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item_id,
                    "content_index": 0,
                    "delta": piece,
                }
            )
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {"type": "duration", "seconds": 1},
            }
        )

    # -- conversation items -----------------------------------------------------------------
    async def on_item_create(self, event: dict[str, Any]) -> None:
        item = dict(event.get("item") or {})
        item.setdefault("id", _id("item"))
        item["object"] = "realtime.item"
        item["status"] = "completed"
        prev_req = event.get("previous_item_id")
        if prev_req == "root":
            idx, prev = 0, None
        elif prev_req:
            ids = [i["id"] for i in self.items]
            if prev_req not in ids:
                await self.error(event, "item_not_found", f"previous item {prev_req} not found")
                return
            idx, prev = ids.index(prev_req) + 1, prev_req
        else:
            idx, prev = len(self.items), self.previous_item_id()
        if any(i["id"] == item["id"] for i in self.items):
            await self.error(event, "item_create_duplicate_item_id", "duplicate item id")
            return
        self.items.insert(idx, item)
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": item})

    async def on_item_delete(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        before = len(self.items)
        self.items = [i for i in self.items if i["id"] != item_id]
        if len(self.items) == before:
            await self.error(event, "item_not_found", f"item {item_id} not found")
            return
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def on_item_truncate(self, event: dict[str, Any]) -> None:
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": event.get("item_id"),
                "content_index": event.get("content_index", 0),
                "audio_end_ms": event.get("audio_end_ms", 0),
            }
        )

    # -- responses ---------------------------------------------------------------------------
    async def on_response_create(self, event: dict[str, Any]) -> None:
        if self.response_task is not None and not self.response_task.done():
            await self.error(
                event,
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress",
            )
            return
        await self.start_response(event.get("response") or {})

    async def start_response(self, params: dict[str, Any] | None) -> None:
        self.response_task = self.spawn(self.run_response(params))

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        task = self.response_task
        rid = event.get("response_id") or self.current_response_id
        if (
            task is None
            or task.done()
            or (event.get("response_id") and event["response_id"] != self.current_response_id)
        ):
            await self.error(
                event,
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
            )
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if rid:
            self.emu.cancelled_responses.append(rid)

    async def run_response(self, params: dict[str, Any] | None) -> None:
        rid = _id("resp")
        self.current_response_id = rid
        gate = ChunkGate(self.emu, self.path)
        metadata = (params or {}).get("metadata")
        modalities = (
            (params or {}).get("output_modalities")
            or self.session.get("output_modalities")
            or ["audio"]
        )
        audio_out = "audio" in modalities
        output: list[dict[str, Any]] = []
        base = {"id": rid, "object": "realtime.response", "metadata": metadata}
        state = {"status": "completed", "item": None}
        reply: RealtimeReply | None = None
        try:
            await self.send(
                {
                    "type": "response.created",
                    "response": {**base, "status": "in_progress", "output": []},
                },
                gate,
            )
            turn = RealtimeTurn(
                items=list(self.items), response_params=params, session=self.session
            )
            reply = await self.emu._next_reply(turn)
            if reply is None:
                state["status"] = "failed"
                await self.send(
                    {
                        "type": "error",
                        "error": {
                            "type": "server_error",
                            "code": "emulator_no_reply",
                            "message": "openai realtime emulator: no scripted reply",
                            "param": None,
                            "event_id": None,
                        },
                    }
                )
                return
            if reply.text:
                await self.stream_message(rid, reply, audio_out, gate, output, state)
            for call in reply.tool_calls:
                await self.stream_call(rid, call, reply, gate, output)
        except asyncio.CancelledError:
            state["status"] = "cancelled"
            item = state["item"]
            if isinstance(item, dict):
                item["status"] = "incomplete"
                with contextlib.suppress(Exception):
                    await self.send(
                        {
                            "type": "response.output_item.done",
                            "response_id": rid,
                            "output_index": 0,
                            "item": item,
                        }
                    )
        except ConnectionDropped:
            await self.ws.close(code=1011, message=b"emulated failure")
            return
        finally:
            if not self.ws.closed:
                usage = {
                    "total_tokens": (reply.input_tokens + reply.output_tokens) if reply else 0,
                    "input_tokens": reply.input_tokens if reply else 0,
                    "output_tokens": reply.output_tokens if reply else 0,
                    "input_token_details": {"text_tokens": 10, "audio_tokens": 0},
                    "output_token_details": {"text_tokens": 5, "audio_tokens": 0},
                }
                done: dict[str, Any] = {
                    **base,
                    "status": state["status"],
                    "output": output,
                    "usage": usage,
                }
                if state["status"] == "cancelled":
                    done["status_details"] = {"type": "cancelled", "reason": "client_cancelled"}
                with contextlib.suppress(Exception):
                    # bypass the gate: response.done must go out even when cancelled
                    await self.send({"type": "response.done", "response": done})
            if self.current_response_id == rid:
                self.current_response_id = None

    async def stream_message(
        self,
        rid: str,
        reply: RealtimeReply,
        audio_out: bool,
        gate: ChunkGate,
        output: list[dict[str, Any]],
        state: dict[str, Any],
    ) -> None:
        item_id = _id("item")
        oi = len(output)
        part_type = "audio" if audio_out else "text"
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        state["item"] = item
        prev = self.previous_item_id()
        self.items.append(item)
        common = {"response_id": rid, "item_id": item_id, "output_index": oi, "content_index": 0}
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": oi,
                "item": item,
            },
            gate,
        )
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        part = {"type": part_type, "transcript": ""} if audio_out else {"type": "text", "text": ""}
        await self.send({"type": "response.content_part.added", **common, "part": part}, gate)
        transcript = ""
        if audio_out:
            dur = text_duration(reply.text, ms_per_char=self.emu.ms_per_char)
            pcm = tone_pcm(dur, REALTIME_SAMPLE_RATE)
            size = REALTIME_SAMPLE_RATE * 2 * reply.audio_chunk_ms // 1000
            audio_chunks = chunk_bytes(pcm, size)
            text_chunks = split_text(reply.text, len(audio_chunks))
            for i, audio in enumerate(audio_chunks):
                if i < len(text_chunks):
                    transcript += text_chunks[i]
                    item["content"] = [{"type": "output_audio", "transcript": transcript}]
                    await self.send(
                        {
                            "type": "response.output_audio_transcript.delta",
                            **common,
                            "delta": text_chunks[i],
                        },
                        gate,
                    )
                await self.send(
                    {
                        "type": "response.output_audio.delta",
                        **common,
                        "delta": base64.b64encode(audio).decode(),
                    },
                    gate,
                )
                await self.emu._sleep(reply.chunk_delay)
            await self.send({"type": "response.output_audio.done", **common}, gate)
            await self.send(
                {
                    "type": "response.output_audio_transcript.done",
                    **common,
                    "transcript": reply.text,
                },
                gate,
            )
            final_part = {"type": "audio", "transcript": reply.text}
            item["content"] = [{"type": "output_audio", "transcript": reply.text}]
        else:
            for piece in split_text(reply.text, 4):
                await self.send(
                    {"type": "response.output_text.delta", **common, "delta": piece}, gate
                )
                await self.emu._sleep(reply.chunk_delay)
            await self.send(
                {"type": "response.output_text.done", **common, "text": reply.text}, gate
            )
            final_part = {"type": "text", "text": reply.text}
            item["content"] = [{"type": "output_text", "text": reply.text}]
        await self.send({"type": "response.content_part.done", **common, "part": final_part}, gate)
        item["status"] = "completed"
        state["item"] = None
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": oi,
                "item": item,
            },
            gate,
        )
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": item})
        output.append(item)

    async def stream_call(
        self,
        rid: str,
        call: ToolCall,
        reply: RealtimeReply,
        gate: ChunkGate,
        output: list[dict[str, Any]],
    ) -> None:
        item_id = _id("item")
        oi = len(output)
        call_id = call.call_id or _id("call")
        args = call.arguments_json
        item: dict[str, Any] = {
            "id": item_id,
            "type": "function_call",
            "object": "realtime.item",
            "status": "in_progress",
            "name": call.name,
            "call_id": call_id,
            "arguments": "",
        }
        prev = self.previous_item_id()
        self.items.append(item)
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": oi,
                "item": item,
            },
            gate,
        )
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        step = max(1, -(-len(args) // max(1, call.arg_pieces)))
        for i in range(0, len(args), step):
            await self.send(
                {
                    "type": "response.function_call_arguments.delta",
                    "response_id": rid,
                    "item_id": item_id,
                    "output_index": oi,
                    "call_id": call_id,
                    "delta": args[i : i + step],
                },
                gate,
            )
            await self.emu._sleep(reply.chunk_delay)
        await self.send(
            {
                "type": "response.function_call_arguments.done",
                "response_id": rid,
                "item_id": item_id,
                "output_index": oi,
                "call_id": call_id,
                "name": call.name,
                "arguments": args,
            },
            gate,
        )
        item["arguments"] = args
        item["status"] = "completed"
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": oi,
                "item": item,
            },
            gate,
        )
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": item})
        output.append(item)


def _deep_merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_merge(dst[k], v)
        else:
            dst[k] = v
