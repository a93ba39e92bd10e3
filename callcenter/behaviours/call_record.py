"""The call record: opened when the call starts, marked alive while it runs, closed exactly
once when the session ends, however it ends (goodbye, transfer, hang-up, error, timeout),
and never lost.

- On close the state settles its outcome (`CallState.session_closed`), and the record gets
  the outcome, the assurance, the state's JSON (phases, handoffs, transfers, switches), the
  call's numbers (`CallMetrics`: turn latencies, tool calls, model usage) and the redacted
  transcript (names known on the call removed too).
- Every `Settings.record_heartbeat_s` the live call marks its record alive (a heartbeat
  the database did not take is tried again after `HEARTBEAT_RETRY_S`, so it lands soon
  after an outage); a record whose call stopped doing so (the process died) is closed as
  `interrupted` by every worker's `Sweeper` (`behaviours.sweeper`), which also hangs up
  the dead call's caller. Only the sweeper sweeps: it watches the database all along, so
  it knows when the calls' heartbeats have had time to land after an outage.
- When the database cannot take the open or the close within `Settings.database_timeout_s`,
  the record goes to the worker's local journal (`data.journal`) instead, and the call goes
  on. After a record is written to the database (the caller has gone), the journal is
  replayed when it holds anything: what waited there reaches the database as soon as it
  answers again.

`closed` is set once the close has begun; `wait_closed()` waits for the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.voice.events import CloseEvent

from callcenter.behaviours.call_metrics import CallMetrics
from callcenter.behaviours.transcript import Transcript
from callcenter.core.state import CallState
from callcenter.data import DATABASE_ERRORS, CallRecordStore, Database, Journal
from callcenter.data.journal import CALL_RECORD
from callcenter.vocabulary import CallOutcome

logger = logging.getLogger("callcenter.call")

_HOUSEKEEPING: dict[str, float] = {}
"""When this process last replayed the journal, per database URL."""
HOUSEKEEPING_EVERY_S = 30.0
"""At most one background replay per process this often."""
HEARTBEAT_RETRY_S = 5.0
"""A heartbeat the database did not take is tried again this soon (or at the next beat,
if that is sooner), not a whole beat later: after an outage the record is marked alive
again long before the sweeper resumes (`behaviours.sweeper`)."""


class CallRecorder:
    """Writes one call's record through `store`, or to `journal` when it cannot."""

    def __init__(
        self,
        state: CallState,
        store: CallRecordStore,
        transcript: Transcript,
        *,
        journal: Journal | None = None,
        db: Database | None = None,
        metrics: CallMetrics | None = None,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.store = store
        self.transcript = transcript
        self.journal = journal
        self.db = db
        self.closed = asyncio.Event()
        self.in_database = False
        """The open reached the database (else it is in the journal)."""
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        settings = state.deps.settings
        self._timeout = settings.database_timeout_s
        self._every = settings.record_heartbeat_s
        self._sleep: Callable[[float], Awaitable[object]] = asyncio.sleep  # tests: a fake
        self._started = dt.datetime.fromtimestamp(state.started_at, dt.UTC)

    async def open(self) -> None:
        call = self.state.call
        try:
            await asyncio.wait_for(
                self.store.open(
                    call.call_id,
                    call.room_name,
                    caller_e164=call.caller_e164,
                    dialled_e164=call.dialled_e164,
                    started_at=self._started,
                ),
                self._timeout,
            )
            self.in_database = True
        except DATABASE_ERRORS as exc:
            logger.warning(
                "call record not opened: the database is unreachable; journaling it",
                extra={"call_id": call.call_id, "error": type(exc).__name__},
            )
            await self._journal(self._snapshot(final=False))

    def attach(self, session: AgentSession[CallState]) -> CallRecorder:
        session.on("close", self._on_close)
        self._heartbeat = asyncio.create_task(self._beat(), name="call-record-heartbeat")
        return self

    async def _beat(self) -> None:
        """Mark the record alive until the call closes; a failure is retried soon."""
        delay = self._every
        while not self.closed.is_set():
            await self._sleep(delay)
            try:
                await asyncio.wait_for(self.store.heartbeat(self.state.call.call_id), self._timeout)
            except DATABASE_ERRORS:
                delay = min(self._every, HEARTBEAT_RETRY_S)
            else:
                delay = self._every

    def _on_close(self, ev: CloseEvent) -> None:
        self.state.session_closed(error=ev.error is not None)
        self._task = asyncio.create_task(self.close())

    async def close(self) -> None:
        """Persist the final record (idempotent: the first close wins)."""
        if self.closed.is_set():
            return
        self.closed.set()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        state = self.state
        final = self._snapshot(final=True)
        try:
            await asyncio.wait_for(self.store.save(**final), self._timeout)
        except DATABASE_ERRORS as exc:
            logger.warning(
                "call record not closed: the database is unreachable; journaling it",
                extra={"call_id": state.call.call_id, "error": type(exc).__name__},
            )
            await self._journal(final)
            return
        logger.info(
            "call record closed",
            extra={"call_id": state.call.call_id, "outcome": str(state.outcome)},
        )
        await self._housekeeping()

    def _snapshot(self, *, final: bool) -> dict[str, Any]:
        state = self.state
        call = state.call
        record: dict[str, Any] = {
            "call_id": call.call_id,
            "room_name": call.room_name,
            "started_at": self._started,
            "caller_e164": call.caller_e164,
            "dialled_e164": call.dialled_e164,
        }
        if final:
            names = state.known_names()
            record |= {
                "outcome": state.outcome or CallOutcome.ENDED,
                "ended_at": dt.datetime.now(dt.UTC),
                "transferred_to": state.transferred_to,
                "data": self._data(),
                "transcript": self.transcript.as_record(names=names),
                "customer_id": state.verified_customer_id,
                "assurance": state.assurance.value,
            }
        return record

    def _data(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.state.record_data())
        if self.metrics is not None:
            try:
                data |= self.metrics.record_data()
            except Exception:  # numbers are worth less than the record: never lose it
                logger.exception(
                    "call metrics not recorded", extra={"call_id": self.state.call.call_id}
                )
        return data

    async def _journal(self, record: dict[str, Any]) -> None:
        if self.journal is None:
            logger.error(
                "call record lost: no journal configured", extra={"call_id": record["call_id"]}
            )
            return
        try:
            await self.journal.write(CALL_RECORD, record)
        except OSError:
            logger.exception("call record lost: the journal could not be written")

    async def _housekeeping(self) -> None:
        """After the record is written (the caller is gone): replay the journal when it
        holds anything, else at most once per `HOUSEKEEPING_EVERY_S` per process."""
        if self.db is None:
            return
        pending = self.journal is not None and self.journal.backlog() > 0
        key = self.db.url
        now = time.monotonic()
        if (
            not pending
            and now - _HOUSEKEEPING.get(key, -HOUSEKEEPING_EVERY_S) < HOUSEKEEPING_EVERY_S
        ):
            return
        _HOUSEKEEPING[key] = now
        await housekeeping(self.db, self.journal)

    async def wait_closed(self) -> None:
        await self.closed.wait()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def housekeeping(db: Database, journal: Journal | None) -> None:
    """Replay what the journal holds. Never raises: it runs again after the next record.

    It does not sweep interrupted records: a process that has not watched the database all
    along cannot tell a dead call from a live one whose heartbeats an outage held back
    (`behaviours.sweeper`, which does)."""
    try:
        if journal is not None and journal.backlog():
            await journal.replay(db)
    except DATABASE_ERRORS as exc:
        logger.warning("housekeeping skipped", extra={"error": type(exc).__name__})
    except Exception:
        logger.exception("housekeeping failed")
