"""Shared machinery for the provider emulators: an aiohttp server on 127.0.0.1 with a random
free port, request/connection counters, and per-test fault injection.

Every emulator is an ``EmulatorServer``::

    emu = SomeEmulator()
    await emu.start()          # or: async with SomeEmulator() as emu:
    ...                        # emu.port, emu.http_url, emu.ws_url
    await emu.stop()

Faults (``emu.faults``, a :class:`Faults`) are plain attributes a test sets before the call
it wants to break; ``emu.faults.reset()`` clears them.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from aiohttp import web


@dataclass
class Faults:
    """Per-test fault plan. Every field defaults to "no fault".

    - ``first_byte_delay``: seconds slept before the first byte of a reply (HTTP: before the
      response headers; websocket: before the first server message of a reply).
    - ``chunk_delay``: extra seconds slept before each streamed chunk (SSE chunk, audio chunk,
      websocket event).
    - ``http_status`` / ``http_status_times``: answer the next ``http_status_times`` requests (or
      websocket handshakes) with this status and an OpenAI-style JSON error body.
      ``http_status_times=-1`` means every request. ``retry_after`` adds a Retry-After header.
    - ``close_after_chunks``: drop the connection after N streamed chunks/messages of a reply
      (HTTP: TCP abort mid-body; websocket: close frame 1011 "emulated failure").
    - ``stall``: accept the request (HTTP) / handshake (websocket) and then never send anything
      until the client gives up or the emulator stops.
    - ``stall_handshake``: websocket only: never answer the upgrade request.
    - ``path_contains``: apply the faults only to requests whose path contains this string
      (e.g. ``"/audio/speech"`` to break OpenAI TTS but not chat on the same emulator).
    """

    first_byte_delay: float = 0.0
    chunk_delay: float = 0.0
    http_status: int | None = None
    http_status_times: int = 1
    retry_after: float | None = None
    close_after_chunks: int | None = None
    stall: bool = False
    stall_handshake: bool = False
    path_contains: str | None = None

    def reset(self) -> None:
        """Clear every fault."""
        fresh = Faults()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def applies_to(self, path: str) -> bool:
        return self.path_contains is None or self.path_contains in path


class ConnectionDropped(Exception):
    """Raised inside a handler when a ``close_after_chunks`` fault fired."""


@dataclass
class RecordedRequest:
    """One request (or websocket handshake) the emulator received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


