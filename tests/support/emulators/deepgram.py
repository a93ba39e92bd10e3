"""Deepgram emulator: streaming STT websocket ``/v1/listen`` and prerecorded REST ``POST
/v1/listen``, as ``livekit-plugins-deepgram`` (``deepgram.STT``, v1 API) consumes them.

Point the plugin at it (``base_url`` is the full listen URL; the plugin swaps http->ws for the
stream and appends the query string)::

    deepgram.STT(base_url=emu.base_url, api_key="test", http_session=session)
    # emu.base_url == "http://127.0.0.1:PORT/v1/listen"

Streaming behaviour: binary frames are linear16 PCM at the ``sample_rate`` query param. A
small energy VAD (audio time, so audio may be pushed faster than real time) finds utterances:

- speech start -> ``SpeechStarted`` (when ``vad_events=true``)
- every ``interim_every_ms`` of speech -> interim ``Results`` (is_final=false) carrying a
  growing prefix of the scripted transcript (when ``interim_results=true``)
- ``end_silence_ms`` of silence after speech (default 300) -> after ``final_delay`` seconds
  (default 0.1) a final ``Results`` (is_final=true, speech_final=true), then ``UtteranceEnd``
  if ``utterance_end_ms`` was requested. With ``end_silence_ms=None`` the silence is the
  client's ``endpointing`` query parameter, as Deepgram does (the plugin asks for 25 ms by
  default; short pauses inside a sentence then end an utterance too, as they do live);
  ``endpointing=false`` or no parameter falls back to 300 ms
- ``Finalize`` ends the open utterance at once (``from_finalize=true``); ``CloseStream``
  finalizes, sends ``Metadata`` and closes; ``KeepAlive`` is counted.

Scripting: ``emu.transcripts`` (FIFO, one per utterance, across connections and REST calls) or
``emu.transcriber(index, pcm16, sample_rate) -> str`` (called for every interim with the audio
heard so far and once more for the final with the whole utterance; ``index`` is the utterance
number) or ``emu.span_transcriber(start_s, end_s) -> str`` (streaming: the utterance's span in
the connection's audio time, for a caller whose words are known by time);
``emu.default_transcript`` otherwise.

Faults (``emu.faults``): ``http_status`` rejects the handshake/REST call;
``close_after_chunks=N`` closes the socket (1011) after N server messages (``SpeechStarted``
counts, so ``N=1`` drops the stream mid-utterance); ``stall`` accepts and then never answers;
``chunk_delay``/``first_byte_delay`` delay each/first server message.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
import wave
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from ._base import ChunkGate, ConnectionDropped, EmulatorServer, EnergyVAD

Transcriber = Callable[[int, bytes, int], str]
SpanTranscriber = Callable[[float, float], str]
"""(start, end) seconds of the utterance in the stream's audio time -> the words in it."""


class DeepgramEmulator(EmulatorServer):
    """Deepgram v1 listen emulator (see module docstring). Counters (``emu.counts``):
    ``"listen_ws"``, ``"listen_rest"``, ``"keepalive"``, ``"finalize"``, ``"closestream"``;
    ``emu.utterances`` lists the transcripts delivered, ``emu.audio_bytes`` the PCM received."""

    name = "deepgram"

    def __init__(
        self,
        *,
        final_delay: float = 0.1,
        end_silence_ms: int | None = 300,
        interim_every_ms: int = 300,
        vad_threshold: float = 300.0,
    ) -> None:
        self.transcripts: deque[str] = deque()
        self.transcriber: Transcriber | None = None
        self.span_transcriber: SpanTranscriber | None = None
        self.default_transcript = ""
        self.final_delay = final_delay
        self.end_silence_ms = end_silence_ms
        self.interim_every_ms = interim_every_ms
        self.vad_threshold = vad_threshold
        self.utterances: list[str] = []
        self.audio_bytes = 0
        self._utterance_index = 0
        super().__init__()

    @property
    def base_url(self) -> str:
        """Pass as ``deepgram.STT(base_url=...)``."""
        return f"{self.http_url}/v1/listen"

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/listen", self._listen_ws)
        app.router.add_post("/v1/listen", self._listen_rest)

    def _new_utterance(self) -> int:
        idx = self._utterance_index
        self._utterance_index += 1
        return idx

    def _transcript_for(self, index: int, pcm: bytes, sample_rate: int) -> str | None:
        """Scripted text for utterance ``index``: the queue wins (popped once per utterance by
        the caller), then the transcriber (called with the audio heard so far), then the
        default."""
        if self.transcriber is not None:
            return self.transcriber(index, pcm, sample_rate)
        return None

    def _next_transcript(self, pcm: bytes, sample_rate: int) -> str:
        idx = self._new_utterance()
        if self.transcripts:
            text = self.transcripts.popleft()
        else:
            text = self._transcript_for(idx, pcm, sample_rate) or self.default_transcript
        self.utterances.append(text)
        return text

    # -- REST (prerecorded) ---------------------------------------------------------------
    async def _listen_rest(self, request: web.Request) -> web.StreamResponse:
        data = await request.read()
        await self._record(request, "listen_rest", {"audio_bytes": len(data)})
        if (early := await self._pre_response_faults(request)) is not None:
            return early
        pcm, rate, duration = b"", 16000, 0.0
        with contextlib.suppress(wave.Error, EOFError), wave.open(io.BytesIO(data), "rb") as wf:
            rate = wf.getframerate()
            pcm = wf.readframes(wf.getnframes())
            duration = wf.getnframes() / rate
        text = self._next_transcript(pcm, rate)
        alt = _alternative(text, 0.0, duration)
        return web.json_response(
            {
                "metadata": {
                    "request_id": str(uuid.uuid4()),
                    "duration": duration,
                    "channels": 1,
                },
                "results": {"channels": [{"alternatives": [alt]}]},
            }
        )

    # -- streaming ----------------------------------------------------------------------
    async def _listen_ws(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "listen_ws")
        if (early := await self._pre_handshake_faults(request)) is not None:
            return early
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.connection_count += 1
        self._websockets.add(ws)
        try:
            await _ListenSession(self, request, ws).run()
        finally:
            self._websockets.discard(ws)
        return ws


