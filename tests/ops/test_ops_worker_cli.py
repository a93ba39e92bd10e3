"""`callcenter start|dev` as an operator runs them: the real CLI in a subprocess.

The worker points at a LiveKit URL where nothing listens, so it starts (health endpoint,
metrics, warm job processes), retries the connection, and is stopped with SIGTERM (start)
or SIGINT (dev). Each printed event must appear exactly once; job-process records reach the
output through LiveKit's forwarding; the level holds in the job processes too.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import psutil
import pytest

from callcenter.cli import _parser
from callcenter.config import load_settings
from callcenter.constants import AGENT_NAME
from callcenter.serve import livekit_argv, resolve_options

CLI = [sys.executable, "-m", "callcenter.cli"]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLCENTER_", "LIVEKIT_", "OPENAI_", "DEEPGRAM_", "ELEVEN"))
    }
    env.update(
        LIVEKIT_URL=f"ws://127.0.0.1:{_free_port()}",
        LIVEKIT_API_KEY="devkey",
        LIVEKIT_API_SECRET="a-secret-of-at-least-thirty-two-characters",
        OPENAI_API_KEY="sk-test",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cc.db",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _run_worker(
    tmp_path: Path,
    args: list[str],
    *,
    stop: signal.Signals,
    ready: str | None,
    env_extra: dict[str, str] | None = None,
    while_running: object = None,
) -> tuple[str, str, dict[str, object]]:
    """Start the CLI, wait until stdout shows `ready` (or its job processes exist), run
    `while_running(pid)`, stop it with `stop`; return (stdout, stderr, what it returned)."""
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [*CLI, *args], stdout=out, stderr=err, env=_env(tmp_path, **(env_extra or {})),
            cwd=tmp_path,
        )  # fmt: skip
        seen: dict[str, object] = {}
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if ready is not None and ready in out_path.read_text():
                    break
                if ready is None and len(psutil.Process(proc.pid).children(recursive=True)) >= 3:
                    time.sleep(3)  # the job processes initialise (and would log) now
                    break
                time.sleep(0.2)
            else:
                pytest.fail(f"worker not ready: {out_path.read_text()[-2000:]}")
            if callable(while_running):
                seen = while_running(proc.pid)
        finally:
            proc.send_signal(stop)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return out_path.read_text(), err_path.read_text(), seen


def test_start_prints_each_event_once_as_json_with_job_process_lines(tmp_path: Path) -> None:
    metrics_port, health_port = _free_port(), _free_port()

    def probe(pid: int) -> dict[str, object]:
        health = urllib.request.urlopen(f"http://127.0.0.1:{health_port}/worker", timeout=5)
        scrape = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        return {"worker": json.loads(health.read()), "metrics": scrape.read().decode()}

    out, err, seen = _run_worker(
        tmp_path,
        ["start", "--port", str(health_port), "--metrics-port", str(metrics_port)],
        stop=signal.SIGTERM,
        ready='"process initialized"',
        env_extra={"CALLCENTER_LOG_LEVEL": "DEBUG"},
        while_running=probe,
    )
    lines = out.splitlines()
    records = [json.loads(line) for line in lines]  # every stdout line is one JSON event
    keys = Counter((r["timestamp"], r["pid"], r["name"], r["message"]) for r in records)
    assert [k for k, n in keys.items() if n > 1] == []
    assert len(set(lines)) == len(lines)
    main_pid = next(r["pid"] for r in records if r["message"] == "starting worker")
    job_lines = [r for r in records if r["pid"] != main_pid]
    assert any(r["message"] == "process initialized" for r in job_lines)
    assert any(r["message"] == "draining worker" for r in records)  # SIGTERM drains
    # nothing printed as a plain log line on stderr (the old second handler)
    assert not re.search(r"^(DEBUG|INFO|WARNING|ERROR) ", err, re.MULTILINE), err
    # the health endpoint and the metrics (LiveKit's and ours) on the ports we gave
    assert seen["worker"]["agent_name"] == AGENT_NAME  # type: ignore[index]
    scrape = str(seen["metrics"])
    assert "lk_agents_worker_load" in scrape
    assert "callcenter_calls_active 0.0" in scrape
    assert "callcenter_calls_started_total" in scrape


def test_the_level_holds_in_the_job_processes_and_the_flag_beats_the_environment(
    tmp_path: Path,
) -> None:
    out, _err, _ = _run_worker(
        tmp_path,
        ["start", "--log-level", "warning", "--port", "0", "--metrics-port", "0"],
        stop=signal.SIGTERM,
        ready=None,  # the job processes exist (they log "initializing process" at INFO)
        env_extra={"CALLCENTER_LOG_LEVEL": "DEBUG"},
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert records, "the worker logged nothing (it retries LiveKit with warnings)"
    assert {r["level"] for r in records} <= {"WARNING", "ERROR", "CRITICAL"}


def test_dev_prints_each_event_once(tmp_path: Path) -> None:
    out, err, _ = _run_worker(
        tmp_path,
        ["dev", "--metrics-port", "0"],
        stop=signal.SIGINT,
        ready="failed to connect to livekit",
    )
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines and not any(line.startswith("{") for line in lines)  # coloured, not JSON
    assert len(set(lines)) == len(lines)
    assert "starting worker" in out
    assert "auto-reload has been removed" not in out + err  # we pass --no-reload
    assert not re.search(r"^(DEBUG|INFO|WARNING|ERROR) ", err, re.MULTILINE), err


@pytest.mark.parametrize("command", ["start", "dev"])
def test_help_describes_what_livekit_1_8_9_does(command: str) -> None:
    result = subprocess.run([*CLI, command, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for option in ("--log-level", "--port", "--metrics-port"):
        assert option in text
    assert "LiveKit's CLI" in text
    if command == "start":
        assert "--drain-timeout" in text and "drains" in text
    else:
        assert "--drain-timeout" not in text
        assert "without draining" in text and "no reload" in text


def test_unknown_options_go_to_livekit_and_bad_values_are_ours(tmp_path: Path) -> None:
    env = _env(tmp_path)
    theirs = subprocess.run(
        [*CLI, "start", "--no-such-option"], capture_output=True, text=True, env=env, timeout=120
    )
    assert theirs.returncode == 2
    assert "No such option" in theirs.stderr and "--no-such-option" in theirs.stderr
    ours = subprocess.run(
        [*CLI, "start", "--port", "70000"], capture_output=True, text=True, env=env, timeout=60
    )
    assert ours.returncode == 2 and "70000 is not a TCP port" in ours.stderr
    others = subprocess.run(
        [*CLI, "demo-data", "--bogus"], capture_output=True, text=True, env=env, timeout=60
    )
    assert others.returncode == 2 and "unrecognized arguments: --bogus" in others.stderr


def _options(argv: list[str], **env: str) -> object:
    args, rest = _parser().parse_known_args(argv)
    settings = load_settings(_env_file=None, **env)
    return resolve_options(args, settings), rest


def test_options_come_from_the_command_line_then_the_settings() -> None:
    opts, rest = _options(["start", "--url", "wss://lk.example"])
    assert (opts.port, opts.metrics_port, opts.log_level) == (8081, 9100, "INFO")
    assert opts.drain_timeout == 1800 + 60  # maximum call duration + margin
    assert opts.capacity is not None and opts.capacity >= 8  # 8 calls per core by default
    assert opts.idle_processes == max(2, -(-opts.capacity // 4))  # a quarter, at least 2
    assert rest == ["--url", "wss://lk.example"]
    opts, _ = _options(["start"], CALLCENTER_IDLE_PROCESSES="5")
    assert opts.idle_processes == 5
    opts, _ = _options(
        ["start", "--drain-timeout", "90", "--log-level", "debug"],
        CALLCENTER_HEALTH_PORT="9000",
        CALLCENTER_MAX_CALL_DURATION_S="600",
    )
    assert (opts.drain_timeout, opts.port, opts.log_level) == (90, 9000, "DEBUG")
    opts, _ = _options(["start"], CALLCENTER_MAX_CALL_DURATION_S="600")
    assert opts.drain_timeout == 660
    opts, _ = _options(["dev"])
    assert (opts.port, opts.drain_timeout, opts.capacity) == (0, None, None)  # dev: no limit
    assert opts.idle_processes is None  # dev: LiveKit's dev default
    assert livekit_argv(opts, ["--url", "x"]) == [
        "callcenter", "dev", "--log-level", "INFO", "--no-reload", "--url", "x"
    ]  # fmt: skip
    opts, _ = _options(["start", "--log-level", "warning"])
    assert livekit_argv(opts, [])[2:4] == ["--log-level", "WARN"]
