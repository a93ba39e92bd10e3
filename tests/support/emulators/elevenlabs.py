"""ElevenLabs TTS emulator, as ``livekit-plugins-elevenlabs`` 1.8.9 consumes it:

- streaming: websocket ``/v1/text-to-speech/{voice_id}/multi-stream-input`` (multi-context;
  ``TTS.stream()``), one connection shared by many contexts;
- non-streamed: ``POST /v1/text-to-speech/{voice_id}/stream?output_format=...``
  (``TTS.synthesize()``), chunked audio body.

Point the plugin at it::

    elevenlabs.TTS(base_url=emu.base_url, api_key="test", voice_id="v1",
                   model="eleven_flash_v2_5", encoding="pcm_16000", http_session=session)
    # emu.base_url == "http://127.0.0.1:PORT/v1"

Audio is a real 440 Hz tone whose duration scales with the text (``ms_per_char``, default 60),
in the ``output_format`` the plugin asks for: ``pcm_*`` (raw s16le at that rate), ``mp3_*``
(real MP3 via PyAV/libmp3lame, what the plugin requests by default: ``mp3_22050_32``) or
``opus_*``. Each websocket audio message carries ``alignment``/``normalizedAlignment`` so the
plugin can emit timed transcripts. The first audio of a context waits ``first_audio_latency``
(default 0.15 s).

Websocket protocol handled: context init (``{"text": " ", "context_id"}``), text chunks (audio
is produced for the buffered text on ``flush`` and on ``close_context``), ``close_context`` ->
``{"isFinal": true, "contextId"}``, ``keep_alive``, ``close_socket``.

Faults (``emu.faults``): ``http_status`` (handshake / POST), ``stall`` (accept, never send
audio: the plugin's per-context timeout = ``conn_options.timeout`` fires ``APITimeoutError``),
``close_after_chunks`` (socket closed 1011 / body aborted after N audio chunks),
``first_byte_delay`` / ``chunk_delay``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ._base import (
    ChunkGate,
    ConnectionDropped,
    EmulatorServer,
    chunk_bytes,
    encode_audio,
    text_duration,
    tone_pcm,
)


def parse_output_format(fmt: str) -> tuple[str, int, int]:
    """``"mp3_22050_32"`` -> ("mp3", 22050, 32000); ``"pcm_16000"`` -> ("pcm", 16000, 0)."""
    parts = fmt.split("_")
    codec = parts[0]
    rate = int(parts[1]) if len(parts) > 1 else 22050
    bitrate = int(parts[2]) * 1000 if len(parts) > 2 else 32000
    return codec, rate, bitrate


@dataclass
class SynthesisRecord:
    """What one context (websocket) or POST asked to speak."""

    voice_id: str
    model_id: str
    output_format: str
    text: str = ""
    context_id: str | None = None
    flushes: int = 0
    audio_bytes: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)


class ElevenLabsEmulator(EmulatorServer):
    """See module docstring. Counters (``emu.counts``): ``"ws"`` (handshakes), ``"contexts"``,
    ``"http_stream"``. ``emu.syntheses`` lists a :class:`SynthesisRecord` per context/POST."""

    name = "elevenlabs"

    def __init__(self, *, first_audio_latency: float = 0.15, ms_per_char: float = 60.0) -> None:
        self.first_audio_latency = first_audio_latency
        self.ms_per_char = ms_per_char
        self.syntheses: list[SynthesisRecord] = []
        self.tone_for: Callable[[str], float] | None = None
        """Tone frequency for a context's text so far (default 440 Hz): lets a test tell two
        voices apart in a recording (tests/e2e: the supervisor briefing)."""
        super().__init__()

    @property
    def base_url(self) -> str:
        """Pass as ``elevenlabs.TTS(base_url=...)``."""
        return f"{self.http_url}/v1"

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/text-to-speech/{voice_id}/multi-stream-input", self._ws)
        app.router.add_post("/v1/text-to-speech/{voice_id}/stream", self._http_stream)

    def render(self, text: str, output_format: str, *, voice_text: str | None = None) -> bytes:
        """Encoded audio for ``text`` in ``output_format`` (a tone ~``ms_per_char``/char);
        ``voice_text`` (the whole context so far) picks the tone with ``tone_for``."""
        codec, rate, bitrate = parse_output_format(output_format)
        freq = self.tone_for(voice_text or text) if self.tone_for is not None else 440.0
        pcm = tone_pcm(text_duration(text, ms_per_char=self.ms_per_char), rate, freq=freq)
        return encode_audio(pcm, rate, codec, bitrate=bitrate)

    # -- HTTP ------------------------------------------------------------------------------
    async def _http_stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await self._record(request, "http_stream", body)
        fmt = request.query.get("output_format", "mp3_44100_128")
        rec = SynthesisRecord(
            voice_id=request.match_info["voice_id"],
            model_id=str(body.get("model_id", "")),
            output_format=fmt,
            text=str(body.get("text", "")),
        )
        self.syntheses.append(rec)
        if (early := await self._pre_response_faults(request)) is not None:
            return early
        await self._sleep(self.first_audio_latency)
        audio = self.render(rec.text, fmt, voice_text=rec.text)
        codec = fmt.split("_")[0]
        mime = {"mp3": "audio/mpeg", "pcm": "audio/pcm", "opus": "audio/ogg"}.get(codec, "")
        resp = web.StreamResponse(headers={"Content-Type": mime})
        await resp.prepare(request)
        gate = ChunkGate(self, request.path)
        gate._first = False
        try:
            for piece in chunk_bytes(audio, 4096):
                await gate.before_chunk()
                await resp.write(piece)
                rec.audio_bytes += len(piece)
        except ConnectionDropped:
            if request.transport is not None:
                request.transport.abort()
            return resp
        await resp.write_eof()
        return resp

    # -- websocket ---------------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "ws")
        if (early := await self._pre_handshake_faults(request)) is not None:
            return early
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.connection_count += 1
        self._websockets.add(ws)
        voice_id = request.match_info["voice_id"]
        model_id = request.query.get("model_id", "")
        fmt = request.query.get("output_format", "mp3_22050_32")
        stalled = self._ws_stalled(request.path)
        gate = ChunkGate(self, request.path)
        lock = asyncio.Lock()
        contexts: dict[str, SynthesisRecord] = {}
        pending: dict[str, str] = {}  # context -> text not yet rendered
        started: set[str] = set()
        workers: dict[str, asyncio.Task[None]] = {}

        async def emit_audio(ctx_id: str, text: str) -> None:
            rec = contexts[ctx_id]
            if ctx_id not in started:
                started.add(ctx_id)
                await self._sleep(self.first_audio_latency)
            audio = self.render(text, fmt, voice_text=rec.text)
            # ~100 ms of audio per message
            size = max(256, len(audio) * 100 // max(1, int(text_duration(text) * 1000)))
            pieces = chunk_bytes(audio, size)
            align = _alignment(text, text_duration(text, ms_per_char=self.ms_per_char))
            for i, piece in enumerate(pieces):
                msg: dict[str, Any] = {"audio": base64.b64encode(piece).decode(), "isFinal": None}
                msg["contextId"] = ctx_id
                if i == 0:
                    msg["alignment"] = align
                    msg["normalizedAlignment"] = align
                async with lock:
                    await gate.before_chunk()
                    await ws.send_str(json.dumps(msg))
                rec.audio_bytes += len(piece)

        async def context_worker(ctx_id: str, queue: asyncio.Queue[tuple[str, str]]) -> None:
            try:
                while True:
                    kind, text = await queue.get()
                    if kind == "speak" and text.strip():
                        await emit_audio(ctx_id, text)
                    elif kind == "close":
                        async with lock:
                            await ws.send_str(json.dumps({"isFinal": True, "contextId": ctx_id}))
                        return
            except ConnectionDropped:
                await ws.close(code=1011, message=b"emulated failure")

        queues: dict[str, asyncio.Queue[tuple[str, str]]] = {}

        def enqueue(ctx_id: str, kind: str, text: str = "") -> None:
            if stalled:
                return
            if ctx_id not in queues:
                queues[ctx_id] = asyncio.Queue()
                workers[ctx_id] = asyncio.create_task(context_worker(ctx_id, queues[ctx_id]))
            queues[ctx_id].put_nowait((kind, text))

        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                ctx_id = str(data.get("context_id") or data.get("contextId") or "default")
                if data.get("close_socket"):
                    break
                if data.get("keep_alive"):
                    continue
                if ctx_id not in contexts:
                    self.counts["contexts"] += 1
                    contexts[ctx_id] = SynthesisRecord(
                        voice_id=voice_id, model_id=model_id, output_format=fmt, context_id=ctx_id
                    )
                    self.syntheses.append(contexts[ctx_id])
                rec = contexts[ctx_id]
                rec.messages.append(data)
                if "text" in data:
                    text = str(data["text"])
                    rec.text += text
                    pending[ctx_id] = pending.get(ctx_id, "") + text
                    if data.get("flush"):
                        rec.flushes += 1
                        enqueue(ctx_id, "speak", pending.pop(ctx_id, ""))
                if data.get("close_context"):
                    enqueue(ctx_id, "speak", pending.pop(ctx_id, ""))
                    enqueue(ctx_id, "close")
        finally:
            # let workers that are still speaking finish unless the socket is gone
            alive = [t for t in workers.values() if not t.done()]
            if alive and not ws.closed:
                await asyncio.wait(alive, timeout=30)
            for t in workers.values():
                t.cancel()
            self._websockets.discard(ws)
        return ws


def _alignment(text: str, duration_s: float) -> dict[str, Any]:
    chars = list(text)
    if not chars:
        return {"chars": [], "charStartTimesMs": [], "charDurationsMs": []}
    per = max(1, int(duration_s * 1000 / len(chars)))
    return {
        "chars": chars,
        "charStartTimesMs": [i * per for i in range(len(chars))],
        "charDurationsMs": [per] * len(chars),
    }
