"""Fixtures for the call-path tests: a seeded SQLite file per test, settings, a fake
escalation service, and a helper that starts a session on the scripted LLM."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from callcenter.config import Settings  # noqa: E402
from callcenter.data import Database  # noqa: E402
from tests.callpath.helpers import FakeEscalation, make_settings  # noqa: E402


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated + seeded SQLite file per run; each test gets a copy (fast)."""
    path = tmp_path_factory.mktemp("template") / "callcenter.db"

    async def build() -> None:
        # seeded relative to today: return windows and due dates are judged against the clock
        db = await Database.open(f"sqlite+aiosqlite:///{path}")
        await db.close()

    asyncio.run(build())
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "t.db"
    shutil.copy(template_db, target)
    for suffix in ("-wal", "-shm"):
        side = template_db.with_name(template_db.name + suffix)
        if side.exists():
            shutil.copy(side, target.with_name(target.name + suffix))
    return target


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(f"sqlite+aiosqlite:///{db_path}", seed_demo=False)
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
