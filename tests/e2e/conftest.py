"""Fixtures for the end-to-end tests: a real livekit-server (and livekit-sip when there is a
binary) on free ports with its own Redis, provisioned by `scripts/setup_sip.py`, the provider
emulators, and our worker (`callcenter dev`) dispatched by agent name.

Everything here is started once per test session and stopped at its end (no process is left
behind). Tests that need only the server run wherever a livekit-server binary is available
(CI builds one, `.ci/run`); tests that need the SIP bridge skip, with the reason, where no
livekit-sip binary is (the Go module proxy refuses github.com/livekit/sip on some networks:
see `scripts/livekit_local.py`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.provisioning.cli import run as setup_sip
from scripts.livekit_local import (
    SERVER,
    SIP,
    LocalStack,
    StackInfo,
    find_binary,
    free_tcp_port,
    free_udp_tcp_port,
    start_private_stack,
)
from tests.e2e.harness import Latencies, ProviderEmulators, ScriptedModel, WorkerProcess

INBOUND_NUMBER = "+12025550123"
OUTBOUND_CALLER_ID = "+12025550124"
CARRIER_AUTH = ("carrier", "carrier-pa55")
MAYA = "+14155550142"
"""Demo customer Maya Patel (PIN 4421)."""
MAYA_PIN = "4421"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)


def _bridge_missing_reason(why: str) -> str:
    """Why the SIP-bridge tests skip. When `livekit_local.py build` (CI: .ci/livekit.sh) tried
    and failed, `why` quotes that failure (e.g. the Go proxy's 403) and what to do about it."""
    reason = f"needs the livekit-sip bridge ({SIP.name} {SIP.version}): {why}"
    if "its last build failed" in why:
        return reason
    return (
        f"{reason}. Build it with `uv run python scripts/livekit_local.py build`; where the Go "
        f"module proxy refuses {SIP.module} (403 'not available'), set {SIP.env_var} to a "
        f"{SIP.name} {SIP.version} built elsewhere, or put one in $LIVEKIT_BIN_DIR (default "
        "~/.cache/livekit-bin)"
    )


@dataclass
class Stack:
    info: StackInfo
    bridge_missing: str | None
    """Why there is no SIP bridge (skip reason), or None when it runs."""
    supervisor_port: int
    """The outbound trunk's address is 127.0.0.1:<this>: a supervisor phone answers here."""
    outbound_trunk_id: str = ""

    @property
    def env(self) -> dict[str, str]:
        return self.info.env()

    @property
    def http_url(self) -> str:
        return self.info.http_url

    @property
    def sip_uri(self) -> str:
        assert self.info.sip_address is not None
        return f"sip:{INBOUND_NUMBER}@{self.info.sip_address}"

    def require_bridge(self) -> None:
        if self.bridge_missing is not None:
            pytest.skip(self.bridge_missing)


def provisioning_env(stack_env: dict[str, str], supervisor_port: int) -> dict[str, str]:
    """The variables `dispatch_rules/` references, for a loopback carrier."""
    return {
        **stack_env,
        "CALLCENTER_INBOUND_NUMBER": INBOUND_NUMBER,
        "CALLCENTER_CARRIER_INBOUND_CIDR": "127.0.0.1/32",
        "CALLCENTER_INBOUND_AUTH_USERNAME": CARRIER_AUTH[0],
        "CALLCENTER_INBOUND_AUTH_PASSWORD": CARRIER_AUTH[1],
        "CALLCENTER_CARRIER_OUTBOUND_ADDRESS": f"127.0.0.1:{supervisor_port}",
        "CALLCENTER_OUTBOUND_CALLER_ID": OUTBOUND_CALLER_ID,
        "CALLCENTER_OUTBOUND_AUTH_USERNAME": "livekit",
        "CALLCENTER_OUTBOUND_AUTH_PASSWORD": "livekit-pa55",
    }


@pytest.fixture(scope="session")
def server_binary() -> Path:
    """The livekit-server binary; skip with the reason without one, except in CI, where
    `.ci/livekit.sh` built it (`CALLCENTER_REQUIRE_LIVEKIT=1`): then a missing one fails."""
    path, why = find_binary(SERVER)
    missing = None
    if path is None:
        missing = (
            f"needs livekit-server {SERVER.version}: {why}; build it with "
            "`uv run python scripts/livekit_local.py build --no-sip` (about 2 minutes)"
        )
    elif shutil.which("redis-server") is None:
        missing = "needs redis-server (apt-get install -y redis-server)"
    if missing is not None:
        if os.environ.get("CALLCENTER_REQUIRE_LIVEKIT") == "1":
            pytest.fail(f"CI built a LiveKit for these tests, yet: {missing}")
        pytest.skip(missing)
    assert path is not None
    return path


def _start_stack(tmp: Path, *, sip: bool) -> tuple[LocalStack, StackInfo]:
    return start_private_stack(tmp, sip=sip, log=lambda *_: None)


@pytest.fixture(scope="session")
def stack(server_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """livekit-server (+ livekit-sip when available) + Redis on free ports, provisioned."""
    sip_path, why = find_binary(SIP)
    bridge_missing = None if sip_path is not None else _bridge_missing_reason(why)
    local, info = _start_stack(tmp_path_factory.mktemp("stack"), sip=sip_path is not None)
    try:
        result = Stack(info, bridge_missing, supervisor_port=free_udp_tcp_port())
        env = provisioning_env(info.env(), result.supervisor_port)
        code = asyncio.run(setup_sip(["apply", "--json"], env))
        assert code == 0, "setup_sip apply failed against the real server"
        result.outbound_trunk_id = asyncio.run(_outbound_trunk_id(info))
        yield result
    finally:
        local.down()


async def _outbound_trunk_id(info: StackInfo) -> str:
    from livekit import api

    async with api.LiveKitAPI(info.http_url, info.api_key, info.api_secret) as lk:
        trunks = (await lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())).items
    [trunk] = [t for t in trunks if t.name == "callcenter-outbound-supervisors"]
    return trunk.sip_trunk_id


@pytest.fixture
def fresh_server(server_binary: Path, tmp_path: Path) -> Iterator[StackInfo]:
    """A livekit-server of its own (no bridge, empty SIP state) for one test."""
    local, info = _start_stack(tmp_path / "stack", sip=False)
    try:
        yield info
    finally:
        local.down()


@pytest.fixture(scope="session")
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture(scope="session")
def emulators(model: ScriptedModel) -> Iterator[ProviderEmulators]:
    emus = ProviderEmulators(model, Latencies()).start()
    try:
        yield emus
    finally:
        emus.stop()


@dataclass
class Worker:
    process: WorkerProcess
    database_url: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def worker(
    stack: Stack, emulators: ProviderEmulators, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """Our worker against the real server, models emulated; merge mode left on `auto`."""
    tmp = tmp_path_factory.mktemp("worker")
    database_url = f"sqlite+aiosqlite:///{tmp / 'e2e.db'}"
    env = {
        **stack.env,
        **emulators.env(),
        "DATABASE_URL": database_url,
        "CALLCENTER_PROVIDER_MODE": "live",
        "LIVEKIT_SIP_OUTBOUND_TRUNK": stack.outbound_trunk_id,
        "LIVEKIT_SIP_NUMBER": OUTBOUND_CALLER_ID,
        "CALLCENTER_BUSINESS_HOURS": "mon-sun 00:00-24:00",
        "CALLCENTER_BUSINESS_TIMEZONE": "UTC",
        "CALLCENTER_RINGING_TIMEOUT_S": "8",
        "CALLCENTER_BRIEFING_TIMEOUT_S": "30",
        "CALLCENTER_MAX_TRANSFER_ATTEMPTS": "1",
        "CALLCENTER_INACTIVITY_TIMEOUT_S": "120",
        "CALLCENTER_LOG_LEVEL": "INFO",
        "LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE": "0",
        # a free port: the default 9100 may be another run's worker on this machine
        "CALLCENTER_METRICS_PORT": str(free_tcp_port()),
    }
    for name in ("CALLCENTER_MERGE_MODE", "CALLCENTER_TRANSFER_MODE"):
        os.environ.pop(name, None)
    asyncio.run(_seed(database_url))
    process = WorkerProcess(env, tmp / "worker.log").start()
    try:
        yield Worker(process, database_url, env)
    finally:
        process.stop()


async def _seed(database_url: str) -> None:
    """Migrate and seed the demo customers (Maya, PIN 4421) and supervisors."""
    from callcenter.data import Database
    from callcenter.data.seed import seed_demo

    db = await Database.open(database_url, migrate=True)
    try:
        await seed_demo(db)
    finally:
        await db.close()
