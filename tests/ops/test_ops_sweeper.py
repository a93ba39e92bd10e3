"""The worker's sweeper (`behaviours.sweeper`): a call whose process died has its record
closed as `interrupted` and its room hung up, once; a live call is left alone; a LiveKit
that cannot delete the room does not stop the sweep. (On the real server:
tests/e2e/test_worker_fleet.py::test_kill_9_closes_the_record_as_interrupted_and_hangs_up_the_caller.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from callcenter.behaviours.call_record import housekeeping
from callcenter.behaviours.sweeper import Sweeper, livekit_hang_up
from callcenter.config import Settings
from callcenter.data import CallRecordStore
from tests.support.db import open_test_database


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

        sweeper = Sweeper(db.url, stale_after_s=120, every_s=1, hang_up=hang_up)
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

        sweeper = Sweeper(db.url, stale_after_s=120, every_s=1, hang_up=hang_up)
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


async def test_the_sweep_after_a_call_hangs_up_what_it_closes(tmp_path: Path) -> None:
    """The job process's housekeeping (after each record, and at worker start) sweeps too;
    a record it closes is no longer open for the worker's `Sweeper`, so it must hang the
    caller up itself, or that caller would stay in a silent room."""
    async with open_test_database("sqlite", tmp_path) as db:
        store = CallRecordStore(db)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
        await store.open("dead", "room-dead", started_at=long_ago)
        hung_up: list[str] = []

        async def hang_up(room: str) -> None:
            hung_up.append(room)

        await housekeeping(db, None, 120, hang_up)
        assert hung_up == ["room-dead"]
        record = await store.get("dead")
        assert record is not None and record.outcome == "interrupted"
        later = Sweeper(db.url, stale_after_s=120, every_s=1, hang_up=hang_up)
        assert await later.sweep_once() == [], "nothing left for the worker's sweeper"


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
