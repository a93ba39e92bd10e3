"""`EscalationManager`: the `EscalationPort` the agents' tools call. It decides; it does not
dial, hold or brief (that is `attempts`), build briefings (`briefing`) or wire adapters
(`wiring`).

```
 transfer_to_human ─▶ escalate()
    CallState.begin_escalation
    outside business hours? ─────────────────────────────▶ UNAVAILABLE, hours as said by a
                                                            person, offer callback
    roster.candidates(skill, now) empty? ────────────────▶ UNAVAILABLE, offer callback
    no room (terminal console)? ─────────────────────────▶ SIMULATED, call ends after the reply
    TransferAttempts.run(candidates, briefing):
        a supervisor took the call ──────────────────────▶ transferred, agent leaves, ENDED
        the caller hung up ──────────────────────────────▶ abandoned, ENDED
        nobody took it ──────────────────────────────────▶ escalation_failed (back where the
                                                            caller was), offer callback
 request_callback ─▶ callback ticket (number, reason, summary, preferred time); in the
                    local journal when the database is unreachable
 the roster unreachable (database down) and not cached ──▶ as nobody on duty
```

Every attempt is a `TransferAttempt` on `CallState.transfer_attempts` (the call record).
Each path returns a `ToolReply`: what the caller hears (`say`, from `prompts/lines.toml`)
and what the model does next (`do`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from livekit.agents import RunContext

from callcenter import prompts
from callcenter.business_hours import BusinessHours
from callcenter.config import Settings
from callcenter.core.replies import ToolReply
from callcenter.core.state import CallState
from callcenter.data import DATABASE_ERRORS, Journal
from callcenter.escalation.attempts import TransferAttempts
from callcenter.escalation.briefing import briefing_text
from callcenter.escalation.callbacks import CallbackTickets, create_callback_ticket
from callcenter.escalation.roster import Skill, Supervisor, SupervisorDirectory
from callcenter.vocabulary import TransferOutcome

log = logging.getLogger("callcenter.escalation")

SessionEnder = Callable[[RunContext[CallState]], None]

OFFER_CALLBACK = (
    "The caller has just been offered a callback. If they want one, ask when suits them (unless "
    "they said), then call request_callback."
)


def with_callback_offer(said: str) -> str:
    """`said`, then the callback offer (`offers.callback`): every path that reaches nobody
    offers it in words the caller hears, whichever model is speaking."""
    return f"{said} {prompts.line('offers.callback')}"


def closed_line(hours: BusinessHours, now: dt.datetime) -> str:
    """Why nobody can be connected outside business hours, with the hours as a person says
    them and when the contact center opens again (`escalation.closed*` lines)."""
    spoken, reopens = hours.spoken(), hours.reopens(now)
    if not spoken or reopens is None:
        return prompts.line("escalation.closed_no_hours")
    if hours.holiday(now):
        return prompts.line("escalation.closed_holiday", hours=spoken, reopens=reopens)
    return prompts.line("escalation.closed", hours=spoken, reopens=reopens)


def skill_for(state: CallState) -> Skill:
    """Which roster skill the call needs: the triaged intent, else `general`."""
    if state.intent in ("orders", "billing"):
        return state.intent
    return "general"


class EscalationManager:
    """Implements `EscalationPort`: whether and whom to try, and what the call comes to.

    Args:
        settings: transfer mode, business hours, company name.
        hours: the contact center's validated opening hours.
        directory: where the roster comes from.
        tickets: where callback tickets go.
        attempts: runs the transfer attempts (dial, hold, brief, connect).
        end_session: ends the agent session once the tool's reply is spoken.
        clock: the current time (aware); tests pin it.

    `escalation.wiring.build_escalation` builds the production one.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        hours: BusinessHours,
        directory: SupervisorDirectory,
        tickets: CallbackTickets,
        attempts: TransferAttempts,
        end_session: SessionEnder,
        clock: Callable[[], dt.datetime],
        journal: Journal | None = None,
    ) -> None:
        self.settings = settings
        self.hours = hours
        self.directory = directory
        self.tickets = tickets
        self.attempts = attempts
        self._end_session = end_session
        self._clock = clock
        self.journal = journal

    async def escalate(self, ctx: RunContext[CallState], *, reason: str) -> ToolReply:
        """Reach a supervisor for this call; see the module docstring for the paths."""
        state = ctx.userdata
        if state.ended:
            return ToolReply(do="The call has already ended; say nothing more.")
        state.begin_escalation(reason=reason)
        now = self._clock()
        skill = skill_for(state)
        log_extra = {"call_id": state.call.call_id, "skill": skill}

        if not self.hours.is_open(now):
            self._unavailable(state, "outside business hours", back="outside business hours")
            log.info("escalation outside business hours", extra=log_extra)
            return ToolReply(
                say=with_callback_offer(closed_line(self.hours, now)), do=OFFER_CALLBACK
            )

        try:
            candidates = (await self.directory.roster()).candidates(skill, now)
        except DATABASE_ERRORS:
            log.warning("roster unavailable: the database is unreachable", extra=log_extra)
            candidates = []
        if not candidates:
            self._unavailable(state, f"nobody on duty for {skill}", back="nobody on duty")
            log.info("no supervisor on duty", extra=log_extra)
            return ToolReply(
                say=with_callback_offer(prompts.line("escalation.nobody_on_duty")),
                do=OFFER_CALLBACK,
            )

        if not state.call.in_room:
            return self._simulate(ctx, candidates[0])

        briefing = briefing_text(
            state,
            getattr(ctx.session, "history", None),
            reason=reason,
            company=self.settings.company_name,
        )
        result = await self.attempts.run(ctx, candidates, briefing=briefing)
        if result.connected_to is not None:
            name = result.connected_to.name
            state.transferred(name)
            self._end_session(ctx)
            return ToolReply(
                do=f"The caller is now connected to {name}. Your part of the call is over: "
                "do not say anything more."
            )
        if result.caller_left:
            state.caller_left_during_transfer()
            return ToolReply(do="The caller hung up during the transfer. Say nothing more.")
        state.escalation_failed(reason="no supervisor took the call")
        return ToolReply(
            say=with_callback_offer(prompts.line("escalation.nobody_took_it")),
            do=f"No supervisor could take the call ({'; '.join(result.failures)}). "
            + OFFER_CALLBACK
            + " If they prefer, keep helping them yourself.",
        )

    def _unavailable(self, state: CallState, detail: str, *, back: str) -> None:
        """Nobody is tried: record why and return the caller where they were."""
        state.transfer_recorded(
            self.settings.transfer_mode.value, None, TransferOutcome.UNAVAILABLE, detail
        )
        state.escalation_failed(reason=back)

    def _simulate(self, ctx: RunContext[CallState], supervisor: Supervisor) -> ToolReply:
        """No room (the console): nobody is dialled, the record says so, the call ends.
        A WebRTC caller is in a real room: they get a real (warm) transfer."""
        state = ctx.userdata
        state.transfer_recorded(
            "simulated", supervisor.name, TransferOutcome.SIMULATED, "no SIP leg: nobody dialled"
        )
        state.transferred(supervisor.name)
        self._end_session(ctx)
        return ToolReply(
            say=prompts.line("escalation.simulated", supervisor=supervisor.name),
            do="This is not a phone call, so nobody was dialled (a simulated transfer). The "
            "call ends after that sentence.",
        )

    async def request_callback(
        self, ctx: RunContext[CallState], *, reason: str, preferred_time: str
    ) -> ToolReply:
        """Open a callback ticket (caller's number, reason, summary, preferred time)."""
        state = ctx.userdata
        ticket = await create_callback_ticket(
            self.tickets,
            state,
            reason=reason,
            preferred_time=preferred_time,
            journal=self.journal,
            timeout_s=self.settings.database_timeout_s,
        )
        if ticket is None:
            return ToolReply(say=prompts.line("escalation.callback_no_number"))
        state.callback_booked(ticket.id, ticket.preferred_time)
        if ticket.id is None:
            return ToolReply(
                say=prompts.line("escalation.callback_saved"),
                do="Then ask if there is anything else.",
            )
        return ToolReply(
            say=prompts.line(
                "escalation.callback_booked", ticket=ticket.id, when=ticket.preferred_time
            ),
            do="Then ask if there is anything else.",
        )
