"""Fixtures for the benchmark tooling's tests: the bulk generator runs on SQLite and on
PostgreSQL, over the seeded demo database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.data import Database
from tests.support.db import open_test_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """Migrated + demo-seeded database (seeded at DEMO_REFERENCE_NOW)."""
    async with open_test_database(request.param, tmp_path) as database:
        yield database
