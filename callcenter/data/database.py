"""Engine/session ownership, programmatic Alembic upgrade and first-run seeding.

Usage::

    db = await Database.open("sqlite+aiosqlite:///var/callcenter.db")
    async with db.session() as session:
        ...
    await db.close()

``Database.open`` creates the SQLite file's parent directory, runs ``alembic upgrade head``
(from ``callcenter/data/migrations`` inside the installed package, over the already-open
connection, so it is safe inside a running event loop) and seeds the demo dataset when the
``customers`` table is empty. Production paths never use ``metadata.create_all``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from callcenter.data.models import Customer

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["MIGRATIONS_DIR", "Database", "mask_url", "run_migrations"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Alembic script directory shipped inside the package (works from a wheel)."""

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def mask_url(url: str | URL) -> str:
    """Render a database URL with its password replaced by ``***`` (for logs)."""
    return make_url(url).render_as_string(hide_password=True)


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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA journal_mode=WAL")
    finally:
        cur.close()


PING_IDLE_SECONDS = 1.0
"""PostgreSQL connections idle in the pool longer than this are pinged on checkout."""

_LAST_CHECKIN = "callcenter_last_checkin"


def _install_idle_ping(engine: AsyncEngine, idle_seconds: float) -> None:
    """``pool_pre_ping``, but only for connections idle longer than ``idle_seconds``.

    SQLAlchemy's pre-ping costs three round trips on asyncpg (BEGIN, ``;``, ROLLBACK) on
    EVERY checkout, i.e. on every tool call. A connection checked in a moment ago is alive
    in all but a vanishing number of cases (HikariCP skips validation within 500 ms for the
    same reason); if it is not, the failing statement's disconnect error still invalidates
    the pool as usual. Connections that sat idle (server restart, idle timeouts, NAT drops)
    are pinged exactly as before, and a failed ping makes the pool reconnect transparently
    (``DisconnectionError`` from a ``checkout`` listener).
    """
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    def on_checkin(dbapi_conn: Any, record: Any) -> None:
        record.info[_LAST_CHECKIN] = time.monotonic()

    def on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_CHECKIN)
        if last is None or time.monotonic() - last <= idle_seconds:
            return  # brand-new (just connected) or recently used
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa.exc.DisconnectionError("pooled connection failed its ping") from exc

    event.listen(sync_engine, "checkin", on_checkin)
    event.listen(sync_engine, "checkout", on_checkout)


_PG_LOCK_KEY = 0x63616C6C  # "call": pg_advisory_xact_lock key for migrate/seed


