"""The end-of-turn policy (`callcenter.end_of_turn`): what counts as a finished caller turn
in each step, how a step declares what it expects, and the framework adapter.

The audio-level proof (real Silero VAD, the session holding and committing turns as
callers pause) is `tests/fallbacks/test_turn_taking_audio.py`.
"""

from __future__ import annotations

import asyncio

import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.language import LanguageCode
from livekit.agents.testing import fake_job_context

from callcenter import end_of_turn
from callcenter.agents.billing import BillingAgent
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.verification import VerifyCallerTask
from callcenter.data.seed import DEMO_CUSTOMERS
from callcenter.end_of_turn import (
    CONFIRMATION,
    FREE_TEXT,
    IDENTITY_FACTOR,
    INVOICE_NUMBER,
    ORDER_NUMBER,
    PIN,
    CallerTurnDetector,
    Expecting,
    assess,
)
from callcenter.spoken_numbers import spoken_digits
from callcenter.turn_taking import telephony_turn_handling
from tests.support.scripted_llm import ScriptedLLM, say

HOLD, COMMIT, BEAT = "hold", "commit", "beat"
"""Held up to the full hold, committed at once, held a beat (`Verdict.brief`)."""

CASES: list[tuple[str, Expecting, bool, str]] = [
    # digits said in groups: held until the value has its digits
    ("my order number is one zero", ORDER_NUMBER, HOLD, "value short of its digits"),
    ("my order number is one zero zero one", ORDER_NUMBER, COMMIT, "value complete"),
    ("ten", ORDER_NUMBER, HOLD, "value short of its digits"),
    ("ten oh three", ORDER_NUMBER, COMMIT, "value complete"),
    ("one double oh", ORDER_NUMBER, HOLD, "value short of its digits"),
    ("one double oh one", ORDER_NUMBER, COMMIT, "value complete"),
    ("forty four seventeen", ORDER_NUMBER, COMMIT, "value complete"),
    ("10 01", ORDER_NUMBER, COMMIT, "value complete"),
    ("nine four", IDENTITY_FACTOR, HOLD, "value short of its digits"),
    ("four four two one", IDENTITY_FACTOR, COMMIT, "value complete"),
    ("nine four one oh seven", IDENTITY_FACTOR, COMMIT, "value complete"),
    ("four four two", PIN, HOLD, "value short of its digits"),
    # known limit: 4 digits is a whole PIN or last four, so a ZIP code read 4 + 1 without
    # the word "zip" commits after the fourth digit
    ("nine four one zero", IDENTITY_FACTOR, COMMIT, "value complete"),
    # words before the number say which value it is, whatever the step
    ("my zip code is nine four one oh", IDENTITY_FACTOR, HOLD, "value short of its digits"),
    ("my zip code is nine four one oh seven", IDENTITY_FACTOR, COMMIT, "value complete"),
    ("the last four are zero zero", IDENTITY_FACTOR, HOLD, "value short of its digits"),
    ("the last four are zero zero four two", IDENTITY_FACTOR, COMMIT, "value complete"),
    ("invoice two zero", FREE_TEXT, HOLD, "value short of its digits"),
    ("it's for order one zero", FREE_TEXT, HOLD, "value short of its digits"),
    # a number where no value is expected is just a number
    ("I was charged 40", FREE_TEXT, COMMIT, "ends with a number"),
    ("I was charged forty", CONFIRMATION, COMMIT, "ends with a number"),
    # a value announced but not given yet
    ("the number I have is", ORDER_NUMBER, HOLD, "trailing copula"),
    ("my order number", ORDER_NUMBER, HOLD, "value announced, not given"),
    ("I don't have my order number", ORDER_NUMBER, COMMIT, "finished sentence"),
    ("what's my order number", ORDER_NUMBER, COMMIT, "finished sentence"),
    # hesitations
    ("um", FREE_TEXT, HOLD, "trailing filler"),
    ("I need help with uh", FREE_TEXT, HOLD, "trailing filler"),
    ("uh I was wondering", FREE_TEXT, HOLD, "sentence needs more"),
    ("I need", FREE_TEXT, HOLD, "sentence needs more"),
    ("hold on", ORDER_NUMBER, HOLD, "caller asked to wait"),
    ("one moment please", ORDER_NUMBER, HOLD, "caller asked to wait"),
    ("let me find it", ORDER_NUMBER, HOLD, "caller is looking something up"),
    ("let me get my card", FREE_TEXT, HOLD, "caller is looking something up"),
    # lists and trailing function words
    ("I want to check on my order and", FREE_TEXT, HOLD, "trailing conjunction"),
    ("one zero zero one and", ORDER_NUMBER, HOLD, "trailing conjunction"),
    ("so", FREE_TEXT, HOLD, "trailing conjunction"),
    ("I think so", FREE_TEXT, COMMIT, "finished sentence"),
    ("I'd like to", FREE_TEXT, HOLD, "trailing preposition"),
    ("I was charged twice for", FREE_TEXT, HOLD, "trailing preposition"),
    ("can you check the", FREE_TEXT, HOLD, "trailing article or possessive"),
    ("it's", FREE_TEXT, HOLD, "trailing copula"),
    ("and then we", FREE_TEXT, HOLD, "sentence needs more"),
    # questions and phrasal verbs end on a preposition and are finished
    ("what is this charge for", FREE_TEXT, COMMIT, "finished sentence"),
    ("who am I speaking to", FREE_TEXT, COMMIT, "finished sentence"),
    ("can you tell me where my package is", FREE_TEXT, COMMIT, "finished sentence"),
    ("can you tell me what this charge is for", FREE_TEXT, COMMIT, "finished sentence"),
    ("I can't log in", FREE_TEXT, COMMIT, "finished sentence"),
    ("yes it is", FREE_TEXT, COMMIT, "finished sentence"),
    ("thank you", FREE_TEXT, COMMIT, "finished sentence"),
    # corrections
    ("it's one zero zero three no wait", ORDER_NUMBER, HOLD, "correction under way"),
    ("one zero zero sorry one zero zero five", ORDER_NUMBER, COMMIT, "value complete"),
    ("nine four one no sorry", IDENTITY_FACTOR, HOLD, "correction under way"),
    # yes/no questions
    ("yes", CONFIRMATION, COMMIT, "yes/no answer"),
    ("no don't cancel it", CONFIRMATION, COMMIT, "yes/no answer"),
    ("yes and", CONFIRMATION, HOLD, "trailing conjunction"),
    # whole sentences after which callers usually go on: held a beat, then committed
    ("I have a question about my bill", FREE_TEXT, BEAT, "topic announced, request to come"),
    ("hi I'm calling about my order", FREE_TEXT, BEAT, "topic announced, request to come"),
    ("quick question", FREE_TEXT, BEAT, "topic announced, request to come"),
    ("I've got a couple of questions", FREE_TEXT, BEAT, "topic announced, request to come"),
    ("here's the thing", FREE_TEXT, BEAT, "topic announced, request to come"),
    # ... but not once the question is asked, a request made, or topics listed
    ("I have a question about why I was charged twice", FREE_TEXT, COMMIT, "finished sentence"),
    ("I have a question, can you waive the late fee", FREE_TEXT, COMMIT, "finished sentence"),
    ("I have a question about my bill and a return", FREE_TEXT, COMMIT, "finished sentence"),
    ("I'm calling to cancel my order", FREE_TEXT, COMMIT, "finished sentence"),
    ("I need help with a charge on my bill", FREE_TEXT, COMMIT, "finished sentence"),
    ("so basically", FREE_TEXT, HOLD, "trailing discourse marker"),
    ("the thing is", FREE_TEXT, HOLD, "trailing copula"),
    # a bare answer where a number was asked for ("no … one zero zero two")
    ("no", ORDER_NUMBER, BEAT, "bare answer, the value not given"),
    ("okay", IDENTITY_FACTOR, BEAT, "bare answer, the value not given"),
    ("no I don't have it", ORDER_NUMBER, COMMIT, "finished sentence"),
    ("no", CONFIRMATION, COMMIT, "yes/no answer"),
    ("no", FREE_TEXT, COMMIT, "finished sentence"),  # "anything else?" "no"
    ("well", FREE_TEXT, BEAT, "opening word"),
    ("oh well", FREE_TEXT, COMMIT, "finished sentence"),
    # keyed digits are complete as keyed; punctuation from STT is ignored
    ("(keypad) 44", PIN, COMMIT, "keyed digits"),
    ("My order number is.", ORDER_NUMBER, HOLD, "trailing copula"),
    ("I want to check on my order.", FREE_TEXT, COMMIT, "finished sentence"),
    ("", FREE_TEXT, COMMIT, "no words"),
]


