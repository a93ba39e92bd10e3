"""PII redaction for transcripts and anything else persisted or logged.

Card numbers become their last four, phone numbers are masked, and while the caller is
verifying, every digit run they say (ZIP, PIN, account digits) is removed.
"""

from __future__ import annotations

import re

_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{8,}\d\b")
_DIGIT_RUN = re.compile(r"\b\d(?:[\s-]?\d){2,}\b")
_SPOKEN_DIGITS = re.compile(
    r"\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)[\s,-]+){2,}"
    r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b",
    re.IGNORECASE,
)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[card ending {digits[-4:]}]"


def redact(text: str, *, secrets_phase: bool = False) -> str:
    """Redact `text` for storage. `secrets_phase`: the caller is saying verification factors."""
    text = _CARD.sub(_card, text)
    text = _PHONE.sub("[phone]", text)
    if secrets_phase:
        text = _DIGIT_RUN.sub("[redacted]", text)
        text = _SPOKEN_DIGITS.sub("[redacted]", text)
    return text
