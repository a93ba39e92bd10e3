"""No call record lost (issue 11 findings): the database down at call start and at hang-up
(a real PostgreSQL behind a proxy that is cut and restored), a call process killed with
SIGKILL, and column limits that differ between SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from livekit import rtc
from livekit.agents.testing import fake_job_context

from callcenter.call import Call, start_call
from callcenter.config import Settings
from callcenter.data import CallRecordStore, Database, TicketStore
from callcenter.data.models import Ticket
from callcenter.providers import build_providers
from callcenter.telephony.sip import CallInfo
from tests.callpath.helpers import MAYA, make_settings, settle
from tests.support.db import TEST_DATABASE_URL, open_test_database
from tests.support.outage import OutageProxy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_test_database("postgres", tmp_path) as database:
        yield database


@pytest.fixture
async def proxy() -> AsyncIterator[OutageProxy]:
    async with OutageProxy() as outage:
        yield outage


@pytest.fixture
async def flaky(pg: Database, proxy: OutageProxy) -> AsyncIterator[Database]:
    """The same database as `pg`, reached through the proxy (opened while it is up)."""
    database = await Database.open(proxy.url(TEST_DATABASE_URL), schema=pg.schema)
    try:
        yield database
    finally:
        await database.close()


def _settings(tmp_path: Path) -> Settings:
    return make_settings(
        DATABASE_URL=TEST_DATABASE_URL,
        CALLCENTER_JOURNAL_DIR=str(tmp_path / "journal"),
        CALLCENTER_BUSINESS_HOURS="mon-sun 00:00-24:00",
    )


async def _start(settings: Settings, db: Database, call_id: str) -> Call:
    providers = build_providers(settings, vad=None)
    providers = replace(providers, realtime=None, stt=None, tts=None)
    call = CallInfo.for_console(caller_e164=MAYA, call_id=call_id)
    return await start_call(settings=settings, db=db, call=call, providers=providers, vad=None)


async def _hang_up(running: Call) -> None:
    running.state.caller_hung_up()
    await running.session.aclose()
    await running.wait_closed()


def _agent_lines(running: Call) -> list[str]:
    return [
        m.text_content or ""
        for m in running.session.history.messages()
        if m.role == "assistant" and m.text_content
    ]


@pytest.mark.postgres
async def test_a_call_goes_on_with_the_database_down_at_call_start(
    pg: Database, flaky: Database, proxy: OutageProxy, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    proxy.cut()
    with fake_job_context(room=rtc.Room()):
        running = await _start(settings, flaky, "db-down-at-start")
        await settle(running.session)
        assert _agent_lines(running), "the caller heard nothing"
        await running.session.run(user_input="where is my order 1001")
        assert "unavailable" in _agent_lines(running)[-1].lower()
        await running.session.run(user_input="please call me back tomorrow morning")
        await _hang_up(running)
    proxy.restore()
    # the database answers again: the next call that reaches it replays what was journaled
    with fake_job_context(room=rtc.Room()):
        await _hang_up(await _start(settings, flaky, "the-next-call"))
    record = await CallRecordStore(pg).get("db-down-at-start")
    assert record is not None and record.outcome == "callback" and record.ended_at is not None
    async with pg.session() as s:
        tickets = (
            await s.execute(sa.select(Ticket).where(Ticket.call_id == "db-down-at-start"))
        ).all()
    assert len(tickets) == 1


@pytest.mark.postgres
async def test_a_record_is_closed_when_the_database_is_down_at_hang_up(
    pg: Database, flaky: Database, proxy: OutageProxy, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    with fake_job_context(room=rtc.Room()):
        running = await _start(settings, flaky, "db-down-at-hang-up")
        await settle(running.session)
        await running.session.run(user_input="hello, I have a question about a bill")
        proxy.cut()
        await _hang_up(running)
    proxy.restore()
    with fake_job_context(room=rtc.Room()):
        await _hang_up(await _start(settings, flaky, "the-next-call"))
    record = await CallRecordStore(pg).get("db-down-at-hang-up")
    assert record is not None
    assert record.outcome is not None and record.ended_at is not None
    assert record.transcript, "the transcript was lost"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_killed_call_process_leaves_a_record_the_sweeper_closes(
    db_path: Path, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{db_path}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CALLCENTER_PROVIDER_MODE": "degraded",
        "CALLCENTER_JOURNAL_DIR": str(tmp_path / "journal"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "callcenter.cli", "console", "--caller", MAYA],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    # wait for the greeting: the call is running and its record is open
    for _ in range(200):
        line = await asyncio.to_thread(proc.stdout.readline)
        if line.startswith("agent >"):
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    db = await Database.open(url)
    try:
        (record,) = await CallRecordStore(db).list_recent(limit=1)
        assert record.outcome is None  # the process died before it could close it
        swept = _cli(env, "records", "sweep", "--stale-after", "0")
        assert swept.returncode == 0, swept.stderr
        after = await CallRecordStore(db).get(record.call_id)
    finally:
        await db.close()
    assert after is not None and after.outcome == "interrupted"
    assert after.ended_at is not None
    assert "process" in str(after.data.get("end_reason"))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_long_spoken_callback_time_is_stored_the_same_on_both_backends(
    backend: Any, tmp_path: Path
) -> None:
    spoken = "any weekday after my shift, which ends at five thirty, except Fridays " * 5
    async with open_test_database(backend, tmp_path) as database:
        view = await TicketStore(database).create_callback(
            MAYA, "question about a bill", preferred_time=spoken
        )
    assert view.preferred_time is not None and len(view.preferred_time) <= 128
    assert view.preferred_time.startswith("any weekday after my shift")


UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/test"
"""Nothing listens on port 1: every connection is refused at once."""


async def test_the_console_runs_a_call_with_the_database_unreachable(tmp_path: Path) -> None:
    import io

    from callcenter.console import ConsoleOptions, run_console
    from callcenter.data import Journal

    settings = make_settings(
        DATABASE_URL=UNREACHABLE, CALLCENTER_JOURNAL_DIR=str(tmp_path / "journal")
    )
    script = tmp_path / "call.txt"
    script.write_text("where is my order 1001\ncall me back tomorrow please\nHANGUP\n")
    out = io.StringIO()
    options = ConsoleOptions(caller=MAYA, script=script, json_output=False, verbose=False)
    record = await run_console(settings, options, out=out)
    assert record["journaled"] is True and record["outcome"] == "callback"
    assert "account services are unavailable" in out.getvalue()
    assert Journal(tmp_path / "journal").backlog() == 3  # the open, the close, the callback


async def test_a_job_process_starts_with_the_database_unreachable() -> None:
    from callcenter.worker import _open_database

    db, reachable = await _open_database(make_settings(DATABASE_URL=UNREACHABLE))
    try:
        assert db.dialect == "postgresql"  # opened, unchecked: its calls run without it
        assert not reachable
    finally:
        await db.close()


@pytest.mark.parametrize(("reachable", "reads"), [(False, 0), (True, 1)])
def test_a_job_process_reads_the_roster_only_from_a_database_that_answered(
    monkeypatch: pytest.MonkeyPatch, db_path: Path, reachable: bool, reads: int
) -> None:
    """LiveKit gives a job process 10 s to start. With the database host not answering,
    the open waits its 5 s timeout; a roster read after it waited as long again. So the
    roster is read at start only when the open reached the database."""
    import gc

    from callcenter import worker
    from callcenter.escalation.wiring import StoreDirectory

    url = f"sqlite+aiosqlite:///{db_path}" if reachable else UNREACHABLE
    monkeypatch.chdir(sys.prefix)  # no developer .env
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CALLCENTER_PROVIDER_MODE", "degraded")
    monkeypatch.setattr(worker, "process_vad", lambda: None)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    asked: list[str] = []
    read = StoreDirectory.roster

    async def roster(self: StoreDirectory) -> Any:
        asked.append("roster")
        return await read(self)

    monkeypatch.setattr(StoreDirectory, "roster", roster)
    proc = SimpleNamespace(userdata={})
    worker.prewarm(proc)  # type: ignore[arg-type]
    asyncio.run(proc.userdata["db"].close())
    assert len(asked) == reads
