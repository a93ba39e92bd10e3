"""One redaction layer for everything the product persists or logs.

What a caller says, and what a model writes (transfer and callback reasons, a spoken
callback time, return and refund reasons, notes, ticket summaries), passes through
`redact()` before it is stored; the supervisor's briefing model gets the same treatment;
`RedactingLogFilter` applies it to log lines (installed by `callcenter.observability.logs`).
It removes:

- e-mail addresses, written or spoken ("maya dot patel at example dot com") -> `[email]`;
- US social security numbers (`123-45-6789`, or digits after "social"/"SSN") -> `[ssn]`;
- card numbers (13-19 digits that pass the Luhn check) -> `[card]`;
- phone numbers (`+1 415 555 0142`, `(415) 555-0142`, ten-digit runs) -> `[phone]`;
- the call's known names (the caller-ID match) and names introduced as one
  ("my name is ...", "this is Maya Patel") -> `[name]`;
- numbers, written as digits or as words ("four four two one", "forty-four twenty-one",
  "double four two one"):
  - any number labelled as a secret ("PIN", "ZIP", "last four", "account", "security
    code", ...), before or just after it, however short -> `[redacted]`;
  - with `secrets=True` (the caller is answering verification questions): every number;
  - otherwise, in `strict` mode (the default: everything stored), every number of three
    digits or more, except the ones that are plainly something else: labelled business
    identifiers ("order 1001", "invoice INV-2001", "ticket 12", "tracking number ...",
    "RMA-1003-1", "SIP 486", "line 120"), amounts ("$129.99", "45 dollars"), dates
    ("June 3, 2026", "2026-06-03") and times ("3:30 pm");
  - in lenient mode (`strict=False`, log lines: their numbers are call and ticket ids),
    unlabelled numbers stay.

Control characters other than newline and tab become spaces (PostgreSQL refuses a NUL).

It is a pattern redactor, not a classifier: an unlabelled two-digit fragment of a PIN said
across two turns, or a name said without an introduction, gets through. docs/security.md
lists what remains open; tests/security holds the hostile inputs it was tried against.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CARD",
    "EMAIL",
    "NAME",
    "PHONE",
    "REDACTED",
    "SSN",
    "RedactingLogFilter",
    "luhn_ok",
    "preview",
    "redact",
    "redact_data",
    "spoken_number",
]

REDACTED: Final = "[redacted]"
CARD: Final = "[card]"
PHONE: Final = "[phone]"
EMAIL: Final = "[email]"
SSN: Final = "[ssn]"
NAME: Final = "[name]"

# --------------------------------------------------------------------------- patterns

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters (not newline or tab): never stored (PostgreSQL refuses a NUL)."""
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SPOKEN_EMAIL = re.compile(
    r"\b[A-Za-z0-9_+-]+(?:\s+(?:dot|underscore|dash)\s+[A-Za-z0-9_+-]+)*\s+at\s+"
    r"[A-Za-z0-9-]+(?:\s+dot\s+[A-Za-z0-9-]+)+\b",
    re.IGNORECASE,
)
_SSN_SHAPE = re.compile(r"(?<![\w-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-])")
_CARD_SHAPE = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_PHONE_SHAPES = (
    re.compile(r"(?<![\w+])\+\d[\d\s().-]{6,}\d(?!\w)"),
    re.compile(r"(?<![\w-])(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])"),
    re.compile(r"(?<![\w-])1?\d{10}(?![\w-])"),
)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_PROTECTED = re.compile(
    "|".join(
        (
            r"\$\s?\d[\d,]*(?:\.\d+)?",  # $129.99, $1,250
            r"\b\d[\d,]*(?:\.\d+)?\s?(?:dollars?|cents?|usd|bucks)\b",
            rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b",  # June 3, 2026
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}(?:,?\s+\d{{4}})?\b",
            r"\b\d{4}-\d{2}-\d{2}"  # ISO date, with its time and offset
            r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            r"\b\d{1,2}/\d{1,2}/\d{2,4}\b",
            r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?",  # 3:30, 15:30:00, 3:30 pm
            r"\b\d{1,2}\s?[ap]\.?m\b\.?",  # 3pm
        )
    ),
    re.IGNORECASE,
)
_INTRODUCED_NAME = re.compile(
    r"\b(?P<lead>my name is|my name's|name is|this is|i am|i'm|it's)\s+"
    r"(?P<name>[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){0,2})"
)
_MY_NAME_LOWER = re.compile(
    r"\b(?P<lead>my name is|my name's)\s+(?P<name>[a-z][a-z'\-]+(?:\s+[a-z][a-z'\-]+)?)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\W_]+|[^\s\w]|_")
"""Words and numbers in any script (a full-width "４４２１" is a number), or one symbol."""

