"""Input normalisation used by the repositories (speech-to-text output is messy)."""

from __future__ import annotations

import pytest

from callcenter.data import normalize_invoice_number, normalize_order_number, normalize_phone
from callcenter.data.security import digits_only


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1001", "1001"), ("#1001", "1001"), (" 10 01 ", "1001"), ("10-01", "1001"), ("ab-1", "AB-1")],
)
def test_normalize_order_number(raw: str, expected: str) -> None:
    assert normalize_order_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("INV-2001", "INV-2001"),
        ("inv 2001", "INV-2001"),
        ("inv2001", "INV-2001"),
        ("Invoice #2001", "INV-2001"),
        ("2001", "INV-2001"),
        ("INV-B42", "INV-B42"),
    ],
)
def test_normalize_invoice_number(raw: str, expected: str) -> None:
    assert normalize_invoice_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155550142", "+14155550142"),
        ("(415) 555-0142", "+14155550142"),
        ("+44 20 7946 0958", "+442079460958"),
        ("hello", None),
        ("", None),
    ],
)
def test_normalize_phone(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_digits_only() -> None:
    assert digits_only(" 4-4 2 1 ") == "4421"
    assert digits_only("٤٤٢١") == ""  # non-ASCII digits are not accepted
