"""Reading a caller's words by rules: amounts, invoice and order numbers, frustration.

The report: "refund $5.00 on INV-2003" became invoice INV-500 (the amount's digits were read
as the invoice number). The examples pin that and its cousins; the properties fuzz the
amount and identifier forms callers and STT produce, in any order, and check that each
comes back exactly and never borrows the other's digits.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from callcenter.money import format_cents
from callcenter.utterances import (
    amounts_in,
    invoice_number_in,
    order_number_in,
    sounds_frustrated,
    without_amounts,
)

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
UNITS = [
    "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]  # fmt: skip
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


@pytest.mark.parametrize(
    ("said", "invoice", "cents"),
    [
        ("refund $5.00 on INV-2003", "2003", 500),
        ("refund 5 dollars on invoice two zero zero three", "2003", 500),
        ("refund five dollars and fifty cents on invoice 2003", "2003", 550),
        ("INV-2003 refund of $1,234.56", "2003", 123456),
        ("I'd like a refund of 12.50 for invoice number 2002", "2002", 1250),
        ("refund twenty five dollars on inv 2002", "2002", 2500),
        ("refund 75 cents on INV 2001", "2001", 75),
        ("please refund $19.99, it's invoice 2,003", "2003", 1999),
    ],
)
def test_refund_sentences(said: str, invoice: str, cents: int) -> None:
    assert (invoice_number_in(said), amounts_in(said)) == (invoice, [cents])


def test_an_order_number_is_not_an_amount() -> None:
    assert order_number_in("I was charged $12.50 for order 1001") == "1001"
    assert order_number_in("order number is one zero zero one") == "1001"
    assert order_number_in("where is it") is None


def test_the_named_number_wins_over_a_bare_one() -> None:
    assert invoice_number_in("for my order 1001, invoice 2003") == "2003"
    assert order_number_in("invoice 2003 is for order 1001") == "1001"


# --- properties --------------------------------------------------------------------------


def _words_under_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = [f"{UNITS[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        parts.append(TENS[rest // 10] + (f" {UNITS[rest % 10]}" if rest % 10 else ""))
    elif rest:
        parts.append(UNITS[rest])
    return " ".join(parts) or "zero"


@st.composite
def amount_forms(draw: st.DrawFn) -> tuple[str, int]:
    """(an amount as a caller or STT writes it, its cents)."""
    dollars = draw(st.integers(0, 99_999))
    cents = draw(st.integers(0, 99))
    form = draw(st.sampled_from(["symbol", "comma", "decimal", "words", "spoken", "whole"]))
    if form == "symbol":
        return f"${dollars}.{cents:02d}", dollars * 100 + cents
    if form == "comma":
        return format_cents(dollars * 100 + cents), dollars * 100 + cents
    if form == "decimal":
        return f"{dollars}.{cents:02d}", dollars * 100 + cents
    if form == "whole":
        return f"${dollars}", dollars * 100
    if form == "words":
        dollars = max(dollars, 1)
        text = f"{dollars} dollars" + (f" and {cents} cents" if cents else "")
        return text, dollars * 100 + cents
    small = draw(st.integers(1, 999))
    text = f"{_words_under_1000(small)} dollars" + (
        f" and {_words_under_1000(cents)} cents" if cents else ""
    )
    return text, small * 100 + cents


@st.composite
def invoice_forms(draw: st.DrawFn) -> tuple[str, str]:
    """(an invoice number as said, its digits)."""
    digits = draw(st.text(alphabet="0123456789", min_size=3, max_size=8))
    form = draw(st.sampled_from(["INV-{}", "INV {}", "inv{}", "invoice {}", "invoice number {}"]))
    spoken = draw(st.booleans())
    said = " ".join(DIGIT_WORDS[int(d)] for d in digits) if spoken else digits
    if spoken and form == "inv{}":
        form = "inv {}"
    return form.format(said), digits


TEMPLATES = [
    "refund {amount} on {invoice}",
    "I need a refund of {amount} for {invoice} please",
    "{invoice}: refund {amount}",
    "can I get {amount} back on {invoice}",
    "refund {invoice} {amount}",
]


@given(amount_forms(), invoice_forms(), st.sampled_from(TEMPLATES))
@example(("$5.00", 500), ("INV-2003", "2003"), TEMPLATES[0])
def test_any_refund_sentence_reads_both_values_exactly(
    amount: tuple[str, int], invoice: tuple[str, str], template: str
) -> None:
    said = template.format(amount=amount[0], invoice=invoice[0])
    assert invoice_number_in(said) == invoice[1], said
    assert amounts_in(said) == [amount[1]], said


@given(amount_forms())
def test_an_amount_leaves_no_digits_behind(amount: tuple[str, int]) -> None:
    assert not any(c.isdigit() for c in without_amounts(f"refund {amount[0]} please"))


@given(st.text(max_size=80))
def test_any_text_is_read_without_error(text: str) -> None:
    amounts_in(text)
    invoice_number_in(text)
    order_number_in(text)
    sounds_frustrated(text)


# --- frustration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    [
        "this is ridiculous, nothing works",
        "I'm so angry right now",
        "I am really frustrated with you people",
        "I'm fed up",
        "this is the third time I've called about this",
        "what a waste of my time",
        "that's unacceptable",
        "I have been waiting for two weeks",
    ],
)
def test_frustration_is_heard(said: str) -> None:
    assert sounds_frustrated(said)


@pytest.mark.parametrize(
    "said",
    [
        "I'm not angry, just confused",
        "where is my order",
        "what's my balance",
        "thank you, that was helpful",
        "I'm not upset",
    ],
)
def test_calm_words_are_not_frustration(said: str) -> None:
    assert not sounds_frustrated(said)
