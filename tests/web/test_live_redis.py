"""Live updates through Redis (`CALLCENTER_REDIS_URL`): a worker's publish wakes a console's
board stream; without Redis, or with Redis gone, the database poll carries on.

Runs against the Redis at 127.0.0.1:6379 (CI starts it: .ci/services.sh); skipped with the
reason when it is not there, failed instead when `CALLCENTER_REQUIRE_REDIS=1`. Each test
uses a channel of its own, so parallel runs never hear each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
import uvicorn

from callcenter.config import ConfigError, Settings
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.live.bus import LiveBus, live_bus
from callcenter.live.publisher import LivePublisher
from callcenter.telephony.sip import CallInfo
from callcenter.web.app import create_app
from callcenter.web.live_feed import LiveFeed
from tests.web.conftest import PASSWORD, Account, web_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WAIT_S = 20.0
"""A liveness guard (the test fails instead of hanging), not a speed requirement."""


def _redis_down() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1.0):
            return None
    except OSError as exc:
        return f"no Redis at 127.0.0.1:6379 ({type(exc).__name__})"


@pytest.fixture
def redis_settings() -> Settings:
    reason = _redis_down()
    if reason is not None:
        if os.environ.get("CALLCENTER_REQUIRE_REDIS") == "1":
            pytest.fail(reason + " (CALLCENTER_REQUIRE_REDIS=1)")
        pytest.skip(reason)
    return web_settings(
        CALLCENTER_REDIS_URL=REDIS_URL,
        CALLCENTER_REDIS_CHANNEL=f"callcenter-test:{uuid.uuid4().hex}",
        CALLCENTER_WEB_COOKIE_SECURE="false",  # the test's client talks plain http
    )


def _state(call_id: str) -> CallState:
    return CallState(
        call=CallInfo.for_console(caller_e164="+14155550142", call_id=call_id),
        deps=cast(Any, None),
    )


def test_the_redis_url_is_validated_at_start_up() -> None:
    with pytest.raises(ConfigError, match="REDIS_URL"):
        web_settings(REDIS_URL="http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="CALLCENTER_REDIS_CHANNEL"):
        web_settings(CALLCENTER_REDIS_CHANNEL="has spaces")
    settings = web_settings(REDIS_URL="redis://:s3cret@127.0.0.1:6379/0")
    assert settings.redis_url is not None
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.redis_url)
    assert web_settings().redis_url is None


async def _listening(bus: LiveBus) -> tuple[asyncio.Task[None], asyncio.Queue[dict[str, Any]]]:
    notices: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    up = asyncio.Event()
    task = asyncio.create_task(
        bus.listen(notices.put_nowait, lambda ok: up.set() if ok else up.clear())
    )
    await asyncio.wait_for(up.wait(), WAIT_S)
    return task, notices


async def test_a_workers_publish_reaches_a_listener(redis_settings: Settings, db: Database) -> None:
    bus = live_bus(redis_settings)
    assert bus is not None and live_bus(redis_settings) is bus  # one per process and loop
    task, notices = await _listening(bus)
    try:
        publisher = LivePublisher(db, _state("redis-call-1"), bus=bus)
        await publisher.flush()
        notice = await asyncio.wait_for(notices.get(), WAIT_S)
        assert notice["kind"] == "board" and notice["call_id"] == "redis-call-1"
        row = await publisher.store.get("redis-call-1")
        assert row is not None and notice["version"] == row.version  # the row it announces
        assert "4155550142" not in repr(notice)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bus.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _serving(settings: Settings, db: Database) -> AsyncIterator[tuple[str, Any]]:
    app = create_app(settings, db=db, background=False)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT_S)


async def _next_board(lines: AsyncIterator[str]) -> str:
    """The data of the next `board` event on the stream."""
    event, data = "", []
    async for line in lines:
        if line.startswith("event:"):
            event, data = line.removeprefix("event:").strip(), []
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
        elif line == "" and event == "board":
            return "\n".join(data)
        elif line == "":
            event, data = "", []
    raise AssertionError("the stream ended")


async def test_the_board_stream_wakes_on_a_redis_notice(
    redis_settings: Settings,
    db: Database,
    accounts: dict[str, Account],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With Redis listening the stream does not poll (its safety poll is set to an hour
    here), so the new row can only have come through the worker's notice."""
    monkeypatch.setattr("callcenter.web.live_feed.SAFETY_POLL_S", 3600.0)
    async with _serving(redis_settings, db) as (url, app):
        feed: LiveFeed = app.state.console.feed
        while not feed.listening:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=url, timeout=WAIT_S) as client:
            login = await client.post(
                "/api/login", json={"email": accounts["ops"].email, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            params = {"board_updates": "true"}
            async with client.stream("GET", "/events", params=params) as stream:
                lines = stream.aiter_lines()
                first = await asyncio.wait_for(_next_board(lines), WAIT_S)
                assert "live-redis-call-2" not in first
                seen = feed.notices

                # the worker process's side: its own bus and database connection
                worker_db = await Database.open(db.url)
                try:
                    worker_bus = LiveBus(
                        REDIS_URL,
                        redis_settings.redis_channel,
                    )
                    publisher = LivePublisher(worker_db, _state("redis-call-2"), bus=worker_bus)
                    await publisher.flush()
                    await worker_bus.close()
                finally:
                    await worker_db.close()

                rows = await asyncio.wait_for(_next_board(lines), WAIT_S)
                assert 'id="live-redis-call-2"' in rows
                assert "+1********42" in rows and "4155550142" not in rows
                assert feed.notices > seen


async def test_redis_unreachable_the_call_goes_on_and_the_poll_covers_it(db: Database) -> None:
    closed = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    bus = LiveBus(closed, "callcenter-test:down")
    publisher = LivePublisher(db, _state("redis-down"), bus=bus)
    await publisher.flush()  # no exception into the call
    assert (await publisher.store.get("redis-down")) is not None  # the board still has it
    assert await bus.announce("board", "redis-down") is False

    feed = LiveFeed()
    states: list[bool] = []
    listener = asyncio.create_task(bus.listen(feed.notice, states.append))
    while not states:
        await asyncio.sleep(0.02)
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    await bus.close()
    assert states[0] is False and not feed.listening
    # not listening: a stream's wait is the short database poll, it returns by itself
    await asyncio.wait_for(feed.wait(feed.token(), poll_s=0.01), WAIT_S)


async def test_a_screen_pop_is_announced_for_its_supervisor(
    redis_settings: Settings, db: Database
) -> None:
    from callcenter.live.screen_pop import announce_transfer

    bus = live_bus(redis_settings)
    assert bus is not None
    task, notices = await _listening(bus)
    try:
        state = _state("redis-pop")
        await LivePublisher(db, state).flush()
        await announce_transfer(db, state, 1, summary="Wants a late fee waived.", bus=bus)
        notice = await asyncio.wait_for(notices.get(), WAIT_S)
        assert notice == {"kind": "pop", "call_id": "redis-pop", "supervisor_id": 1}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bus.close()
