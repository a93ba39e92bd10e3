"""The worker's sweeper: calls whose process died get their record closed and their caller
hung up.

A live call marks its record alive every `Settings.record_heartbeat_s`
(`behaviours.call_record`). When its process dies without a word (`kill -9`, the OOM killer,
a lost node), nothing closes the record, and nothing ends the caller's leg: livekit-server
(v1.13.5) drops the dead agent participant once its connection is gone, but keeps the room
while the caller is in it, so a phone caller hears silence until they give up
(`tests/e2e/test_worker_fleet.py::test_kill_9_...`).

So the main process of every worker (`callcenter start|dev`) runs a `Sweeper` every
`record_heartbeat_s`: it closes each record not marked alive for `record_stale_s` as
`interrupted` (`CallRecordStore.sweep_calls`; on PostgreSQL the rows are locked with SKIP
LOCKED, so two workers never close one record twice), then deletes those calls' rooms
through LiveKit's RoomService, which disconnects the caller (the SIP bridge sends BYE). A
caller of a crashed worker waits at most `record_stale_s` + `record_heartbeat_s` in silence.

A record is judged stale only once the sweeper has itself reached the database, without a
failure, for `record_stale_s` + `record_heartbeat_s`. Heartbeats that fail while the database
is down are not written (the call goes on), so after an outage longer than `record_stale_s`
every live call's record looks stale until its next heartbeat lands; a sweep at that moment
would hang up live callers. So each pass first pings the database: a failure (or a process
that has just started, and so knows nothing of the time before) restarts the wait, and the
sweep resumes once every live call has had the whole stale window to mark its record again
(a failed heartbeat is retried within `call_record.HEARTBEAT_RETRY_S`). The pass that starts
the wait logs it once, at info. An outage shorter than one pass interval can go unseen; it
cannot make a live record stale while `record_stale_s` is well above twice
`record_heartbeat_s` plus the retry (the defaults, 120 s and 30 s). After an outage, or at
a worker's start, a dead call's caller so waits up to `record_stale_s` + `record_heartbeat_s`
more. The sweep after each record and at worker start (`call_record.housekeeping`) is
gone for the same reason: only a process that watches the database all along can tell.

The main process survives its calls' processes; when the whole worker dies, the other
workers' sweepers (or the next worker to start) do the same. The sweeper starts with the
worker (`worker_started`) and is cancelled and awaited when the worker shuts down
(`SweeperTask`, `worker.attach_sweeper`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from livekit.agents.utils import aio

from callcenter.config import Settings
from callcenter.data import DATABASE_ERRORS, CallRecordStore, Database

logger = logging.getLogger("callcenter.sweeper")

HangUp = Callable[[str], Awaitable[None]]
"""Ends whatever is left of the call in one room (its name)."""


class Sweeper:
    """Closes interrupted calls and hangs up their callers; `run()` every `every_s`.

    `clock` (seconds, monotonic) is for tests."""

    def __init__(
        self,
        database_url: str,
        *,
        stale_after_s: float,
        every_s: float,
        hang_up: HangUp | None,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database_url = database_url
        self.stale_after_s = stale_after_s
        self.every_s = every_s
        self.hang_up = hang_up
        self.timeout_s = timeout_s
        self._clock = clock
        self._db: Database | None = None
        self._reachable_since: float | None = None
        """When this sweeper's round trips began succeeding with no failure since."""
        self._wait_logged = False

    @property
    def trust_after_s(self) -> float:
        """How long the database must have been reachable before a record may be judged
        stale: the stale window, plus one heartbeat for the calls' retries to land."""
        return self.stale_after_s + self.every_s

    async def run(self) -> None:
        """Sweep forever (until cancelled); a failure is logged and tried again next time."""
        try:
            while True:
                await asyncio.sleep(self.every_s)
                await self.sweep_once()
        finally:
            if self._db is not None:
                with contextlib.suppress(Exception):
                    await self._db.close()

    async def sweep_once(self) -> list[str]:
        """One pass; returns the rooms it hung up (or tried to)."""
        try:
            if self._db is None:
                self._db = await Database.open(self.database_url, connect_timeout=self.timeout_s)
            await asyncio.wait_for(self._db.ping(), self.timeout_s)
            if not self._heartbeats_had_time():
                return []
            swept = await CallRecordStore(self._db).sweep_calls(self.stale_after_s)
        except DATABASE_ERRORS as exc:
            self._unreachable()
            logger.warning(
                "sweep skipped: database unreachable", extra={"error": type(exc).__name__}
            )
            return []
        except Exception:
            self._unreachable()
            logger.exception("sweep failed")
            return []
        return await hang_up_swept(swept, self.hang_up)

    def _unreachable(self) -> None:
        self._reachable_since = None
        self._wait_logged = False

    def _heartbeats_had_time(self) -> bool:
        """After a round trip that succeeded: has the database been reachable long enough
        for every live call's heartbeat to have landed (module docstring)?"""
        now = self._clock()
        if self._reachable_since is None:
            self._reachable_since = now
        wait = self._reachable_since + self.trust_after_s - now
        if wait <= 0:
            return True
        if not self._wait_logged:
            self._wait_logged = True
            logger.info(
                "sweep waits: the database has not been reachable long enough for live "
                "calls to mark their records",
                extra={"resumes_in_s": round(wait)},
            )
        return False


async def hang_up_swept(swept: list[tuple[str, str]], hang_up: HangUp | None) -> list[str]:
    """Hang up the callers of the calls a sweep closed (`CallRecordStore.sweep_calls`): the
    real server keeps a dead agent's room open, so the caller would hear silence. Returns
    the rooms; a failure is logged, the record stays closed."""
    rooms = []
    for call_id, room in swept:
        rooms.append(room)
        if hang_up is None:
            continue
        try:
            await hang_up(room)
        except Exception as exc:  # the record is closed; the room is LiveKit's to expire
            logger.warning(
                "interrupted call: could not hang up the caller",
                extra={"call_id": call_id, "room": room, "error": type(exc).__name__},
            )
        else:
            logger.info(
                "interrupted call: caller hung up", extra={"call_id": call_id, "room": room}
            )
    return rooms


def livekit_hang_up(settings: Settings) -> HangUp | None:
    """Delete the room through LiveKit's RoomService (None without LiveKit credentials)."""
    url, key, secret = settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    if not (url and key and secret):
        return None

    async def hang_up(room: str) -> None:
        from livekit import api

        async with api.LiveKitAPI(url, key, secret.get_secret_value()) as lk:
            try:
                await lk.room.delete_room(api.DeleteRoomRequest(room=room))
            except api.TwirpError as exc:
                if exc.code != api.TwirpErrorCode.NOT_FOUND:
                    raise

    return hang_up


class SweeperTask:
    """The worker main process's `Sweeper`, as one task: `start` on the worker's loop (its
    `worker_started` event), `stop` at the worker's shutdown (cancelled and awaited, so its
    database pool is closed and no task is left pending). Wired by `worker.attach_sweeper`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is not None:
            return
        settings = self._settings
        sweeper = Sweeper(
            settings.database_url,
            stale_after_s=settings.record_stale_s,
            every_s=settings.record_heartbeat_s,
            hang_up=livekit_hang_up(settings),
            timeout_s=settings.database_timeout_s,
        )
        self.task = asyncio.get_running_loop().create_task(sweeper.run(), name="sweeper")

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            await aio.cancel_and_wait(task)
