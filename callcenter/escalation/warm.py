"""Warm transfer of one caller to one supervisor: dial, brief, connect, or clean up.

```
 caller on hold (music + reassurance every ~20 s)           supervisor
        │                                                       │
        │   dial on the outbound trunk (wait until answered) ──▶│ rings
        │                                                       │ answers
        │   briefing leg speaks the summary ───────────────────▶│ "connect" / "decline"
        │◀══════════ merge (cloud: MoveParticipant;  self-hosted: subscriptions) ══▶│
 agent leaves                                                   │
```

Merge modes (`Settings.effective_merge_mode`):
- `cloud`: the supervisor is dialled into a consult room `<caller room>-consult-<n>`, briefed
  there, then moved into the caller's room with MoveParticipant; the consult room is
  deleted. LiveKit Cloud only.
- `self_hosted`: no MoveParticipant. The supervisor is dialled straight into the caller's
  room; until the connect, UpdateSubscriptions keeps the caller and supervisor from
  hearing each other (the caller hears nothing for the moment it takes the supervisor's
  track to appear: `_keep_apart`), the caller's agent publishes only to the caller (hold
  music, reassurance) and the briefing leg only to the supervisor. Connecting re-subscribes
  them.

Every exit path hangs up what it dialled and returns a `TransferResult` with a
`TransferOutcome`; nothing here talks to the model. Media (hold audio, the briefing
conversation) sits behind `CallerLine` and `ConsultLegFactory` so the Twirp side is
tested against the LiveKit emulator and the media side is swapped for fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from livekit import rtc

from callcenter import prompts
from callcenter.config import MergeMode
from callcenter.escalation.livekit_transfers import LiveKitTransfers, TransferFailed
from callcenter.escalation.result import TransferResult
from callcenter.escalation.roster import Supervisor
from callcenter.vocabulary import TransferOutcome

log = logging.getLogger("callcenter.escalation")


class ConsultDecision(StrEnum):
    CONNECT = "connect"
    DECLINE = "decline"
    VOICEMAIL = "voicemail"
    HUNG_UP = "hung_up"
    """The supervisor hung up during the briefing."""


@dataclass(frozen=True, slots=True)
class BriefingResult:
    decision: ConsultDecision
    detail: str = ""


class ConsultLeg(Protocol):
    """The conversation with the supervisor (production: an AgentSession in the consult room)."""

    async def brief(self) -> BriefingResult:
        """Speak the briefing and wait for the supervisor's decision."""
        ...

    async def tell_supervisor(self, text: str) -> None:
        """Say something to the supervisor (e.g. that the caller hung up)."""
        ...

    async def aclose(self) -> None: ...


class ConsultLegFactory(Protocol):
    async def open(
        self, *, room: str, supervisor_identity: str, caller_identity: str, briefing: str
    ) -> ConsultLeg: ...


class CallerLine(Protocol):
    """The caller's side while a transfer is in progress (production: the AgentSession)."""

    async def start_hold(self) -> None:
        """Hold music on, caller input off (the caller cannot interrupt the transfer)."""
        ...

    async def stop_hold(self) -> None:
        """Hold music off, caller input and agent output back to what they were."""
        ...

    async def say(self, text: str) -> None:
        """Speak to the caller (reassurance, what is happening)."""
        ...

    async def publish_only_to(self, identity: str | None) -> None:
        """Self-hosted isolation: publish the agent's tracks only to `identity`, or to
        everyone with None."""
        ...


_SLUG = re.compile(r"[^a-z0-9]+")


def supervisor_identity(supervisor: Supervisor, attempt: int) -> str:
    """A participant identity for the supervisor leg: no phone number in it."""
    slug = _SLUG.sub("-", supervisor.name.lower()).strip("-") or "supervisor"
    return f"supervisor-{attempt}-{slug}"


class CallerGone(Exception):
    """The caller hung up while the transfer was in progress."""


async def _race(awaitable: Awaitable[object], caller_left: asyncio.Event) -> object:
    """Await `awaitable` unless the caller hangs up first (then raise `CallerGone`)."""
    task = asyncio.ensure_future(awaitable)
    gone = asyncio.ensure_future(caller_left.wait())
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        gone.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    raise CallerGone


