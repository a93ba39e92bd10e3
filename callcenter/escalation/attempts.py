"""The attempts of one escalation: supervisor after supervisor, with the caller's side as an
explicit state machine.

```
                 warm: "please hold" + music           cold: "transferring you to ..."
   TALKING ─────────────────────────────▶ ON_HOLD        TALKING ──▶ DIALLING (REFER)
      ▲                                      │ dial                        │
      │ cold next (music off)                ▼                             │ accepted
      └────────────────────────────────── DIALLING ──answered──▶ BRIEFING  ▼
                     failed: back on hold  ◀──┘   "connect" ────────────▶ CONNECTED
   any state ── nobody took the call / the caller hung up ──▶ RETURNED (music off)
```

`HoldLine` is that machine over the caller's `CallerLine` (hold music, caller input off,
a reassurance every `Settings.hold_reassurance_s`); every move is checked against
`HOLD_MOVES`, and `on_change` lets an observer follow it (metrics, the live board).
`TransferAttempts.run` walks the candidates (at most `Settings.max_transfer_attempts`),
records each attempt through `CallState.transfer_started`/`transfer_finished`, and returns
what the attempts came to; the manager decides what that means for the call. What the
caller hears is in `prompts/lines.toml` (`[escalation]`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from livekit.agents import RunContext

from callcenter import prompts
from callcenter.config import Settings
from callcenter.core.state import CallState
from callcenter.escalation.cold import ColdTransfer
from callcenter.escalation.livekit_transfers import LiveKitTransfers
from callcenter.escalation.result import TransferResult
from callcenter.escalation.roster import Supervisor
from callcenter.escalation.warm import CallerLine, ConsultLegFactory, WarmTransfer, watch_caller
from callcenter.vocabulary import AttemptMode, TransferMode, TransferOutcome

log = logging.getLogger("callcenter.escalation")

CallerLineFactory = Callable[[RunContext[CallState]], CallerLine]
DialAnnouncer = Callable[[CallState, Supervisor, str], Awaitable[dict[str, str]]]
"""(state, supervisor, briefing) -> SIP headers, before a warm transfer dials (screen-pop)."""
ConsultSource = Callable[[RunContext[CallState]], ConsultLegFactory]


class HoldState(StrEnum):
    TALKING = "talking"
    """The caller hears the agent; no hold music."""
    ON_HOLD = "on_hold"
    """Hold music and reassurances; the caller's audio input is off."""
    DIALLING = "dialling"
    """A supervisor leg is ringing (warm) or the REFER is under way (cold)."""
    BRIEFING = "briefing"
    """The supervisor answered and hears the briefing; the caller is still on hold."""
    CONNECTED = "connected"
    """Caller and supervisor talk; the agent leaves."""
    RETURNED = "returned"
    """Nobody took the call, or the caller hung up: the caller is back with the agent."""


HoldObserver = Callable[[CallState, HoldState, HoldState], None]
"""Told of every move of a call's hold line: (state, from, to). Metrics and the live board
hook in here through `escalation.wiring.build_escalation(on_hold_change=...)`."""

HOLD_MOVES: Final[dict[HoldState, frozenset[HoldState]]] = {
    HoldState.TALKING: frozenset({HoldState.ON_HOLD, HoldState.DIALLING, HoldState.RETURNED}),
    HoldState.ON_HOLD: frozenset({HoldState.DIALLING, HoldState.TALKING, HoldState.RETURNED}),
    HoldState.DIALLING: frozenset(
        {
            HoldState.BRIEFING,
            HoldState.CONNECTED,
            HoldState.ON_HOLD,
            HoldState.TALKING,
            HoldState.RETURNED,
        }
    ),
    HoldState.BRIEFING: frozenset({HoldState.CONNECTED, HoldState.ON_HOLD, HoldState.RETURNED}),
    HoldState.CONNECTED: frozenset(),
    HoldState.RETURNED: frozenset(),
}


