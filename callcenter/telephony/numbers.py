"""Phone number normalisation with `phonenumbers`.

Everything inside the product handles numbers as E.164 strings (`+14155550142`).
`mask()` is the only form a number may take in a log line.
"""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """A number that `phonenumbers` cannot parse or judges invalid."""


def to_e164(raw: str, *, default_region: str = "US") -> str:
    """Normalise `raw` (any common notation, or a `tel:`/`sip:` user part) to E.164.

    Raises `InvalidPhoneNumber` with the parsed country in the message when the
    number is not valid, so an operator can see *why* (`+1555...` is a US number
    with too few digits, not a typo in the country code).
    """
    text = raw.strip()
    for prefix in ("tel:", "sip:", "sips:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].split("@", 1)[0].split(";", 1)[0]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(parsed):
        region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
        raise InvalidPhoneNumber(
            f"{raw!r} is not a valid number (parsed country: {region}, +{parsed.country_code})"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_e164(raw: str | None, *, default_region: str = "US") -> str | None:
    """Like `to_e164`, but returns None for missing, withheld or invalid numbers."""
    if not raw:
        return None
    try:
        return to_e164(raw, default_region=default_region)
    except InvalidPhoneNumber:
        return None


def mask(e164: str | None) -> str:
    """A log-safe form: country code and last two digits only (`+1*******42`)."""
    if not e164:
        return "<none>"
    if len(e164) <= 4:
        return "*" * len(e164)
    return e164[:2] + "*" * (len(e164) - 4) + e164[-2:]
