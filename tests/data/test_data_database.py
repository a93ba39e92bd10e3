"""Opening the database: migrate only when asked (start-up, `callcenter db upgrade`), otherwise
check the schema revision and refuse one that is behind; SQLite pragmas; masked URLs."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection, make_url

from callcenter.data import Database, SchemaNotCurrentError, mask_url
from callcenter.data.migrate import alembic_config, head_revision
from callcenter.data.seed import DEMO_REFERENCE_NOW, seed_demo
from tests.support.db import TEST_DATABASE_URL, postgres_unavailable_reason


def _set_revision(revision: str) -> Any:
    def run(conn: Connection) -> None:
        if revision == "0001":
            command.downgrade(alembic_config(conn), revision)
        else:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})

    return run


async def test_open_without_migrate_refuses_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "cc.db"
    with pytest.raises(SchemaNotCurrentError, match="callcenter db upgrade"):
        await Database.open(f"sqlite+aiosqlite:///{path}")
    assert not path.parent.exists()  # nothing created by a failed open


async def test_open_without_migrate_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    path = tmp_path / "blank.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE unrelated (id INTEGER)"))
    engine.dispose()
    with pytest.raises(SchemaNotCurrentError, match="no callcenter schema yet"):
        await Database.open(f"sqlite+aiosqlite:///{path}")


async def test_schema_behind_is_refused_until_upgraded(empty_db: Database) -> None:
    """The revision check on open, on both backends: one migration behind -> refused with the
    command to run; ``migrate=True`` brings it to head; then a plain open works."""
    async with empty_db.engine.begin() as conn:
        await conn.run_sync(_set_revision("0001"))
    url = empty_db.engine.url.render_as_string(hide_password=False)
    schema = empty_db.schema
    head = head_revision()
    with pytest.raises(SchemaNotCurrentError, match=rf"revision 0001 .* needs {head}.*db upgrade"):
        await Database.open(url, schema=schema)
    upgraded = await Database.open(url, migrate=True, schema=schema)
    try:
        assert await upgraded.revision() == head
    finally:
        await upgraded.close()
    again = await Database.open(url, schema=schema)
    await again.close()


async def test_schema_ahead_of_the_code_is_accepted_with_a_warning(
    empty_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A newer release migrated the database while this one drains its calls."""
    async with empty_db.engine.begin() as conn:
        await conn.run_sync(_set_revision("9999_future"))
    url = empty_db.engine.url.render_as_string(hide_password=False)
    with caplog.at_level(logging.WARNING, logger="callcenter.data"):
        db = await Database.open(url, schema=empty_db.schema)
    try:
        assert await db.revision() == "9999_future"
    finally:
        await db.close()
    [record] = [r for r in caplog.records if "newer than this code" in r.getMessage()]
    assert record.db_revision == "9999_future"  # type: ignore[attr-defined]


async def test_sqlite_pragmas_and_fresh_migration(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path}/p.db", migrate=True)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.scalar(sa.text("PRAGMA journal_mode"))) == "wal"
            assert (await conn.scalar(sa.text("PRAGMA foreign_keys"))) == 1
            assert (await conn.scalar(sa.text("PRAGMA busy_timeout"))) == 5000
        assert await db.revision() == head_revision()
    finally:
        await db.close()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_open_in_one_event_loop_use_in_another(backend: str, tmp_path: Path) -> None:
    """A worker process can open (and seed) the database in its synchronous set-up hook with
    asyncio.run() and serve the call from another loop: nothing stays bound to the first."""
    if backend == "postgres":
        reason = asyncio.run(postgres_unavailable_reason())
        if reason is not None:
            pytest.skip(f"PostgreSQL not reachable: {reason}")
        url, schema = TEST_DATABASE_URL, f"cc_test_{os.getpid()}_loops{uuid.uuid4().hex[:6]}"
    else:
        url, schema = f"sqlite+aiosqlite:///{tmp_path}/loops.db", None

    async def set_up() -> Database:
        db = await Database.open(url, migrate=True, schema=schema)
        await seed_demo(db, now=DEMO_REFERENCE_NOW)
        return await Database.open(url, schema=schema)  # and a plain open, as a worker would

    async def call_then_shut_down(db: Database) -> int:
        try:
            rows = await db.fetch_all(sa.text("SELECT count(*) FROM customers"))
            async with db.transaction() as s:
                await s.execute(sa.text("SELECT 1"))
            return int(rows[0][0])
        finally:
            if schema is not None:
                async with db.engine.begin() as conn:
                    await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await db.close()

    db = asyncio.run(set_up())
    assert asyncio.run(call_then_shut_down(db)) == 4


def test_url_masks_password() -> None:
    masked = mask_url("postgresql+asyncpg://app:s3cret@db.internal:5432/cc")
    assert "s3cret" not in masked
    assert "***" in masked


async def test_database_url_property_masks_password(empty_db: Database) -> None:
    assert empty_db.url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://"))
    assert "Database(" in repr(empty_db)


# ------------------------------------------------------------------ `callcenter db`


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "db", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CALLCENTER_LOG_LEVEL": "WARNING"},
    )


def _upgrade_then_check(url: str) -> None:
    first = _cli("upgrade", "--database-url", url, "--seed-demo")
    assert first.returncode == 0, first.stderr
    assert f"schema at revision {head_revision()} (head)" in first.stdout
    assert "demo dataset seeded" in first.stdout
    again = _cli("upgrade", "--database-url", url, "--seed-demo")  # idempotent
    assert again.returncode == 0, again.stderr
    assert "not seeded: the database already has customers" in again.stdout
    check = _cli("check", "--database-url", url)
    assert check.returncode == 0, check.stderr
    assert f"this code needs {head_revision()}" in check.stdout


def test_cli_db_upgrade_and_check_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/new/cc.db"
    check = _cli("check", "--database-url", url)
    assert check.returncode == 1
    assert "run `callcenter db upgrade` first" in check.stderr
    _upgrade_then_check(url)


async def _admin(sql: str) -> None:
    url = make_url(TEST_DATABASE_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def scratch_postgres_database() -> Iterator[str]:
    """A whole PostgreSQL database (the CLI takes a plain URL: no per-test schema)."""
    reason = asyncio.run(postgres_unavailable_reason())
    if reason is not None:
        if os.environ.get("CALLCENTER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL not reachable: {reason}")
        pytest.skip(f"PostgreSQL not reachable: {reason}")
    name = f"cc_test_{os.getpid()}_cli{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_cli_db_upgrade_and_check_on_postgres(scratch_postgres_database: str) -> None:
    _upgrade_then_check(scratch_postgres_database)


def test_cli_db_reports_an_unreachable_database_without_its_password() -> None:
    result = _cli("check", "--database-url", "postgresql+asyncpg://app:s3cret@127.0.0.1:1/cc")
    assert result.returncode == 1
    assert "cannot use the database at postgresql+asyncpg://app:***@127.0.0.1:1/cc" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
