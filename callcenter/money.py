"""Money helpers: integer cents in, strings out (and back).

All amounts in the system are integer minor units ("cents"). Nothing here ever touches
``float``: formatting uses ``divmod`` and parsing works on the digit strings, so
``parse_amount_to_cents("0.29")`` is exactly ``29`` rather than ``28.999...``.

- :func:`format_cents` for screens/logs/LLM context: ``123450 -> "$1,234.50"``.
- :func:`spoken_cents` for TTS: ``1205 -> "12 dollars and 5 cents"``.
- :func:`parse_amount_to_cents` for what a caller (or the LLM) says: ``"$12.50"``,
  ``"12 dollars and 50 cents"``, ``"1,200"`` -> cents; :class:`AmountParseError`
  (a ``ValueError``) with a human-readable message otherwise.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["AmountParseError", "format_cents", "parse_amount_to_cents", "spoken_cents"]

_SYMBOLS: Final[dict[str, str]] = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}


class AmountParseError(ValueError):
    """Raised by :func:`parse_amount_to_cents` when the text is not a money amount."""


def format_cents(cents: int, currency: str = "USD") -> str:
    """Format integer cents as a display string.

    >>> format_cents(123450)
    '$1,234.50'
    >>> format_cents(-500)
    '-$5.00'
    >>> format_cents(99, "JPY")
    '0.99 JPY'
    """
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, got {type(cents).__name__}")
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    body = f"{whole:,}.{frac:02d}"
    symbol = _SYMBOLS.get(currency.upper())
    if symbol is None:
        return f"{sign}{body} {currency.upper()}"
    return f"{sign}{symbol}{body}"


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{n:,} {singular if n == 1 else plural}".replace(",", "")


def spoken_cents(cents: int) -> str:
    """Render cents the way a person says it (US dollars), for TTS.

    >>> spoken_cents(1205)
    '12 dollars and 5 cents'
    >>> spoken_cents(100)
    '1 dollar'
    >>> spoken_cents(7)
    '7 cents'
    >>> spoken_cents(-250)
    'minus 2 dollars and 50 cents'
    """
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, got {type(cents).__name__}")
    prefix = "minus " if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    if dollars and rest:
        text = f"{_plural(dollars, 'dollar', 'dollars')} and {_plural(rest, 'cent', 'cents')}"
    elif rest:
        text = _plural(rest, "cent", "cents")
    else:
        text = _plural(dollars, "dollar", "dollars")
    return prefix + text


# "1,234.50" / "1234.5" / ".50" / "12" — thousands separators only in groups of three.
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?"
_DECIMAL_RE: Final = re.compile(
    rf"^(?:usd\s*)?\$?\s*(?P<num>{_NUMBER})\s*(?:usd|dollars?|bucks?)?$", re.IGNORECASE
)
_WORDS_RE: Final = re.compile(
    r"^(?:(?P<dollars>\d[\d,]*)\s*(?:dollars?|bucks?))?"
    r"\s*(?:and\s+)?"
    r"(?:(?P<cents>\d{1,2})\s*(?:cents?))?$",
    re.IGNORECASE,
)


def _decimal_to_cents(num: str, original: str) -> int:
    if "," in num:
        num = num.replace(",", "")
    whole, _, frac = num.partition(".")
    if len(frac) > 2:
        raise AmountParseError(f"amount {original!r} has more than two decimal places")
    if not whole and not frac:
        raise AmountParseError(f"no amount found in {original!r}")
    return int(whole or "0") * 100 + int(frac.ljust(2, "0") or "0")


def parse_amount_to_cents(text: str) -> int:
    """Parse a (non-negative) money amount in US dollars to integer cents.

    Accepted: ``"12"``, ``"12.5"``, ``"12.50"``, ``"$1,234.50"``, ``"12.50 USD"``,
    ``"12 dollars"``, ``"12 dollars 50 cents"``, ``"12 dollars and 50 cents"``,
    ``"50 cents"``. Rejected with :class:`AmountParseError` (a ``ValueError``): empty
    text, negative amounts, more than two decimals, words or anything else.

    >>> parse_amount_to_cents("$1,234.50")
    123450
    >>> parse_amount_to_cents("12 dollars and 5 cents")
    1205
    """
    if not isinstance(text, str):
        raise AmountParseError(f"expected text, got {type(text).__name__}")
    cleaned = " ".join(text.strip().split())
    if not cleaned:
        raise AmountParseError("no amount given")
    if cleaned.startswith("-") or cleaned.lower().startswith("minus"):
        raise AmountParseError(f"amount {text!r} must not be negative")
    m = _DECIMAL_RE.match(cleaned)
    if m and m.group("num"):
        return _decimal_to_cents(m.group("num"), text)
    m = _WORDS_RE.match(cleaned)
    if m and (m.group("dollars") or m.group("cents")):
        dollars_txt = (m.group("dollars") or "0").replace(",", "")
        if not dollars_txt.isdigit():
            raise AmountParseError(f"could not read the dollar amount in {text!r}")
        return int(dollars_txt) * 100 + int(m.group("cents") or "0")
    raise AmountParseError(
        f"could not understand {text!r} as an amount; expected something like '12.50' "
        "or '12 dollars and 50 cents'"
    )
