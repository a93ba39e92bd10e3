"""Fixtures for the fallback tests: provider emulators, a seeded SQLite file per test, and
settings that point every provider of `build_providers` at an emulator."""

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

from callcenter.data import Database  # noqa: E402
from tests.support.emulators import (  # noqa: E402
    DeepgramEmulator,
    ElevenLabsEmulator,
    OpenAIHTTPEmulator,
    OpenAIRealtimeEmulator,
)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fallbacks-template") / "callcenter.db"

    async def build() -> None:
        db = await Database.open(f"sqlite+aiosqlite:///{path}")
        await db.close()

    asyncio.run(build())
    return path


@pytest.fixture
def db_url(template_db: Path, tmp_path: Path) -> str:
    target = tmp_path / "t.db"
    shutil.copy(template_db, target)
    for suffix in ("-wal", "-shm"):
        side = template_db.with_name(template_db.name + suffix)
        if side.exists():
            shutil.copy(side, target.with_name(target.name + suffix))
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def primary() -> AsyncIterator[OpenAIHTTPEmulator]:
    """OPENAI_BASE_URL: primary chat model, OpenAI STT/TTS, realtime models."""
    async with OpenAIHTTPEmulator() as emu:
        yield emu


@pytest.fixture
async def fallback() -> AsyncIterator[OpenAIHTTPEmulator]:
    """OPENAI_FALLBACK_BASE_URL: the fallback chat model's endpoint."""
    async with OpenAIHTTPEmulator() as emu:
        yield emu


@pytest.fixture
async def realtime() -> AsyncIterator[OpenAIRealtimeEmulator]:
    async with OpenAIRealtimeEmulator() as emu:
        yield emu


@pytest.fixture
async def deepgram() -> AsyncIterator[DeepgramEmulator]:
    async with DeepgramEmulator() as emu:
        yield emu


@pytest.fixture
async def elevenlabs() -> AsyncIterator[ElevenLabsEmulator]:
    async with ElevenLabsEmulator() as emu:
        yield emu
