"""The turn-taking fixtures (`tests/fixtures/turns`) are what their manifest says, so the
benchmark's numbers mean what BENCHMARKS.md says they mean."""

from __future__ import annotations

import numpy as np
import pytest

from callcenter.end_of_turn import assess
from tests.support.audio import read_wav, resample
from tests.support.emulators._base import EnergyVAD
from tests.support.turn_fixtures import Utterance, utterances

ENDPOINT_RMS = 150.0
"""The Deepgram emulator's energy threshold in the turn-taking benchmark."""
ENDPOINTING_MS = 100
"""`callcenter.providers.DEEPGRAM_ENDPOINTING_MS`: the silence that ends an STT utterance."""


def test_the_set_has_what_the_benchmark_reports() -> None:
    paused = [u for u in utterances() if u.paused]
    controls = [u for u in utterances() if not u.paused]
    assert len(paused) >= 30 and len(controls) >= 10
    assert any(u.human for u in paused) and any(not u.human for u in paused)
    pauses = [p for u in paused for p in u.pauses_ms]
    assert min(pauses) >= 300 and max(pauses) <= 1500


@pytest.mark.parametrize("utt", utterances(), ids=lambda u: u.name)
def test_audio_matches_the_manifest(utt: Utterance) -> None:
    samples, rate = read_wav(utt.file)
    assert rate == 8000
    assert utt.file.read_bytes()[20:22] == (7).to_bytes(2, "little")  # G.711 µ-law
    segs = utt.segments
    for before, after, pause in zip(segs[:-1], segs[1:], utt.pauses_ms, strict=True):
        assert after.start - before.end == pytest.approx(pause / 1000, abs=0.002)
        gap = samples[int(before.end * rate) + 1 : int(after.start * rate) - 1]
        assert np.all(gap == 0), "a pause is digital silence"
    # the STT emulator's endpointer hears exactly one utterance per segment, at the rate
    # our calls run (8 kHz) and at the 16 kHz the stock Deepgram plugin asks for
    for to_rate in (8000, 16000):
        audio = resample(samples, rate, to_rate)
        vad = EnergyVAD(to_rate, threshold=ENDPOINT_RMS, silence_ms=ENDPOINTING_MS)
        events = vad.feed(audio.tobytes() + bytes(to_rate // 5 * 2))
        starts = [ms / 1000 for kind, ms in events if kind == "start"]
        assert len(starts) == len(segs), (to_rate, starts)
        for seg, start in zip(segs, starts, strict=True):
            assert abs(start - seg.start) < 0.05


@pytest.mark.parametrize("utt", [u for u in utterances() if u.paused], ids=lambda u: u.name)
def test_policy_holds_at_each_pause_and_commits_the_whole(utt: Utterance) -> None:
    """What the benchmark measures through the session, checked on the text alone: at each
    pause the words so far are held, and the whole utterance is finished. The two "(weak
    cue)" utterances pause after a whole sentence callers usually follow up ("I have a
    question about my bill", a bare "no" where a number was asked): those are held a beat
    only (`Verdict.brief`), every other pause up to the full hold."""
    texts = [s.text for s in utt.segments]
    at_pauses = [assess(" ".join(texts[: i + 1]), utt.expecting) for i in range(len(texts) - 1)]
    brief = "weak cue" in utt.category
    assert [(v.complete, v.brief) for v in at_pauses] == [(False, brief)] * len(at_pauses), (
        at_pauses
    )
    assert assess(utt.text, utt.expecting).complete


@pytest.mark.parametrize("utt", [u for u in utterances() if not u.paused], ids=lambda u: u.name)
def test_policy_commits_every_control_at_once(utt: Utterance) -> None:
    assert assess(utt.text, utt.expecting).complete
