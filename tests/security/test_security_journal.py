"""The local durable journal (`data.journal`), the interrupted sweep and the retention purge
(`data.call_records`), and the `callcenter records` commands."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from callcenter import cli
from callcenter.data import CallRecordStore, Database, Journal
from callcenter.data.journal import CALL_RECORD, CALLBACK
from callcenter.data.models import Ticket, TicketStatus
from tests.support.db import TEST_DATABASE_URL, open_test_database
from tests.support.outage import OutageProxy

MAYA = "+14155550142"
START = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _record(call_id: str, **final: object) -> dict[str, object]:
    return {"call_id": call_id, "room_name": "room", "started_at": START,
            "caller_e164": MAYA, "dialled_e164": None, **final}  # fmt: skip


def _closed(call_id: str) -> dict[str, object]:
    return _record(
        call_id,
        outcome="callback",
        ended_at=START + dt.timedelta(minutes=3),
        transferred_to=None,
        data={"phases": ["greeting"], "end_reason": "caller hung up"},
        transcript=[{"role": "caller", "text": "call me back", "phase": "greeting", "at": 1.0}],
        customer_id=None,
        assurance="none",
    )


def _callback(call_id: str, phone: str = MAYA) -> dict[str, object]:
    return {"phone_e164": phone, "reason": "billing question", "summary": "s",
            "preferred_time": "tomorrow", "customer_id": None, "call_id": call_id}  # fmt: skip


async def _tickets(db: Database, call_id: str) -> int:
    async with db.session() as s:
        count = await s.scalar(
            sa.select(sa.func.count()).select_from(Ticket).where(Ticket.call_id == call_id)
        )
    return int(count or 0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with open_test_database(request.param, tmp_path) as database:
        yield database


async def test_entries_are_durable_private_and_replayed_exactly_once(
    db: Database, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal")
    journal.append(CALL_RECORD, _record("j-1"))
    journal.append(CALL_RECORD, _closed("j-1"))
    journal.append(CALLBACK, _callback("j-1"))
    assert journal.backlog() == 3
    assert stat.S_IMODE(os.stat(journal.live).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(journal.directory).st_mode) == 0o700

    report = await journal.replay(db)
    assert (report.applied, report.remaining) == (3, 0) and journal.backlog() == 0
    record = await CallRecordStore(db).get("j-1")
    assert record is not None and record.outcome == "callback" and record.transcript
    assert await _tickets(db, "j-1") == 1
    assert (await journal.replay(db)).applied == 0


async def test_a_replay_cut_short_is_finished_without_writing_twice(
    db: Database, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal")
    journal.append(CALLBACK, _callback("j-2"))
    saved = journal.live.read_text()
    await journal.replay(db)
    # the process died after the commit but before the file was deleted: the entry is back
    (journal.directory / "replaying-crashed.jsonl").write_text(saved)
    report = await journal.replay(db)
    assert (report.applied, report.already) == (0, 1)
    assert await _tickets(db, "j-2") == 1


async def test_torn_lines_and_bad_entries_do_not_block_the_rest(
    db: Database, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal")
    journal.append(CALLBACK, _callback("j-3", phone="not a number"))
    journal.append(CALLBACK, _callback("j-3"))
    with journal.live.open("a") as f:
        f.write('{"id": "torn", "kind": "callb')  # a crash in the middle of a write
    report = await journal.replay(db)
    assert (report.applied, report.rejected) == (1, 1)
    assert await _tickets(db, "j-3") == 1
    rejected = (journal.directory / "rejected.jsonl").read_text().splitlines()
    assert json.loads(rejected[0])["error"] == "ValueError"
    assert journal.backlog() == 1  # the rejected entry waits for a person


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")

    def write(n: int) -> None:
        for i in range(25):
            journal.append(CALLBACK, _callback(f"t{n}-{i}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = journal.live.read_text().splitlines()
    assert len(lines) == 200 and len({json.loads(line)["id"] for line in lines}) == 200


@pytest.mark.postgres
async def test_a_replay_while_the_database_is_down_keeps_everything(tmp_path: Path) -> None:
    async with open_test_database("postgres", tmp_path) as pg, OutageProxy() as proxy:
        flaky = await Database.open(proxy.url(TEST_DATABASE_URL), schema=pg.schema)
        journal = Journal(tmp_path / "journal")
        journal.append(CALLBACK, _callback("j-4"))
        proxy.cut()
        report = await journal.replay(flaky)
        assert (report.applied, report.remaining) == (0, 1)
        proxy.restore()
        assert (await journal.replay(flaky)).applied == 1
        await flaky.close()
        assert await _tickets(pg, "j-4") == 1


# --------------------------------------------------------------------------- sweep, purge


async def test_the_sweep_closes_only_records_whose_call_went_quiet(db: Database) -> None:
    store = CallRecordStore(db)
    await store.open("dead", "r", started_at=START)
    await store.open("alive", "r", started_at=START)
    await store.heartbeat("alive", at=START + dt.timedelta(minutes=10))
    now = START + dt.timedelta(minutes=11)
    assert await store.sweep(stale_after_s=120, now=now) == ["dead"]
    dead, alive = await store.get("dead"), await store.get("alive")
    assert dead is not None and dead.outcome == "interrupted" and dead.ended_at == START
    assert "nothing heard from the call since 2026-11-30T12:00:00" in dead.data["end_reason"]
    assert alive is not None and alive.outcome is None
    # a call that closes after all wins over the sweep
    await store.close("dead", "resolved")
    assert (await store.get("dead")).outcome == "resolved"  # type: ignore[union-attr]


async def test_purge_deletes_what_is_past_retention(db: Database) -> None:
    store = CallRecordStore(db)
    await store.open("old", "r", started_at=START - dt.timedelta(days=200))
    await store.open("new", "r", started_at=START)
    assert await store.purge(older_than=START - dt.timedelta(days=90)) == 1
    assert await store.get("old") is None and await store.get("new") is not None


def test_records_cli(db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    monkeypatch.setenv("CALLCENTER_JOURNAL_DIR", str(tmp_path / "journal"))
    journal = Journal(tmp_path / "journal")
    ten_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    journal.append(CALL_RECORD, {**_closed("cli-1"), "started_at": ten_days_ago})
    assert cli.main(["records", "backlog"]) == 0
    assert capsys.readouterr().out.strip() == "1"
    assert cli.main(["records", "replay"]) == 0
    assert "replayed 1" in capsys.readouterr().out
    assert cli.main(["records", "sweep", "--stale-after", "0"]) == 0
    assert "closed 0 interrupted" in capsys.readouterr().out  # cli-1 is closed
    assert cli.main(["records", "purge", "--dry-run"]) == 0
    assert "would delete what is older than" in capsys.readouterr().out
    assert cli.main(["records", "purge", "--days", "1"]) == 0
    assert "deleted 1 call record(s)" in capsys.readouterr().out  # started ten days ago
    assert cli.main(["records", "purge", "--days", "0"]) == 2


async def test_open_tickets_survive_the_purge(db: Database) -> None:
    from callcenter.data import TicketStore

    tickets = TicketStore(db)
    open_one = await tickets.create_callback(MAYA, "x")
    closed = await tickets.create_callback(MAYA, "y")
    await tickets.close_ticket(closed.id)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert await tickets.purge_closed(older_than=future) == 1
    async with db.session() as s:
        left = (await s.scalars(sa.select(Ticket.status).where(Ticket.id == open_one.id))).all()
    assert left == [TicketStatus.OPEN]