@pytest.mark.parametrize(("text", "expecting", "decision", "reason"), CASES)
def test_assess(text: str, expecting: Expecting, decision: str, reason: str) -> None:
    verdict = assess(text, expecting)
    got = BEAT if verdict.brief else COMMIT if verdict.complete else HOLD
    assert (got, verdict.reason) == (decision, reason)
    assert not (verdict.brief and verdict.complete)


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("one zero zero one", "1001"),
        ("ten oh one", "1001"),
        ("double four one seven", "4417"),
        ("forty four seventeen", "4417"),
        ("nineteen ninety nine", "1999"),
        ("four hundred twelve", "412"),
        ("four hundred five", "405"),
        ("two thousand three", "2003"),
        ("twenty", "20"),
        ("9 4 1 0 7", "94107"),
        ("four for two one", "4421"),
    ],
)
def test_spoken_digits(words: str, digits: str) -> None:
    assert spoken_digits(words.split()) == digits


def test_value_formats_match_the_demo_data() -> None:
    """The digit counts the policy waits for are the data's: if order or invoice numbers
    change format, this fails instead of callers being cut off mid-number."""
    for customer in DEMO_CUSTOMERS:
        assert all(len(n) in ORDER_NUMBER.digits for n in customer.order_numbers)
        for invoice in customer.invoice_numbers:
            prefix, _, digits = invoice.partition("-")
            assert prefix == "INV" and digits.isdigit() and len(digits) in INVOICE_NUMBER.digits
        assert len(customer.zip_code) in end_of_turn.ZIP_CODE.digits
        assert len(customer.pin) in PIN.digits
        assert len(customer.last_four) in end_of_turn.LAST_FOUR.digits


