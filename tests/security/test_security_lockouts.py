"""Account lockouts and the verification audit (`data.lockouts`), on SQLite and PostgreSQL,
and the `callcenter accounts` commands a supervisor unlocks an account with."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from callcenter import cli
from callcenter.data import AccountLockouts, AttemptOutcome, Database
from callcenter.data.models import VerificationAttempt
from tests.support.db import customer_id_for_phone, open_test_database

MAYA = "+14155550142"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with open_test_database(request.param, tmp_path) as database:
        yield database


async def _fail(lockouts: AccountLockouts, customer: int, n: int, *, at: dt.datetime) -> object:
    lock = None
    for i in range(n):
        lock = await lockouts.record_attempt(
            customer_id=customer,
            factor="pin",
            outcome=AttemptOutcome.WRONG,
            call_id=f"call-{i}",
            caller_e164=MAYA,
            now=at + dt.timedelta(minutes=i),
        )
    return lock


async def test_failures_within_the_window_lock_until_a_person_unlocks(db: Database) -> None:
    maya = await customer_id_for_phone(db, MAYA)
    lockouts = AccountLockouts(db, failures=5, window=dt.timedelta(hours=24))
    assert await _fail(lockouts, maya, 4, at=NOW) is None
    lock = await _fail(lockouts, maya, 1, at=NOW + dt.timedelta(hours=1))
    assert lock is not None and await lockouts.active(maya) is not None
    [listed] = await lockouts.locked()
    assert listed.account_number == "ACC-100042" and listed.failures == 5
    # nothing lifts it but a person: a right answer, time passing
    later = NOW + dt.timedelta(days=30)
    await lockouts.record_attempt(
        customer_id=maya, factor="pin", outcome=AttemptOutcome.OK, call_id="c",
        caller_e164=MAYA, now=later,
    )  # fmt: skip
    assert await lockouts.active(maya) is not None
    assert await lockouts.unlock(maya, by="Alex Rivera", now=NOW + dt.timedelta(days=30))
    assert await lockouts.active(maya) is None and await lockouts.locked() == []
    assert not await lockouts.unlock(maya, by="Alex Rivera")  # nothing left to unlock
    # the count starts again after the unlock: one more failure does not re-lock
    assert await _fail(lockouts, maya, 1, at=NOW + dt.timedelta(days=30, hours=1)) is None


async def test_failures_outside_the_window_do_not_add_up(db: Database) -> None:
    maya = await customer_id_for_phone(db, MAYA)
    lockouts = AccountLockouts(db, failures=3, window=dt.timedelta(hours=1))
    await _fail(lockouts, maya, 2, at=NOW)
    assert await _fail(lockouts, maya, 1, at=NOW + dt.timedelta(hours=2)) is None
    assert await _fail(lockouts, maya, 2, at=NOW + dt.timedelta(hours=2, minutes=5)) is not None


async def test_the_audit_keeps_the_caller_masked_and_never_the_value(db: Database) -> None:
    maya = await customer_id_for_phone(db, MAYA)
    lockouts = AccountLockouts(db)
    await lockouts.record_attempt(customer_id=None, factor="account_number",
                                  outcome=AttemptOutcome.NOT_FOUND, call_id="c1",
                                  caller_e164=MAYA)  # fmt: skip
    await lockouts.record_attempt(customer_id=maya, factor="pin", outcome=AttemptOutcome.OK,
                                  call_id="c1", caller_e164=MAYA)  # fmt: skip
    [attempt] = await lockouts.attempts(maya)
    assert (attempt.factor, attempt.outcome, attempt.caller_masked) == (
        "pin",
        AttemptOutcome.OK,
        "+1********42",
    )
    async with db.session() as s:
        rows = [str(tuple(r)) for r in (await s.execute(sa.select(VerificationAttempt))).all()]
    assert len(rows) == 2 and not any("4155550142" in r for r in rows)


async def test_purge_keeps_what_is_recent(db: Database) -> None:
    maya = await customer_id_for_phone(db, MAYA)
    lockouts = AccountLockouts(db)
    await _fail(lockouts, maya, 2, at=NOW - dt.timedelta(days=400))
    await _fail(lockouts, maya, 1, at=NOW)
    assert await lockouts.purge_attempts(older_than=NOW - dt.timedelta(days=90)) == 2
    assert len(await lockouts.attempts(maya)) == 1


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{db_path}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


async def _lock_maya(url: str) -> None:
    database = await Database.open(url)
    try:
        maya = await customer_id_for_phone(database, MAYA)
        await _fail(AccountLockouts(database, failures=2), maya, 2, at=NOW)
    finally:
        await database.close()


def test_accounts_cli_lists_unlocks_and_audits(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    assert cli.main(["accounts", "locked"]) == 0
    assert "no locked accounts" in capsys.readouterr().out
    asyncio.run(_lock_maya(cli_env))
    assert cli.main(["accounts", "locked"]) == 0
    assert "ACC-100042" in capsys.readouterr().out
    assert cli.main(["accounts", "attempts", "acc100042"]) == 0
    out = capsys.readouterr().out
    assert out.count("wrong") == 2 and "+1********42" in out and "4155550142" not in out
    assert cli.main(["accounts", "unlock", "ACC-100042", "--by", "Alex Rivera"]) == 0
    assert "unlocked ACC-100042" in capsys.readouterr().out
    assert cli.main(["accounts", "unlock", "ACC-100042", "--by", "Alex Rivera"]) == 1
    assert "was not locked" in capsys.readouterr().out


def test_accounts_cli_refuses_bad_input_with_exit_2(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["accounts", "unlock", "ACC-999999", "--by", "Alex"]) == 2
    assert "no account 'ACC-999999'" in capsys.readouterr().err
    assert cli.main(["accounts", "unlock", "ACC-100042", "--by", "   "]) == 2
    assert "say who unlocks" in capsys.readouterr().err
