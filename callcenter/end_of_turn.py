"""Context-aware end of turn: has the caller finished, given what this step expects?

Silence alone cuts phone callers off. They read an order number in groups ("one zero …
zero one"), say "um …" before the request, list two things ("my order, and … my bill").
The session's VAD (Silero, `callcenter.turn_taking`) hears the silence; this module
decides whether the words so far are a finished turn:

- **complete**: the turn commits at once (`ENDPOINTING_MIN_DELAY_S` after Silero's end of
  speech): the value the step collects has all its digits, a keyed (DTMF) value, or free
  text that does not trail off;
- **incomplete**: the turn is held, up to `ENDPOINTING_MAX_DELAY_S` of silence, and
  commits early the moment the caller goes on (their next words restart the decision):
  a value short of its digits, a trailing filler ("um"), conjunction ("and"), preposition
  ("for"), article or possessive ("my"), a copula ("my zip code is"), a verb that needs
  more ("I was wondering"), a correction under way ("no, wait"), or the caller looking
  something up ("one moment", "let me find it").

What a step expects is declared where the step is: an agent or task sets the class
attribute `expecting` (e.g. `expecting = end_of_turn.ORDER_NUMBER`); a tool that asks a
yes/no question calls `expect_answer(session, CONFIRMATION)` for the caller's next turn.
Words in the transcript override the step ("my ZIP is …" expects 5 digits anywhere).
Numbers are read as callers say them: digits, digit words, "oh", "double four", "ten oh
one", "forty four seventeen".

The policy is `assess()` (pure, tested line by line in
`tests/callpath/test_callpath_end_of_turn.py`); `CallerTurnDetector` plugs it into
LiveKit as the session's `turn_detection` (the framework's `_TurnDetector` protocol: the
framework asks for the probability that the turn is over and waits `max_delay` instead of
`min_delay` when it is below `unlikely_threshold`).

LiveKit's local audio end-of-turn model (`turn-detector-v1-mini`) is not used: on our
caller fixtures it does not separate a finished number from a half-read one, nor a pause
inside a list from a true end (`python -m benchmarks --only turns` prints its scores at
every pause and every end; BENCHMARKS.md, "Turn-taking"). It would cost ~108 MB per worker
and CPU per pause for no measured gain.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from livekit.agents import llm

from callcenter.vocabulary import FACTOR_DIGITS, KEYPAD_PREFIX

if TYPE_CHECKING:
    from livekit.agents import AgentSession
    from livekit.agents.language import LanguageCode

logger = logging.getLogger("callcenter.end_of_turn")

ORDER_NUMBER_DIGITS: Final = 4
"""Order numbers are 4 digits (demo data 1001-4004; `agents.orders.parse_order_number`
tells the model the same). A test checks every seeded order against it."""
INVOICE_NUMBER_DIGITS: Final = 4
"""Invoice numbers are INV- and 4 digits (INV-2001); callers say the digits."""


@dataclass(frozen=True, slots=True)
class Expecting:
    """What the caller is about to say in this step."""

    name: str
    """For logs and tests ("pin", "order_number", "free_text", ...)."""
    digits: tuple[int, ...] = ()
    """Digit counts of a complete value (a PIN: (4,)); empty when no value is collected."""
    yes_no: bool = False
    """A yes/no question was asked: no value is collected, so a number said here is not
    held for more digits, and a bare yes or no commits at once (as any finished sentence
    does; the verdict names it)."""


FREE_TEXT = Expecting("free_text")
CONFIRMATION = Expecting("confirmation", yes_no=True)
ORDER_NUMBER = Expecting("order_number", digits=(ORDER_NUMBER_DIGITS,))
INVOICE_NUMBER = Expecting("invoice_number", digits=(INVOICE_NUMBER_DIGITS,))
ZIP_CODE = Expecting("zip_code", digits=(FACTOR_DIGITS["zip"],))
PIN = Expecting("pin", digits=(FACTOR_DIGITS["pin"],))
LAST_FOUR = Expecting("last_four", digits=(FACTOR_DIGITS["last_four"],))
IDENTITY_FACTOR = Expecting("identity_factor", digits=tuple(sorted(set(FACTOR_DIGITS.values()))))
"""Verification asks for a ZIP code (5), the account's last four (4) or the PIN (4)."""

