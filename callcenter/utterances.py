"""What a caller's sentence carries, read by rules: amounts, invoice and order numbers, and
whether the caller is angry or frustrated.

The degraded mode (no language model) reads callers with these; they are pure functions of
the text, fuzzed in tests/callpath/test_callpath_utterances.py.

Amounts come out first, and identifiers are read from what is left: "refund $5.00 on
INV-2003" used to become invoice INV-500, because "5.00" was read as the digits 5, 0, 0 run
together (`speech.digit_groups` joins digits split by punctuation, as STT writes read-out
numbers: "4-4-2-1"). An identifier named by its word ("invoice 2003", "INV-2003", "order
number one zero zero one") wins over a bare number elsewhere in the sentence.

Frustration is recognised from words ("this is ridiculous", "I'm fed up", "third time I've
called"), not a sentiment model: what it answers is an apology and the offer of a person,
which is right for a false positive too.
"""

from __future__ import annotations

import re
from typing import Final

from callcenter.money import AmountParseError, parse_amount_to_cents
from callcenter.speech import digit_groups

_UNITS: Final = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "a": 1,
}  # fmt: skip
_TENS: Final = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES: Final = {"hundred": 100, "thousand": 1000}
_NUMBER_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
_SPOKEN_MONEY = re.compile(
    rf"\b((?:(?:{_NUMBER_WORD})(?:[\s-]+(?:and[\s-]+)?)?)+)(?=\s*(?:dollars?|bucks?|cents?)\b)"
)
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_AMOUNT: Final = re.compile(
    rf"(?:usd\s*)?\$\s?{_NUM}(?:\.\d{{1,2}})?(?!\d)"  # $5, $5.00, $1,234.50
    rf"|\b{_NUM}(?:\.\d{{1,2}})?\s*(?:dollars?|bucks?|usd)\b"  # 5 dollars, 5.50 usd
    rf"(?:\s*(?:and\s+)?\d{{1,2}}\s*cents?\b)?"  # ... and 50 cents
    rf"|\b\d{{1,2}}\s*cents?\b"  # 50 cents
    rf"|(?<![\d.,])\d+\.\d{{2}}(?![\d.])",  # 12.50 (two decimals: money)
    re.IGNORECASE,
)


def _canonical(n: int) -> list[str]:
    """How `n` (0-999,999) is said, word by word: 125 → one hundred twenty five."""
    if n >= 1000:
        thousands, rest = divmod(n, 1000)
        return [*_canonical(thousands), "thousand", *(_canonical(rest) if rest else [])]
    hundreds, rest = divmod(n, 100)
    words = [_UNIT_NAMES[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        words.append(_TEN_NAMES[rest // 10])
        if rest % 10:
            words.append(_UNIT_NAMES[rest % 10])
    elif rest or not words:
        words.append(_UNIT_NAMES[rest])
    return words


_UNIT_NAMES: Final = {v: k for k, v in _UNITS.items() if k != "a"}
_TEN_NAMES: Final = {v // 10: k for k, v in _TENS.items()}


def _words_value(words: str) -> int | None:
    """'twenty five' → 25, 'one hundred and five' → 105; None unless said the usual way
    ("five five" is two digits, not a number)."""
    said = ["one" if w == "a" else w for w in re.split(r"[\s-]+", words.strip()) if w]
    said = [w for w in said if w != "and"]
    total = current = 0
    for word in said:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
    value = total + current
    return value if said and value < 1_000_000 and _canonical(value) == said else None


def _numerals(text: str) -> str:
    """Number words said before "dollars" or "cents" as numerals ("five dollars" → "5
    dollars"), so one pattern reads both. Only the words that make a number the usual way
    count: in "invoice two zero zero five five dollars" the amount is "five"; the digits
    read one by one before it stay words, for the identifier."""

    def replace(match: re.Match[str]) -> str:
        words = match.group(1).split()
        for first in range(len(words)):
            if words[first] == "and":
                continue
            value = _words_value(" ".join(words[first:]))
            if value is not None:
                return " ".join([*words[:first], str(value)]) + " "
        return match.group(0)

    return _SPOKEN_MONEY.sub(replace, text)


def amounts_in(text: str) -> list[int]:
    """Every money amount in `text`, in order, in cents: "$5.00", "$1,234.50", "12.50",
    "5 dollars and 50 cents", "five dollars", "50 cents"."""
    found: list[int] = []
    for match in _AMOUNT.finditer(_numerals(text.lower())):
        try:
            found.append(parse_amount_to_cents(" ".join(match.group(0).split())))
        except AmountParseError:
            continue
    return found


def without_amounts(text: str) -> str:
    """`text` (lower case) with every amount replaced by a separator, so an amount's digits
    are never read as part of an identifier."""
    return _AMOUNT.sub(" | ", _numerals(text.lower()))


def _named_number(text: str, names: str, lengths: tuple[int, int]) -> str | None:
    """The number said right after its name ("invoice 2003", "INV-2003", "order number is
    one zero zero one"), else the first bare number of the right length; never an amount."""
    low, high = lengths
    rest = without_amounts(text)
    named = re.compile(rf"\b(?:{names})\b(?:\s*(?:number|no\.?|#))?(?:\s*(?:is|was))?[\s#:\-]*")
    for match in named.finditer(rest):
        tail = rest[match.end() :]
        first = re.match(r"[a-z]+|\d+", tail)
        groups = digit_groups(tail)
        if first and digit_groups(first.group(0)) and low <= len(groups[0]) <= high:
            return groups[0]
    bare = [g for g in digit_groups(rest) if low <= len(g) <= high]
    return bare[0] if bare else None


def invoice_number_in(text: str) -> str | None:
    """The digits of the invoice number in `text` ("INV-2003", "invoice two zero zero
    three", or the first bare 3-10 digit number that is not an amount)."""
    return _named_number(text, r"inv|invoice", (3, 10))


def order_number_in(text: str) -> str | None:
    """The digits of the order number in `text` ("order 1001", "order number one zero zero
    one", or the first bare 3-12 digit number that is not an amount)."""
    return _named_number(text, r"order", (3, 12))


_FRUSTRATION: Final = re.compile(
    r"(?<!not )(?<!n't )(?<!never )\b("
    r"angry|furious|livid|fuming|mad at|frustrat\w*|fed up|sick (?:of|and tired)|"
    r"ridiculous|unacceptable|outrageous|absurd|annoy(?:ed|ing)|upset|useless|pathetic|"
    r"terrible|awful|horrible|worst|a joke|waste of (?:my )?time|pissed|wtf|damn\w*|"
    r"bullshit|crap|hopeless|incompetent|disgust\w*|disgrace\w*|fed-up|"
    r"(?:second|third|fourth|fifth) time|how many times|nobody (?:ever )?(?:helps|listens)|"
    r"i(?:'ve| have) been (?:waiting|calling) for"
    r")\b",
    re.IGNORECASE,
)


def sounds_frustrated(text: str) -> bool:
    """True when the caller's words say they are angry or frustrated ("this is ridiculous",
    "I'm fed up", "third time I've called"); "I'm not upset" is not."""
    return _FRUSTRATION.search(" ".join(text.split())) is not None
