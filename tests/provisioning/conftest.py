"""Fixtures for the provisioning tests: the LiveKit emulator, example env, a rules dir copy.

`livekit_server` (the emulator in `tests/support/emulators/livekit.py`) is a fixture of
tests/conftest.py, beside the provider emulators.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.provisioning.cli import run
from tests.provisioning.helpers import EXAMPLE_ENV, RULES_DIR
from tests.support.emulators.livekit import LiveKitEmulator


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A private copy of the committed dispatch_rules/ that a test may edit."""
    target = tmp_path / "dispatch_rules"
    shutil.copytree(RULES_DIR, target)
    for extra in target.glob("*.md"):
        extra.unlink()
    return target


@pytest.fixture
def env(livekit_server: LiveKitEmulator) -> dict[str, str]:
    return {**EXAMPLE_ENV, **livekit_server.env()}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], rules_dir: Path, env: dict[str, str]):
    """Run setup_sip in-process: `await cli("plan", "--prune")` -> CliResult."""

    async def invoke(*argv: str, environ: dict[str, str] | None = None) -> CliResult:
        capsys.readouterr()
        args = [*argv, "--rules-dir", str(rules_dir)] if argv else []
        code = await run(args, env if environ is None else environ)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
