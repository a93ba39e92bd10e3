"""Several production workers (`callcenter start`) on one real livekit-server, and WebRTC
callers to spread over them: what `test_worker_fleet.py` and `test_worker_metrics.py` run.

Each worker is its own `callcenter start` process group, as a container would run it: its
own health port (`/worker`: active jobs and reported load) and Prometheus port, a call
capacity set through `CALLCENTER_CALLS_PER_CORE` (so the test knows when it is full), the
host's CPU left out of the load (`CALLCENTER_LOAD_COUNTS_CPU=false`: this machine's CPU is
shared with other test runs, and the capacity is what is under test), and a fast heartbeat
so the sweeper acts within seconds. They share one SQLite database file, as workers share
the site's database.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from scripts.livekit_local import StackInfo, free_tcp_port
from tests.e2e.harness import ProviderEmulators, WebCaller, WorkerProcess, caller_token

HEARTBEAT_S = 1.0
STALE_S = 4.0
"""The sweeper closes a record not marked alive for this long (> 2 × the heartbeat)."""


def fleet_env(
    info: StackInfo, emulators: ProviderEmulators, database_url: str, *, capacity: int
) -> dict[str, str]:
    """The environment of every worker of the fleet (`capacity` calls each)."""
    from livekit.agents.utils.hw import get_cpu_monitor

    cores = get_cpu_monitor().cpu_count()
    return {
        **info.env(),
        **emulators.env(),
        "DATABASE_URL": database_url,
        "CALLCENTER_PROVIDER_MODE": "live",
        "CALLCENTER_BUSINESS_HOURS": "mon-sun 00:00-24:00",
        "CALLCENTER_BUSINESS_TIMEZONE": "UTC",
        "CALLCENTER_INACTIVITY_TIMEOUT_S": "120",
        "CALLCENTER_LOG_LEVEL": "INFO",
        "LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE": "0",
        # floor(calls_per_core × cores) = capacity (`observability.load.worker_capacity`)
        "CALLCENTER_CALLS_PER_CORE": f"{(capacity + 0.5) / cores:.6f}",
        "CALLCENTER_LOAD_COUNTS_CPU": "false",
        "CALLCENTER_RECORD_HEARTBEAT_S": str(HEARTBEAT_S),
        "CALLCENTER_RECORD_STALE_S": str(STALE_S),
    }


@dataclass
class FleetWorker:
    """One `callcenter start` with its health and metrics ports."""

    name: str
    process: WorkerProcess
    health_port: int
    metrics_port: int

    def status(self) -> dict[str, object]:
        """LiveKit's `/worker` on the health port: active_jobs, worker_load, ..."""
        url = f"http://127.0.0.1:{self.health_port}/worker"
        with urllib.request.urlopen(url, timeout=5) as resp:
            data: dict[str, object] = json.loads(resp.read())
        return data

    def active_jobs(self) -> int:
        return int(float(str(self.status().get("active_jobs", 0))))

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """The Prometheus samples on the metrics port, by (name, sorted labels)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return samples

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid

    def alive(self) -> bool:
        return self.process.proc is not None and self.process.proc.poll() is None

    def sigterm(self) -> None:
        """What Kubernetes and Docker send on a deploy: SIGTERM to the main process only."""
        os.kill(self.pid, signal.SIGTERM)

    def kill_9(self) -> None:
        """A crash (OOM, a lost node): SIGKILL to the worker and all its call processes."""
        os.killpg(self.pid, signal.SIGKILL)
        assert self.process.proc is not None
        self.process.proc.wait(10)


def start_fleet(env: dict[str, str], tmp: Path, names: list[str]) -> list[FleetWorker]:
    """Start the workers at once (each registers in 10-30 s here) and wait for all."""
    workers = []
    for name in names:
        health, metrics = free_tcp_port(), free_tcp_port()
        argv = ["-m", "callcenter.cli", "start", "--port", str(health)]
        argv += ["--metrics-port", str(metrics)]
        process = WorkerProcess(env, tmp / f"{name}.log", argv=argv)
        workers.append(FleetWorker(name, process, health, metrics))
    errors: list[BaseException] = []

    def start(worker: FleetWorker) -> None:
        try:
            worker.process.start(timeout=120)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        stop_fleet(workers)
        raise errors[0]
    return workers


def stop_fleet(workers: list[FleetWorker]) -> None:
    for worker in workers:
        worker.process.stop()


async def join_caller(info: StackInfo, room: str, agent_name: str) -> WebCaller:
    """A WebRTC caller in `room` whose token dispatches `agent_name` (as a SIP rule does)."""
    caller = WebCaller()
    await caller.join(info.url, caller_token(info, f"caller-{room}", room, agent_name=agent_name))
    return caller


def wait_for(predicate: object, *, timeout: float, what: str) -> None:
    """Synchronous poll (for checks on other processes); AssertionError naming `what`."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
