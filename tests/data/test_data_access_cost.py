"""What one account-tool call costs the database: one statement, and (PostgreSQL) no pre-ping
round trips for a connection that was just used — but a ping, and a transparent reconnect,
for one that sat idle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from callcenter.data import AccountRepository, Database
from callcenter.data import database as database_module
from callcenter.data.seed import DEMO_REFERENCE_NOW
from tests.support.db import TEST_DATABASE_URL, open_test_database

TOOLS: dict[str, Callable[[AccountRepository], Awaitable[Any]]] = {
    "get_order": lambda r: r.get_order("1001"),
    "recent_orders": lambda r: r.recent_orders(5),
    "get_shipment": lambda r: r.get_shipment("1001"),
    "balance": lambda r: r.balance(DEMO_REFERENCE_NOW),
    "recent_invoices": lambda r: r.recent_invoices(5),
    "get_invoice": lambda r: r.get_invoice("INV-2001"),
    "recent_payments": lambda r: r.recent_payments(5),
}


@pytest.mark.parametrize("tool", sorted(TOOLS))
async def test_each_read_tool_is_one_statement(db: Database, maya_id: int, tool: str) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    repo = AccountRepository(db, maya_id)
    await TOOLS[tool](repo)  # warm: first-use statements (e.g. dialect probes) do not count
    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        result = await TOOLS[tool](repo)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert result  # Maya has orders, shipments, invoices, payments and a balance
    assert len(statements) == 1, statements


async def _backend_pid(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(sa.text("SELECT pg_backend_pid()")) or 0)


async def _terminate(pid: int) -> None:
    url = make_url(TEST_DATABASE_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_postgres_pings_only_idle_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "PING_IDLE_SECONDS", 1.0)
    async with open_test_database("postgres", tmp_path) as db:
        dialect = db.engine.sync_engine.dialect
        pings: list[object] = []
        real_ping = dialect.do_ping

        def counting_ping(dbapi_conn: Any) -> bool:
            pings.append(dbapi_conn)
            return real_ping(dbapi_conn)

        monkeypatch.setattr(dialect, "do_ping", counting_ping)
        pid = await _backend_pid(db)
        pings.clear()  # whatever open_test_database did before does not count
        for _ in range(5):  # back to back: the connection was just checked in
            assert await _backend_pid(db) == pid
        assert pings == []
        await asyncio.sleep(1.2)
        assert await _backend_pid(db) == pid  # idle: pinged, still alive, reused
        assert len(pings) == 1


@pytest.mark.postgres
async def test_postgres_idle_dead_connection_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "PING_IDLE_SECONDS", 0.1)
    async with open_test_database("postgres", tmp_path) as db:
        pid = await _backend_pid(db)
        await _terminate(pid)
        await asyncio.sleep(0.2)
        # The ping on checkout fails, the pool reconnects, the caller never sees it.
        assert await _backend_pid(db) != pid


@pytest.mark.postgres
async def test_postgres_recently_used_dead_connection_is_retried_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The trade-off of skipping the ping: a connection killed within the idle window fails
    the statement that uses it. A bare read sees the error; an account tool does not: its
    read is retried once on a new connection."""
    monkeypatch.setattr(database_module, "PING_IDLE_SECONDS", 3600.0)
    async with open_test_database("postgres", tmp_path) as db:
        pid = await _backend_pid(db)
        await _terminate(pid)
        with pytest.raises(sa.exc.DBAPIError) as info:
            await _backend_pid(db)
        assert info.value.connection_invalidated

        repo = AccountRepository(db, await _maya(db))
        pid = await _backend_pid(db)
        await _terminate(pid)
        order = await repo.get_order("1001")
        assert order is not None and order.order_number == "1001"
        assert await _backend_pid(db) != pid
        assert "retrying the read" in caplog.text


async def _maya(db: Database) -> int:
    rows = await db.fetch_all(
        sa.text("SELECT customer_id FROM customer_phones WHERE e164 = :e"), {"e": "+14155550142"}
    )
    return int(rows[0][0])
