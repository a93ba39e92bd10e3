"""The redaction layer (`callcenter.redaction`): what goes, what stays, and that log lines
are redacted at every level (LiveKit's `lk.pii.*` fields dropped whole)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.redaction import (
    RedactingLogFilter,
    luhn_ok,
    preview,
    redact,
    redact_data,
    spoken_number,
)

PIN, ZIP = "4421", "94107"


@pytest.mark.parametrize(
    ("said", "gone"),
    [
        ("my pin is 4421", "4421"),
        ("pin: 4 4 2 1", "4 4 2 1"),
        ("my PIN is four four two one", "four four two one"),
        ("it's forty four twenty one, my pin", "forty four twenty one"),
        ("double four two one is the pin", "double four two one"),
        ("my pin is four thousand four hundred twenty one", "four thousand"),
        ("4421 is my pin", "4421"),
        ("pin4421", "4421"),
        ("zip code 94107", "94107"),
        ("my zip is nine four one oh seven", "nine four one oh seven"),
        ("last four is 0042", "0042"),
        ("the last 4 digits are oh oh four two", "oh oh four two"),
        ("account number ACC-100042", "100042"),
        ("my social is 123-45-6789", "123-45-6789"),
        ("ssn 123456789", "123456789"),
        ("card 4111 1111 1111 1111", "4111"),
        ("4111-1111-1111-1111 is my card", "4111"),
        ("call me on 415 555 0142", "555 0142"),
        ("my cell is (415) 555-0142", "555-0142"),
        ("+1 415 555 0142", "555 0142"),
        ("4155550142", "4155550142"),
        ("maya.patel@example.com", "maya.patel"),
        ("it's maya dot patel at example dot com", "patel"),
        ("my name is maya patel", "maya"),
        ("Hi, this is Maya Patel", "Maya"),
        ("I'm calling about 5555", "5555"),  # an unlabelled number
        ("security code 123", "123"),
        ("my pin starts 44", "44"),  # a labelled fragment, however short
    ],
)
def test_secrets_go(said: str, gone: str) -> None:
    assert gone not in redact(said), redact(said)


@pytest.mark.parametrize(
    "kept",
    [
        "Your order 1001 shipped on June 3, 2026.",
        "orders 1001, 1002 and 1003",
        "Refund request R-12 is open for $12.50 on invoice INV-2001.",
        "The return number is RMA-1003-1.",
        "tracking number 1Z999AA10123456784",
        "Callback ticket 12 is booked for tomorrow at 3pm.",
        "call me back at 15:30",
        "You have 2 attempts left.",
        "busy (SIP 486)",
        "The total is 129 dollars.",
        "due 2026-06-03",
        "I'd like to speak to a person",
    ],
)
def test_business_facts_stay(kept: str) -> None:
    assert redact(kept) == kept


def test_secrets_mode_removes_every_number_and_strict_off_keeps_ids() -> None:
    assert redact("order 1001 and 4421", secrets=True) == "order [redacted] and [redacted]"
    assert redact("call console-1a2b3c ticket 12 id 5555", strict=False) == (
        "call console-1a2b3c ticket 12 id 5555"
    )
    assert "4421" not in redact("pin 4421", strict=False)  # a labelled secret, even in logs


def test_known_names_go_anywhere() -> None:
    assert redact("thanks Maya, and Patel too", names=["Maya Patel", "Maya"]) == (
        "thanks [name], and [name] too"
    )


def test_redact_data_reaches_every_string() -> None:
    data = {"a": ["pin 4421", {"b": "card 4111 1111 1111 1111"}], "n": 4421, "t": 1.5}
    assert redact_data(data) == {"a": ["pin [redacted]", {"b": "card [card]"}], "n": 4421, "t": 1.5}


def test_preview_is_short_masked_and_one_line() -> None:
    assert preview("9" * 1_000_000) == "[redacted]…"
    assert preview("abc\ndef") == "abc def"
    assert preview("order 12 please, really, truly, long") == "order ## please, really,…"


def test_spoken_numbers_and_luhn() -> None:
    assert spoken_number(["forty", "four", "twenty", "one"]) == "4421"
    assert spoken_number(["oh", "oh", "four", "two"]) == "0042"
    assert spoken_number(["twelve", "thirty", "four"]) == "1234"
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


# --------------------------------------------------------------------------- properties

_words = st.sampled_from(
    ["my", "pin", "is", "order", "zip", "four", "two", "oh", "card", "the", "1001", "4421",
     "94107", ",", "-", ".", "$12.50", "June", "3", "call", "me", "at", "415", "555", "0142",
     "maya.patel@example.com", "last", "account", "number", "double", "forty"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_words, max_size=25).map(" ".join))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_redaction_never_fails_and_never_grows_a_secret(text: str) -> None:
    out = redact(text)
    assert isinstance(out, str)
    assert redact(text, secrets=True).count("4421") <= text.count("4421")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["pin", "PIN", "zip", "zip code", "last four", "security code"]),
    st.sampled_from(["is", "", ":", "is my", "number is"]),
    st.text(alphabet="0123456789", min_size=1, max_size=9),
)
def test_a_labelled_secret_never_survives(label: str, glue: str, digits: str) -> None:
    text = f"my {label} {glue} {digits}"
    out = redact(text)
    assert digits not in out.split(label)[-1], out


# --------------------------------------------------------------------------- logs


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("livekit.agents", logging.DEBUG, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_the_log_filter_redacts_messages_extras_and_drops_pii_fields() -> None:
    record = _record(
        "caller said %s",
        "my pin is 4421",
        **{"lk.pii.text": "call me on 415 555 0142", "call_id": "SCL_123456", "note": "zip 94107"},
    )
    assert RedactingLogFilter().filter(record)
    assert record.getMessage() == "caller said my pin is [redacted]"
    assert record.__dict__["lk.pii.text"] == "[redacted]"
    assert record.__dict__["call_id"] == "SCL_123456"  # ids stay readable
    assert record.__dict__["note"] == "zip [redacted]"


def test_the_log_filter_redacts_exception_text() -> None:
    try:
        raise ValueError("bad PIN 4421 for maya.patel@example.com")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactingLogFilter().filter(record)
    assert record.exc_text is not None
    assert "4421" not in record.exc_text and "maya.patel" not in record.exc_text


def test_every_handler_the_product_configures_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    from callcenter.observability.logs import configure_cli_logging

    configure_cli_logging("DEBUG")
    logging.getLogger("callcenter.test").debug(
        "caller said %s", "my pin is 4421", extra={"lk.pii.text": "zip 94107"}
    )
    err = capsys.readouterr().err
    assert "caller said my pin is [redacted]" in err
    assert "4421" not in err and "94107" not in err
