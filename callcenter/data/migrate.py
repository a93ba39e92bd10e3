"""Alembic, run from code: upgrade to head once per deployment, check the revision at open.

The schema changes only through the migrations in ``callcenter/data/migrations`` (shipped
inside the package, so this works from a wheel), and only at start-up: ``callcenter db
upgrade``, or ``Database.open(url, migrate=True)`` in the one place a process chooses to
migrate. Never on a call's path. ``Database.open(url)`` without ``migrate`` checks the
revision instead (one ``SELECT`` on ``alembic_version``) and refuses a database that is
behind this code with :class:`SchemaNotCurrentError`, naming the command that fixes it;
a database *ahead* of this code (a newer release already migrated it, this one is still
draining) is accepted with a warning, since migrations are written to be additive.

Several processes may start on a fresh database at once; :func:`startup_lock` serialises
them (an ``flock`` on ``<file>.migrate-lock`` for SQLite, a transaction-scoped advisory
lock for PostgreSQL), so one migrates (or seeds) and the others find the work done.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncConnection

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaNotCurrentError",
    "alembic_config",
    "check_revision",
    "current_revision",
    "head_revision",
    "pg_lock",
    "run_migrations",
    "sqlite_lock_path",
    "startup_lock",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Alembic script directory shipped inside the package (works from a wheel)."""

UPGRADE_COMMAND = "callcenter db upgrade"


class SchemaNotCurrentError(RuntimeError):
    """The database's schema is missing or older than this code; the message says what to run."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic :class:`Config` pointing at the packaged migrations.

    When ``connection`` is given, ``env.py`` migrates over it instead of creating an engine.
    """
    cfg = Config()
    # ConfigParser interpolates "%": escape it in case the install path contains one.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def run_migrations(connection: Connection, revision: str = "head") -> None:
    """Synchronous ``alembic upgrade <revision>`` over an open connection.

    Call through ``await async_conn.run_sync(run_migrations)``.
    """
    command.upgrade(alembic_config(connection), revision)


@functools.cache
def _script_revisions() -> tuple[str, frozenset[str]]:
    """(head, every known revision), read from the migration files once per process."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head, frozenset(rev.revision for rev in script.walk_revisions())


def head_revision() -> str:
    """The revision this code's models match (the newest migration)."""
    return _script_revisions()[0]


def current_revision(connection: Connection) -> str | None:
    """The database's revision (``alembic_version``), or None for an unmigrated database."""
    return MigrationContext.configure(connection).get_current_revision()


def check_revision(connection: Connection) -> str | None:
    """Raise :class:`SchemaNotCurrentError` unless the database is at (or past) head.

    Returns the database's revision. Sync: call through ``run_sync``.
    """
    current = current_revision(connection)
    head, known = _script_revisions()
    if current == head:
        return current
    if current is None:
        raise SchemaNotCurrentError(
            "the database has no callcenter schema yet (empty, or another database): "
            f"run `{UPGRADE_COMMAND}` first"
        )
    if current not in known:
        log.warning(
            "database schema is newer than this code; continuing",
            extra={"db_revision": current, "code_revision": head},
        )
        return current
    raise SchemaNotCurrentError(
        f"the database schema is at revision {current} but this code needs {head}: "
        f"run `{UPGRADE_COMMAND}` first"
    )


_PG_LOCK_KEY = 0x63616C6C  # "call": pg_advisory_xact_lock key for migrate/seed


async def pg_lock(conn: AsyncConnection) -> None:
    """Transaction-scoped advisory lock on PostgreSQL (released at commit); no-op elsewhere."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def sqlite_lock_path(url: URL) -> Path | None:
    """The lock file beside a SQLite database file (None for memory or non-SQLite URLs)."""
    database = url.database
    if url.get_backend_name() != "sqlite":
        return None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().with_name(Path(database).name + ".migrate-lock")


@asynccontextmanager
async def startup_lock(path: Path | None) -> AsyncIterator[None]:
    """Exclusive ``flock`` on ``path`` (POSIX); acquired in a thread to keep the loop free.

    PostgreSQL needs no file: :func:`pg_lock` inside the migrating/seeding transaction.
    """
    if path is None or fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
