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
  something up ("one moment", "let me find it");
- **brief**: a whole sentence after which callers usually go on is held for a beat
  (`ENDPOINTING_BRIEF_HOLD_S`, 1.2 s of silence), then commits: a topic announced with
  the request still to come ("I have a question about my bill", "I'm calling about my
  order", "quick question"), or a bare "no"/"yes"/"okay"/"well" where the step asked for a
  number ("no … one zero zero two" corrects, "okay … one zero" reads it out). A bare
  "no" that answers a yes/no question (`CONFIRMATION`) or "anything else?" (free text)
  commits at once.

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

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from livekit.agents import llm

from callcenter.spoken_numbers import spoken_digits, trailing_number
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
    brief: bool = False
    """Held for a beat only (`CallerTurnDetector`'s `brief_wait_s`), not up to the full
    hold: the words are a whole sentence, but callers usually go on ("I have a question
    about my bill …", a bare "no" where a number was asked for)."""


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

_DISCOURSE_MARKERS: Final = frozenset({"basically"})
"""Words that launch what the caller is about to say ("so basically …")."""
_OPENERS: Final = r"(?:(?:hi|hello|hey|yeah|yes|so|um|uh|well|okay|ok|oh|and|also|right|alright) )*"
_PREAMBLE: Final = re.compile(
    rf"^{_OPENERS}"
    r"(?:(?:(?:i|we) (?:have|had|got)|i've got|we've got|i've|we've)"
    r"(?: just)?(?: a| one| two| some| another| a couple of| a few)?"
    r"(?: quick| small| little| simple| general)? (?:question|questions)"
    r"|(?:just )?(?:a |one )?(?:quick|small) question"
    r"|(?:i'm|i am|we're|we are|i was) calling(?: you)?"
    r"|here's the thing|long story short)"
    r"(?P<topic>(?: (?:about|regarding|concerning|on|with|for|re)(?: [a-z0-9']+){1,5})?)$"
)
"""A topic announced, the request still to come: "I have a question about my bill", "I'm
calling about my order", "quick question". What follows the announcement may only name one
short topic ("about my bill"), not ask the question ("… about why I was charged twice") or
list topics ("… about my bill and also about a return": the caller has said what they
called about, and the agent can take the turn)."""
_NOT_A_TOPIC: Final = _CONJUNCTIONS | {"why", "how", "what", "when", "where", "which", "also"}
_BARE_WORDS: Final = _ANSWERS | {"well", "alright", "oh"}
"""A turn of only these words ("no", "yes", "okay", "well") answers no value."""

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
    if last in _DISCOURSE_MARKERS:
        return Verdict(False, "trailing discourse marker")

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
    # whole sentences after which callers usually go on: a beat, not the full hold
    if expecting.digits and _BARE_WORDS.issuperset(tokens):
        # the step asked for a number: "no …" corrects or declines, "okay …" reads it out
        return Verdict(False, "bare answer, the value not given", brief=True)
    if last == "well" and _ANSWERS.issuperset(tokens[:-1]):
        return Verdict(False, "opening word", brief=True)
    preamble = _PREAMBLE.match(" ".join(tokens))
    if preamble and not _NOT_A_TOPIC.intersection(preamble["topic"].split()):
        return Verdict(False, "topic announced, request to come", brief=True)
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

    A complete verdict answers "over" (the framework commits after its `min_delay`), an
    incomplete one "not over" (it waits its `max_delay`). The framework has no delay in
    between, so a *brief* hold is the detector taking `brief_wait_s` to answer "over",
    counted from the first time it heard these words (the framework asks at Silero's end
    of speech, and again when a late transcript arrives). The framework cancels that
    wait, as it cancels its own, the moment the caller speaks again (VAD start of
    speech); their next words are then judged afresh.
    """

    def __init__(
        self,
        *,
        brief_wait_s: float,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`brief_wait_s`: the beat a brief hold waits (`callcenter.turn_taking` sets it);
        `sleep` and `clock` are for tests."""
        self._session: AgentSession[Any] | None = None
        self._next_answer: Expecting | None = None
        self._brief_wait_s = brief_wait_s
        self._sleep = sleep
        self._clock = clock
        self._heard: tuple[str, float] | None = None
        """The words of the pending turn and when they were first judged."""
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
            self._heard = None  # committed: the next turn's words start a new wait

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
        """Over (1.0) or not (0.0), after the beat for a brief hold. `timeout` is in the
        framework's protocol only: LiveKit 1.8.9 never passes it (`AudioRecognition` calls
        `predict_end_of_turn(chat_ctx)`, `tests/framework`), so it is not used."""
        transcript = _current_transcript(chat_ctx)
        expecting = self.expecting()
        verdict = assess(transcript, expecting)
        self.last_verdict = verdict
        logger.debug(
            "end of turn",
            extra={
                "expecting": expecting.name,
                "complete": verdict.complete,
                "brief": verdict.brief,
                "why": verdict.reason,
            },
        )
        if verdict.brief:
            await self._wait_a_beat(transcript)
            return COMPLETE_PROBABILITY
        return COMPLETE_PROBABILITY if verdict.complete else INCOMPLETE_PROBABILITY

    async def _wait_a_beat(self, transcript: str) -> None:
        now = self._clock()
        if self._heard is None or self._heard[0] != transcript:
            self._heard = (transcript, now)
        remaining = self._heard[1] + self._brief_wait_s - now
        if remaining > 0:
            await self._sleep(remaining)  # cancelled by the framework if the caller goes on


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