async def _pg_lock(conn: AsyncConnection) -> None:
    """Transaction-scoped advisory lock on PostgreSQL; no-op elsewhere."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _sqlite_lock_path(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().with_name(Path(database).name + ".migrate-lock")


@asynccontextmanager
async def _file_lock(path: Path | None) -> AsyncIterator[None]:
    """Exclusive ``flock`` on ``path`` (POSIX); acquired in a thread to keep the loop free."""
    if path is None or fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class Database:
    """Owns one :class:`AsyncEngine` and its session factory.

    Create with :meth:`open` (never ``Database(...)`` directly from app code) and
    :meth:`close` on shutdown.
    """

    def __init__(self, engine: AsyncEngine, *, schema: str | None = None) -> None:
        self._engine = engine
        self._schema = schema
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # Reads: autocommit on PostgreSQL, so a single-statement read is one round trip (no
        # BEGIN, no ROLLBACK when the connection goes back to the pool). Under READ COMMITTED
        # every statement takes its own snapshot anyway, so one statement sees exactly what it
        # saw inside a transaction. asyncpg switches the mode client-side (no round trip).
        # SQLite: pysqlite never opens a transaction for a SELECT, and switching its isolation
        # level costs a worker-thread hop each way, so reads use the engine as is.
        self._read_engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        seed_demo: bool = True,
        schema: str | None = None,
        seed_now: dt.datetime | None = None,
        echo: bool = False,
    ) -> Database:
        """Connect, migrate to head and (optionally) seed demo data when empty.

        Args:
            url: SQLAlchemy async URL, e.g. ``sqlite+aiosqlite:///var/callcenter.db`` or
                ``postgresql+asyncpg://user:pw@host:5432/db``.
            seed_demo: seed :mod:`callcenter.data.seed` if ``customers`` is empty.
            schema: PostgreSQL only: create this schema if missing and put it first on the
                ``search_path`` (tests use one schema per test for isolation).
            seed_now: reference "now" for the demo dataset (default: start of today UTC).
            echo: log SQL (never in production: statements carry customer data).
        """
        sa_url = make_url(url)
        backend = sa_url.get_backend_name()
        connect_args: dict[str, Any] = {}
        # LIFO: the connection returned last is reused first, so a steady trickle of tool
        # calls keeps reusing one warm connection (SQLite page cache, asyncpg prepared
        # statements, no idle ping) and surplus connections can age out.
        engine_kwargs: dict[str, Any] = {"echo": echo, "pool_use_lifo": True}
        if backend == "sqlite":
            database = sa_url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            connect_args["timeout"] = 5
        elif backend == "postgresql" and schema is not None:
            if not _SCHEMA_RE.match(schema):
                raise ValueError(f"invalid schema name {schema!r}")
            connect_args["server_settings"] = {"search_path": schema}
        if schema is not None and backend != "postgresql":
            raise ValueError("schema= is only supported for PostgreSQL")

        engine = create_async_engine(sa_url, connect_args=connect_args, **engine_kwargs)
        if backend == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        elif backend == "postgresql":
            _install_idle_ping(engine, PING_IDLE_SECONDS)

        db = cls(engine, schema=schema)
        lock_path = _sqlite_lock_path(sa_url) if backend == "sqlite" else None
        try:
            # Several worker processes may open a fresh database at once: serialise
            # migrate + seed (file lock on SQLite, advisory lock on PostgreSQL).
            async with _file_lock(lock_path):
                if schema is not None:
                    async with engine.begin() as conn:
                        await _pg_lock(conn)
                        await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                async with engine.begin() as conn:
                    await _pg_lock(conn)
                    await conn.run_sync(run_migrations)
                log.info("database ready at %s", db.url)
                if seed_demo:
                    await db.seed_if_empty(now=seed_now)
        except BaseException:
            await engine.dispose()
            raise
        return db

    async def seed_if_empty(self, *, now: dt.datetime | None = None) -> bool:
        """Seed the demo dataset if there are no customers. Returns True if it seeded."""
        from callcenter.data.seed import seed_demo_data

        async with self.session() as session, session.begin():
            await _pg_lock(await session.connection())
            count = await session.scalar(sa.select(sa.func.count()).select_from(Customer))
            if count:
                return False
            await seed_demo_data(session, now=now)
        log.info("seeded demo dataset")
        return True

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def url(self) -> str:
        """The database URL with the password masked (safe to log)."""
        return mask_url(self._engine.url)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @property
    def schema(self) -> str | None:
        return self._schema

    def session(self) -> AsyncSession:
        """A new :class:`AsyncSession`; use as ``async with db.session() as s:``."""
        return self._sessions()

    def read(self) -> AsyncConnection:
        """A pooled Core connection for read-only statements: ``async with db.read() as c:``.

        No transaction on PostgreSQL (autocommit), so each statement sees its own snapshot:
        use it for reads that are ONE statement (or do not need a common snapshot). Never
        write through it. Cheaper than :meth:`session` (no ORM unit of work, no BEGIN /
        ROLLBACK round trips); the account tools use it.
        """
        return self._read_engine.connect()

    async def fetch_all(
        self, statement: sa.Executable, params: dict[str, Any] | None = None
    ) -> Sequence[Any]:
        """Run ONE read-only statement on :meth:`read` and return all its rows (`sa.Row`).

        Retried once on a fresh connection when the pooled one turns out to be dead: the
        pool pings only connections idle longer than ``PING_IDLE_SECONDS``, so a server
        restart inside that window would otherwise fail one tool call. A read is safe to
        repeat; nothing else is retried.
        """
        try:
            async with self.read() as conn:
                return (await conn.execute(statement, params or {})).all()
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.warning("database connection was dead; retrying the read on a new one")
        async with self.read() as conn:
            return (await conn.execute(statement, params or {})).all()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """``async with db.transaction() as s:`` — session + commit on success/rollback."""
        async with self._sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        """Dispose the engine's pool. Safe to call twice."""
        await self._engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"
