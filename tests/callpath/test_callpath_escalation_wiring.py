"""transfer_to_human and request_callback are reachable from every phase, and reach the real
escalation manager: a console call (no SIP leg) is handed over as a simulated transfer and
ends, nobody on duty brings the caller back where they were, a callback is a real ticket.

Nothing here is written by a test double: the manager decides, `CallState` records, and the
tests read what they did (the Twirp side of phone transfers is tests/escalation/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from livekit.agents import Agent

from callcenter import prompts
from callcenter.agents.catalog import PHASE_AGENTS
from callcenter.agents.verification import VerifyCallerTask
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database, TicketStore
from callcenter.escalation.manager import EscalationManager
from callcenter.escalation.roster import StaticDirectory, Supervisor
from callcenter.escalation.wiring import build_escalation
from callcenter.vocabulary import CallOutcome, TransferOutcome
from tests.callpath.helpers import (
    MAYA,
    is_call,
    make_state,
    output_of,
    running_session,
    said,
    then,
)
from tests.support.scripted_llm import ScriptedLLM, Step, call, say

MONDAY_10AM_LA = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
SAM = Supervisor.create(
    name="Sam Supervisor",
    contact="+14155550100",
    skills=["general", "orders", "billing"],
    timezone="America/Los_Angeles",
    working_hours="mon-fri 08:00-18:00",
)
REASON = "caller asked for a person"
PHASES = [*PHASE_AGENTS, Phase.VERIFICATION]


def _manager(settings: Settings, db: Database, *, on_duty: bool) -> EscalationManager:
    """The production manager; only the roster and the clock are pinned."""
    return build_escalation(
        settings,
        db,
        directory=StaticDirectory([SAM] if on_duty else []),
        clock=lambda: MONDAY_10AM_LA,
    )


async def _call_in(
    phase: Phase, db: Database, settings: Settings, escalation: Any
) -> tuple[CallState, Agent, list[Step], str | None]:
    """State + first agent + the script that brings the call to `phase`, + the turn that
    gets it there (None when the call starts in it)."""
    if phase is Phase.VERIFICATION:
        state = await make_state(db, settings, escalation)
        steps = [say("Hello."), call("route_to_orders"), say("Your ZIP code, please?")]
        return state, PHASE_AGENTS[Phase.GREETING](state), steps, "my order"
    state = await make_state(db, settings, escalation, phase=phase, verified=True)
    return state, PHASE_AGENTS[phase](state), [say("Hello.")], None


@pytest.mark.parametrize("phase", PHASES, ids=str)
async def test_transfer_success_ends_the_call(
    db: Database, settings: Settings, phase: Phase
) -> None:
    state, agent, steps, first_turn = await _call_in(
        phase, db, settings, _manager(settings, db, on_duty=True)
    )
    scripted = ScriptedLLM(
        *steps, call("transfer_to_human", reason=REASON), lambda r: say(r.last_tool_output())
    )
    async with running_session(state, scripted, agent) as session:
        if first_turn:
            await session.run(user_input=first_turn)
        assert state.phase is phase
        assert "transfer_to_human" in scripted.requests[-1].tool_names
        before = len(state.phase_history)
        result = await session.run(user_input="let me talk to a person")
        is_call(result.expect.next_event(), "transfer_to_human", reason=REASON)
        output = output_of(result.expect.next_event())
        spoken = result.expect.next_event().is_message(role="assistant").event().item
        result.expect.no_more_events()
    assert said(output) == prompts.line("escalation.simulated", supervisor="Sam Supervisor")
    assert spoken.text_content == output
    assert state.phase is Phase.ENDED
    assert state.outcome is CallOutcome.TRANSFERRED and state.transferred_to == "Sam Supervisor"
    [attempt] = state.transfer_attempts
    assert (attempt.mode, attempt.supervisor, attempt.outcome) == (
        "simulated",
        "Sam Supervisor",
        TransferOutcome.SIMULATED,
    )
    moves = [(c.from_phase, c.to_phase) for c in state.phase_history[before:]]
    assert moves == [(phase, Phase.ESCALATION), (Phase.ESCALATION, Phase.ENDED)]
    scripted.assert_consumed()


@pytest.mark.parametrize("phase", PHASES, ids=str)
async def test_transfer_failure_returns_to_the_caller(
    db: Database, settings: Settings, phase: Phase
) -> None:
    state, agent, steps, first_turn = await _call_in(
        phase, db, settings, _manager(settings, db, on_duty=False)
    )
    scripted = ScriptedLLM(
        *steps, call("transfer_to_human", reason=REASON), say("Sorry, nobody is free.")
    )
    async with running_session(state, scripted, agent) as session:
        if first_turn:
            await session.run(user_input=first_turn)
        before = len(state.phase_history)
        result = await session.run(user_input="operator!")
        is_call(result.expect.next_event(), "transfer_to_human", reason=REASON)
        output = output_of(result.expect.next_event())
        result.expect.next_event().is_message(role="assistant")
        result.expect.no_more_events()
        # the caller stays with the same agent (or task), which is told what happened
        assert type(session.current_agent) is (
            VerifyCallerTask if phase is Phase.VERIFICATION else PHASE_AGENTS[phase]
        )
    assert said(output) == " ".join(
        prompts.line(key) for key in ("escalation.nobody_on_duty", "offers.callback")
    )
    assert "request_callback" in then(output)
    assert scripted.requests[-1].last_tool_output() == output
    # back exactly where the caller was: a verification still running stays VERIFICATION
    moves = [(c.from_phase, c.to_phase) for c in state.phase_history[before:]]
    assert moves == [(phase, Phase.ESCALATION), (Phase.ESCALATION, phase)]
    assert state.phase is phase
    assert state.collecting_secrets is (phase is Phase.VERIFICATION)
    [attempt] = state.transfer_attempts
    assert (attempt.supervisor, attempt.outcome) == (None, TransferOutcome.UNAVAILABLE)
    scripted.assert_consumed()


@pytest.mark.parametrize("phase", PHASES, ids=str)
async def test_callback_reachable_everywhere(
    db: Database, settings: Settings, phase: Phase
) -> None:
    state, agent, steps, first_turn = await _call_in(
        phase, db, settings, _manager(settings, db, on_duty=False)
    )
    scripted = ScriptedLLM(
        *steps,
        call("request_callback", reason="help with an order", preferred_time="tomorrow 9am"),
        say("Your ticket is booked."),
    )
    async with running_session(state, scripted, agent) as session:
        if first_turn:
            await session.run(user_input=first_turn)
        result = await session.run(user_input="call me back tomorrow at 9am")
        is_call(
            result.expect.next_event(),
            "request_callback",
            reason="help with an order",
            preferred_time="tomorrow 9am",
        )
        output = output_of(result.expect.next_event())
    [ticket] = await TicketStore(db).list_open()
    assert (ticket.phone_e164, ticket.reason, ticket.preferred_time) == (
        MAYA,
        "help with an order",
        "tomorrow 9am",
    )
    assert said(output) == prompts.line(
        "escalation.callback_booked", ticket=ticket.id, when="tomorrow 9am"
    )
    assert state.outcome is CallOutcome.CALLBACK
    assert state.phase is phase


async def test_lockout_after_a_failed_transfer_during_verification(
    db: Database, settings: Settings
) -> None:
    """A failed transfer mid-verification returns to the running verification (redaction
    stays on); a later lockout ends it and escalates again from the greeting."""
    manager = _manager(settings, db, on_duty=False)
    state, agent, steps, first_turn = await _call_in(Phase.VERIFICATION, db, settings, manager)
    wrong = [call("check_zip_code", zip_code="00000"), say("No match.")]
    scripted = ScriptedLLM(
        *steps,
        call("transfer_to_human", reason=REASON),
        say("Nobody is free, let's keep going."),
        *wrong,
        *wrong,
        *wrong,
        lambda r: say(r.last_tool_output()),
    )
    async with running_session(state, scripted, agent) as session:
        await session.run(user_input=first_turn or "")
        await session.run(user_input="a person please")
        assert state.phase is Phase.VERIFICATION and state.collecting_secrets
        await session.run(user_input="00000")
        await session.run(user_input="00000")
        result = await session.run(user_input="00000")
        outputs = [e.item for e in result.events if e.type == "function_call_output"]
        assert [(o.name, o.is_error) for o in outputs] == [
            ("check_zip_code", False),
            ("route_to_orders", False),
        ]
        assert "request_callback" in outputs[-1].output
    assert state.phases_visited() == [
        "greeting",
        "verification",
        "escalation",
        "verification",
        "greeting",
        "escalation",
        "greeting",
    ]
    assert state.phase is Phase.GREETING and not state.collecting_secrets
    assert [a.outcome for a in state.transfer_attempts] == [TransferOutcome.UNAVAILABLE] * 2
    scripted.assert_consumed()
