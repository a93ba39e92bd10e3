"""Alembic migrations build the schema; models and migrations agree; the seed is deterministic."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import callcenter.data
from callcenter.data import DEMO_REFERENCE_NOW, Database, mask_url
from callcenter.data.database import MIGRATIONS_DIR, alembic_config
from callcenter.data.models import Base, include_object
from tests.support.db import TEST_DATABASE_URL, open_test_database, postgres_unavailable_reason

EXPECTED_TABLES = {
    "customers",
    "customer_phones",
    "orders",
    "order_items",
    "shipments",
    "returns",
    "invoices",
    "invoice_lines",
    "payments",
    "tickets",
    "supervisors",
    "call_records",
    "alembic_version",
}


def _inspect(conn: Connection) -> dict[str, Any]:
    insp = sa.inspect(conn)
    tables = set(insp.get_table_names())
    indexes = {t: insp.get_indexes(t) for t in tables}
    uniques = {t: insp.get_unique_constraints(t) for t in tables}
    return {"tables": tables, "indexes": indexes, "uniques": uniques}


async def test_migration_creates_schema(empty_db: Database) -> None:
    async with empty_db.engine.connect() as conn:
        info = await conn.run_sync(_inspect)
        version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert info["tables"] == EXPECTED_TABLES
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert version == head == "0002"

    def index_cols(table: str) -> list[list[str | None]]:
        cols = []
        for ix in info["indexes"][table]:
            names = list(ix["column_names"])
            # SQLite/PG report "placed_at DESC" as an expression column.
            names += [e.split()[0] for e in ix.get("expressions", []) or [] if e]
            cols.append([n for n in names if n])
        for uq in info["uniques"][table]:
            cols.append(list(uq["column_names"]))
        return cols

    assert any(c[:2] == ["customer_id", "placed_at"] for c in index_cols("orders"))
    assert ["order_number"] in index_cols("orders")
    assert any(c[:2] == ["customer_id", "issued_at"] for c in index_cols("invoices"))
    assert any(c[:2] == ["customer_id", "received_at"] for c in index_cols("payments"))
    assert ["customer_id", "status"] in index_cols("invoices")  # balance (0002)
    assert ["invoice_id", "status"] in index_cols("payments")  # paid per invoice (0002)
    assert ["order_id"] in index_cols("shipments")
    assert ["invoice_id"] in index_cols("invoice_lines")
    assert ["order_id"] in index_cols("order_items")
    assert ["e164"] in index_cols("customer_phones")
    assert ["call_id"] in index_cols("call_records")


async def test_models_match_migrations(empty_db: Database) -> None:
    """Autogenerate against the migrated DB finds nothing to do (no model/migration drift)."""

    def diff(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        return compare_metadata(ctx, Base.metadata)

    async with empty_db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


async def test_downgrade_and_upgrade_again(empty_db: Database) -> None:
    from alembic import command

    def down_up(conn: Connection) -> set[str]:
        command.downgrade(alembic_config(conn), "base")
        remaining = set(sa.inspect(conn).get_table_names())
        command.upgrade(alembic_config(conn), "head")
        return remaining

    async with empty_db.engine.begin() as conn:
        remaining = await conn.run_sync(down_up)
    assert remaining <= {"alembic_version"}


def test_migrations_dir_ships_inside_package() -> None:
    assert MIGRATIONS_DIR.is_dir()
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    assert MIGRATIONS_DIR.parent == Path(callcenter.data.__file__).resolve().parent


async def _dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.session() as s:
        for table in Base.metadata.sorted_tables:
            rows = await s.execute(sa.select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
    return out


async def test_seed_is_deterministic(db: Database, tmp_path: Path) -> None:
    backend = "postgres" if db.dialect == "postgresql" else "sqlite"
    first = await _dump(db)
    async with open_test_database(backend, tmp_path / "second") as other:  # type: ignore[arg-type]
        second = await _dump(other)
    assert first == second
    assert len(first["customers"]) >= 4
    assert len(first["supervisors"]) == 3


async def test_open_twice_does_not_reseed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/nested/dir/cc.db"
    db = await Database.open(url, seed_now=DEMO_REFERENCE_NOW)
    await db.close()
    assert (tmp_path / "nested" / "dir" / "cc.db").is_file()
    db = await Database.open(url, seed_now=DEMO_REFERENCE_NOW)
    try:
        assert await db.seed_if_empty() is False
        async with db.session() as s:
            n = await s.scalar(sa.text("SELECT count(*) FROM customers"))
        assert n == 4
    finally:
        await db.close()


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path}/p.db", seed_demo=False)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.scalar(sa.text("PRAGMA journal_mode"))) == "wal"
            assert (await conn.scalar(sa.text("PRAGMA foreign_keys"))) == 1
            assert (await conn.scalar(sa.text("PRAGMA busy_timeout"))) == 5000
            info = await conn.run_sync(_inspect)  # a fresh file, migrated from scratch
        assert info["tables"] == EXPECTED_TABLES
    finally:
        await db.close()


def test_url_masks_password() -> None:
    masked = mask_url("postgresql+asyncpg://app:s3cret@db.internal:5432/cc")
    assert "s3cret" not in masked
    assert "***" in masked


async def test_database_url_property_masks_password(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path}/m.db", seed_demo=False)
    try:
        assert db.url.startswith("sqlite+aiosqlite:///")
        assert "Database(" in repr(db)
    finally:
        await db.close()


async def test_demo_description_matches_seeded_rows(db: Database) -> None:
    from callcenter.data import AccountRepository, CustomerDirectory
    from callcenter.data.seed import DEMO_CUSTOMERS, demo_data_text

    directory = CustomerDirectory(db)
    for demo in DEMO_CUSTOMERS:
        who = await directory.find_by_phone(demo.phones[0])
        assert who is not None and who.full_name == demo.full_name
        repo = AccountRepository(db, who.id)
        orders = await repo.recent_orders(limit=50)
        assert {(o.order_number, o.status.value) for o in orders} == set(demo.orders)
        invoices = await repo.recent_invoices(limit=50)
        assert {(i.invoice_number, i.status.value) for i in invoices} == set(demo.invoices)
        for kind, value in (("zip", demo.zip_code), ("last_four", demo.last_four)):
            assert await directory.check_factor(who.id, kind, value)  # type: ignore[arg-type]
        assert await directory.check_factor(who.id, "pin", demo.pin)
    text = demo_data_text()
    assert "Maya Patel" in text and "+14155550142" in text and "PIN: 4421" in text


async def test_concurrent_first_open_migrates_and_seeds_once(tmp_path: Path) -> None:
    """Worker processes racing to open a fresh DB: one migrates/seeds, the rest wait."""
    url = f"sqlite+aiosqlite:///{tmp_path}/race.db"
    dbs = await asyncio.gather(*(Database.open(url, seed_now=DEMO_REFERENCE_NOW) for _ in range(3)))
    try:
        async with dbs[0].session() as s:
            assert await s.scalar(sa.text("SELECT count(*) FROM customers")) == 4
    finally:
        for d in dbs:
            await d.close()


async def test_concurrent_first_open_postgres() -> None:
    reason = await postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {reason}")
    schema = f"cc_test_{os.getpid()}_race{uuid.uuid4().hex[:6]}"
    dbs = await asyncio.gather(
        *(
            Database.open(TEST_DATABASE_URL, seed_now=DEMO_REFERENCE_NOW, schema=schema)
            for _ in range(3)
        )
    )
    try:
        async with dbs[0].session() as s:
            assert await s.scalar(sa.text("SELECT count(*) FROM customers")) == 4
    finally:
        async with dbs[0].engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        for d in dbs:
            await d.close()
