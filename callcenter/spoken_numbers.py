"""Spoken numbers as callers say them, for the end-of-turn policy (`callcenter.end_of_turn`).

Digits, digit words, "oh", "double four", "ten oh one", "forty four seventeen": how many
digits has the caller said so far, and where does the number at the end of their words
start? (`callcenter.speech` turns a finished utterance into data; this reads one that may
still be under way.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

_UNITS: Final = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_HOMOPHONES: Final = {"to": "2", "too": "2", "for": "4", "ate": "8", "won": "1"}
"""STT sometimes writes these for digits; they count only between other number words."""
_WEAK_UNITS: Final = frozenset({"oh", "o"})
"""Digits only next to other number words ("oh" alone is an exclamation)."""
_TEENS: Final = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
_TENS: Final = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
_SCALES: Final = {"hundred": 2, "thousand": 3}
_REPEATS: Final = {"double": 2, "triple": 3}


def _strong_number(token: str) -> bool:
    return (
        token.isdigit()
        or (token in _UNITS and token not in _WEAK_UNITS)
        or token in _TEENS
        or token in _TENS
        or token in _SCALES
        or token in _REPEATS
    )


def trailing_number(tokens: list[str]) -> list[str]:
    """The number words the tokens end with ("my pin is four four" → ["four", "four"])."""
    run: list[str] = []
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        if _strong_number(token):
            run.append(token)
            continue
        weak = token in _WEAK_UNITS or token in _HOMOPHONES
        # a weak word counts next to a number word: "one oh", "oh one", "four for two"
        if weak and (run or (i > 0 and _strong_number(tokens[i - 1]))):
            run.append(token)
            continue
        break
    run.reverse()
    # "the last four are …": the "four" of "last four" names the value, it is not in it
    start = len(tokens) - len(run)
    if run and start > 0 and tokens[start - 1] == "last" and run[0] in ("four", "4"):
        run = run[1:]
    while run and (run[0] in _HOMOPHONES or run[0] in _SCALES):
        run = run[1:]  # "for one zero": the "for" is the preposition
    return run


def spoken_digits(words: Iterable[str]) -> str:
    """Digits of a number as said: "ten oh one" → "1001", "double four one seven" →
    "4417", "forty four seventeen" → "4417", "four hundred twelve" → "412"."""
    out = ""
    fill = 0  # trailing zeros of "hundred"/"thousand" the next words may fill
    repeat = 1
    tokens = list(words)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value = ""
        if token.isdigit():
            value = token
        elif token in _UNITS:
            value = _UNITS[token]
        elif token in _HOMOPHONES:
            value = _HOMOPHONES[token]
        elif token in _TEENS:
            value = _TEENS[token]
        elif token in _TENS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt in _UNITS and _UNITS[nxt] != "0":
                value = _TENS[token] + _UNITS[nxt]
                i += 1
            else:
                value = _TENS[token] + "0"
        elif token in _REPEATS:
            repeat = _REPEATS[token]
            i += 1
            continue
        elif token in _SCALES:
            zeros = _SCALES[token]
            out += "0" * zeros
            fill = zeros
            i += 1
            continue
        value *= repeat
        repeat = 1
        if fill and len(value) <= fill:
            out = out[: len(out) - len(value)] + value
        else:
            out += value
        fill = 0
        i += 1
    return out
