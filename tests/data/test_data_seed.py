"""The demo seed: deterministic, explicit (never part of opening a database), once only, and
described by the same spec it seeds from."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from callcenter.data import AccountRepository, CustomerDirectory, Database
from callcenter.data.models import Base
from callcenter.data.seed import DEMO_CUSTOMERS, DEMO_REFERENCE_NOW, demo_data_text, seed_demo
from tests.support.db import TEST_DATABASE_URL, open_test_database, postgres_unavailable_reason


async def _dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.session() as s:
        for table in Base.metadata.sorted_tables:
            rows = await s.execute(sa.select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
    return out


async def _customers(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(sa.text("SELECT count(*) FROM customers")) or 0)


async def test_seed_is_deterministic(db: Database, tmp_path: Path) -> None:
    backend = "postgres" if db.dialect == "postgresql" else "sqlite"
    first = await _dump(db)
    async with open_test_database(backend, tmp_path / "second") as other:  # type: ignore[arg-type]
        second = await _dump(other)
    assert first == second
    assert len(first["customers"]) == len(DEMO_CUSTOMERS) == 4
    assert len(first["supervisors"]) == 3


async def test_opening_never_seeds_and_seeding_is_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/nested/dir/cc.db"
    db = await Database.open(url, migrate=True)
    try:
        assert (tmp_path / "nested" / "dir" / "cc.db").is_file()
        assert await _customers(db) == 0  # migrated, not seeded
        assert await seed_demo(db, now=DEMO_REFERENCE_NOW) is True
        assert await seed_demo(db, now=DEMO_REFERENCE_NOW) is False
        assert await _customers(db) == 4
    finally:
        await db.close()


async def test_seed_needs_an_aware_reference_time(empty_db: Database) -> None:
    import datetime as dt

    with pytest.raises(ValueError, match="timezone-aware"):
        await seed_demo(empty_db, now=dt.datetime(2025, 6, 2))
    assert await _customers(empty_db) == 0


async def test_demo_description_matches_seeded_rows(db: Database) -> None:
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


async def test_processes_racing_on_a_fresh_sqlite_file_migrate_and_seed_once(
    tmp_path: Path,
) -> None:
    """Worker processes starting together on a fresh DB: one migrates/seeds, the rest wait."""
    url = f"sqlite+aiosqlite:///{tmp_path}/race.db"

    async def start() -> tuple[Database, bool]:
        db = await Database.open(url, migrate=True)
        return db, await seed_demo(db, now=DEMO_REFERENCE_NOW)

    started = await asyncio.gather(*(start() for _ in range(3)))
    try:
        assert sorted(seeded for _, seeded in started) == [False, False, True]
        assert await _customers(started[0][0]) == 4
    finally:
        for db, _ in started:
            await db.close()


async def test_processes_racing_on_a_fresh_postgres_schema() -> None:
    reason = await postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {reason}")
    schema = f"cc_test_{os.getpid()}_race{uuid.uuid4().hex[:6]}"

    async def start() -> tuple[Database, bool]:
        db = await Database.open(TEST_DATABASE_URL, migrate=True, schema=schema)
        return db, await seed_demo(db, now=DEMO_REFERENCE_NOW)

    started = await asyncio.gather(*(start() for _ in range(3)))
    try:
        assert sorted(seeded for _, seeded in started) == [False, False, True]
        assert await _customers(started[0][0]) == 4
    finally:
        async with started[0][0].engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        for db, _ in started:
            await db.close()


def test_importing_the_data_layer_imports_neither_seed_nor_bulk_generator() -> None:
    """A fresh interpreter: what `import callcenter.data` (and the worker's data imports)
    load. The seed and the benchmark generator are for the places that use them."""
    code = (
        "import sys, callcenter.data, callcenter.data.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('callcenter.data.seed', "
        "'benchmarks'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    # and the check itself can see the seed when it is imported
    seeded = subprocess.run(
        [sys.executable, "-c", code.replace("callcenter.data.cli", "callcenter.data.seed")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "callcenter.data.seed" in seeded
