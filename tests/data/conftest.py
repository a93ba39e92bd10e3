"""Fixtures for the data-layer tests: every DB test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.data import Database
from tests.support.db import customer_id_for_phone, open_test_database

MAYA_PHONE = "+14155550142"
DANIEL_PHONE = "+12125550199"
SOFIA_PHONE = "+13125550123"
JAMES_PHONE = "+16175550188"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """Migrated + demo-seeded database (seeded at DEMO_REFERENCE_NOW)."""
    async with open_test_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture(params=BACKENDS)
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """Migrated, unseeded database."""
    async with open_test_database(request.param, tmp_path, seed=False) as database:
        yield database


@pytest.fixture
async def maya_id(db: Database) -> int:
    return await customer_id_for_phone(db, MAYA_PHONE)


@pytest.fixture
async def daniel_id(db: Database) -> int:
    return await customer_id_for_phone(db, DANIEL_PHONE)


@pytest.fixture
async def sofia_id(db: Database) -> int:
    return await customer_id_for_phone(db, SOFIA_PHONE)


@pytest.fixture
async def james_id(db: Database) -> int:
    return await customer_id_for_phone(db, JAMES_PHONE)
