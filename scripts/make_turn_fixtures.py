#!/usr/bin/env python3
"""Make the caller utterances of the turn-taking benchmark: tests/fixtures/turns/.

Each utterance is what a caller says in one turn, with the pauses callers make inside it
(reading a number in groups, "um …", lists, corrections) as exact digital silence
between its segments, and a set of controls without a pause. Two sources:

- synthetic: espeak-ng (four US voices, 145-170 words a minute). A segment followed by a
  pause ends with a comma, so espeak gives it a continuing, not a final, intonation;
- human: the professionally recorded prompts of Debian's `asterisk-core-sounds-en-wav`
  (Allison Smith, CC BY-SA 3.0; see tests/fixtures/turns/README.md): digits, "oh",
  "ten", "and", "no", "the number I have is", "one moment please", "thank you"... joined
  with 60 ms between the words of a segment, as a caller reads digits.

Output: 8 kHz mono G.711 µ-law WAV (what a phone line carries), 200 ms of silence before
the first word and 300 ms after the last; `utterances.json` gives, per utterance, the
step it answers (`expecting`, a name from `callcenter.end_of_turn`), its category, and
each segment's exact text (what the STT emulator transcribes) and its start and end in
the file. The script checks that the Deepgram emulator's endpointer (RMS >= 150 over 10 ms,
the threshold the benchmark gives it; 100 ms of silence ends an utterance: our
`endpointing`) splits each file into exactly its segments, so one transcript goes with
each segment.

Needs espeak-ng, sox and asterisk-core-sounds-en-wav (apt-get install -y espeak-ng sox
asterisk-core-sounds-en-wav). CI does not run it: the files are committed. Deterministic
for the same espeak-ng/sox versions:

    python3 scripts/make_turn_fixtures.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "turns"
ASTERISK = Path("/usr/share/asterisk/sounds/en")
RATE = 8000
LEAD_S, TAIL_S = 0.2, 0.3
WORD_GAP_S = 0.03
VOICES = [("en-us", 160), ("en-us+f3", 150), ("en-us+m3", 170), ("en-us+f4", 145)]
ENDPOINT_RMS, ENDPOINT_SILENCE_MS = 150.0, 100


@dataclass(frozen=True)
class Utt:
    name: str
    expecting: str
    category: str
    pauses_ms: tuple[int, ...]
    segments: tuple[str, ...]
    """synthetic: text; human: space-separated HUMAN_PROMPTS keys."""

    @property
    def human(self) -> bool:
        return self.name.startswith("h")


# s* synthetic, h* human; *c* controls (no pause). Segments are separated by " / ".
# name | step (callcenter.end_of_turn) | category | pauses (ms) | segments
_TABLE = """
s01 | order_number | digit groups | 800 | my order number is / one zero zero one
s02 | order_number | digit groups | 400 | one zero / zero two
s03 | order_number | digit groups | 600 | ten / oh three
s04 | identity_factor | digit groups | 900 | my zip code is nine four one / zero seven
s05 | identity_factor | digit groups | 1200 | nine four / one zero seven
s06 | identity_factor | digit groups | 700 | my pin is four four / two one
s07 | identity_factor | digit groups | 1000 | the last four are zero zero / four two
s08 | invoice_number | digit groups | 800 | invoice two zero / zero three
s09 | identity_factor | digit groups | 500 | it's nine four one / oh seven
s10 | order_number | digit groups | 1500 | four zero / zero four
s11 | order_number | digit groups | 800 | one double oh / one
s12 | free_text | hesitations | 900 | um / I was wondering if you could check my delivery
s13 | free_text | hesitations | 800 | uh I was wondering / if my package has shipped
s14 | free_text | hesitations | 1200 | I need help with um / a charge on my bill
s15 | order_number | hesitations | 1500 | hold on let me find it / it's one zero zero three
s16 | free_text | hesitations | 600 | so um / can you tell me where my package is
s17 | identity_factor | hesitations | 1000 | my pin is uh / four four two one
s18 | free_text | lists | 700 | I want to check on my order and / also update my card
s19 | free_text | lists | 300 | I'd like to / cancel my last order
s20 | order_number | lists | 900 | can you check order one zero zero one and / one zero zero two
s21 | free_text | lists (weak cue) | 900 | I have a question about my bill / and also about a return
s22 | order_number | corrections | 1500 | one zero zero / sorry one zero zero five
s23 | order_number | corrections | 800 | it's one zero zero three no wait / one zero zero two
s24 | identity_factor | corrections | 1000 600 | my pin is four four two / no wait / four four two one
s25 | free_text | prepositions | 800 | my package was supposed to arrive on / Tuesday
s26 | free_text | prepositions | 1000 | I was charged twice for / the same order
h01 | order_number | digit groups | 700 | 1 0 / 0 1
h02 | order_number | digit groups | 600 | ten / oh 3
h03 | identity_factor | digit groups | 900 | 9 4 1 / 0 7
h04 | identity_factor | digit groups | 1200 | 4 4 / 2 1
h05 | identity_factor | digit groups | 350 | 0 0 4 / 2
h06 | invoice_number | digit groups | 800 | 2 0 / 0 3
h07 | order_number | hesitations | 1000 | the_number_I_have_is / 1 0 0 3
h08 | order_number | hesitations | 1500 | one_moment_please / 1 0 0 4
h09 | order_number | lists | 800 | 1 0 0 1 and / 1 0 0 2
h10 | order_number | hesitations | 900 700 | the_number_I_have_is / 1 0 / 0 4
h11 | order_number | corrections (weak cue) | 900 | no / 1 0 0 2
sc01 | free_text | control |  | I want to check on my order
sc02 | identity_factor | control |  | my zip code is nine four one oh seven
sc03 | order_number | control |  | order number one zero zero one
sc04 | confirmation | control |  | yes
sc05 | invoice_number | control |  | what is this charge for
sc06 | free_text | control |  | I'd like to speak to a person
sc07 | free_text | control |  | that's all thank you
sc08 | identity_factor | control |  | four four two one
sc09 | invoice_number | control |  | can you tell me my balance
sc10 | free_text | control |  | no that's everything
sc11 | order_number | control |  | where is my package
sc12 | free_text | control |  | I need help with a charge on my bill
hc01 | order_number | control |  | 1 0 0 1
hc02 | identity_factor | control |  | 9 4 1 0 7
hc03 | identity_factor | control |  | 4 4 2 1
hc04 | free_text | control |  | thank_you
hc05 | free_text | control |  | goodbye
hc06 | order_number | control |  | the_number_I_have_is 1 0 0 3
hc07 | confirmation | control |  | no
hc08 | free_text | control |  | hello
"""  # noqa: E501

UTTERANCES: list[Utt] = [
    Utt(
        name=f[0],
        expecting=f[1],
        category=f[2],
        pauses_ms=tuple(int(p) for p in f[3].split()),
        segments=tuple(seg.strip() for seg in f[4].split(" / ")),
    )
    for f in ([c.strip() for c in line.split("|")] for line in _TABLE.strip().splitlines())
]

_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
HUMAN_PROMPTS = {
    **{str(d): (f"digits/{d}", w) for d, w in enumerate(_DIGIT_WORDS)},
    "ten": ("digits/10", "ten"),
    "oh": ("digits/oh", "oh"),
    "and": ("vm-and", "and"),
    "no": ("vm-no", "no"),
    "the_number_I_have_is": ("vm-num-i-have", "the number I have is"),
    "one_moment_please": ("one-moment-please", "one moment please"),
    "thank_you": ("auth-thankyou", "thank you"),
    "goodbye": ("goodbye", "goodbye"),
    "hello": ("hello", "hello"),
}
"""Human segment token -> (Asterisk prompt, the words it says)."""


def run(cmd: list[str], **kw: object) -> bytes:
    return subprocess.run(cmd, check=True, capture_output=True, **kw).stdout  # type: ignore[call-overload, no-any-return]


def to_pcm(path: Path, *extra: str) -> np.ndarray:
    """Any audio file -> 8 kHz mono int16 (sox, no dither: deterministic)."""
    raw = run(
        [
            "sox",
            "-R",
            str(path),
            "-r",
            str(RATE),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-t",
            "raw",
            "-",
            *extra,
        ]
    )
    return np.frombuffer(raw, dtype=np.int16).copy()


def trim(a: np.ndarray, threshold: float = 150.0, margin_s: float = 0.03) -> np.ndarray:
    """Cut leading/trailing near-silence (10 ms windows below `threshold` RMS)."""
    win = RATE // 100
    rms = rms_windows(a)
    loud = np.where(rms >= threshold)[0]
    if not len(loud):
        raise ValueError("no speech")
    m = int(margin_s * RATE)
    start = max(0, loud[0] * win - m)
    end = min(len(a), (loud[-1] + 1) * win + m)
    return a[start:end]


def rms_windows(a: np.ndarray) -> np.ndarray:
    win = RATE // 100
    n = len(a) // win
    x = a[: n * win].astype(np.float64).reshape(n, win)
    return np.sqrt((x * x).mean(axis=1))


def espeak(text: str, voice: str, wpm: int, tmp: Path, *, continues: bool) -> np.ndarray:
    wav = tmp / "espeak.wav"
    run(
        [
            "espeak-ng",
            "-v",
            voice,
            "-s",
            str(wpm),
            "-w",
            str(wav),
            text + ("," if continues else "."),
        ]
    )
    return trim(to_pcm(wav, "norm", "-3"))


def human(spec: str) -> np.ndarray:
    gap = np.zeros(int(WORD_GAP_S * RATE), dtype=np.int16)
    parts: list[np.ndarray] = []
    for name in (HUMAN_PROMPTS[token][0] for token in spec.split()):
        if parts:
            parts.append(gap)
        # trimmed where the endpointer stops hearing speech: the prompts' long decays are
        # IVR pacing, not how a caller runs digits together
        parts.append(trim(to_pcm(ASTERISK / f"{name}.wav"), threshold=ENDPOINT_RMS, margin_s=0.01))
    return np.concatenate(parts)


def endpointer_segments(a: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) seconds of the utterances the Deepgram emulator's endpointer finds."""
    out: list[tuple[float, float]] = []
    start: int | None = None
    silent = 0
    for i, rms in enumerate(rms_windows(a)):
        if rms >= ENDPOINT_RMS:
            if start is None:
                start = i
            silent = 0
            last = i
        elif start is not None:
            silent += 10
            if silent >= ENDPOINT_SILENCE_MS:
                out.append((start / 100, (last + 1) / 100))
                start, silent = None, 0
    if start is not None:
        out.append((start / 100, (last + 1) / 100))
    return out


