"""Many production workers on one real livekit-server: calls spread, a full worker takes no
call, a deploy (SIGTERM) drops no call, a crash (`kill -9`) leaves no caller on the line.

Server-only (CI runs these): WebRTC callers whose token dispatches our agent by name, as a
SIP dispatch rule does; the workers are `callcenter start` processes (`tests/e2e/fleet.py`),
each with a capacity of two calls, on their own livekit-server so no other test's worker
takes their calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from livekit import api, rtc

from callcenter.constants import AGENT_NAME
from scripts.livekit_local import StackInfo
from tests.e2e.conftest import _seed, _start_stack
from tests.e2e.fleet import (
    HEARTBEAT_S,
    STALE_S,
    FleetWorker,
    fleet_env,
    join_caller,
    start_fleet,
    stop_fleet,
    wait_for,
)
from tests.e2e.harness import (
    AGENT_HZ,
    ProviderEmulators,
    ScriptedModel,
    ToneTrack,
    WebCaller,
    call_record,
    wait_until,
)
from tests.support.audio import FIXTURES_DIR

CAPACITY = 2


@pytest.fixture(scope="module")
def fleet_server(
    server_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackInfo]:
    """A livekit-server (no bridge) for the fleet alone."""
    local, info = _start_stack(tmp_path_factory.mktemp("fleet-stack"), sip=False)
    try:
        yield info
    finally:
        local.down()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fleet.db'}"
    asyncio.run(_seed(url))
    return url


@pytest.fixture
def fleet(
    fleet_server: StackInfo, emulators: ProviderEmulators, database_url: str, tmp_path: Path
) -> Iterator[list[FleetWorker]]:
    """Two `callcenter start` workers under the same agent name, two calls each."""
    env = fleet_env(fleet_server, emulators, database_url, capacity=CAPACITY)
    workers = start_fleet(env, tmp_path, ["w1", "w2"])
    try:
        yield workers
    finally:
        stop_fleet(workers)


async def _lk(info: StackInfo) -> api.LiveKitAPI:
    return api.LiveKitAPI(info.http_url, info.api_key, info.api_secret)


async def _agents_in(info: StackInfo, room: str) -> list[str]:
    async with await _lk(info) as lk:
        try:
            found = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
        except api.TwirpError:
            return []  # no such room (any more)
    kind = api.ParticipantInfo.Kind.AGENT
    return [p.identity for p in found.participants if p.kind == kind]


async def _room_exists(info: StackInfo, room: str) -> bool:
    async with await _lk(info) as lk:
        rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
    return any(r.name == room for r in rooms.rooms)


async def _answered(model: ScriptedModel, caller: WebCaller, *, after: float, decided: int) -> None:
    """Until the model acted on what the caller said after `after` (a reply, or a tool
    beyond the `decided` first ones), and the caller heard the agent speak after it and
    fall quiet."""
    await wait_until(
        lambda: len(model.decisions) > decided or any(t > after for t, _ in model.replies),
        timeout=30,
        what=lambda: f"the model to act on the caller's words ({model.story()})",
    )
    await wait_until(
        lambda: caller.loud_until() > after, timeout=30, what="the agent to speak again"
    )
    await caller.wait_agent_done(quiet_s=1.0)


def _available_count(worker: FleetWorker) -> int:
    """How many times the worker told livekit-server it takes calls (LiveKit's log line)."""
    return worker.process.text().count("worker is below capacity, marking as available")


def _jobs(fleet: list[FleetWorker]) -> list[int]:
    return [w.active_jobs() for w in fleet]


@contextlib.asynccontextmanager
async def _callers() -> AsyncIterator[list[WebCaller]]:
    callers: list[WebCaller] = []
    try:
        yield callers
    finally:
        for caller in callers:
            with contextlib.suppress(Exception):
                await caller.leave()


async def _answered_call(info: StackInfo, callers: list[WebCaller]) -> tuple[str, WebCaller]:
    """A new caller, once our agent is in their room."""
    room = f"fleet-{uuid.uuid4().hex[:8]}"
    caller = await join_caller(info, room, AGENT_NAME)
    callers.append(caller)
    await wait_until(lambda: _agents_in(info, room), timeout=60, what=f"an agent to answer {room}")
    return room, caller


async def test_calls_spread_over_two_workers_and_a_full_worker_takes_none(
    fleet_server: StackInfo, fleet: list[FleetWorker]
) -> None:
    async with _callers() as callers:
        for n in range(1, 2 * CAPACITY + 1):
            await _answered_call(fleet_server, callers)
            await wait_until(
                lambda n=n: sum(_jobs(fleet)) == n, timeout=30, what=f"{n} calls under way"
            )
        # both workers took calls, and neither took more than its capacity
        assert sorted(_jobs(fleet)) == [CAPACITY, CAPACITY]
        for worker in fleet:  # its load (refreshed every 0.5 s) reaches the threshold
            await wait_until(
                lambda w=worker: float(str(w.status()["worker_load"])) >= 0.7,
                timeout=10,
                what=f"{worker.name} to report itself full at capacity",
            )

        # a call while both are full: no worker takes it (livekit-server finds none
        # available), while the calls under way go on
        room = f"fleet-{uuid.uuid4().hex[:8]}"
        callers.append(await join_caller(fleet_server, room, AGENT_NAME))
        await asyncio.sleep(8)
        assert await _agents_in(fleet_server, room) == [], "a full fleet took a call"
        assert sorted(_jobs(fleet)) == [CAPACITY, CAPACITY]

        # livekit-server does not offer that call again: its caller waits in silence (size
        # the fleet so it is never full: docs/operations.md)
        unanswered = callers.pop()

        # one call ends: its worker tells livekit-server it has room again (its status
        # update, every 2.5 s), and takes the next call
        available = [_available_count(w) for w in fleet]
        first = callers.pop(0)
        await first.leave()
        await wait_until(
            lambda: any(_available_count(w) > n for w, n in zip(fleet, available, strict=True)),
            timeout=60,
            what="a worker to report itself available again after its call ended",
        )
        await _answered_call(fleet_server, callers)
        await wait_until(lambda: sum(_jobs(fleet)) == 2 * CAPACITY, timeout=30, what="the new call")
        assert await _agents_in(fleet_server, unanswered.room.name) == [], "not offered again"
        await unanswered.leave()


async def test_sigterm_drains_a_worker_its_call_ends_normally_new_calls_go_elsewhere(
    fleet_server: StackInfo,
    fleet: list[FleetWorker],
    model: ScriptedModel,
    database_url: str,
    tmp_path: Path,
) -> None:
    model.reset()
    async with _callers() as callers:
        room, caller = await _answered_call(fleet_server, callers)
        await wait_until(lambda: sum(_jobs(fleet)) == 1, timeout=30, what="the call under way")
        [draining] = [w for w in fleet if w.active_jobs() == 1]
        [other] = [w for w in fleet if w is not draining]
        await caller.wait_agent_done()

        draining.sigterm()  # a deploy: Kubernetes/Docker stop the container
        await wait_until(
            lambda: "draining worker" in draining.process.text(),
            timeout=20,
            what="the worker to start draining",
        )
        # new calls go to the other worker, even though the draining one has room
        for _ in range(CAPACITY):
            await _answered_call(fleet_server, callers)
        await wait_until(lambda: other.active_jobs() == CAPACITY, timeout=30, what="new calls")
        assert draining.active_jobs() == 1

        # the call on the draining worker goes on: the caller speaks and is answered
        sigterm_at = time.time()
        model.caller_says("I want to check on my order")
        spoke_end = await caller.say(FIXTURES_DIR / "check_order.wav") - caller.started_at
        await _answered(model, caller, after=sigterm_at, decided=0)
        heard = caller.save(tmp_path / "caller.wav")
        callers.remove(caller)
        await caller.leave()  # the caller hangs up: a normal end

        record = await call_record(database_url, room, timeout=60)
        assert record["outcome"] == "abandoned", record
        assert ToneTrack.of(heard, [AGENT_HZ]).present(AGENT_HZ, start_s=spoke_end) > 0.5
        # its last call over, the drained worker exits on its own, cleanly
        wait_for(lambda: not draining.alive(), timeout=60, what="the drained worker to exit")
        assert draining.process.proc is not None and draining.process.proc.returncode == 0
        assert other.active_jobs() == CAPACITY, "the other worker's calls went on"


async def test_kill_9_closes_the_record_as_interrupted_and_hangs_up_the_caller(
    fleet_server: StackInfo, fleet: list[FleetWorker], database_url: str
) -> None:
    async with _callers() as callers:
        room, caller = await _answered_call(fleet_server, callers)
        await wait_until(lambda: sum(_jobs(fleet)) == 1, timeout=30, what="the call under way")
        [crashed] = [w for w in fleet if w.active_jobs() == 1]
        [survivor] = [w for w in fleet if w is not crashed]
        await caller.wait_agent_done()
        disconnected = asyncio.Event()
        caller.room.on("disconnected", lambda *_: disconnected.set())

        crashed.kill_9()
        killed_at = time.monotonic()
        # livekit-server does not end the call by itself: the caller's room stays, the dead
        # agent still listed in it (seconds later too: its connection is given time to resume)
        assert await _room_exists(fleet_server, room)
        assert await _agents_in(fleet_server, room), "the dead agent is still listed"

        # the surviving worker's sweeper closes the record and hangs the caller up
        record = await call_record(database_url, room, timeout=60)
        assert record["outcome"] == "interrupted"
        assert "call process stopped" in record["data"]["end_reason"]
        await asyncio.wait_for(disconnected.wait(), timeout=30)
        assert caller.room.connection_state == rtc.ConnectionState.CONN_DISCONNECTED
        assert not await _room_exists(fleet_server, room)
        # not before the record went stale (its last heartbeat was at most one beat earlier)
        assert time.monotonic() - killed_at >= STALE_S - HEARTBEAT_S
        survivor_log = survivor.process.text()
        assert "interrupted call: caller hung up" in survivor_log

        # and the survivor answers the next call
        await _answered_call(fleet_server, callers)
        await wait_until(lambda: survivor.active_jobs() == 1, timeout=30, what="the next call")


def _value(samples: dict, name: str, **labels: str) -> float:
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


async def test_a_call_shows_in_its_workers_prometheus_scrape_with_the_values_it_produced(
    fleet_server: StackInfo,
    fleet: list[FleetWorker],
    model: ScriptedModel,
    database_url: str,
) -> None:
    model.reset()
    async with _callers() as callers:
        room, caller = await _answered_call(fleet_server, callers)
        await wait_until(lambda: sum(_jobs(fleet)) == 1, timeout=30, what="the call under way")
        [worker] = [w for w in fleet if w.active_jobs() == 1]
        [idle] = [w for w in fleet if w is not worker]
        await caller.wait_agent_done()
        model.caller_says("I want to check on my order")
        said_at = time.time()
        await caller.say(FIXTURES_DIR / "check_order.wav")
        await _answered(model, caller, after=said_at, decided=0)

        during = worker.scrape()  # the call is under way
        assert _value(during, "callcenter_calls_active") == 1
        assert _value(during, "callcenter_calls_started_total", transport="web") == 1
        assert _value(idle.scrape(), "callcenter_calls_started_total", transport="web") == 0
        # LiveKit's own metrics on the same port: the load it reports, one call of CAPACITY
        [load] = [v for (n, _), v in during.items() if n == "lk_agents_worker_load"]
        assert load == pytest.approx(0.7 * 1 / CAPACITY)

        callers.remove(caller)
        await caller.leave()
    record = await call_record(database_url, room, timeout=60)

    def ended() -> bool:
        return _value(worker.scrape(), "callcenter_calls_active") == 0

    await wait_until(ended, timeout=30, what="the call to leave calls_active")
    after = worker.scrape()
    outcome = record["outcome"]
    assert _value(after, "callcenter_calls_ended_total", disposition=outcome) == 1
    assert _value(after, "callcenter_call_duration_seconds_count", disposition=outcome) == 1
    # every phase move the record shows was counted, and nothing else
    moves: dict[tuple[str, str], int] = {}
    for h in record["data"]["handoffs"]:
        moves[(h["from"], h["to"])] = moves.get((h["from"], h["to"]), 0) + 1
    assert moves, f"the call moved on from the greeting ({model.story()})"
    counted = {
        (dict(labels)["from_phase"], dict(labels)["to_phase"]): int(v)
        for (name, labels), v in after.items()
        if name == "callcenter_phase_transitions_total"
    }
    assert counted == moves
    # the model and the voice were timed (the emulators answer at fixed latencies)
    assert sum(v for (n, _), v in after.items() if n == "callcenter_tts_ttfb_seconds_count") >= 1