# Words in the transcript that say which value follows, whatever the step expects.
_CUES: Final[dict[str, tuple[int, ...]]] = {
    "zip": ZIP_CODE.digits,
    "zipcode": ZIP_CODE.digits,
    "postal": ZIP_CODE.digits,
    "pin": PIN.digits,
    "order": ORDER_NUMBER.digits,
    "invoice": INVOICE_NUMBER.digits,
    "inv": INVOICE_NUMBER.digits,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """`complete`: commit now; otherwise hold. `reason` is static text (no caller words),
    safe to log."""

    complete: bool
    reason: str


# --- spoken numbers ---------------------------------------------------------------------------
_UNITS: Final = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_HOMOPHONES: Final = {"to": "2", "too": "2", "for": "4", "ate": "8", "won": "1"}
"""STT sometimes writes these for digits; they count only between other number words."""
_WEAK_UNITS: Final = frozenset({"oh", "o"})
"""Digits only next to other number words ("oh" alone is an exclamation)."""
_TEENS: Final = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
_TENS: Final = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
_SCALES: Final = {"hundred": 2, "thousand": 3}
_REPEATS: Final = {"double": 2, "triple": 3}


def _strong_number(token: str) -> bool:
    return (
        token.isdigit()
        or (token in _UNITS and token not in _WEAK_UNITS)
        or token in _TEENS
        or token in _TENS
        or token in _SCALES
        or token in _REPEATS
    )


def trailing_number(tokens: list[str]) -> list[str]:
    """The number words the tokens end with ("my pin is four four" → ["four", "four"])."""
    run: list[str] = []
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        if _strong_number(token):
            run.append(token)
            continue
        weak = token in _WEAK_UNITS or token in _HOMOPHONES
        # a weak word counts next to a number word: "one oh", "oh one", "four for two"
        if weak and (run or (i > 0 and _strong_number(tokens[i - 1]))):
            run.append(token)
            continue
        break
    run.reverse()
    # "the last four are …": the "four" of "last four" names the value, it is not in it
    start = len(tokens) - len(run)
    if run and start > 0 and tokens[start - 1] == "last" and run[0] in ("four", "4"):
        run = run[1:]
    while run and (run[0] in _HOMOPHONES or run[0] in _SCALES):
        run = run[1:]  # "for one zero": the "for" is the preposition
    return run


def spoken_digits(words: Iterable[str]) -> str:
    """Digits of a number as said: "ten oh one" → "1001", "double four one seven" →
    "4417", "forty four seventeen" → "4417", "four hundred twelve" → "412"."""
    out = ""
    fill = 0  # trailing zeros of "hundred"/"thousand" the next words may fill
    repeat = 1
    tokens = list(words)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value = ""
        if token.isdigit():
            value = token
        elif token in _UNITS:
            value = _UNITS[token]
        elif token in _HOMOPHONES:
            value = _HOMOPHONES[token]
        elif token in _TEENS:
            value = _TEENS[token]
        elif token in _TENS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt in _UNITS and _UNITS[nxt] != "0":
                value = _TENS[token] + _UNITS[nxt]
                i += 1
            else:
                value = _TENS[token] + "0"
        elif token in _REPEATS:
            repeat = _REPEATS[token]
            i += 1
            continue
        elif token in _SCALES:
            zeros = _SCALES[token]
            out += "0" * zeros
            fill = zeros
            i += 1
            continue
        value *= repeat
        repeat = 1
        if fill and len(value) <= fill:
            out = out[: len(out) - len(value)] + value
        else:
            out += value
        fill = 0
        i += 1
    return out


# --- words that say more is coming ------------------------------------------------------------
_FILLERS: Final = frozenset(
    {"um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm", "like"}
)
_CONJUNCTIONS: Final = frozenset(
    {"and", "or", "but", "because", "cause", "cuz", "plus", "if", "whether", "than"}
)
_DETERMINERS: Final = frozenset({"the", "a", "an", "my", "your", "our", "their"})
_PREPOSITIONS: Final = frozenset(
    {"to", "for", "with", "of", "from", "in", "on", "at", "about", "into", "onto", "by", "via"}
)
_PARTICLE_VERBS: Final = frozenset(
    {"log", "logged", "sign", "signed", "come", "came", "going", "get", "got", "turn", "check"}
)
"""Before "in"/"on" these make a finished phrasal verb ("I can't log in")."""
_COPULAS: Final = frozenset({"is", "are", "was", "were", "am", "be"})
_CONTRACTED_COPULAS: Final = frozenset(
    {"it's", "that's", "there's", "i'm", "we're", "they're", "he's", "she's", "here's"}
)
_SUBJECT_PRONOUNS: Final = frozenset({"it", "that", "this", "there", "they", "he", "she", "i"})
_OPEN_SUBJECTS: Final = frozenset({"i", "we"})
"""A sentence ending on its subject ("and then we") is unfinished; "you" is not ("thank you")."""
_PROJECTING: Final = frozenset(
    {"wondering", "want", "wanted", "need", "needed", "hoping", "trying", "gonna", "wanna"}
)
"""Verbs that announce what follows ("I was wondering", "I need")."""
_WH_WORDS: Final = frozenset(
    {"what", "what's", "which", "who", "who's", "whom", "where", "where's", "how", "how's"}
)
_SEARCH_VERBS: Final = frozenset({"see", "check", "find", "look", "think", "get", "grab", "pull"})
_WAIT_PHRASES: Final = (
    ("hold", "on"),
    ("hang", "on"),
    ("one", "moment"),
    ("one", "moment", "please"),
    ("one", "second"),
    ("one", "sec"),
    ("just", "a", "second"),
    ("just", "a", "sec"),
    ("just", "a", "moment"),
    ("just", "a", "minute"),
    ("bear", "with", "me"),
)
_CORRECTION_PHRASES: Final = (
    ("wait",),
    ("i", "mean"),
    ("no", "sorry"),
    ("sorry", "no"),
    ("no", "actually"),
    ("oh", "sorry"),
)
_VALUE_NOUNS: Final = frozenset({"number", "zip", "code", "pin", "digits", "four"})
_NEGATIONS: Final = frozenset(
    {"not", "no", "don't", "dont", "can't", "cant", "forgot", "lost", "never", "didn't"}
)
_ANSWERS: Final = frozenset(
    {"yes", "yeah", "yep", "yup", "no", "nope", "correct", "right", "sure", "okay", "ok"}
)

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")


def tokens_of(text: str) -> list[str]:
    """Lower-case words and digit runs; punctuation is ignored (STT punctuates every final,
    finished or not)."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


def _ends_with(tokens: list[str], phrase: tuple[str, ...]) -> bool:
    return len(tokens) >= len(phrase) and tuple(tokens[-len(phrase) :]) == phrase


def _expected_digits(tokens: list[str], run_start: int, step: Expecting) -> tuple[int, ...]:
    """Digit counts the trailing number should reach: the nearest cue word before it
    ("zip", "pin", "order", "last four"), else the step's declaration."""
    for i in range(run_start - 1, max(-1, run_start - 8), -1):
        token = tokens[i]
        if token in _CUES:
            return _CUES[token]
        if token == "four" and i > 0 and tokens[i - 1] == "last":
            return LAST_FOUR.digits
    return step.digits


def assess(transcript: str, expecting: Expecting = FREE_TEXT) -> Verdict:
    """Is `transcript` (the caller's words since the last committed turn) a finished turn
    in a step that expects `expecting`? See the module docstring for the rules."""
    if transcript.strip().startswith(KEYPAD_PREFIX):
        return Verdict(True, "keyed digits")
    tokens = tokens_of(transcript)
    if not tokens:
        return Verdict(True, "no words")
    last = tokens[-1]
    before = tokens[-2] if len(tokens) > 1 else ""

    # the caller is looking something up, asked us to wait, or is correcting themselves
    if any(_ends_with(tokens, p) for p in _WAIT_PHRASES):
        return Verdict(False, "caller asked to wait")
    tail = tokens[-5:]
    if any(
        tail[i] == "let" and tail[i + 1] == "me" and tail[i + 2] in _SEARCH_VERBS
        for i in range(len(tail) - 2)
    ):
        return Verdict(False, "caller is looking something up")
    if any(_ends_with(tokens, p) for p in _CORRECTION_PHRASES):
        return Verdict(False, "correction under way")
    if last in _FILLERS:
        return Verdict(False, "trailing filler")

    run = trailing_number(tokens)
    if run:
        expected = _expected_digits(tokens, len(tokens) - len(run), expecting)
        if expected:
            count = len(spoken_digits(run))
            if count < max(expected) and count not in expected:
                return Verdict(False, "value short of its digits")
            return Verdict(True, "value complete")
        return Verdict(True, "ends with a number")

    if last in _CONJUNCTIONS:
        return Verdict(False, "trailing conjunction")
    if last == "so" and before not in {"think", "hope", "guess", "believe", "suppose"}:
        return Verdict(False, "trailing conjunction")
    if last in _DETERMINERS:
        return Verdict(False, "trailing article or possessive")
    # "what is this charge for", "can you tell me where my package is": a wh-word earlier
    # in the sentence is what the stranded preposition or copula belongs to
    wh_clause = bool(_WH_WORDS.intersection(tokens[:-1]))
    if last in _PREPOSITIONS:
        phrasal = last in ("in", "on") and before in _PARTICLE_VERBS
        if not wh_clause and not phrasal:
            return Verdict(False, "trailing preposition")
    if last in _CONTRACTED_COPULAS or (
        last in _COPULAS and before not in _SUBJECT_PRONOUNS and not wh_clause
    ):
        return Verdict(False, "trailing copula")
    if last in _OPEN_SUBJECTS or last in _PROJECTING:
        return Verdict(False, "sentence needs more")
    if (
        expecting.digits
        and last in _VALUE_NOUNS
        and not wh_clause
        and not _NEGATIONS.intersection(tokens)
    ):
        return Verdict(False, "value announced, not given")
    if expecting.yes_no and _ANSWERS.intersection(tokens):
        return Verdict(True, "yes/no answer")
    return Verdict(True, "finished sentence")


# --- the session's turn detector --------------------------------------------------------------
COMPLETE_PROBABILITY: Final = 1.0
INCOMPLETE_PROBABILITY: Final = 0.0
UNLIKELY_THRESHOLD: Final = 0.5
"""The framework holds the turn (`max_delay`) when the probability is below this."""


def declared_expectation(agent: object) -> Expecting:
    """What an agent or task declares it collects (`expecting`), or free text."""
    value = getattr(agent, "expecting", None)
    return value if isinstance(value, Expecting) else FREE_TEXT


class CallerTurnDetector:
    """`turn_detection` for the call's `AgentSession` (LiveKit's `_TurnDetector`
    protocol), deciding with `assess()` from the current step's expectation.

    One per session: `attach(session)` once the session exists (`callcenter.call`).
    """

    def __init__(self) -> None:
        self._session: AgentSession[Any] | None = None
        self._next_answer: Expecting | None = None
        self.last_verdict: Verdict | None = None
        """The latest decision (tests and the turn-taking benchmark read it)."""

    @property
    def model(self) -> str:
        return "callcenter-context"

    @property
    def provider(self) -> str:
        return "callcenter"

    def attach(self, session: AgentSession[Any]) -> None:
        self._session = session
        session.on("conversation_item_added", self._on_item)

    def _on_item(self, ev: Any) -> None:
        item = getattr(ev, "item", None)
        if isinstance(item, llm.ChatMessage) and item.role == "user":
            self._next_answer = None  # the answer came: back to the step's declaration

    def expect_answer(self, expecting: Expecting) -> None:
        """The caller's next turn answers a question that expects `expecting`."""
        self._next_answer = expecting

    def expecting(self) -> Expecting:
        if self._next_answer is not None:
            return self._next_answer
        if self._session is None:
            return FREE_TEXT
        try:
            agent = self._session.current_agent
        except RuntimeError:  # the session is not running (yet, or any more)
            return FREE_TEXT
        return declared_expectation(agent)

    async def unlikely_threshold(self, language: LanguageCode | None) -> float | None:
        return UNLIKELY_THRESHOLD

    async def supports_language(self, language: LanguageCode | None) -> bool:
        # the word lists are English; another language falls back to silence alone
        return language is None or language.language == "en"

    async def predict_end_of_turn(
        self, chat_ctx: llm.ChatContext, *, timeout: float | None = None
    ) -> float:
        transcript = _current_transcript(chat_ctx)
        expecting = self.expecting()
        verdict = assess(transcript, expecting)
        self.last_verdict = verdict
        logger.debug(
            "end of turn",
            extra={
                "expecting": expecting.name,
                "complete": verdict.complete,
                "why": verdict.reason,
            },
        )
        return COMPLETE_PROBABILITY if verdict.complete else INCOMPLETE_PROBABILITY


def _current_transcript(chat_ctx: llm.ChatContext) -> str:
    """The caller's words so far: the framework appends them as the last user message."""
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage):
            return (item.text_content or "") if item.role == "user" else ""
    return ""