def write_ulaw(path: Path, a: np.ndarray, tmp: Path) -> None:
    pcm = tmp / "pcm.wav"
    with wave.open(str(pcm), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(RATE)
        wf.writeframes(a.astype("<i2").tobytes())
    run(["sox", "-D", str(pcm), "-e", "u-law", "-b", "8", str(path)])  # -D: no dither


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {}
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for n, utt in enumerate(UTTERANCES):
            voice, wpm = VOICES[n % len(VOICES)]
            pieces: list[np.ndarray] = [np.zeros(int(LEAD_S * RATE), dtype=np.int16)]
            segments = []
            t = LEAD_S
            for i, seg in enumerate(utt.segments):
                continues = i < len(utt.segments) - 1
                audio = (
                    human(seg) if utt.human else espeak(seg, voice, wpm, tmp, continues=continues)
                )
                text = " ".join(HUMAN_PROMPTS[t][1] for t in seg.split()) if utt.human else seg
                segments.append(
                    {"text": text, "start": round(t, 6), "end": round(t + len(audio) / RATE, 6)}
                )
                pieces.append(audio)
                t += len(audio) / RATE
                if continues:
                    pause = utt.pauses_ms[i] / 1000
                    pieces.append(np.zeros(int(pause * RATE), dtype=np.int16))
                    t += pause
            pieces.append(np.zeros(int(TAIL_S * RATE), dtype=np.int16))
            audio = np.concatenate(pieces)
            path = OUT / f"{utt.name}.wav"
            write_ulaw(path, audio, tmp)
            found = endpointer_segments(to_pcm(path))
            if len(found) != len(segments):
                problems.append(f"{utt.name}: endpointer finds {found}, want {len(segments)}")
            manifest[utt.name] = {
                "file": path.name,
                "source": "human" if utt.human else f"espeak-ng {voice} {wpm} wpm",
                "expecting": utt.expecting,
                "category": utt.category,
                "pauses_ms": list(utt.pauses_ms),
                "segments": segments,
            }
            print(f"{path.name}: {' | '.join(s['text'] for s in segments)}")
    (OUT / "utterances.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.glob("*.wav"))
    print(f"{len(manifest)} utterances, {total / 1024:.0f} KiB of audio in {OUT}")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
