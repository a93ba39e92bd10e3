"""The recordings' tone detector (`ToneTrack`) finds a voice tone under hold music and does
not mistake hold music for one: the warm-transfer assertions rest on both."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
from livekit.agents.voice.background_audio import BuiltinAudioClip

from tests.e2e.harness import BRIEFING_HZ, SUPERVISOR_HELLO_HZ, ToneTrack

RATE = 16000


def hold_music(seconds: float) -> np.ndarray:
    """LiveKit's hold music (what callers hear), decoded to 16 kHz mono."""
    out: list[np.ndarray] = []
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    with av.open(BuiltinAudioClip.HOLD_MUSIC.path()) as container:
        for frame in container.decode(audio=0):
            for res in resampler.resample(frame):
                out.append(res.to_ndarray().reshape(-1))
            if sum(len(x) for x in out) >= seconds * RATE:
                break
    return np.concatenate(out)[: int(seconds * RATE)].astype(np.float64)


def save(path: Path, x: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.clip(x, -32768, 32767).astype("<i2").tobytes())
    return path


def test_hold_music_alone_is_no_tone(tmp_path: Path) -> None:
    music = hold_music(8.0) * 0.6  # the product's hold volume
    track = ToneTrack.of(save(tmp_path / "music.wav", music), [SUPERVISOR_HELLO_HZ, BRIEFING_HZ])
    assert track.loud() > 6.0
    assert track.present(SUPERVISOR_HELLO_HZ) < 0.1 and track.present(BRIEFING_HZ) < 0.1


def test_a_short_leak_under_hold_music_is_found(tmp_path: Path) -> None:
    """300 ms of a supervisor's 'hello' no louder than the music (a real leak would be the
    supervisor's voice at full level): the early-track leak the warm transfer test looks for."""
    music = hold_music(4.0) * 0.6
    t = np.arange(int(0.3 * RATE)) / RATE
    start = int(2.0 * RATE)
    level = np.sqrt(np.mean(music**2)) * np.sqrt(2)  # the music's RMS, as a sine amplitude
    leak = level * np.sin(2 * np.pi * SUPERVISOR_HELLO_HZ * t)
    mixed = music.copy()
    mixed[start : start + len(t)] += leak
    track = ToneTrack.of(save(tmp_path / "mixed.wav", mixed), [SUPERVISOR_HELLO_HZ])
    assert 0.15 <= track.present(SUPERVISOR_HELLO_HZ) <= 0.35
    assert 1.9 <= (track.onset(SUPERVISOR_HELLO_HZ) or 0) <= 2.1