_UNITS: Final = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS: Final = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS: Final = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_REPEAT: Final = {"double": 2, "triple": 3}
_SCALE: Final = {"hundred", "thousand"}
_NUMBER_WORDS: Final = frozenset(_UNITS) | frozenset(_TEENS) | frozenset(_TENS) | _SCALE
_NUMBER_WORDS_ALL: Final = _NUMBER_WORDS | frozenset(_REPEAT)

_SECRET_LABELS: Final = frozenset(
    {
        "pin", "pins", "zip", "zipcode", "postal", "postcode", "passcode", "password",
        "ssn", "social", "security", "cvv", "cvc", "csc", "acc", "account", "acct", "last",
        "digits", "dob", "birth", "birthday", "born", "card", "verification", "secret",
    }
)  # fmt: skip
"""Words that make the number near them a secret, however short it is."""
_ID_LABELS: Final = frozenset(
    {
        "order", "orders", "invoice", "invoices", "inv", "rma", "ticket", "tickets",
        "tracking", "reference", "ref", "return", "refund", "request", "r", "sip", "status",
        "line", "lines", "item", "items", "sku", "error", "http", "attempt", "attempts",
        "step", "version", "revision", "port",
    }
)  # fmt: skip
"""Words that make the number after them a business identifier (kept in strict mode)."""
_FILLERS: Final = frozenset(
    {
        "is", "was", "are", "my", "the", "a", "an", "number", "no", "num", "nr", "it", "its",
        "s", "of", "on", "for", "to", "code", "id", "and", "be", "should", "will", "that",
        "this", "your", "our", "which", "ends", "ending", "in", "with", "four", "4", "starts",
        "start", "starting", "begins", "begin", "then", "digit",
    }
)  # fmt: skip
"""Words skipped when looking for the label of a number ("my order number is 1001")."""
_LOOK_BACK: Final = 6
_LOOK_AHEAD: Final = 4
_SENTENCE_END: Final = frozenset({".", "!", "?", ";", "\n"})
_PLACEHOLDER_BASE: Final = 0xE000


# --------------------------------------------------------------------------- numbers


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def spoken_number(words: Iterable[str]) -> str:
    """Digits of a run of number words, as a caller reading out a code means them.

    "four four two one" -> "4421"; "forty four twenty one" -> "4421"; "double four two
    one" -> "4421"; "four thousand four hundred twenty one" -> "4421"; "oh oh four two"
    -> "0042". Words that are not number words are ignored.
    """
    chunks: list[str] = []
    total = 0
    group: int | None = None
    last = ""
    repeat = 1

    def flush() -> None:
        nonlocal total, group, last
        if group is not None or total:
            chunks.append(str(total + (group or 0)))
        total, group, last = 0, None, ""

    for raw in words:
        word = raw.lower()
        if word in _REPEAT:
            flush()
            repeat = _REPEAT[word]
        elif word in _UNITS:
            value = _UNITS[word]
            if repeat > 1:
                flush()
                chunks.append(str(value) * repeat)
                repeat = 1
            elif last == "tens" and group is not None and group % 10 == 0:
                group += value
                last = "unit_in"
            elif last in ("hundred", "thousand"):
                group = (group or 0) + value
                last = "unit_in"
            else:
                flush()
                group, last = value, "unit"
        elif word in _TEENS or word in _TENS:
            value = _TEENS.get(word) or _TENS[word]
            kind = "teen" if word in _TEENS else "tens"
            if last in ("hundred", "thousand"):
                group = (group or 0) + value
            else:
                flush()
                group = value
            last = kind
        elif word == "hundred":
            group = (group if group is not None else 1) * 100
            last = "hundred"
        elif word == "thousand":
            total += (group if group is not None else 1) * 1000
            group, last = None, "thousand"
    flush()
    return "".join(chunks)


# --------------------------------------------------------------------------- the scan


@dataclass(slots=True)
class _Tok:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_digits(self) -> bool:
        return self.text.isdigit()

    @property
    def is_number_word(self) -> bool:
        return self.lower in _NUMBER_WORDS_ALL

    @property
    def is_mixed(self) -> bool:
        return any(c.isdigit() for c in self.text) and any(c.isalpha() for c in self.text)

    @property
    def is_word(self) -> bool:
        return self.text.isalpha()


def _joinable(left: _Tok, right: _Tok, between: list[_Tok]) -> bool:
    """May `right` continue the number `left` belongs to? Spaces always; one hyphen; a
    comma between spoken or single digits ("four, four, two, one")."""
    if not between:
        return True
    if len(between) != 1:
        return False
    sep = between[0].text
    if sep == "-":
        return True
    if sep == ",":
        short = (len(left.text) == 1 and left.is_digits) or left.is_number_word
        return short and ((len(right.text) == 1 and right.is_digits) or right.is_number_word)
    return False


