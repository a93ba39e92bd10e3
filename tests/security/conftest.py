"""Fixtures for the security tests: the call-path fixtures (a seeded SQLite file per test,
degraded-mode settings, a fake escalation) and a database that never answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.config import Settings
from callcenter.data import Database
from tests.callpath.helpers import FakeEscalation, make_settings


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(f"sqlite+aiosqlite:///{db_path}")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def settings(db_path: Path, tmp_path: Path) -> Settings:
    return make_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{db_path}",
        CALLCENTER_JOURNAL_DIR=str(tmp_path / "journal"),
    )


@pytest.fixture
def escalation() -> FakeEscalation:
    return FakeEscalation()
