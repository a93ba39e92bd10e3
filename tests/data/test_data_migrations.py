"""Alembic migrations build the schema; models and migrations agree; down and up again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import callcenter.data
from callcenter.data import Database
from callcenter.data.columns import include_object
from callcenter.data.migrate import MIGRATIONS_DIR, alembic_config
from callcenter.data.models import Base

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
    # the console (0003)
    "web_users",
    "web_sessions",
    "web_login_attempts",
    "audit_log",
    "call_analyses",
    "callback_work",
    "webhook_deliveries",
    "live_calls",
    "screen_pops",
    # security and durability (0004)
    "verification_attempts",
    "account_lockouts",
    "journal_replays",
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
    assert version == head == "0004"

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
