"""Reusable test databases (SQLite file or an isolated PostgreSQL schema), migrated + seeded.

Use from any test folder::

    from tests.support.db import open_test_database

    @pytest.fixture(params=["sqlite", "postgres"])
    async def db(request, tmp_path):
        async with open_test_database(request.param, tmp_path) as database:
            yield database

- ``sqlite``: a fresh file under ``tmp_path`` (WAL, foreign keys on), migrated with
  Alembic and seeded with the demo data at :data:`DEMO_REFERENCE_NOW`. (Built once per
  process as a template with ``Database.open(url, migrate=True)`` + ``seed_demo`` and
  copied per test — same bytes, ~10x faster.)
- ``postgres``: ``TEST_DATABASE_URL`` (default
  ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``); each database is a brand-new schema
  ``cc_test_<pid>_<random>`` on the search_path, dropped (CASCADE) on exit. Schemas left
  behind by killed runs (their pid is gone) are dropped on first use. When the server is
  unreachable (2 s connect timeout) the test is skipped with the reason, or fails when
  ``CALLCENTER_REQUIRE_POSTGRES=1`` (set by ``.ci/run`` once it has started a server).
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.data import CustomerDirectory, Database
from callcenter.data.seed import DEMO_REFERENCE_NOW, seed_demo

__all__ = [
    "DEMO_REFERENCE_NOW",
    "TEST_DATABASE_URL",
    "Backend",
    "customer_id_for_phone",
    "open_test_database",
    "postgres_unavailable_reason",
]

Backend = Literal["sqlite", "postgres"]

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_SCHEMA_PREFIX = "cc_test_"

_pg_probe: dict[str, str | None] = {}
_sqlite_templates: dict[tuple[bool, dt.datetime], Path] = {}
_template_dir: Path | None = None


async def _sqlite_template(seed: bool, now: dt.datetime) -> Path:
    """Migrated (+ seeded) SQLite file built once per process and copied for each test."""
    global _template_dir
    key = (seed, now)
    if key not in _sqlite_templates:
        if _template_dir is None:
            _template_dir = Path(tempfile.mkdtemp(prefix="cc-test-templates-"))
            atexit.register(shutil.rmtree, _template_dir, True)
        path = _template_dir / f"template-{len(_sqlite_templates)}.db"
        db = await Database.open(f"sqlite+aiosqlite:///{path}", migrate=True)
        if seed:
            await seed_demo(db, now=now)
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()
        _sqlite_templates[key] = path
    return _sqlite_templates[key]


_swept = False


async def postgres_unavailable_reason(url: str = TEST_DATABASE_URL) -> str | None:
    """None if PostgreSQL answers within 2 s, else the error text (cached per process)."""
    if url in _pg_probe:
        return _pg_probe[url]
    import asyncpg

    sa_url = make_url(url)
    reason: str | None = None
    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(
                host=sa_url.host or "127.0.0.1",
                port=sa_url.port or 5432,
                user=sa_url.username,
                password=sa_url.password,
                database=sa_url.database,
                timeout=2,
            ),
            timeout=3,
        )
        await conn.close()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    _pg_probe[url] = reason
    return reason


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _sweep_stale_schemas(url: str) -> None:
    """Drop ``cc_test_<pid>_*`` schemas whose process is gone (left by a killed run)."""
    global _swept
    if _swept:
        return
    _swept = True
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            names = (
                await conn.execute(
                    sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                    {"p": _SCHEMA_PREFIX + "%"},
                )
            ).scalars()
            for name in list(names):
                parts = name[len(_SCHEMA_PREFIX) :].split("_")
                if parts and parts[0].isdigit() and not _pid_alive(int(parts[0])):
                    await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_test_database(
    backend: Backend,
    tmp_path: Path,
    *,
    seed: bool = True,
    now: dt.datetime = DEMO_REFERENCE_NOW,
    url: str = TEST_DATABASE_URL,
) -> AsyncIterator[Database]:
    """A fresh, migrated (and by default seeded) :class:`Database`; cleaned up on exit."""
    if backend == "sqlite":
        path = tmp_path / f"callcenter-{uuid.uuid4().hex[:8]}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(await _sqlite_template(seed, now), path)
        # Opened as a worker opens it: no migration, the schema revision checked.
        db = await Database.open(f"sqlite+aiosqlite:///{path}")
        try:
            yield db
        finally:
            await db.close()
        return

    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}")
    reason = await postgres_unavailable_reason(url)
    if reason is not None:
        sa_url = make_url(url)
        message = f"PostgreSQL not reachable at {sa_url.host}:{sa_url.port or 5432}: {reason}"
        if os.environ.get("CALLCENTER_REQUIRE_POSTGRES") == "1":
            # .ci/run started a server: a missing one there is a broken CI, not a laptop.
            pytest.fail(message + " (CALLCENTER_REQUIRE_POSTGRES=1: CI must run these tests)")
        pytest.skip(message)
    await _sweep_stale_schemas(url)
    schema = f"{_SCHEMA_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:10]}"
    db = await Database.open(url, migrate=True, schema=schema)
    try:
        if seed:
            await seed_demo(db, now=now)
        yield db
    finally:
        try:
            async with db.engine.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await db.close()


async def customer_id_for_phone(db: Database, e164: str) -> int:
    """Id of the demo customer owning ``e164`` (fails the test if there is none)."""
    summary = await CustomerDirectory(db).find_by_phone(e164)
    assert summary is not None, "no customer for the given demo phone number"
    return summary.id
