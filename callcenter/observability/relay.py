"""Carries metric events from call processes to the worker's main process.

LiveKit runs each call in a job process that exits when the call ends, and serves Prometheus
from the worker's main process. So the main process opens a Unix datagram socket
(`start_relay`, before LiveKit starts any job process) and names it in `RELAY_ENV`, which the
job processes inherit; `callcenter.observability.metrics` then sends each event there
(`send`) instead of recording it locally. One event is one small JSON datagram
`[pid, op, metric, labels, value]`; the main process applies it to its registry, bounding the
labels again (a sender cannot add label values).

Sending never blocks a call: the socket is non-blocking, and an event that does not fit in the
socket's buffer is dropped and logged (once per process). Datagrams on a Unix socket are never
lost otherwise, and arrive in order per sender.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger("callcenter.metrics")

RELAY_ENV = "CALLCENTER_METRICS_RELAY"
"""Path of the main process's socket (internal plumbing between the worker's processes, set
by `start_relay`; not a setting)."""

MAX_DATAGRAM = 2048

_owner = False
_sender: socket.socket | None = None
_sender_path: str | None = None
_warned = False


def send(op: str, name: str, labels: list[str], value: float) -> bool:
    """Send one event to the main process; False when this process records locally (it owns
    the registry, or no relay is running)."""
    global _sender, _sender_path, _warned
    if _owner:
        return False
    path = os.environ.get(RELAY_ENV)
    if not path:
        return False
    if _sender is None or _sender_path != path:
        _sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        _sender.setblocking(False)
        _sender_path = path
    data = json.dumps([os.getpid(), op, name, labels, value]).encode()
    try:
        _sender.sendto(data, path)
    except OSError as exc:  # buffer full, or the worker is gone
        if not _warned:
            _warned = True
            logger.warning("metric event dropped", extra={"error": type(exc).__name__})
    return True


class MetricsRelay:
    """The main process's end: a socket, and a thread applying events to the registry with
    `apply(op, metric, labels, value, pid)` (`metrics.METRICS.apply`)."""

    def __init__(self, apply: Callable[[str, str, list[str], float, int], None]) -> None:
        self._apply = apply
        self.directory = Path(tempfile.mkdtemp(prefix="callcenter-metrics-"))
        self.path = str(self.directory / "relay.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.5)
        os.chmod(self.path, 0o600)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-relay", daemon=True)
        self.received = 0

    def start(self) -> MetricsRelay:
        global _owner
        _owner = True
        os.environ[RELAY_ENV] = self.path
        self._thread.start()
        atexit.register(self.close)
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            if not data:
                continue
            try:
                pid, op, name, labels, value = json.loads(data)
                self._apply(str(op), str(name), [str(v) for v in labels], float(value), int(pid))
                self.received += 1
            except Exception:  # a malformed event never stops the relay
                logger.warning("malformed metric event dropped")

    def close(self) -> None:
        global _owner
        _owner = False
        if os.environ.get(RELAY_ENV) == self.path:
            del os.environ[RELAY_ENV]
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._sock.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_relay(apply: Callable[[str, str, list[str], float, int], None]) -> MetricsRelay:
    """Open the relay in this (the worker's main) process; call before LiveKit starts."""
    return MetricsRelay(apply).start()
