"""The database of one process: engine, pool, sessions, and the two start-up steps.

Open it ONCE per process and share it (it owns a connection pool; ``open`` leaves the pool
empty, so it may run in a synchronous set-up hook under ``asyncio.run``)::

    # start-up (worker process, console, `callcenter db upgrade`): migrate if you own that
    db = await Database.open(url, migrate=True)     # alembic upgrade head, serialised
    # every other process: just open; refuses a schema older than the code
    db = await Database.open(url)                   # raises SchemaNotCurrentError if behind
    ...
    await db.close()                                # on shutdown

Demo data is a separate, explicit step (``callcenter.data.seed.seed_demo(db)``); this
module never imports it. Nothing here runs on a call's path except :meth:`Database.read`,
:meth:`Database.fetch_all`, :meth:`Database.session` and :meth:`Database.transaction`.
Production paths never use ``metadata.create_all``; see :mod:`callcenter.data.migrate`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from callcenter.data.migrate import (
    SchemaNotCurrentError,
    check_revision,
    current_revision,
    pg_lock,
    run_migrations,
    sqlite_lock_path,
    startup_lock,
)

__all__ = ["DATABASE_ERRORS", "Database", "SchemaNotCurrentError", "mask_url"]

DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    sa.exc.SQLAlchemyError,
    OSError,
    TimeoutError,
)
"""What a write raises when the database cannot take it (unreachable, restarting, refusing):
the call path catches these, carries on, and journals what it could not write."""

log = logging.getLogger(__name__)

# aiosqlite logs every operation with its parameters at DEBUG: never let it (a DEBUG log
# level must stay free of caller numbers and ticket text; docs/security.md).
logging.getLogger("aiosqlite").setLevel(logging.INFO)

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def mask_url(url: str | URL) -> str:
    """Render a database URL with its password replaced by ``***`` (for logs)."""
    return make_url(url).render_as_string(hide_password=True)


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


def _sqlite_file_ready(url: URL, *, create: bool) -> None:
    """Create the SQLite file's directory when migrating; otherwise insist the file exists
    (SQLite would silently create an empty database and fail later, mid-call)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.is_file():
        raise SchemaNotCurrentError(
            f"no database file at {path}: run `callcenter db upgrade` first"
        )


class Database:
    """Owns one :class:`AsyncEngine` and its session factory: one per process.

    Create with :meth:`open` (never ``Database(...)`` directly from app code) and
    :meth:`close` on shutdown.
    """

    def __init__(
        self, engine: AsyncEngine, *, schema: str | None = None, lock_path: Path | None = None
    ) -> None:
        self._engine = engine
        self._schema = schema
        self._lock_path = lock_path
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
        migrate: bool = False,
        schema: str | None = None,
        echo: bool = False,
        connect_timeout: float = 5.0,
        check: bool = True,
    ) -> Database:
        """Connect; then migrate to head (``migrate=True``) or check the schema is current.

        Args:
            url: SQLAlchemy async URL, e.g. ``sqlite+aiosqlite:///var/callcenter.db`` or
                ``postgresql+asyncpg://user:pw@host:5432/db``.
            migrate: run ``alembic upgrade head`` (a no-op at head), serialised across
                processes; creates the SQLite file and its directory. Only at start-up.
                Without it, one ``SELECT`` checks the revision and a database behind this
                code raises :class:`SchemaNotCurrentError` ("run `callcenter db upgrade`").
            schema: PostgreSQL only: put this schema first on the ``search_path`` (and
                create it when migrating); tests use one schema per test for isolation.
            echo: log SQL statements (their parameters are never shown: ``hide_parameters``).
            connect_timeout: seconds to wait for a PostgreSQL connection (a call that cannot
                reach the database carries on without it rather than wait).
            check: ``False`` skips the revision check (and never migrates): for a process
                that must start while the database is unreachable; the first statement
                that reaches it connects.

        Returns with no open connection, so ``asyncio.run(Database.open(url))`` in a
        synchronous per-process set-up hook is safe; use the database from any one loop.
        """
        sa_url = make_url(url)
        backend = sa_url.get_backend_name()
        connect_args: dict[str, Any] = {}
        # LIFO: the connection returned last is reused first, so a steady trickle of tool
        # calls keeps reusing one warm connection (SQLite page cache, asyncpg prepared
        # statements, no idle ping) and surplus connections can age out.
        # hide_parameters: statements carry customer data (PINs, ZIPs), so neither a log line
        # nor an error message (which ends up in logs) ever shows their parameters.
        engine_kwargs: dict[str, Any] = {
            "echo": echo,
            "pool_use_lifo": True,
            "hide_parameters": True,
        }
        if backend == "sqlite":
            _sqlite_file_ready(sa_url, create=migrate)
            connect_args["timeout"] = 5
        elif backend == "postgresql":
            connect_args["timeout"] = connect_timeout  # asyncpg waits 60 s otherwise
        if backend == "postgresql" and schema is not None:
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

        db = cls(engine, schema=schema, lock_path=sqlite_lock_path(sa_url))
        if not check and not migrate:
            return db
        try:
            if migrate:
                revision = await db._migrate()
            else:
                async with engine.connect() as conn:
                    revision = await conn.run_sync(check_revision)
        finally:
            # Return with an empty pool: no connection is tied to this event loop, so a
            # process may open the database in a synchronous set-up hook with asyncio.run()
            # and use it from the loop that later runs the call (asyncpg connections belong
            # to the loop that made them). The pool stays usable; the first statement
            # connects on the loop that runs it.
            await engine.dispose()
        log.info(
            "database ready", extra={"database": db.url, "revision": revision, "migrated": migrate}
        )
        return db

    async def _migrate(self) -> str | None:
        """``alembic upgrade head`` under the start-up lock; returns the revision."""
        async with startup_lock(self._lock_path):
            if self._schema is not None:
                async with self._engine.begin() as conn:
                    await pg_lock(conn)
                    await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"'))
            async with self._engine.begin() as conn:
                await pg_lock(conn)
                before = await conn.run_sync(current_revision)
                await conn.run_sync(run_migrations)
                after = await conn.run_sync(current_revision)
        if before != after:
            log.info(
                "database schema upgraded", extra={"from_revision": before, "to_revision": after}
            )
        return after

    async def revision(self) -> str | None:
        """The schema revision the database is at (``alembic_version``)."""
        async with self._engine.connect() as conn:
            return await conn.run_sync(current_revision)

    @asynccontextmanager
    async def startup_transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction no other process runs at the same time: for start-up steps
        such as seeding, where several processes may find the same empty database.
        ``async with db.startup_transaction() as s:`` (commits on success)."""
        async with startup_lock(self._lock_path), self.transaction() as session:
            await pg_lock(await session.connection())
            yield session

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

    async def ping(self) -> None:
        """One round trip (``SELECT 1``); raises one of `DATABASE_ERRORS` when the database
        does not answer."""
        await self.fetch_all(sa.select(sa.literal(1)))

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