@dataclass
class WarmTransfer:
    """One warm-transfer attempt: `await WarmTransfer(...).run(supervisor, attempt)`.

    `caller_left` is set by the caller-hang-up watcher; `briefing` is the text the
    supervisor hears (rendered from `prompts/supervisor_briefing.md`).
    """

    transfers: LiveKitTransfers
    consult: ConsultLegFactory
    caller: CallerLine
    merge_mode: MergeMode
    caller_room: str
    caller_identity: str
    caller_left: asyncio.Event
    briefing: str
    room: object | None = None
    """The agent's `rtc.Room` (the caller's room; any emitter with `on`/`off`): self-hosted,
    its `track_published` event says when the answered supervisor's audio is there.
    Without it the server is polled (`LiveKitTransfers.wait_audio_tracks`)."""
    briefing_timeout_s: float = 90.0
    on_answered: Callable[[], None] | None = None
    """Called when the supervisor answered, before the briefing starts (the hold line's
    BRIEFING state)."""
    announce: Callable[[Supervisor], Awaitable[dict[str, str]]] | None = None
    """Told just before `supervisor` is dialled; returns SIP headers for the INVITE (the
    console's screen-pop, `callcenter.live.screen_pop`). A failure never stops the dial."""
    supervisor_track_wait_s: float = 10.0
    """Self-hosted: how long the caller may hear nothing while the answered supervisor's
    audio track is awaited (normally under a second; see `_keep_apart`)."""
    isolation_settle_s: float = 0.5
    """Self-hosted: time for the caller's bridge to make its own subscription to the
    supervisor's new track before it is undone again."""
    _caller_deaf: bool = field(default=False, init=False)

    def consult_room(self, attempt: int) -> str:
        if self.merge_mode is MergeMode.CLOUD:
            return f"{self.caller_room}-consult-{attempt}"
        return self.caller_room

    async def run(self, supervisor: Supervisor, attempt: int) -> TransferResult:
        """Dial, brief and connect `supervisor`; always returns, never leaves a leg up."""
        room = self.consult_room(attempt)
        identity = supervisor_identity(supervisor, attempt)
        leg: ConsultLeg | None = None
        connected = False
        try:
            if self.merge_mode is MergeMode.SELF_HOSTED:
                # before the supervisor can join: our agent speaks only to the caller
                await self.caller.publish_only_to(self.caller_identity)
            headers: dict[str, str] = {}
            if self.announce is not None:
                try:
                    headers = await self.announce(supervisor)
                except Exception:
                    log.warning("screen-pop failed; dialling without it", exc_info=True)
            try:
                await _race(
                    self.transfers.dial(
                        room=room,
                        identity=identity,
                        contact=supervisor.contact,
                        display_name=supervisor.name,
                        headers=headers,
                    ),
                    self.caller_left,
                )
            except TransferFailed as failure:
                return TransferResult(failure.outcome, failure.detail)

            if self.on_answered is not None:
                self.on_answered()
            if self.merge_mode is MergeMode.SELF_HOSTED:
                await _race(self._keep_apart(identity), self.caller_left)

            leg = await self.consult.open(
                room=room,
                supervisor_identity=identity,
                caller_identity=self.caller_identity,
                briefing=self.briefing,
            )
            try:
                result = await _race(
                    asyncio.wait_for(leg.brief(), timeout=self.briefing_timeout_s),
                    self.caller_left,
                )
            except TimeoutError:
                return TransferResult(
                    TransferOutcome.NO_ANSWER, "no decision within briefing timeout"
                )
            assert isinstance(result, BriefingResult)
            if result.decision is not ConsultDecision.CONNECT:
                outcome = {
                    ConsultDecision.DECLINE: TransferOutcome.DECLINED,
                    ConsultDecision.VOICEMAIL: TransferOutcome.VOICEMAIL,
                    ConsultDecision.HUNG_UP: TransferOutcome.SUPERVISOR_HUNG_UP,
                }[result.decision]
                return TransferResult(outcome, result.detail or result.decision.value)

            if self.caller_left.is_set():
                raise CallerGone
            await self._merge(room, identity)
            connected = True
            return TransferResult(
                TransferOutcome.CONNECTED, f"merged ({self.merge_mode.value})", identity
            )
        except CallerGone:
            if leg is not None:
                with contextlib.suppress(Exception):
                    await leg.tell_supervisor(prompts.line("escalation.supervisor.caller_hung_up"))
            return TransferResult(TransferOutcome.CALLER_HUNG_UP, "caller hung up before the merge")
        except TransferFailed as failure:
            return TransferResult(TransferOutcome.FAILED, failure.detail)
        except Exception as exc:  # agent-side error: never strand the caller
            log.exception("warm transfer error", extra={"room": self.caller_room})
            return TransferResult(TransferOutcome.FAILED, f"agent error: {type(exc).__name__}")
        finally:
            if leg is not None:
                with contextlib.suppress(Exception):
                    await leg.aclose()
            if not connected:
                await self._tear_down(room, identity)

    async def _keep_apart(self, supervisor: str) -> None:
        """Self-hosted, once `supervisor` answered: they and the caller hear nothing of each
        other, before the supervisor says a word.

        livekit-sip subscribes a phone leg to every audio track published in its room as
        soon as it is published (last request wins), and the supervisor's leg counts as
        published only when its first media reaches the server, often after the dial has
        returned. An UpdateSubscriptions before that finds no track, and the caller then
        heard the supervisor's whole side of the briefing (a real server and bridge showed
        it: tests/e2e/test_sip_warm_transfer.py). So the caller may hear nothing at all
        (can_subscribe off: a moment without hold music) until the supervisor's track is
        there and unsubscribed, again after the caller's bridge has subscribed to it itself.
        """
        await self.transfers.set_can_subscribe(
            room=self.caller_room, identity=self.caller_identity, allowed=False
        )
        self._caller_deaf = True
        found = await self._supervisor_audio(supervisor)
        if not found:
            log.warning(
                "the supervisor's leg published no audio in time: isolating what is there",
                extra={"room": self.caller_room, "waited_s": self.supervisor_track_wait_s},
            )
        await self._isolate(supervisor, hear=False)
        await asyncio.sleep(self.isolation_settle_s)
        await self._isolate(supervisor, hear=False)
        await self._let_caller_hear()

    async def _supervisor_audio(self, supervisor: str) -> list[str]:
        """The answered supervisor's audio track sids in the caller's room, once published;
        [] when none is within `supervisor_track_wait_s`.

        The agent is in that room, so its `track_published` event (a remote participant
        published a track) says when: the server is asked once before waiting (the track
        may already be there) and once after, and the server's answer is what counts."""
        room = self.room
        if room is None:
            return await self.transfers.wait_audio_tracks(
                room=self.caller_room, identity=supervisor, timeout_s=self.supervisor_track_wait_s
            )
        published = asyncio.Event()

        def on_published(publication: object, participant: object) -> None:
            if (
                getattr(participant, "identity", None) == supervisor
                and getattr(publication, "kind", None) == rtc.TrackKind.KIND_AUDIO
            ):
                published.set()

        room.on("track_published", on_published)  # type: ignore[attr-defined]
        try:
            sids = await self.transfers.audio_track_sids(room=self.caller_room, identity=supervisor)
            if sids:
                return sids
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(published.wait(), self.supervisor_track_wait_s)
            return await self.transfers.audio_track_sids(room=self.caller_room, identity=supervisor)
        finally:
            with contextlib.suppress(Exception):
                room.off("track_published", on_published)  # type: ignore[attr-defined]

    async def _let_caller_hear(self) -> None:
        if self._caller_deaf:
            await self.transfers.set_can_subscribe(
                room=self.caller_room, identity=self.caller_identity, allowed=True
            )
            self._caller_deaf = False

    async def _isolate(self, supervisor: str, *, hear: bool) -> None:
        """Self-hosted: caller and supervisor hear each other only when `hear`."""
        await self.transfers.set_hearing(
            room=self.caller_room, listener=self.caller_identity, speakers=[supervisor], hear=hear
        )
        await self.transfers.set_hearing(
            room=self.caller_room, listener=supervisor, speakers=[self.caller_identity], hear=hear
        )

    async def _merge(self, room: str, identity: str) -> None:
        if self.merge_mode is MergeMode.CLOUD:
            await self.transfers.move(from_room=room, identity=identity, to_room=self.caller_room)
            await self.transfers.delete_room(room)
        else:
            await self._isolate(identity, hear=True)
            await self.caller.publish_only_to(None)

    async def _tear_down(self, room: str, identity: str) -> None:
        """Hang up the supervisor leg (it may connect late after a cancelled dial)."""
        await self.transfers.hang_up(room=room, identity=identity)
        if self.merge_mode is MergeMode.CLOUD:
            await self.transfers.delete_room(room)
        else:
            with contextlib.suppress(Exception):
                await self._let_caller_hear()
            with contextlib.suppress(Exception):
                await self.caller.publish_only_to(None)


def watch_caller(room: object, caller_identity: str) -> tuple[asyncio.Event, Callable[[], None]]:
    """Set an event when `caller_identity` leaves `room` (an `rtc.Room` or any emitter
    with `on`/`off` and `participant_disconnected`). Returns (event, stop-watching)."""
    left = asyncio.Event()

    def _on_disconnected(participant: object) -> None:
        if getattr(participant, "identity", None) == caller_identity:
            left.set()

    room.on("participant_disconnected", _on_disconnected)  # type: ignore[attr-defined]

    def stop() -> None:
        with contextlib.suppress(Exception):
            room.off("participant_disconnected", _on_disconnected)  # type: ignore[attr-defined]

    return left, stop
