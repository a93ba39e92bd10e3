"""PII redaction of transcript lines."""

from __future__ import annotations

from callcenter.redaction import redact


def test_card_number_keeps_last_four() -> None:
    assert redact("my card is 4111 1111 1111 1234 ok") == "my card is [card ending 1234] ok"
    assert redact("4111-1111-1111-9876") == "[card ending 9876]"


def test_phone_numbers_are_masked() -> None:
    assert redact("call me on +1 415 555 0142 please") == "call me on [phone] please"
    assert "555" not in redact("my number is 415-555-0142")


def test_order_numbers_survive_outside_verification() -> None:
    assert redact("where is order 1001") == "where is order 1001"
    assert redact("my zip is 94107") == "my zip is 94107"


def test_verification_answers_are_removed() -> None:
    assert redact("my zip code is 94107", secrets_phase=True) == "my zip code is [redacted]"
    assert redact("pin 4 4 2 1", secrets_phase=True) == "pin [redacted]"
    assert redact("it's four four two one", secrets_phase=True) == "it's [redacted]"
    # spoken digits are removed as a run, even when "four" belongs to "last four"
    assert redact("last four oh oh four two", secrets_phase=True) == "last [redacted]"


def test_plain_text_untouched() -> None:
    assert redact("I'd like to speak to a person", secrets_phase=True) == (
        "I'd like to speak to a person"
    )
