"""Audio helpers for tests: load the committed caller-phrase fixtures as LiveKit frames.

Fixtures live in ``tests/fixtures/audio/*.wav`` (8 kHz mono s16, made by
``scripts/make_audio_fixtures.sh``); ``phrases.json`` maps file name -> exact spoken text.

    frames = load_frames("zip_code.wav", sample_rate=16000, frame_ms=20)
    frames += silence_frames(600, sample_rate=16000)
"""

from __future__ import annotations

import json
import wave
from functools import cache
from pathlib import Path

import numpy as np
from livekit import rtc

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


@cache
def phrases() -> dict[str, str]:
    """File name -> exact text spoken in that fixture."""
    return json.loads((FIXTURES_DIR / "phrases.json").read_text())


def phrase_text(name: str) -> str:
    """Exact text of one fixture, e.g. ``phrase_text("yes.wav") == "yes"``."""
    return phrases()[name]


def _ulaw_table() -> np.ndarray:
    """G.711 µ-law byte -> int16 sample."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


_ULAW = _ulaw_table()
_WAVE_FORMAT_MULAW = 7


def _read_ulaw_wav(path: Path) -> tuple[np.ndarray, int] | None:
    """(samples, rate) of a G.711 µ-law WAV (the `wave` module reads only PCM), else None."""
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, rate, channels, fmt = 12, 0, 1, 0
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = int.from_bytes(body[0:2], "little")
            channels = int.from_bytes(body[2:4], "little")
            rate = int.from_bytes(body[4:8], "little")
        elif cid == b"data":
            if fmt != _WAVE_FORMAT_MULAW:
                return None
            samples = _ULAW[np.frombuffer(body, dtype=np.uint8)]
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
            return samples, rate
        pos += 8 + size + (size & 1)
    return None


def read_wav(name_or_path: str | Path) -> tuple[np.ndarray, int]:
    """Read a mono/stereo WAV, 16-bit PCM or G.711 µ-law; returns (int16 mono samples,
    sample rate)."""
    path = Path(name_or_path)
    if not path.is_absolute() and not path.exists():
        path = FIXTURES_DIR / path
    if (ulaw := _read_ulaw_wav(path)) is not None:
        return ulaw
    with wave.open(str(path), "rb") as wf:
        if wf.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM is supported")
        rate = wf.getframerate()
        channels = wf.getnchannels()
        data = np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data, rate


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample int16 mono audio with linear interpolation (good enough for STT emulators)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.int16, copy=True)
    n_out = round(len(samples) * to_rate / from_rate)
    x_old = np.arange(len(samples), dtype=np.float64)
    x_new = np.linspace(0, len(samples) - 1, n_out)
    out = np.interp(x_new, x_old, samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def to_frames(samples: np.ndarray, sample_rate: int, frame_ms: int = 20) -> list[rtc.AudioFrame]:
    """Cut int16 mono samples into ``frame_ms`` frames; the last one is zero-padded."""
    spf = sample_rate * frame_ms // 1000
    if spf <= 0:
        raise ValueError("frame too short")
    pad = (-len(samples)) % spf
    if pad:
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
    frames = []
    for start in range(0, len(samples), spf):
        chunk = samples[start : start + spf]
        frames.append(
            rtc.AudioFrame(
                data=chunk.tobytes(),
                sample_rate=sample_rate,
                num_channels=1,
                samples_per_channel=spf,
            )
        )
    return frames


def load_frames(name: str, *, sample_rate: int = 16000, frame_ms: int = 20) -> list[rtc.AudioFrame]:
    """Load a fixture (by file name in tests/fixtures/audio or a path) as ``frame_ms`` frames
    at ``sample_rate`` (resampled from 8 kHz as needed)."""
    samples, rate = read_wav(name)
    return to_frames(resample(samples, rate, sample_rate), sample_rate, frame_ms)


def silence_frames(
    duration_ms: int, *, sample_rate: int = 16000, frame_ms: int = 20
) -> list[rtc.AudioFrame]:
    """``duration_ms`` of digital silence as ``frame_ms`` frames."""
    n = sample_rate * duration_ms // 1000
    return to_frames(np.zeros(n, dtype=np.int16), sample_rate, frame_ms)


def frames_duration(frames: list[rtc.AudioFrame]) -> float:
    """Total duration in seconds of a list of frames."""
    return sum(f.samples_per_channel / f.sample_rate for f in frames)


def frames_peak(frames: list[rtc.AudioFrame]) -> int:
    """Largest absolute sample value over all frames (0 means pure silence)."""
    peak = 0
    for f in frames:
        arr = np.frombuffer(f.data, dtype=np.int16)
        if len(arr):
            peak = max(peak, int(np.abs(arr.astype(np.int32)).max()))
    return peak
