"""Turning spoken forms into data and data into speakable text.

Callers say "order one zero zero one" or "oh-four-four-two"; STT may write either
digits or words. Tools and the degraded mode both normalise through here.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "to": "2",
    "too": "2",
    "three": "3",
    "four": "4",
    "for": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "ate": "8",
    "nine": "9",
}
_TOKEN = re.compile(r"[a-z]+|\d+")


def digits_in(text: str) -> str:
    """All digits in `text`, spoken digit words converted ("one oh 4" → "104").

    Ambiguous words ("for", "to", "oh") only count next to other digits, so "looking
    for order 12" yields "12", not "412".
    """
    return "".join(digit_groups(text))


def digit_groups(text: str) -> list[str]:
    """Separate runs of digits (numbers said apart stay apart): "order 1001 and 1002"."""
    groups: list[str] = []
    current = ""
    for token in _TOKEN.findall(text.lower()):
        if token.isdigit():
            current += token
        elif (token in _DIGIT_WORDS and token not in {"o", "to", "too", "for", "ate"}) or (
            token in {"to", "too", "for", "ate", "o"} and current
        ):
            current += _DIGIT_WORDS[token]
        else:
            if current:
                groups.append(current)
            current = ""
    if current:
        groups.append(current)
    return groups


def spoken_date(value: date | datetime) -> str:
    """'March 3, 2026': how a date is read to a caller."""
    return f"{value:%B} {value.day}, {value.year}"


def spoken_clock(minutes: int) -> str:
    """A time of day as a person says it: minutes after midnight (0-1440) to "8 AM",
    "8:30 PM", "noon" or "midnight" (both 0 and 1440)."""
    if not 0 <= minutes <= 1440:
        raise ValueError(f"{minutes} is not a time of day in minutes (0-1440)")
    if minutes in (0, 1440):
        return "midnight"
    if minutes == 720:
        return "noon"
    hour, minute = divmod(minutes, 60)
    half = "AM" if hour < 12 else "PM"
    hour = hour % 12 or 12
    return f"{hour}:{minute:02d} {half}" if minute else f"{hour} {half}"


def spoken_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c': a list the way it is said."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def spell_digits(number: str) -> str:
    """'1001' → '1 0 0 1', so TTS reads an identifier digit by digit."""
    return " ".join(number)