def attach(session: AgentSession[Any]) -> None:
    """Give the session's detector (from `turn_taking.telephony_turn_handling`) its session,
    so it can ask the current agent what it expects. No-op for other turn detection."""
    if (detector := detector_of(session)) is not None:
        detector.attach(session)


def detector_of(session: AgentSession[Any]) -> CallerTurnDetector | None:
    """The session's context-aware detector, if it has one (text sessions do not)."""
    detector = session.turn_detection
    return detector if isinstance(detector, CallerTurnDetector) else None


def expect_answer(session: AgentSession[Any], expecting: Expecting) -> None:
    """Declare what the caller's next turn answers (e.g. a tool that asks "should I cancel
    it?" → `CONFIRMATION`). No-op on a session without the detector."""
    if (detector := detector_of(session)) is not None:
        detector.expect_answer(expecting)


def current_expectation(session: AgentSession[Any]) -> Expecting:
    """What the caller is expected to say or key now (the keypad router reads it)."""
    if (detector := detector_of(session)) is not None:
        return detector.expecting()
    try:
        return declared_expectation(session.current_agent)
    except RuntimeError:
        return FREE_TEXT


def keyed_value_complete(digits: str, expecting: Expecting) -> bool:
    """Keyed digits make a whole value: the longest count the step expects is reached.
    (4 keys of a step that takes 4 or 5 wait for a possible fifth.)"""
    return bool(expecting.digits) and len(digits) >= max(expecting.digits)
