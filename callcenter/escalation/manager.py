"""`EscalationManager`: the `EscalationService` the agents' tools call.

```
 transfer_to_human ─▶ escalate()
    phase → ESCALATION
    outside business hours? ─────────────────────────────▶ UNAVAILABLE, offer callback
    roster.candidates(skill, now) empty? ────────────────▶ UNAVAILABLE, offer callback
    no SIP leg (console / web)? ─────────────────────────▶ SIMULATED, call ends after the reply
    for each candidate, up to max_transfer_attempts:
        cold → SIP REFER            warm → hold + dial + brief + merge
        CONNECTED ───────────────────────────────────────▶ TRANSFERRED, agent leaves, ENDED
        CALLER_HUNG_UP ──────────────────────────────────▶ ABANDONED, ENDED
        anything else: tell the caller, try the next one
    all failed ─────────────────────────────────────────▶ back to caller's phase, offer callback
 request_callback ─▶ callback ticket (number, reason, summary, preferred time)
```

Every attempt is a `TransferAttempt` on `CallState.transfer_attempts` (the call record).
The returned text is for the model: what happened and what to tell the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from livekit.agents import RunContext

from callcenter import prompts
from callcenter.config import Settings
from callcenter.core.state import CallState, TransferAttempt
from callcenter.escalation.callbacks import CallbackTickets, create_callback_ticket
from callcenter.escalation.cold import ColdTransfer
from callcenter.escalation.hours import BusinessHours
from callcenter.escalation.livekit_transfers import LiveKitTransfers
from callcenter.escalation.roster import (
    Skill,
    Supervisor,
    SupervisorDirectory,
)
from callcenter.escalation.warm import (
    CallerLine,
    ConsultLegFactory,
    WarmResult,
    WarmTransfer,
    watch_caller,
)
from callcenter.vocabulary import AttemptMode, TransferMode, TransferOutcome, VerificationStatus

if TYPE_CHECKING:
    pass

log = logging.getLogger("callcenter.escalation")

REASSURANCES = (
    "Thanks for holding. I'm still connecting you with a supervisor.",
    "You're still on hold, and I haven't forgotten you. It should be just a moment more.",
    "Thank you for your patience. I'm still getting a supervisor on the line for you.",
)

CallerLineFactory = Callable[[RunContext[CallState]], CallerLine]
ConsultSource = Callable[[RunContext[CallState]], ConsultLegFactory]
SessionEnder = Callable[[RunContext[CallState]], None]


def skill_for(state: CallState) -> Skill:
    """Which roster skill the call needs: the triaged intent, else `general`."""
    if state.intent in ("orders", "billing"):
        return state.intent
    return "general"


class EscalationManager:
    """Implements `EscalationService`: roster choice, warm/cold transfer, callbacks.

    Args:
        settings: trunk, caller ID, transfer/merge mode, timeouts, business hours.
        db: the database (supervisors and tickets) when `directory`/`tickets` are not given.
        directory: where the roster comes from (default: `SupervisorStore(db)`).
        tickets: where callback tickets go (default: `TicketStore(db)`).
        transfers: the Twirp operations (default: over `get_job_context().api`).
        consult: opens the supervisor briefing leg (default: `RoomConsultLegFactory`).
        caller_line: builds the caller's hold/reassurance side from the tool's context.
        room: returns the caller's room for the hang-up watcher (default: the job's room).
        end_session: ends the agent session once the tool's reply is spoken.
        clock: the current time (aware); tests pin it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        hours: BusinessHours,
        directory: SupervisorDirectory,
        tickets: CallbackTickets,
        transfers: LiveKitTransfers,
        consult: ConsultSource,
        caller_line: CallerLineFactory,
        room: Callable[[], object],
        end_session: SessionEnder,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.hours = hours
        self.directory = directory
        self.tickets = tickets
        self.transfers = transfers
        self._consult = consult
        self._caller_line = caller_line
        self._room = room
        self._end_session = end_session
        self._clock = clock

    # ------------------------------------------------------------------ escalate

    async def escalate(self, ctx: RunContext[CallState], *, reason: str) -> str:
        """Reach a supervisor for this call; see the module docstring for the paths."""
        state = ctx.userdata
        if state.ended:
            return "The call has already ended; say nothing more."
        state.begin_escalation(reason=reason)
        now = self._clock()
        skill = skill_for(state)
        log_extra = {"call_id": state.call.call_id, "skill": skill}

        if not self.hours.is_open(now):
            self._record(state, None, TransferOutcome.UNAVAILABLE, "outside business hours")
            state.escalation_failed(reason="outside business hours")
            log.info("escalation outside business hours", extra=log_extra)
            return (
                "The contact center is closed right now, so nobody can be connected. "
                f"Our hours are {self.hours.describe()}. Tell the caller that, and offer a "
                "callback: ask when they would like to be called, then call request_callback."
            )

        roster = await self.directory.roster()
        candidates = roster.candidates(skill, now)
        if not candidates:
            self._record(state, None, TransferOutcome.UNAVAILABLE, f"nobody on duty for {skill}")
            state.escalation_failed(reason="nobody on duty")
            log.info("no supervisor on duty", extra=log_extra)
            return (
                "No supervisor is available for this right now. Tell the caller, and offer a "
                "callback: ask when they would like to be called, then call request_callback."
            )

        if not state.call.is_sip:
            return self._simulate(ctx, candidates[0])
        return await self._transfer(ctx, candidates, reason=reason)

    def _simulate(self, ctx: RunContext[CallState], supervisor: Supervisor) -> str:
        state = ctx.userdata
        self._record(
            state,
            supervisor.name,
            TransferOutcome.SIMULATED,
            "no SIP leg: nobody dialled",
            mode="simulated",
        )
        state.transferred(supervisor.name)
        self._end_session(ctx)
        return (
            f"Transfer to {supervisor.name} done (simulated: this is not a phone call). "
            f"Tell the caller, in one short sentence, that you are connecting them with "
            f"{supervisor.name} now and thank them. The call ends after that sentence."
        )

    async def _transfer(
        self,
        ctx: RunContext[CallState],
        candidates: list[Supervisor],
        *,
        reason: str,
    ) -> str:
        state = ctx.userdata
        line = self._caller_line(ctx)
        caller_left, stop_watching = watch_caller(self._room(), state.call.participant_identity)
        briefing = self.briefing(ctx, reason=reason)
        max_attempts = self.settings.max_transfer_attempts
        reassurance: asyncio.Task[None] | None = None
        on_hold = False
        failures: list[str] = []
        try:
            for number, supervisor in enumerate(candidates[:max_attempts], start=1):
                if caller_left.is_set():
                    break
                cold = (
                    self.settings.transfer_mode is TransferMode.COLD
                    or supervisor.transfer_mode == "cold"
                )
                mode: Literal["warm", "cold"] = "cold" if cold else "warm"
                if number > 1:
                    await line.say(
                        "I couldn't reach that supervisor. I'm trying another colleague now, "
                        "please stay on the line."
                    )
                attempt = state.transfer_started(mode, supervisor.name)
                try:
                    if cold:
                        if on_hold:
                            await _cancel(reassurance)
                            await line.stop_hold()
                            on_hold = False
                        await line.say(
                            f"I'm transferring you to {supervisor.name} now. One moment."
                        )
                        result = await ColdTransfer(
                            self.transfers, state.call.room_name, state.call.participant_identity
                        ).run(supervisor)
                    else:
                        if not on_hold:
                            await line.say(
                                "Please hold while I get a supervisor on the line and brief "
                                "them, so you won't have to repeat yourself."
                            )
                            await line.start_hold()
                            on_hold = True
                            reassurance = asyncio.create_task(self._reassure(line))
                        result = await self._warm(ctx, line, caller_left, briefing).run(
                            supervisor, number
                        )
                except Exception as exc:  # agent-side error around the transfer itself
                    log.exception("transfer attempt error", extra={"call_id": state.call.call_id})
                    result = WarmResult(
                        TransferOutcome.FAILED, f"agent error: {type(exc).__name__}"
                    )
                if caller_left.is_set() and result.outcome is not TransferOutcome.CONNECTED:
                    result = WarmResult(TransferOutcome.CALLER_HUNG_UP, "caller hung up")
                state.transfer_finished(attempt, result.outcome, result.detail)
                log.info(
                    "transfer attempt finished",
                    extra={
                        "call_id": state.call.call_id,
                        "mode": mode,
                        "attempt": number,
                        "outcome": result.outcome.value,
                    },
                )
                if result.outcome is TransferOutcome.CONNECTED:
                    await _cancel(reassurance)
                    if on_hold:
                        await line.stop_hold()
                        on_hold = False
                    state.transferred(supervisor.name)
                    self._end_session(ctx)
                    return (
                        f"The caller is now connected to {supervisor.name}. Your part of the "
                        "call is over: do not say anything more."
                    )
                if result.outcome is TransferOutcome.CALLER_HUNG_UP:
                    break
                failures.append(f"{supervisor.name}: {_describe(result.outcome)}")
        finally:
            await _cancel(reassurance)
            if on_hold:
                with contextlib.suppress(Exception):
                    await line.stop_hold()
            stop_watching()

        if caller_left.is_set():
            if not state.transfer_attempts or state.transfer_attempts[-1].outcome is not (
                TransferOutcome.CALLER_HUNG_UP
            ):
                self._record(state, None, TransferOutcome.CALLER_HUNG_UP, "caller hung up")
            state.caller_left_during_transfer()
            return "The caller hung up during the transfer. Say nothing more."

        state.escalation_failed(reason="no supervisor took the call")
        return (
            "No supervisor could take the call ("
            + "; ".join(failures)
            + "). Apologise to the caller, tell them nobody is free right now, and offer a "
            "callback: ask when they would like to be called, then call request_callback. "
            "If they prefer, keep helping them yourself."
        )

    def _warm(
        self,
        ctx: RunContext[CallState],
        line: CallerLine,
        caller_left: asyncio.Event,
        briefing: str,
    ) -> WarmTransfer:
        state = ctx.userdata
        return WarmTransfer(
            transfers=self.transfers,
            consult=self._consult(ctx),
            caller=line,
            merge_mode=self.settings.merge_mode,
            caller_room=state.call.room_name,
            caller_identity=state.call.participant_identity,
            caller_left=caller_left,
            briefing=briefing,
            briefing_timeout_s=self.settings.briefing_timeout_s,
        )

    async def _reassure(self, line: CallerLine) -> None:
        interval = self.settings.hold_reassurance_s
        n = 0
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await line.say(REASSURANCES[n % len(REASSURANCES)])
            n += 1

    # ------------------------------------------------------------------ callback

    async def request_callback(
        self, ctx: RunContext[CallState], *, reason: str, preferred_time: str
    ) -> str:
        """Open a callback ticket (caller's number, reason, summary, preferred time)."""
        state = ctx.userdata
        ticket = await create_callback_ticket(
            self.tickets, state, reason=reason, preferred_time=preferred_time
        )
        if ticket is None:
            return (
                "No callback could be booked: the caller's number is withheld or unknown. "
                "Tell the caller we cannot call back without a number, and suggest they call "
                "again during business hours."
            )
        state.callback_booked(ticket.id, ticket.preferred_time)
        return (
            f"Callback ticket {ticket.id} is booked for {ticket.preferred_time}. Read the "
            "ticket number to the caller, say we will call back the number they are calling "
            "from, then ask if there is anything else."
        )

    # ------------------------------------------------------------------ helpers

    def briefing(self, ctx: RunContext[CallState], *, reason: str) -> str:
        """The supervisor briefing leg's instructions, from `prompts/supervisor_briefing.md`."""
        state = ctx.userdata
        return prompts.render(
            "supervisor_briefing",
            caller_facing=False,
            company=self.settings.company_name,
            caller_name=state.caller.first_name if state.caller else "not known",
            verification=_verification_text(state),
            reason=reason,
            intent=state.intent or "not established",
            actions="; ".join(state.actions) or "nothing yet",
            history=_history(ctx) or "(no transcript)",
        )

    def _record(
        self,
        state: CallState,
        supervisor: str | None,
        outcome: TransferOutcome,
        detail: str,
        *,
        mode: AttemptMode | None = None,
    ) -> TransferAttempt:
        return state.transfer_recorded(
            mode or self.settings.transfer_mode.value, supervisor, outcome, detail
        )