class HoldLine:
    """The caller's side of one escalation, as the `HoldState` machine."""

    def __init__(
        self,
        line: CallerLine,
        *,
        reassure_every_s: float,
        on_change: Callable[[HoldState, HoldState], None] | None = None,
    ) -> None:
        self._line = line
        self._every = reassure_every_s
        self._on_change = on_change
        self._music = False
        self._reassurance: asyncio.Task[None] | None = None
        self.state = HoldState.TALKING
        self.history: list[HoldState] = [HoldState.TALKING]

    def _to(self, target: HoldState) -> None:
        if target is self.state:
            return
        if target not in HOLD_MOVES[self.state]:
            raise RuntimeError(f"hold line cannot go from {self.state} to {target}")
        before, self.state = self.state, target
        self.history.append(target)
        if self._on_change is not None:
            self._on_change(before, target)

    async def say(self, text: str) -> None:
        await self._line.say(text)

    async def hold(self) -> None:
        """→ ON_HOLD: say why, music on, reassurances start (no-op when already holding)."""
        if not self._music:
            await self._line.say(prompts.line("escalation.hold"))
            await self._line.start_hold()
            self._music = True
            self._reassurance = asyncio.create_task(self._reassure())
        self._to(HoldState.ON_HOLD)

    async def talk(self) -> None:
        """→ TALKING: music off (before a cold transfer, which the caller hears announced)."""
        await self._music_off()
        self._to(HoldState.TALKING)

    def dialling(self) -> None:
        self._to(HoldState.DIALLING)

    def briefing(self) -> None:
        self._to(HoldState.BRIEFING)

    def attempt_failed(self) -> None:
        """Back to holding (warm) or talking (cold) before the next supervisor."""
        self._to(HoldState.ON_HOLD if self._music else HoldState.TALKING)

    async def connected(self) -> None:
        await self._music_off()
        self._to(HoldState.CONNECTED)

    async def returned(self) -> None:
        """Always the last move when the caller is not connected: music off, back to the agent."""
        with contextlib.suppress(Exception):
            await self._music_off()
        if self.state is not HoldState.CONNECTED:
            self._to(HoldState.RETURNED)

    async def _music_off(self) -> None:
        await _cancel(self._reassurance)
        self._reassurance = None
        if self._music:
            self._music = False
            await self._line.stop_hold()

    async def _reassure(self) -> None:
        lines = prompts.variants("escalation.reassurance")
        n = 0
        while True:
            await asyncio.sleep(self._every)
            with contextlib.suppress(Exception):
                await self._line.say(lines[n % len(lines)])
            n += 1


@dataclass
class AttemptsResult:
    """What the attempts of one escalation came to."""

    connected_to: Supervisor | None = None
    caller_left: bool = False
    failures: list[str] = field(default_factory=list)
    """`name: what happened` per supervisor who did not take the call (no numbers)."""


