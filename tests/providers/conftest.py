"""Fixtures for the provider contract tests: one started emulator per test, stopped after.

The emulators live in ``tests/support/emulators``; see its README for scripting and faults.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

# make ``tests.support`` importable however pytest was started (no package __init__ chain)
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.support.emulators import (  # noqa: E402
    DeepgramEmulator,
    ElevenLabsEmulator,
    OpenAIHTTPEmulator,
    OpenAIRealtimeEmulator,
)


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
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session for plugins that otherwise need a LiveKit job context
    (deepgram.STT and elevenlabs.TTS call ``utils.http_context.http_session()``)."""
    async with aiohttp.ClientSession() as session:
        yield session