def _runs(tokens: list[_Tok]) -> list[tuple[int, int]]:
    """(first, last) token indexes of each number: digits and number words said together.

    "last four" / "last 4" / "first 3" name a factor: their number is a label, not a run."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        numeric = tok.is_digits or tok.is_number_word or tok.is_mixed
        if numeric and i > 0 and tokens[i - 1].lower in ("last", "first") and not tok.is_mixed:
            i += 1
            continue
        if tok.lower in ("o", "oh") and not _number_near(tokens, i):
            i += 1  # "oh, I see" is not a zero
            continue
        if not numeric or (tok.lower in _REPEAT and not _number_near(tokens, i)):
            i += 1
            continue
        if tok.is_mixed:
            runs.append((i, i))
            i += 1
            continue
        j = i
        k = i + 1
        while k < len(tokens):
            nxt = tokens[k]
            between: list[_Tok] = []
            m = k
            while m < len(tokens) and not (
                tokens[m].is_digits or tokens[m].is_number_word or tokens[m].is_word
            ):
                between.append(tokens[m])
                m += 1
                if len(between) > 1:
                    break
            if m >= len(tokens):
                break
            nxt = tokens[m]
            if not (nxt.is_digits or nxt.is_number_word) or nxt.is_mixed:
                break
            if not _joinable(tokens[j], nxt, between):
                break
            j, k = m, m + 1
        runs.append((i, j))
        i = j + 1
    return runs


def _number_near(tokens: list[_Tok], i: int) -> bool:
    """A number word or digits right before or after token `i` (skipping punctuation)."""
    for step in (-1, 1):
        m = i + step
        while 0 <= m < len(tokens) and not tokens[m].text.isalnum():
            m += step
        if 0 <= m < len(tokens) and (tokens[m].is_digits or tokens[m].lower in _NUMBER_WORDS):
            return True
    return False


def _uncounted(tokens: list[_Tok], m: int) -> bool:
    """Tokens the label search steps over without counting: other numbers (a list, a number
    already redacted) and the redaction's own markers (`[redacted]`), so that redacting a
    text twice gives the same text."""
    tok = tokens[m]
    if tok.is_digits or tok.is_number_word or tok.is_mixed:
        return True
    return 0 < m < len(tokens) - 1 and tokens[m - 1].text == "[" and tokens[m + 1].text == "]"


def _label(tokens: list[_Tok], first: int, last: int) -> str | None:
    """'secret', 'id' or None: what the words around the number say it is."""
    run_words = {t.lower for t in tokens[first : last + 1]}
    mixed_alpha = {re.sub(r"\d", "", t.lower) for t in tokens[first : last + 1] if t.is_mixed}
    if mixed_alpha & _SECRET_LABELS:
        return "secret"
    if mixed_alpha & _ID_LABELS:
        return "id"
    seen = 0
    m = first - 1
    while m >= 0 and seen < _LOOK_BACK:
        tok = tokens[m]
        if tok.text in _SENTENCE_END:
            break
        m -= 1
        if not tok.text.isalnum() or _uncounted(tokens, m + 1):
            continue  # "orders 1001, 1002 and 1003": the label covers the list
        seen += 1
        word = tok.lower
        if word in _SECRET_LABELS:
            return "secret"
        if word in _ID_LABELS:
            return "id"
        if word in _FILLERS or word in run_words:
            continue
        break
    seen = 0
    m = last + 1
    while m < len(tokens) and seen < _LOOK_AHEAD:
        tok = tokens[m]
        if tok.text in _SENTENCE_END:
            break
        m += 1
        if not tok.text.isalnum() or _uncounted(tokens, m - 1):
            continue
        seen += 1
        if tok.lower in _SECRET_LABELS:
            return "secret"
    return None


def _digits_of(tokens: list[_Tok]) -> str:
    digits = ""
    words: list[str] = []
    for tok in tokens:
        if tok.is_number_word:
            words.append(tok.text)
            continue
        if words:
            digits += spoken_number(words)
            words = []
        digits += "".join(c for c in tok.text if c.isdigit())
    if words:
        digits += spoken_number(words)
    return digits


def _numbers(text: str, *, secrets: bool, strict: bool) -> str:
    tokens = [_Tok(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    cuts: list[tuple[int, int, str]] = []
    for first, last in _runs(tokens):
        run = tokens[first : last + 1]
        digits = _digits_of(run)
        if not digits:
            continue
        label = _label(tokens, first, last)
        if secrets or label == "secret":
            mark = REDACTED
        elif len(digits) >= 13 and luhn_ok(digits):
            mark = CARD
        elif label == "id" or not strict or len(digits) < 3:
            continue
        else:
            mark = REDACTED
        cuts.append((run[0].start, run[-1].end, mark))
    for start, end, mark in reversed(cuts):
        text = text[:start] + mark + text[end:]
    return text


# --------------------------------------------------------------------------- redact


_BIRTH = re.compile(r"\b(?:born|birth|birthday|dob|d\.o\.b)\b\W*(?:\w+\W+){0,3}$", re.IGNORECASE)


def _protect(text: str) -> tuple[str, list[str]]:
    """Swap amounts, dates and times for placeholders the number scan does not see (a date
    of birth is not protected: it is a secret)."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        if _BIRTH.search(text[max(0, match.start() - 40) : match.start()]):
            return match.group(0)
        kept.append(match.group(0))
        return chr(_PLACEHOLDER_BASE + len(kept) - 1)

    return _PROTECTED.sub(keep, text), kept


