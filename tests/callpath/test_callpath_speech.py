"""Spoken digits → data (`digits_in`, `digit_groups`) and the speakable forms."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.speech import digit_groups, digits_in, spell_digits, spoken_date


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("1001", "1001"),
        ("order one zero zero one", "1001"),
        ("oh four four two", "0442"),
        ("nine four one oh seven", "94107"),
        ("one oh 4", "104"),
        ("looking for order 12", "12"),  # "for" alone is not a digit
        ("I want to check order 1002", "1002"),  # nor is "to"
        ("four four two one", "4421"),
        ("one two for three", "1243"),  # "for" next to digits is 4
        ("no digits here", ""),
        ("", ""),
    ],
)
def test_digits_in(text: str, digits: str) -> None:
    assert digits_in(text) == digits


def test_digit_groups_keep_numbers_said_apart() -> None:
    assert digit_groups("order 1001 and 1002") == ["1001", "1002"]
    assert digit_groups("invoice two zero zero one refund 12") == ["2001", "12"]
    assert digit_groups("my zip is 94107") == ["94107"]


def test_speakable_forms() -> None:
    assert spoken_date(dt.date(2026, 3, 3)) == "March 3, 2026"
    assert spell_digits("1001") == "1 0 0 1"
