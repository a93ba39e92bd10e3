"""Money helpers: integer cents only, clear errors on garbage."""

from __future__ import annotations

import pytest

from callcenter.money import AmountParseError, format_cents, parse_amount_to_cents, spoken_cents


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (0, "$0.00"),
        (5, "$0.05"),
        (100, "$1.00"),
        (123450, "$1,234.50"),
        (-500, "-$5.00"),
        (100_000_000_00, "$100,000,000.00"),
    ],
)
def test_format_cents(cents: int, expected: str) -> None:
    assert format_cents(cents) == expected


def test_format_cents_other_currencies() -> None:
    assert format_cents(1999, "EUR") == "€19.99"
    assert format_cents(1999, "JPY") == "19.99 JPY"


def test_format_cents_rejects_float() -> None:
    with pytest.raises(TypeError):
        format_cents(12.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (1205, "12 dollars and 5 cents"),
        (100, "1 dollar"),
        (1, "1 cent"),
        (7, "7 cents"),
        (0, "0 dollars"),
        (101, "1 dollar and 1 cent"),
        (123456, "1234 dollars and 56 cents"),
        (-250, "minus 2 dollars and 50 cents"),
    ],
)
def test_spoken_cents(cents: int, expected: str) -> None:
    assert spoken_cents(cents) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("$12.50", 1250),
        (" $ 12.50 ", 1250),
        ("0.29", 29),
        (".75", 75),
        ("$1,234.50", 123450),
        ("12.50 USD", 1250),
        ("12 dollars", 1200),
        ("12 dollars 50 cents", 1250),
        ("12 dollars and 50 cents", 1250),
        ("1 dollar and 5 cents", 105),
        ("50 cents", 50),
        ("20 bucks", 2000),
    ],
)
def test_parse_amount(text: str, expected: int) -> None:
    assert parse_amount_to_cents(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "abc", "12.345", "-5", "minus 5 dollars", "12,34", "1.2.3", "$", "twelve"]
)
def test_parse_amount_garbage(text: str) -> None:
    with pytest.raises(AmountParseError) as info:
        parse_amount_to_cents(text)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_parse_round_trips_format() -> None:
    for cents in (0, 1, 99, 100, 123456, 99_999_999):
        assert parse_amount_to_cents(format_cents(cents)) == cents
