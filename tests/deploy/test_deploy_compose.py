"""deploy/docker-compose.yml against the code (Docker cannot run here): it parses, its
services are the complete site, its `callcenter` commands are the CLI's, LiveKit runs from
the configs the e2e suite starts (deploy/local/*.yaml), every CALLCENTER_* variable is a
setting, and the worker's stop grace covers a call's drain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from callcenter.cli import _parser
from callcenter.config import DRAIN_MARGIN_S, Settings
from scripts import livekit_local

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]]


def test_the_site_is_complete(compose: dict[str, Any]) -> None:
    assert {"livekit-server", "livekit-sip", "redis", "postgres", "worker", "web"} <= set(
        compose["services"]
    )
    worker = compose["services"]["worker"]
    assert "container_name" not in worker, "a named container cannot be scaled"
    assert "ports" not in worker, "published ports would collide with --scale worker=N"


def test_callcenter_commands_exist_in_the_cli(compose: dict[str, Any]) -> None:
    parser = _parser()
    found = 0
    for name, service in compose["services"].items():
        command = service.get("command")
        if not (isinstance(command, list) and command and command[0] == "callcenter"):
            continue
        found += 1
        _args, rest = parser.parse_known_args(command[1:])
        assert rest == [], f"{name}: {rest} unknown to `callcenter {command[1]}`"
    assert found >= 3, "worker, web and migrate run callcenter"


def test_livekit_runs_from_the_e2e_configs(compose: dict[str, Any]) -> None:
    mounted = {}
    for name in ("livekit-server", "livekit-sip"):
        for volume in compose["services"][name]["volumes"]:
            source, target = volume.split(":")[:2]
            mounted[name] = ((COMPOSE.parent / source).resolve(), target)
    # the files `scripts/livekit_local.py up` (and so tests/e2e/conftest.py) render
    e2e = livekit_local.CONFIG_DIR.resolve()
    assert mounted["livekit-server"][0] == e2e / "livekit.yaml"
    assert mounted["livekit-sip"][0] == e2e / "sip.yaml"
    for name, (source, target) in mounted.items():
        assert source.is_file(), source
        assert target in " ".join(map(str, compose["services"][name]["command"]))
    server_cfg = yaml.safe_load(mounted["livekit-server"][0].read_text())
    # the host network: the configs' loopback addresses and Redis port are the compose ones
    assert server_cfg["redis"]["address"] == "127.0.0.1:6379"
    assert "6379" in compose["services"]["redis"]["command"]
    for name in ("livekit-server", "livekit-sip", "redis"):
        assert compose["services"][name]["network_mode"] == "host"
    images = {n: s["image"] for n, s in compose["services"].items() if "image" in s}
    assert images["livekit-server"].endswith(f":{livekit_local.SERVER.version}")
    assert images["livekit-sip"].endswith(f":{livekit_local.SIP.version}")


def test_every_callcenter_variable_is_a_setting(compose: dict[str, Any]) -> None:
    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    env = compose["x-callcenter-env"]
    unknown = sorted(k for k in env if k not in aliases)
    assert unknown == [], f"not read by config.Settings: {unknown}"
    assert "DATABASE_URL" in env and env["DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_the_worker_may_drain_its_longest_call(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    env = compose["x-callcenter-env"]
    max_call = float(env["CALLCENTER_MAX_CALL_DURATION_S"])
    assert worker["stop_signal"] == "SIGTERM"
    assert _seconds(worker["stop_grace_period"]) >= max_call + DRAIN_MARGIN_S
    assert worker["command"] == ["callcenter", "start"]