def test_every_collecting_step_declares_what_it_expects() -> None:
    assert VerifyCallerTask.expecting is IDENTITY_FACTOR
    assert OrdersAgent.expecting is ORDER_NUMBER
    assert BillingAgent.expecting is INVOICE_NUMBER
    assert end_of_turn.declared_expectation(GreetingAgent) is FREE_TEXT
    assert end_of_turn.declared_expectation(object()) is FREE_TEXT


def test_the_phone_session_gets_a_fresh_context_detector_and_the_console_none() -> None:
    first = telephony_turn_handling(has_stt=True)["turn_detection"]
    second = telephony_turn_handling(has_stt=True)["turn_detection"]
    assert isinstance(first, CallerTurnDetector) and isinstance(second, CallerTurnDetector)
    assert first is not second  # one per session: each holds its session's expectations
    assert telephony_turn_handling(has_stt=False)["turn_detection"] == "manual"


async def test_detector_probabilities_follow_the_verdict() -> None:
    detector = CallerTurnDetector(brief_wait_s=0.8)
    threshold = await detector.unlikely_threshold(None)
    assert threshold is not None
    chat = llm.ChatContext()
    chat.add_message(role="assistant", content="What's your order number?")
    chat.add_message(role="user", content="um")
    assert await detector.predict_end_of_turn(chat) < threshold
    assert detector.last_verdict == end_of_turn.Verdict(False, "trailing filler")
    chat.add_message(role="user", content="I want to check on my order")
    assert await detector.predict_end_of_turn(chat) >= threshold
    assert await detector.supports_language(LanguageCode("en-US"))
    assert not await detector.supports_language(LanguageCode("es"))


