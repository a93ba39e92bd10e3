"""Fixtures shared by every test folder.

- `template_db` / `db_path`: one migrated and seeded SQLite file per run, copied per test
  (a copy takes milliseconds; migrating and seeding takes most of a second).
- Emulators (`openai_http`, `openai_realtime`, `deepgram`, `elevenlabs` for the model
  providers, `livekit_server` for LiveKit's Twirp API), each started on 127.0.0.1 for one
  test and stopped after; see tests/support/emulators/.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from callcenter.data import Database
from callcenter.data.seed import seed_demo
from tests.support.emulators import (
    DeepgramEmulator,
    ElevenLabsEmulator,
    LiveKitEmulator,
    OpenAIHTTPEmulator,
    OpenAIRealtimeEmulator,
)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated + seeded SQLite file per run (seeded relative to today's date)."""
    path = tmp_path_factory.mktemp("template") / "callcenter.db"

    async def build() -> None:
        db = await Database.open(f"sqlite+aiosqlite:///{path}", migrate=True)
        await seed_demo(db)
        await db.close()

    asyncio.run(build())
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded database for this test."""
    target = tmp_path / "t.db"
    shutil.copy(template_db, target)
    for suffix in ("-wal", "-shm"):
        side = template_db.with_name(template_db.name + suffix)
        if side.exists():
            shutil.copy(side, target.with_name(target.name + suffix))
    return target


@pytest.fixture
async def openai_http() -> AsyncIterator[OpenAIHTTPEmulator]:
    """OpenAI chat/STT/TTS emulator; plugins use ``base_url=openai_http.base_url``."""
    async with OpenAIHTTPEmulator() as emu:
        yield emu


@pytest.fixture
async def openai_realtime() -> AsyncIterator[OpenAIRealtimeEmulator]:
    """OpenAI Realtime websocket emulator; ``RealtimeModel(base_url=openai_realtime.base_url)``."""
    async with OpenAIRealtimeEmulator() as emu:
        yield emu


@pytest.fixture
async def deepgram() -> AsyncIterator[DeepgramEmulator]:
    """Deepgram emulator; ``deepgram.STT(base_url=deepgram.base_url, http_session=...)``."""
    async with DeepgramEmulator() as emu:
        yield emu


@pytest.fixture
async def elevenlabs() -> AsyncIterator[ElevenLabsEmulator]:
    """ElevenLabs emulator; ``elevenlabs.TTS(base_url=elevenlabs.base_url, http_session=...)``."""
    async with ElevenLabsEmulator() as emu:
        yield emu


@pytest.fixture
async def livekit_server() -> AsyncIterator[LiveKitEmulator]:
    """LiveKit Twirp API emulator with the default test key/secret (`LiveKitEmulator`)."""
    async with LiveKitEmulator() as server:
        yield server


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session for plugins that otherwise need a LiveKit job context
    (deepgram.STT and elevenlabs.TTS call ``utils.http_context.http_session()``)."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`callcenter.cli.main` configures logging for its process; tests that call it
    in-process must not leave that configuration to the tests after them."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    alembic_level = logging.getLogger("alembic").level
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    logging.getLogger("alembic").setLevel(alembic_level)
