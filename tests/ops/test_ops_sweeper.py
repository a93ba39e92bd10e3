"""The worker's sweeper (`behaviours.sweeper`): a call whose process died has its record
closed as `interrupted` and its room hung up, once; a live call is left alone; a LiveKit
that cannot delete the room does not stop the sweep. (On the real server:
tests/e2e/test_worker_fleet.py::test_kill_9_closes_the_record_as_interrupted_and_hangs_up_the_caller.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from callcenter.behaviours.call_record import HEARTBEAT_RETRY_S, CallRecorder, housekeeping
from callcenter.behaviours.sweeper import Sweeper, livekit_hang_up
from callcenter.config import Settings
from callcenter.data import CallRecordStore, Database, Journal
from callcenter.data.journal import CALL_RECORD
from tests.support.db import open_test_database


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _ready(sweeper: Sweeper, clock: _Clock) -> Sweeper:
    """Past the start-up wait: the database reached, then trusted for the whole window."""
    assert await sweeper.sweep_once() == [], "a sweeper that just started waits"
    clock.now += sweeper.trust_after_s
    return sweeper


def _sweeper(url: str, hang_up: object, clock: _Clock) -> Sweeper:
    return Sweeper(url, stale_after_s=120, every_s=30, hang_up=hang_up, clock=clock)  # type: ignore[arg-type]


async def test_a_dead_call_is_closed_and_hung_up_once_a_live_one_is_left_alone(
    tmp_path: Path,
) -> None:
    async with open_test_database("sqlite", tmp_path) as db:
        store = CallRecordStore(db)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        await store.open("dead", "room-dead", started_at=long_ago)
        await store.open("alive", "room-alive", started_at=long_ago)
        await store.heartbeat("alive")
        hung_up: list[str] = []

        async def hang_up(room: str) -> None:
            hung_up.append(room)

        clock = _Clock()
        sweeper = await _ready(_sweeper(db.url, hang_up, clock), clock)
        assert await sweeper.sweep_once() == ["room-dead"]
        assert await sweeper.sweep_once() == [], "closed once"
        assert hung_up == ["room-dead"]
        dead, alive = await store.get("dead"), await store.get("alive")
        assert dead is not None and dead.outcome == "interrupted"
        assert alive is not None and alive.outcome is None


async def test_a_room_that_cannot_be_deleted_is_logged_and_the_sweep_goes_on(
    tmp_path: Path,
) -> None:
    async with open_test_database("sqlite", tmp_path) as db:
        store = CallRecordStore(db)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        for n in (1, 2):
            await store.open(f"dead-{n}", f"room-{n}", started_at=long_ago)

        async def hang_up(room: str) -> None:
            raise ConnectionError("livekit unreachable")

        clock = _Clock()
        sweeper = await _ready(_sweeper(db.url, hang_up, clock), clock)
        assert sorted(await sweeper.sweep_once()) == ["room-1", "room-2"]
        for n in (1, 2):
            record = await store.get(f"dead-{n}")
            assert record is not None and record.outcome == "interrupted"


def test_without_livekit_credentials_nobody_is_hung_up() -> None:
    settings = Settings.model_validate({"LIVEKIT_URL": None})
    assert livekit_hang_up(settings) is None
    with_keys = Settings.model_validate(
        {"LIVEKIT_URL": "ws://lk:7880", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s" * 32}
    )
    assert livekit_hang_up(with_keys) is not None


async def test_an_outage_longer_than_the_stale_window_does_not_hang_up_live_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A live call's heartbeats fail while the database is down, so after an outage longer
    than `record_stale_s` its record looks as dead as a crashed call's. The sweeper judges
    records only once it has reached the database, without a failure, for the stale window
    plus a heartbeat: time for every live call to mark its record again."""
    async with open_test_database("sqlite", tmp_path) as db:
        store = CallRecordStore(db)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        await store.open("live", "room-live", started_at=long_ago)  # beats held back
        await store.open("dead", "room-dead", started_at=long_ago)  # its process died
        hung_up: list[str] = []

        async def hang_up(room: str) -> None:
            hung_up.append(room)

        clock = _Clock()
        sweeper = await _ready(_sweeper(db.url, hang_up, clock), clock)
        down = True
        ping = Database.ping

        async def outage_ping(self: Database) -> None:
            if down:
                raise ConnectionRefusedError("database down")
            await ping(self)

        monkeypatch.setattr(Database, "ping", outage_ping)
        assert await sweeper.sweep_once() == []  # the outage: nothing judged
        clock.now += 600  # ten minutes later the database is back
        down = False
        caplog.set_level(logging.INFO, logger="callcenter.sweeper")
        caplog.clear()  # only what this recovery logs
        assert await sweeper.sweep_once() == [], "the first sweep after the outage kills nobody"
        clock.now += sweeper.trust_after_s - 1
        assert await sweeper.sweep_once() == [], "not before the window has passed"
        waits = [r for r in caplog.records if r.getMessage().startswith("sweep waits")]
        assert len(waits) == 1 and waits[0].levelno == logging.INFO, "logged once"
        await store.heartbeat("live")  # the live call's retried heartbeat has landed
        clock.now += 1
        assert await sweeper.sweep_once() == ["room-dead"]
        assert hung_up == ["room-dead"]
        live = await store.get("live")
        assert live is not None and live.outcome is None


