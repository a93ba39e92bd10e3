"""Alembic environment for the callcenter data layer.

Two ways in:

- Programmatic (``Database.open(url, migrate=True)``, behind ``callcenter db upgrade``
  and the processes that migrate at start-up): the caller passes an open *sync* ``Connection`` in
  ``config.attributes["connection"]`` (obtained via ``AsyncConnection.run_sync``); we
  migrate over it and leave transaction control to the caller.
- Alembic's own CLI (``uv run alembic ...`` with the repo-root ``alembic.ini``, for
  developers writing a revision): we build an
  async engine from ``DATABASE_URL`` (default ``sqlite+aiosqlite:///var/callcenter.db``).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.data.columns import include_object
from callcenter.data.models import Base

config = context.config
target_metadata = Base.metadata

DEFAULT_URL = "sqlite+aiosqlite:///var/callcenter.db"


def _url() -> str:
    return os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url") or DEFAULT_URL


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )


def do_run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    url = make_url(_url())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
