"""PII redaction of transcript lines (the layer's full behaviour, hostile inputs included, is
in tests/security/test_security_redaction.py)."""

from __future__ import annotations

from callcenter.redaction import redact


def test_card_numbers_are_removed() -> None:
    assert redact("my card is 4111 1111 1111 1111 ok") == "my card is [card] ok"
    assert redact("4111-1111-1111-1111") == "[card]"


def test_phone_numbers_are_masked() -> None:
    assert redact("call me on +1 415 555 0142 please") == "call me on [phone] please"
    assert "555" not in redact("my number is 415-555-0142")


def test_order_numbers_survive_but_secrets_never_do() -> None:
    assert redact("where is order 1001") == "where is order 1001"
    assert redact("my zip is 94107") == "my zip is [redacted]"  # in every phase


def test_verification_answers_are_removed() -> None:
    assert redact("my zip code is 94107", secrets=True) == "my zip code is [redacted]"
    assert redact("pin 4 4 2 1", secrets=True) == "pin [redacted]"
    assert redact("it's four four two one", secrets=True) == "it's [redacted]"
    # "last four" names the factor; the digits after it are the secret
    assert redact("last four oh oh four two", secrets=True) == "last four [redacted]"


def test_plain_text_untouched() -> None:
    assert redact("I'd like to speak to a person", secrets=True) == (
        "I'd like to speak to a person"
    )