def _verification_text(state: CallState) -> str:
    v = state.verification
    if v.status is VerificationStatus.VERIFIED:
        return f"verified ({v.method or 'caller ID + factor'})"
    if v.status is VerificationStatus.LOCKED:
        return "NOT verified: failed verification too many times"
    if v.status is VerificationStatus.NO_MATCH:
        return "NOT verified: the number matches no customer"
    return "NOT verified"


def _history(ctx: RunContext[CallState]) -> str:
    """Caller/assistant turns as text (tool mechanics dropped)."""
    session = getattr(ctx, "session", None)
    history = getattr(session, "history", None)
    if history is None:
        return ""
    lines = []
    with contextlib.suppress(Exception):
        for msg in history.messages():
            if msg.role not in ("user", "assistant") or not msg.text_content:
                continue
            lines.append(f"{'Caller' if msg.role == 'user' else 'Agent'}: {msg.text_content}")
    return "\n".join(lines[-30:])


def _describe(outcome: TransferOutcome) -> str:
    return {
        TransferOutcome.NO_ANSWER: "no answer",
        TransferOutcome.DECLINED: "declined",
        TransferOutcome.VOICEMAIL: "voicemail",
        TransferOutcome.BUSY: "busy",
        TransferOutcome.SUPERVISOR_HUNG_UP: "hung up during the briefing",
        TransferOutcome.FAILED: "the call could not be placed",
    }.get(outcome, outcome.value)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a helper task (idempotent: a finished or None task is left alone)."""
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