class EmulatorServer:
    """Base class: owns the aiohttp app/runner, counters and the fault plan.

    Subclasses add routes in :meth:`_setup_routes`. Counters:

    - ``requests``: every :class:`RecordedRequest` (HTTP requests and websocket handshakes)
    - ``request_count``: ``len(requests)``
    - ``connection_count``: websocket connections accepted
    - ``counts``: Counter keyed by a short endpoint name (e.g. ``"chat"``, ``"speech"``)
    """

    name = "emulator"

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.counts: Counter[str] = Counter()
        self.connection_count = 0
        self._app = web.Application(client_max_size=64 * 1024 * 1024)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()
        self._websockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._setup_routes(self._app)

    # -- lifecycle -------------------------------------------------------------------------
    def _setup_routes(self, app: web.Application) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def start(self) -> Self:
        """Bind 127.0.0.1 on a random free port and start serving."""
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self._app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self._port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Wake stalled handlers, close websockets and stop listening (port is then closed)."""
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        for ws in list(self._websockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001, message=b"emulator stopping"), 0.5)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name} emulator not started")
        return self._port

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT`` (no trailing slash)."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def request_count(self) -> int:
        return len(self.requests)

    # -- helpers for subclasses --------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _record(self, request: web.Request, kind: str, body: Any = None) -> None:
        self.counts[kind] += 1
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=body,
            )
        )

    def requests_for(self, path_contains: str) -> list[RecordedRequest]:
        """Recorded requests whose path contains ``path_contains``."""
        return [r for r in self.requests if path_contains in r.path]

    async def wait_stopping(self) -> None:
        """Sleep until the emulator stops (used by ``stall`` faults)."""
        await self._stopping.wait()

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    def _consume_http_fault(self, path: str) -> web.Response | None:
        """Return an error response if an ``http_status`` fault applies to this request."""
        f = self.faults
        if f.http_status is None or not f.applies_to(path):
            return None
        if f.http_status_times == 0:
            return None
        if f.http_status_times > 0:
            f.http_status_times -= 1
        headers = {}
        if f.retry_after is not None:
            headers["Retry-After"] = str(f.retry_after)
        status = f.http_status
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        return web.json_response(
            {
                "error": {
                    "message": f"emulated {status} from {self.name}",
                    "type": kind,
                    "code": kind,
                    "param": None,
                }
            },
            status=status,
            headers=headers,
        )

    async def _pre_response_faults(self, request: web.Request) -> web.StreamResponse | None:
        """Apply status/stall/first-byte faults for an HTTP request; returns a response to send
        instead of the normal one, or None to proceed."""
        path = request.path
        if (resp := self._consume_http_fault(path)) is not None:
            return resp
        if self.faults.applies_to(path):
            if self.faults.stall:
                await self.wait_stopping()
                return web.Response(status=503, text="emulator stopped")
            await self._sleep(self.faults.first_byte_delay)
        return None

    async def _pre_handshake_faults(self, request: web.Request) -> web.StreamResponse | None:
        """Like :meth:`_pre_response_faults` for websocket upgrades (no reply-level stall)."""
        path = request.path
        if (resp := self._consume_http_fault(path)) is not None:
            return resp
        if self.faults.applies_to(path) and self.faults.stall_handshake:
            await self.wait_stopping()
            return web.Response(status=503, text="emulator stopped")
        return None

    def _ws_stalled(self, path: str) -> bool:
        return self.faults.stall and self.faults.applies_to(path)


class ChunkGate:
    """Counts streamed chunks of one reply and applies ``chunk_delay``/``close_after_chunks``.

    Call ``await gate.before_chunk()`` before sending each chunk; it raises
    :class:`ConnectionDropped` when the plan says the connection dies here.
    """

    def __init__(self, server: EmulatorServer, path: str, *, base_delay: float = 0.0) -> None:
        self._server = server
        self._active = server.faults.applies_to(path)
        self._base_delay = base_delay
        self.sent = 0
        self._first = True

    async def before_chunk(self) -> None:
        f = self._server.faults
        delay = self._base_delay
        if self._active:
            if self._first:
                delay += f.first_byte_delay
            delay += f.chunk_delay
            if f.close_after_chunks is not None and self.sent >= f.close_after_chunks:
                raise ConnectionDropped()
        self._first = False
        await self._server._sleep(delay)
        self.sent += 1


def unused_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (for refused-connection tests).

    The port is bound then released, so another process could in theory grab it; in
    practice ports are not reused that quickly.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- synthetic audio ---------------------------------------------------------------------------


def tone_pcm(duration_s: float, sample_rate: int, *, freq: float = 440.0) -> bytes:
    """A sine tone (int16 mono, amplitude ~0.3 FS) with 5 ms fades, as raw little-endian bytes."""
    n = max(1, round(duration_s * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    wave_ = 0.3 * np.sin(2 * math.pi * freq * t)
    fade = min(n // 2, max(1, sample_rate // 200))
    ramp = np.linspace(0.0, 1.0, fade)
    wave_[:fade] *= ramp
    wave_[n - fade :] *= ramp[::-1]
    return (wave_ * 32767).astype("<i2").tobytes()


def text_duration(text: str, *, ms_per_char: float = 60.0, min_s: float = 0.2) -> float:
    """Rough spoken duration of ``text`` (60 ms/char ~ 165 wpm), at least ``min_s``."""
    return max(min_s, len(text.strip()) * ms_per_char / 1000.0)


def encode_audio(pcm: bytes, sample_rate: int, fmt: str, *, bitrate: int = 32000) -> bytes:
    """Encode int16 mono PCM as ``fmt`` ("pcm", "wav", "mp3", "opus"/"ogg") using PyAV
    (a livekit-agents dependency, so CI needs nothing extra)."""
    if fmt == "pcm":
        return pcm
    if fmt == "wav":
        import wave

        buf = io.BytesIO()
        with wave.open(buf, "wb") as wf:
            wf.setnchannels(1)
            wf.setsampwidth(2)
            wf.setframerate(sample_rate)
            wf.writeframes(pcm)
        return buf.getvalue()

    import av

    container_fmt, codec = {
        "mp3": ("mp3", "libmp3lame"),
        "opus": ("ogg", "libopus"),
        "ogg": ("ogg", "libopus"),
    }[fmt]
    rate = sample_rate
    if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
        rate = 48000
    buf = io.BytesIO()
    with av.open(buf, "w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.bit_rate = bitrate  # type: ignore[union-attr]
        stream.layout = "mono"  # type: ignore[union-attr]
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):  # type: ignore[union-attr]
            out.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            out.mux(packet)
    return buf.getvalue()


def chunk_bytes(data: bytes, size: int) -> list[bytes]:
    """Split ``data`` into pieces of ``size`` bytes (last one may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def split_text(text: str, pieces: int) -> list[str]:
    """Split ``text`` into about ``pieces`` consecutive parts (word boundaries kept with the
    following space), whose concatenation is exactly ``text``."""
    if pieces <= 1 or not text:
        return [text]
    words = text.split(" ")
    out: list[str] = []
    per = max(1, math.ceil(len(words) / pieces))
    for i in range(0, len(words), per):
        part = " ".join(words[i : i + per])
        if i + per < len(words):
            part += " "
        out.append(part)
    return out


def rms_windows(pcm: bytes, window_samples: int) -> list[float]:
    """RMS of consecutive int16 windows of ``window_samples`` (partial tail ignored)."""
    arr = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    n = len(arr) // window_samples
    if n == 0:
        return []
    arr = arr[: n * window_samples].reshape(n, window_samples)
    return list(np.sqrt((arr**2).mean(axis=1)))


@dataclass
class EnergyVAD:
    """Tiny energy-based endpointer over int16 mono PCM, in *audio* time (not wall time),
    so tests may push audio faster than real time.

    ``feed(pcm)`` returns a list of ("start"|"end", audio_ms) events. Speech starts at the first
    10 ms window with RMS >= ``threshold``; ends after ``silence_ms`` of windows below it.
    ``utterance_pcm`` holds the audio of the current utterance (from speech start).
    """

    sample_rate: int
    threshold: float = 300.0
    silence_ms: int = 300
    window_ms: int = 10
    in_speech: bool = False
    audio_ms: float = 0.0
    speech_start_ms: float = 0.0
    _silent_ms: float = 0.0
    _pending: bytes = b""
    utterance_pcm: bytearray = field(default_factory=bytearray)

    def feed(self, pcm: bytes) -> list[tuple[str, float]]:
        events: list[tuple[str, float]] = []
        win = self.sample_rate * self.window_ms // 1000
        data = self._pending + pcm
        usable = len(data) - len(data) % (win * 2)
        self._pending = data[usable:]
        for i, rms in enumerate(rms_windows(data[:usable], win)):
            chunk = data[i * win * 2 : (i + 1) * win * 2]
            self.audio_ms += self.window_ms
            if rms >= self.threshold:
                if not self.in_speech:
                    self.in_speech = True
                    self.speech_start_ms = self.audio_ms - self.window_ms
                    self.utterance_pcm = bytearray()
                    events.append(("start", self.speech_start_ms))
                self._silent_ms = 0.0
            elif self.in_speech:
                self._silent_ms += self.window_ms
            if self.in_speech:
                self.utterance_pcm += chunk
                if self._silent_ms >= self.silence_ms:
                    self.in_speech = False
                    self._silent_ms = 0.0
                    events.append(("end", self.audio_ms))
        return events

    def force_end(self) -> bool:
        """End the current utterance now (manual commit / finalize); True if one was open."""
        was = self.in_speech
        self.in_speech = False
        self._silent_ms = 0.0
        return was
