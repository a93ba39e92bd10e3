"""What counts as a backchannel (`callcenter.barge_in`); the audio-level proof is
`tests/fallbacks/test_barge_in_audio.py`."""

from __future__ import annotations

import pytest

from callcenter.barge_in import INTERRUPTION, is_backchannel
from callcenter.turn_taking import telephony_turn_handling


@pytest.mark.parametrize(
    "text",
    [
        "uh-huh",
        "Uh huh.",
        "mhm",
        "Okay.",
        "okay okay",
        "right",
        "Right, got it.",
        "yeah",
        "I see",
        "all right",
        "thank you",
    ],
)
def test_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no",
        "wait",
        "stop",
        "okay wait",
        "right, but that's the wrong order",
        "yeah I need to change it",
        "I see two charges",
        "sorry",
    ],
)
def test_not_backchannels(text: str) -> None:
    assert not is_backchannel(text)


def test_calls_use_the_phone_interruption_settings() -> None:
    assert telephony_turn_handling(has_stt=True)["interruption"] == INTERRUPTION
    assert INTERRUPTION["min_words"] == 1
    assert INTERRUPTION["false_interruption_timeout"] == 1.0