class TransferAttempts:
    """Runs the transfer attempts of one escalation; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        transfers: LiveKitTransfers,
        caller_line: CallerLineFactory,
        consult: ConsultSource,
        room: Callable[[], object],
        on_hold_change: HoldObserver | None = None,
        on_dial: DialAnnouncer | None = None,
    ) -> None:
        self.settings = settings
        self._on_dial = on_dial
        self.transfers = transfers
        self._caller_line = caller_line
        self._consult = consult
        self._room = room
        self._on_hold_change = on_hold_change

    def _announcer(
        self, state: CallState, briefing: str
    ) -> Callable[[Supervisor], Awaitable[dict[str, str]]] | None:
        on_dial = self._on_dial
        if on_dial is None:
            return None
        return lambda supervisor: on_dial(state, supervisor, briefing)

    def mode_for(self, supervisor: Supervisor, *, caller_is_sip: bool = True) -> AttemptMode:
        """Cold (SIP REFER) when configured, but only for a caller with a SIP leg to REFER:
        a WebRTC caller gets a warm transfer."""
        cold = caller_is_sip and (
            self.settings.transfer_mode is TransferMode.COLD or supervisor.transfer_mode == "cold"
        )
        return "cold" if cold else "warm"

    async def run(
        self,
        ctx: RunContext[CallState],
        candidates: list[Supervisor],
        *,
        briefing: str,
    ) -> AttemptsResult:
        state = ctx.userdata
        line = self._caller_line(ctx)
        observer = self._on_hold_change
        hold = HoldLine(
            line,
            reassure_every_s=self.settings.hold_reassurance_s,
            on_change=(lambda a, b: observer(state, a, b)) if observer is not None else None,
        )
        caller_left, stop_watching = watch_caller(self._room(), state.call.participant_identity)
        result = AttemptsResult()
        try:
            for number, supervisor in enumerate(
                candidates[: self.settings.max_transfer_attempts], start=1
            ):
                if caller_left.is_set():
                    break
                if number > 1:
                    await hold.say(prompts.line("escalation.next_supervisor"))
                outcome = await self._attempt(
                    ctx, hold, line, supervisor, number, caller_left, briefing
                )
                if outcome is TransferOutcome.CONNECTED:
                    await hold.connected()
                    result.connected_to = supervisor
                    return result
                if outcome is TransferOutcome.CALLER_HUNG_UP:
                    break
                hold.attempt_failed()
                result.failures.append(f"{supervisor.name}: {describe(outcome)}")
        finally:
            await hold.returned()
            stop_watching()
        if caller_left.is_set():
            last = state.transfer_attempts[-1] if state.transfer_attempts else None
            if last is None or last.outcome is not TransferOutcome.CALLER_HUNG_UP:
                state.transfer_recorded(
                    self.settings.transfer_mode.value,
                    None,
                    TransferOutcome.CALLER_HUNG_UP,
                    "caller hung up",
                )
            result.caller_left = True
        return result

    async def _attempt(
        self,
        ctx: RunContext[CallState],
        hold: HoldLine,
        line: CallerLine,
        supervisor: Supervisor,
        number: int,
        caller_left: asyncio.Event,
        briefing: str,
    ) -> TransferOutcome:
        """One supervisor: dial (or REFER), record the attempt, return its outcome."""
        state = ctx.userdata
        mode = self.mode_for(supervisor, caller_is_sip=state.call.is_sip)
        attempt = state.transfer_started(mode, supervisor.name)
        try:
            if mode == "cold":
                await hold.talk()
                await hold.say(prompts.line("escalation.cold_transfer", supervisor=supervisor.name))
                hold.dialling()
                result = await ColdTransfer(
                    self.transfers, state.call.room_name, state.call.participant_identity
                ).run(supervisor)
            else:
                await hold.hold()
                hold.dialling()
                warm = WarmTransfer(
                    transfers=self.transfers,
                    consult=self._consult(ctx),
                    caller=line,
                    merge_mode=self.settings.effective_merge_mode,
                    caller_room=state.call.room_name,
                    caller_identity=state.call.participant_identity,
                    caller_left=caller_left,
                    room=self._room(),
                    briefing=briefing,
                    briefing_timeout_s=self.settings.briefing_timeout_s,
                    on_answered=hold.briefing,
                    announce=self._announcer(state, briefing),
                )
                result = await warm.run(supervisor, number)
        except Exception as exc:  # agent-side error around the transfer itself
            log.exception("transfer attempt error", extra={"call_id": state.call.call_id})
            result = TransferResult(TransferOutcome.FAILED, f"agent error: {type(exc).__name__}")
        if caller_left.is_set() and result.outcome is not TransferOutcome.CONNECTED:
            result = TransferResult(TransferOutcome.CALLER_HUNG_UP, "caller hung up")
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
        return result.outcome


def describe(outcome: TransferOutcome) -> str:
    """An attempt's outcome in a few words, for the model (and the caller, through it)."""
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
