"""The caller utterances of the turn-taking benchmark and the audio-level turn tests.

`tests/fixtures/turns/*.wav` (8 kHz G.711 µ-law) with `utterances.json`, made by
`scripts/make_turn_fixtures.py`: per utterance, the step it answers (`expecting`, a name
from `callcenter.end_of_turn`), a category ("digit groups", "hesitations", "lists",
"corrections", "prepositions", "control", and the two "(weak cue)" cases), and each
segment's exact text with its start and end in the file. Segments are separated by the
caller's pauses (digital silence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from livekit import rtc

from callcenter import end_of_turn
from tests.support.audio import read_wav, resample, to_frames

TURNS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "turns"


@dataclass(frozen=True)
class Segment:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Utterance:
    name: str
    file: Path
    source: str
    expecting_name: str
    category: str
    pauses_ms: tuple[int, ...]
    segments: tuple[Segment, ...]

    @property
    def paused(self) -> bool:
        return bool(self.pauses_ms)

    @property
    def human(self) -> bool:
        return self.source == "human"

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @property
    def speech_end(self) -> float:
        """Seconds from the start of the file to the end of the last word."""
        return self.segments[-1].end

    @property
    def expecting(self) -> end_of_turn.Expecting:
        value = getattr(end_of_turn, self.expecting_name.upper())
        assert isinstance(value, end_of_turn.Expecting)
        return value

    def frames(self, *, sample_rate: int, frame_ms: int) -> list[rtc.AudioFrame]:
        samples, rate = read_wav(self.file)
        return to_frames(resample(samples, rate, sample_rate), sample_rate, frame_ms)


@cache
def utterances() -> tuple[Utterance, ...]:
    manifest = json.loads((TURNS_DIR / "utterances.json").read_text())
    return tuple(
        Utterance(
            name=name,
            file=TURNS_DIR / u["file"],
            source=u["source"],
            expecting_name=u["expecting"],
            category=u["category"],
            pauses_ms=tuple(u["pauses_ms"]),
            segments=tuple(Segment(**s) for s in u["segments"]),
        )
        for name, u in manifest.items()
    )


def utterance(name: str) -> Utterance:
    return next(u for u in utterances() if u.name == name)
