"""Fixtures for the fallback tests: provider emulators, a seeded SQLite file per test, and
settings that point every provider of `build_providers` at an emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.emulators import (
    OpenAIHTTPEmulator,
    OpenAIRealtimeEmulator,
)


@pytest.fixture
def db_url(db_path: Path) -> str:
    """A private copy of the seeded database (tests/conftest.py), as a URL."""
    return f"sqlite+aiosqlite:///{db_path}"


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
