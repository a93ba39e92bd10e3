"""The Dockerfile, checked without Docker (none runs here): every command it runs exists in
the locked environment and parses; it exposes the worker's ports, checks health the way the
orchestrators do, stops with SIGTERM and documents the grace period the drain needs."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from callcenter.cli import _parser
from callcenter.config import load_settings

ROOT = Path(__file__).parents[2]
VENV_BIN = Path(sys.executable).parent


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def _argv(text: str) -> list[str]:
    return json.loads(text) if text.startswith("[") else shlex.split(text)


def _commands() -> list[list[str]]:
    cmds = []
    for keyword, rest in _instructions():
        if keyword == "RUN" or keyword == "CMD":
            cmds.append(_argv(rest))
        elif keyword == "HEALTHCHECK":
            cmds.append(_argv(rest.split(" CMD ", 1)[1]))
    return cmds


def _exists_in_locked_env(program: str) -> bool:
    if program in ("uv",):  # copied from the uv image in the build stage
        return True
    if program in ("useradd", "mkdir"):  # the python:3.11-slim base (Debian)
        return True
    name = Path(program).name
    return (VENV_BIN / name).exists()


def test_every_command_exists_in_the_locked_environment() -> None:
    commands = _commands()
    assert commands
    for argv in commands:
        assert _exists_in_locked_env(argv[0]), f"{argv[0]} is not in the environment"


def test_callcenter_commands_parse_and_are_declared_scripts() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["callcenter"] == "callcenter.cli:main"
    for argv in _commands():
        if Path(argv[0]).name == "callcenter":
            args, rest = _parser().parse_known_args(argv[1:])
            assert rest == []
            assert args.command == "start"


def test_the_build_steps_run_what_they_name() -> None:
    runs = [argv for argv in _commands() if argv[0] in ("uv",) or argv[0].endswith("python")]
    downloads = [a for a in runs if "livekit.agents" in a]
    (download,) = downloads
    result = subprocess.run(
        [sys.executable, "-m", "livekit.agents", "--help"], capture_output=True, text=True
    )
    assert download[-1] in result.stdout  # download-files is a command of that module
    syncs = [a for a in runs if a[:2] == ["uv", "sync"]]
    assert syncs and all("--locked" in a and "--no-dev" in a for a in syncs)


def test_ports_stop_signal_and_grace_are_declared() -> None:
    instructions = dict(_instructions())
    settings = load_settings(_env_file=None)
    exposed = {int(p) for p in instructions["EXPOSE"].split()}
    assert exposed == {settings.health_port, settings.metrics_port}
    assert instructions["STOPSIGNAL"] == "SIGTERM"
    text = (ROOT / "Dockerfile").read_text()
    # the documented grace covers the worker's drain (livekit-agents drains on SIGTERM)
    assert f"docker stop --time {settings.drain_timeout + 60}" in text
    assert "stop_grace_period" in text


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False)])
def test_the_healthcheck_follows_livekits_health_endpoint(
    health_server: HTTPServer, status: int, healthy: bool
) -> None:
    (check,) = [argv for kw, rest in _instructions() if kw == "HEALTHCHECK" for argv in [
        _argv(rest.split(" CMD ", 1)[1])
    ]]  # fmt: skip
    _Health.status = status
    env = {"CALLCENTER_HEALTH_PORT": str(health_server.server_address[1]), "PATH": str(VENV_BIN)}
    result = subprocess.run([sys.executable, *check[1:]], env=env, capture_output=True, timeout=30)
    assert (result.returncode == 0) is healthy