class _ListenSession:
    """State of one streaming connection."""

    def __init__(
        self, emu: DeepgramEmulator, request: web.Request, ws: web.WebSocketResponse
    ) -> None:
        q = request.query
        self.emu = emu
        self.ws = ws
        self.path = request.path
        self.sample_rate = int(q.get("sample_rate", "16000"))
        self.channels = int(q.get("channels", "1"))
        self.interim = q.get("interim_results", "true") == "true"
        self.vad_events = q.get("vad_events", "false") == "true"
        self.utterance_end = q.get("utterance_end_ms") is not None
        self.request_id = str(uuid.uuid4())
        self.vad = EnergyVAD(
            self.sample_rate, threshold=emu.vad_threshold, silence_ms=_silence_ms(emu, q)
        )
        self.gate = ChunkGate(emu, self.path)
        self.stalled = emu._ws_stalled(self.path)
        self.send_lock = asyncio.Lock()
        self.pending: set[asyncio.Task[None]] = set()
        self.utterance_index: int | None = None
        self.queued_text: str | None = None
        self.next_interim_ms = 0.0
        self.total_audio_s = 0.0
        self.open_start_ms = 0.0
        """Audio time the open utterance started at (kept apart from the endpointer's state,
        which may already hold the next utterance when one ends and another starts within
        one chunk of audio)."""

    async def send(self, msg: dict[str, Any]) -> None:
        if self.stalled:
            return
        async with self.send_lock:
            if self.ws.closed:
                return
            await self.gate.before_chunk()
            await self.ws.send_str(json.dumps(msg))

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    await self.on_audio(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    kind = data.get("type")
                    if kind == "KeepAlive":
                        self.emu.counts["keepalive"] += 1
                    elif kind == "Finalize":
                        self.emu.counts["finalize"] += 1
                        await self.finish_utterance(from_finalize=True)
                    elif kind == "CloseStream":
                        self.emu.counts["closestream"] += 1
                        await self.finish_utterance(from_finalize=True)
                        if self.pending:
                            await asyncio.gather(*self.pending, return_exceptions=True)
                        await self.send(
                            {
                                "type": "Metadata",
                                "request_id": self.request_id,
                                "duration": self.total_audio_s,
                                "channels": self.channels,
                            }
                        )
                        await self.ws.close()
                        break
                else:
                    break
        except ConnectionDropped:
            await self.ws.close(code=1011, message=b"emulated failure")
        finally:
            for t in self.pending:
                t.cancel()

    async def on_audio(self, data: bytes) -> None:
        self.emu.audio_bytes += len(data)
        self.total_audio_s += len(data) / 2 / self.channels / self.sample_rate
        for kind, at_ms in self.vad.feed(data):
            if kind == "start":
                self.open_start_ms = at_ms
                self.next_interim_ms = at_ms + self.emu.interim_every_ms
                if self.vad_events:
                    await self.send(
                        {"type": "SpeechStarted", "channel": [0, 1], "timestamp": at_ms / 1000}
                    )
            else:
                await self.finish_utterance(from_finalize=False, end_ms=at_ms)
        if self.vad.in_speech and self.interim and self.vad.audio_ms >= self.next_interim_ms:
            self.next_interim_ms = self.vad.audio_ms + self.emu.interim_every_ms
            await self.send_interim()

    def _utterance_text(self, *, final: bool, end_ms: float | None = None) -> str:
        """Text for the open utterance. A queued transcript is taken once per utterance; a
        transcriber is asked again with the audio heard so far (``final`` -> whole utterance)."""
        emu = self.emu
        if self.utterance_index is None:
            self.utterance_index = emu._new_utterance()
            self.queued_text = emu.transcripts.popleft() if emu.transcripts else None
        if self.queued_text is not None:
            text = self.queued_text
        elif emu.span_transcriber is not None:
            # the words spoken between the utterance's start and now, in stream audio time
            end = self.vad.audio_ms if end_ms is None else end_ms
            text = emu.span_transcriber(self.open_start_ms / 1000, end / 1000)
        else:
            pcm = bytes(self.vad.utterance_pcm)
            text = emu._transcript_for(self.utterance_index, pcm, self.sample_rate)
            if text is None:
                text = emu.default_transcript
        if final:
            emu.utterances.append(text)
            self.utterance_index = None
            self.queued_text = None
        return text

    async def send_interim(self) -> None:
        text = self._utterance_text(final=False)
        words = text.split()
        spoken_ms = self.vad.audio_ms - self.vad.speech_start_ms
        # reveal words progressively, assuming ~350 ms per word, never the whole sentence
        n = min(max(1, int(spoken_ms / 350)), max(1, len(words) - 1))
        partial = " ".join(words[:n])
        await self.send(
            self._results(partial, is_final=False, speech_final=False, from_finalize=False)
        )

    async def finish_utterance(self, *, from_finalize: bool, end_ms: float | None = None) -> None:
        was_open = self.vad.force_end() if from_finalize else True
        if not was_open and self.utterance_index is None:
            return
        text = self._utterance_text(final=True, end_ms=end_ms)
        msg = self._results(
            text,
            is_final=True,
            speech_final=True,
            from_finalize=from_finalize,
            span_ms=(self.open_start_ms, end_ms if end_ms is not None else self.vad.audio_ms),
        )
        delay = 0.0 if from_finalize else self.emu.final_delay

        async def deliver() -> None:
            await self.emu._sleep(delay)
            try:
                await self.send(msg)
                if self.utterance_end:
                    await self.send(
                        {
                            "type": "UtteranceEnd",
                            "channel": [0, 1],
                            "last_word_end": msg["start"] + msg["duration"],
                        }
                    )
            except ConnectionDropped:
                await self.ws.close(code=1011, message=b"emulated failure")

        task = asyncio.create_task(deliver())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        if from_finalize:
            await task

    def _results(
        self,
        text: str,
        *,
        is_final: bool,
        speech_final: bool,
        from_finalize: bool,
        span_ms: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        start_ms, end_ms = span_ms or (self.vad.speech_start_ms, self.vad.audio_ms)
        start = start_ms / 1000
        duration = max(0.0, end_ms / 1000 - start)
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": duration,
            "start": start,
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [_alternative(text, start, start + duration)]},
            "metadata": {
                "request_id": self.request_id,
                "model_info": {"name": "emulated", "version": "0", "arch": "emulator"},
                "model_uuid": "00000000-0000-0000-0000-000000000000",
            },
        }


DEFAULT_END_SILENCE_MS = 300


def _silence_ms(emu: DeepgramEmulator, query: Any) -> int:
    """Silence that ends an utterance: the emulator's setting, or the client's `endpointing`."""
    if emu.end_silence_ms is not None:
        return emu.end_silence_ms
    requested = str(query.get("endpointing", ""))
    return int(requested) if requested.isdigit() else DEFAULT_END_SILENCE_MS


def _alternative(text: str, start: float, end: float) -> dict[str, Any]:
    words = text.split()
    per = (end - start) / len(words) if words else 0.0
    return {
        "transcript": text,
        "confidence": 0.99 if text else 0.0,
        "words": [
            {
                "word": w.strip(".,?!").lower(),
                "punctuated_word": w,
                "start": start + i * per,
                "end": start + (i + 1) * per,
                "confidence": 0.99,
            }
            for i, w in enumerate(words)
        ],
    }