def _restore(text: str, kept: list[str]) -> str:
    for index, original in enumerate(kept):
        text = text.replace(chr(_PLACEHOLDER_BASE + index), original)
    return text


def _card_or_keep(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD if luhn_ok(digits) else match.group(0)


def _names(text: str, names: Iterable[str]) -> str:
    """Known names (whole, then each of their words), then names introduced as one."""
    known = {n.strip() for n in names if len(n.strip()) >= 2}
    known |= {w for n in known for w in n.split() if len(w) >= 2}
    for name in sorted(known, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", NAME, text, flags=re.IGNORECASE)
    text = _INTRODUCED_NAME.sub(lambda m: f"{m.group('lead')} {NAME}", text)
    return _MY_NAME_LOWER.sub(
        lambda m: (
            m.group(0)
            if m.group("name").split()[0].lower() in ("not", "on", "the", "a", "in")
            else f"{m.group('lead')} {NAME}"
        ),
        text,
    )


def redact(
    text: str, *, secrets: bool = False, strict: bool = True, names: Iterable[str] = ()
) -> str:
    """`text` as it may be stored or logged; see the module docstring for what goes.

    Args:
        secrets: the caller is answering verification questions: every number goes.
        strict: stored text (the default): unlabelled numbers of 3+ digits go too, except
            amounts, dates, times and labelled business identifiers. `False` for log lines.
        names: names known on this call (the caller-ID match), removed wherever they occur.

    Idempotent: `redact(redact(t)) == redact(t)`.
    """
    if not text:
        return text
    text = _CONTROL.sub(" ", text)
    text = _EMAIL.sub(EMAIL, text)
    text = _SPOKEN_EMAIL.sub(EMAIL, text)
    text = _SSN_SHAPE.sub(SSN, text)
    text = _CARD_SHAPE.sub(_card_or_keep, text)
    for shape in _PHONE_SHAPES:
        text = shape.sub(PHONE, text)
    text = _names(text, names)
    if secrets:
        return _numbers(text, secrets=True, strict=True)
    protected, kept = _protect(text)
    return _restore(_numbers(protected, secrets=False, strict=strict), kept)


def redact_data(value: Any, *, names: Iterable[str] = ()) -> Any:
    """Every string inside JSON-like data (dicts, lists, tuples) redacted; keys and other
    values as they are. What a call record's JSON body goes through before it is stored."""
    names = tuple(names)
    if isinstance(value, str):
        return redact(value, names=names)
    if isinstance(value, dict):
        return {k: redact_data(v, names=names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, names=names) for v in value]
    return value


def preview(text: str, limit: int = 24) -> str:
    """A short, masked prefix of bad input for an error message: one line, at most `limit`
    characters, redacted, every remaining digit shown as `#` ("'12ab…' is not ...")."""
    line = " ".join(str(text).split())
    cut = line[:limit]
    shown = re.sub(r"\d", "#", redact(cut))
    return shown + ("…" if len(line) > limit else "")


# --------------------------------------------------------------------------- logs

_STANDARD_ATTRS: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class RedactingLogFilter(logging.Filter):
    """Redacts every log record a handler emits (lenient mode: ids stay readable).

    The message (with its arguments) and every string `extra` field are redacted; a field
    whose dotted key has a `pii` part (LiveKit's `lk.pii.text`, `lk.pii.arguments`, ...)
    is dropped to `[redacted]` whole; an exception's text is redacted too. Installed on every
    handler by `callcenter.observability.logs` (after its phone-number mask).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep the template only
            message = str(record.msg)
        record.msg = redact(message, strict=False)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD_ATTRS:
                continue
            if "pii" in key.lower().replace("_", ".").split("."):
                record.__dict__[key] = REDACTED
            elif isinstance(value, str):
                record.__dict__[key] = redact(value, strict=False)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, strict=False)
        return True
