"""PII at rest and in logs (issue 11 findings), each reproduced through the product's own
path: a scripted call's transcript and record, the tickets a tool writes, the database's
error text and debug log, the supervisor's briefing."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.behaviours.call_record import CallRecorder
from callcenter.behaviours.transcript import Transcript
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.data import CallRecordStore, Database, TicketStore
from callcenter.data.models import Return, Ticket
from callcenter.escalation.briefing import briefing_text
from tests.callpath.helpers import (
    MAYA,
    MAYA_PIN,
    MAYA_ZIP,
    FakeEscalation,
    make_state,
    running_session,
)
from tests.support.scripted_llm import ScriptedLLM, call, say

CARD = "4111 1111 1111 1111"
SECRETS = ("4421", "94107", "maya.patel@example.com", "Patel", "4111", "415 555 0142", "0142")


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


async def test_pin_zip_name_and_email_said_in_the_greeting_are_not_stored(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation)
    scripted = ScriptedLLM(say("Hello, how can I help?"), say("Sure."), say("Sure."))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        transcript = Transcript(state).attach(session)
        await session.run(user_input="Hi, this is Maya Patel, my PIN is 4421 and my ZIP 94107")
        await session.run(user_input="email me at maya.patel@example.com")
    stored = " ".join(str(line["text"]) for line in transcript.as_record())
    assert _leaks(stored) == [], stored


async def test_a_pin_said_after_a_lock_and_a_failed_transfer_is_not_stored(
    db: Database, settings: Settings
) -> None:
    """The lock ends the verification and the failed transfer returns to the greeting: what
    the caller says next is no longer in the verification phase."""
    state = await make_state(db, settings, FakeEscalation(succeed=False))
    wrong = [call("check_pin", pin=p) for p in ("1111", "2222", "3333")]
    scripted = ScriptedLLM(
        say("Hello, how can I help?"),
        call("route_to_orders"),
        say("Your ZIP, PIN or last four?"),
        wrong[0],
        say("No match."),
        wrong[1],
        say("No match."),
        wrong[2],
        say("No match."),
        say("Nobody is free, sorry."),
        say("Go ahead."),
    )
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        transcript = Transcript(state).attach(session)
        await session.run(user_input="my order")
        for _ in range(3):
            await session.run(user_input="1111")
        assert state.phase is Phase.GREETING
        await session.run(user_input=f"wait, my pin is {MAYA_PIN} and zip {MAYA_ZIP}")
    stored = " ".join(str(line["text"]) for line in transcript.as_record())
    assert _leaks(stored) == [], stored


async def test_a_pin_said_while_on_hold_is_not_stored(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation, verified=True, phase=Phase.ESCALATION)
    scripted = ScriptedLLM(say("Please hold."), say("Still holding."))
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        transcript = Transcript(state).attach(session)
        await session.run(user_input=f"hurry, my pin is {MAYA_PIN}, zip {MAYA_ZIP}")
    stored = " ".join(str(line["text"]) for line in transcript.as_record())
    assert _leaks(stored) == [], stored


async def test_text_the_model_writes_is_redacted_before_it_is_stored(
    db: Database, settings: Settings
) -> None:
    """Transfer and callback reasons, a spoken callback time, return reasons: written by the
    model, stored in the record and the tickets table."""
    escalation = FakeEscalation(succeed=False)
    state = await make_state(db, settings, escalation, verified=True, phase=Phase.ORDERS)
    from callcenter.escalation.manager import EscalationManager  # noqa: F401 (real tickets)

    store = CallRecordStore(db)
    transcript = Transcript(state)
    recorder = CallRecorder(state, store, transcript)
    await recorder.open()
    scripted = ScriptedLLM(
        say("What can I do?"),
        call("transfer_to_human", reason=f"caller gave PIN {MAYA_PIN} and card {CARD}"),
        say("Nobody is free."),
        call(
            "start_return",
            order_number="1003",
            reason="broken; refund to card 4111-1111-1111-1111, SSN 123-45-6789",
        ),
        say("Return started."),
    )
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input="a person please")
        await session.run(user_input="then return order 1003")
    state.caller_hung_up()
    state.session_closed(error=False)
    await recorder.close()
    tickets = TicketStore(db)
    view = await tickets.create_callback(
        MAYA, f"card {CARD} phone 415 555 0142", preferred_time="call 415 555 0142 after 5"
    )
    assert view.id > 0
    async with db.session() as s:
        rows = [
            str(r)
            for r in (
                await s.execute(sa.select(Ticket.reason, Ticket.summary, Ticket.preferred_time))
            ).all()
        ]
        rows += [str(r) for r in (await s.execute(sa.select(Return.reason))).all()]
    record = await store.get(state.call.call_id)
    assert record is not None
    stored = " ".join(rows) + str(record.data) + str(record.transcript)
    assert [s for s in ("4111", "4421", "123-45-6789", "555 0142") if s in stored] == [], stored


async def test_database_errors_carry_no_parameters(db: Database) -> None:
    """A failed write's exception text (what a log line prints) has no parameters."""
    with pytest.raises(sa.exc.IntegrityError) as failed:
        await TicketStore(db).create_callback(MAYA, "reason", customer_id=999_999)
    assert "4155550142" not in str(failed.value)


async def test_debug_logging_shows_no_statement_parameters(
    db_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    database = await Database.open(f"sqlite+aiosqlite:///{db_path}")
    try:
        from callcenter.data import CustomerDirectory

        assert await CustomerDirectory(database).find_by_phone(MAYA) is not None
    finally:
        await database.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "4155550142" not in text


async def test_the_briefing_model_never_receives_raw_values(
    db: Database, settings: Settings, escalation: FakeEscalation
) -> None:
    state = await make_state(db, settings, escalation, verified=True, phase=Phase.ORDERS)
    scripted = ScriptedLLM(say("Hello."), say("OK."))
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input=f"my pin is {MAYA_PIN}, card {CARD}, call 415 555 0142")
        text = briefing_text(
            state, session.history, reason=f"card {CARD}", company="Northwind Supply"
        )
    assert [s for s in ("4421", "4111", "0142") if s in text] == [], text
