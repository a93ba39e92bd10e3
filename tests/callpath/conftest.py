"""Fixtures for the call-path tests: a seeded SQLite file per test, settings, a fake
escalation service, and a helper that starts a session on the scripted LLM."""

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
def settings(db_path: Path) -> Settings:
    return make_settings(DATABASE_URL=f"sqlite+aiosqlite:///{db_path}")


@pytest.fixture
def escalation() -> FakeEscalation:
    return FakeEscalation()