async def test_a_heartbeat_the_database_did_not_take_is_retried_soon() -> None:
    """After an outage the live call's record is marked again within `HEARTBEAT_RETRY_S`,
    not a whole beat later (the sweeper's wait covers a beat anyway; this shortens the time
    a live record looks stale)."""
    settings = Settings.model_validate({"CALLCENTER_RECORD_HEARTBEAT_S": 30})
    state = SimpleNamespace(
        deps=SimpleNamespace(settings=settings), started_at=0.0, call=SimpleNamespace(call_id="c")
    )
    beats: list[str] = []

    class Store:
        async def heartbeat(self, call_id: str) -> bool:
            beats.append(call_id)
            if len(beats) == 2:
                raise ConnectionRefusedError("database down")
            return True

    recorder = CallRecorder(state, Store(), None)  # type: ignore[arg-type]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 4:
            recorder.closed.set()

    recorder._sleep = sleep
    await recorder._beat()
    assert waits == [30, 30, HEARTBEAT_RETRY_S, 30]
    assert beats == ["c"] * 4


async def test_housekeeping_replays_the_journal_but_leaves_sweeping_to_the_sweeper(
    tmp_path: Path,
) -> None:
    """The housekeeping after a call and at worker start runs in a process that has not
    watched the database all along: it cannot tell a dead call's record from a live one
    whose heartbeats an outage held back, so it closes nothing."""
    async with open_test_database("sqlite", tmp_path) as db:
        store = CallRecordStore(db)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        await store.open("quiet", "room-quiet", started_at=long_ago)
        journal = Journal(tmp_path / "journal")
        await journal.write(
            CALL_RECORD,
            {"call_id": "j1", "room_name": "room-j1", "started_at": dt.datetime.now(dt.UTC)},
        )
        await housekeeping(db, journal)
        assert journal.backlog() == 0, "the journal replayed"
        assert await store.get("j1") is not None
        quiet = await store.get("quiet")
        assert quiet is not None and quiet.outcome is None, "not closed here"


async def test_the_worker_shutdown_cancels_and_awaits_its_sweeper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweeper runs in the worker's main process from `worker_started`; LiveKit's CLI
    ends with `AgentServer.aclose()`, which must leave no sweeper task behind."""
    from livekit.agents import AgentServer

    from callcenter.worker import attach_sweeper, build_server

    monkeypatch.setenv("LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE", "0")  # build_server sets it
    livekit_closed: list[list[asyncio.Task[object]]] = []

    async def livekit_aclose(self: AgentServer) -> None:  # the server never ran here
        livekit_closed.append(_sweepers())

    monkeypatch.setattr(AgentServer, "aclose", livekit_aclose)
    settings = Settings.model_validate(
        {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", "LIVEKIT_URL": None}
    )
    server = build_server()
    sweeper = attach_sweeper(server, settings)
    server.emit("worker_started")
    task = sweeper.task
    assert task is not None and _sweepers() == [task]
    await server.aclose()
    assert task.cancelled()
    assert livekit_closed == [[]], "the sweeper stopped, then LiveKit's own shutdown ran"
    assert _sweepers() == [], "no sweeper left pending after shutdown"


def _sweepers() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "sweeper" and not t.done()]