class _Beat:
    """A clock the test moves and a sleep that records what it was asked to wait."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))


def _caller_said(text: str) -> llm.ChatContext:
    chat = llm.ChatContext()
    chat.add_message(role="assistant", content="How can I help?")
    chat.add_message(role="user", content=text)
    return chat


async def test_a_brief_hold_waits_a_beat_from_when_the_words_were_first_heard() -> None:
    beat = _Beat()
    detector = CallerTurnDetector(brief_wait_s=0.8, sleep=beat.sleep, clock=beat.clock)
    threshold = await detector.unlikely_threshold(None)
    assert threshold is not None
    topic = _caller_said("I have a question about my bill")
    # at Silero's end of speech: the whole beat, then "over"
    assert await detector.predict_end_of_turn(topic) >= threshold
    assert detector.last_verdict is not None and detector.last_verdict.brief
    assert beat.waits == [0.8]
    # asked again for the same words (a late transcript): only what is left of the beat
    beat.now += 0.3
    assert await detector.predict_end_of_turn(topic) >= threshold
    assert beat.waits == [0.8, 0.5]
    beat.now += 1.0
    assert await detector.predict_end_of_turn(topic) >= threshold
    assert beat.waits == [0.8, 0.5]  # the beat is over: no wait
    # the caller went on: new words, a new verdict (here complete, no wait)
    more = _caller_said("I have a question about my bill, why is it so high")
    assert await detector.predict_end_of_turn(more) >= threshold
    assert beat.waits == [0.8, 0.5]
    # the beat is the detector's own: a `timeout` (in the protocol, never passed by LiveKit
    # 1.8.9: tests/framework) does not shorten it; a full hold is "not over" without waiting
    assert await detector.predict_end_of_turn(_caller_said("quick question"), timeout=0.2) >= 1
    assert beat.waits == [0.8, 0.5, 0.8]
    assert await detector.predict_end_of_turn(_caller_said("um")) < threshold
    assert beat.waits == [0.8, 0.5, 0.8]


async def test_a_cancelled_beat_is_not_turned_into_a_decision() -> None:
    """LiveKit cancels its pending end-of-turn decision at the VAD's start of speech; the
    beat lets that cancellation through (it never swallows it and answers "turn over").
    That the framework does cancel it is proven on real audio in
    tests/fallbacks/test_turn_taking_audio.py (h11 reaches the model as one turn)."""
    never = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await never.wait()

    detector = CallerTurnDetector(brief_wait_s=0.8, sleep=sleep)
    waiting = asyncio.create_task(detector.predict_end_of_turn(_caller_said("quick question")))
    await asyncio.sleep(0)
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


class _CollectsOrder(Agent):
    expecting = ORDER_NUMBER

    def __init__(self) -> None:
        super().__init__(instructions="test")


async def test_a_committed_turn_starts_the_next_beat_afresh() -> None:
    """The same words in the next turn ("no", later "no" again) wait a whole beat."""
    beat = _Beat()
    detector = CallerTurnDetector(brief_wait_s=0.8, sleep=beat.sleep, clock=beat.clock)
    session: AgentSession[None] = AgentSession(
        llm=ScriptedLLM(say("What's the order number?")), turn_handling={"turn_detection": detector}
    )
    end_of_turn.attach(session)
    with fake_job_context(room=rtc.Room()):
        await session.start(_CollectsOrder())
        try:
            assert await detector.predict_end_of_turn(_caller_said("no")) == 1.0
            beat.now += 5.0
            assert await detector.predict_end_of_turn(_caller_said("no")) == 1.0
            assert beat.waits == [0.8]  # same turn, beat over
            await session.run(user_input="no")  # the turn is committed
            assert await detector.predict_end_of_turn(_caller_said("no")) == 1.0
            assert beat.waits == [0.8, 0.8]
        finally:
            await session.aclose()


class _CollectsPin(Agent):
    expecting = PIN

    def __init__(self) -> None:
        super().__init__(instructions="test")


async def test_expectation_follows_the_agent_and_a_question_lasts_one_turn() -> None:
    """The detector asks the running agent what it expects; `expect_answer` overrides it
    for the caller's next turn only."""
    turn_handling = telephony_turn_handling(has_stt=True)
    session: AgentSession[None] = AgentSession(
        llm=ScriptedLLM(say("first"), say("second")), turn_handling=turn_handling
    )
    end_of_turn.attach(session)
    detector = end_of_turn.detector_of(session)
    assert detector is not None
    assert detector.expecting() is FREE_TEXT  # not started yet
    with fake_job_context(room=rtc.Room()):
        await session.start(_CollectsPin())
        try:
            assert end_of_turn.current_expectation(session) is PIN
            end_of_turn.expect_answer(session, CONFIRMATION)
            assert end_of_turn.current_expectation(session) is CONFIRMATION
            await session.run(user_input="yes")
            assert end_of_turn.current_expectation(session) is PIN
        finally:
            await session.aclose()


async def test_expect_answer_is_a_no_op_without_the_detector() -> None:
    session: AgentSession[None] = AgentSession(turn_handling={"turn_detection": "manual"})
    end_of_turn.expect_answer(session, CONFIRMATION)  # no error
    assert end_of_turn.detector_of(session) is None
