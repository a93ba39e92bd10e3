"""The load a worker reports: full at its measured call capacity, or on CPU, whichever first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from callcenter.observability.load import (
    LOAD_THRESHOLD,
    CallCapacityLoad,
    idle_processes,
    worker_capacity,
)


def test_a_worker_is_full_at_its_call_capacity_or_on_cpu() -> None:
    load = CallCapacityLoad(16)
    assert load.load(calls=0, cpu=0.05) == 0.05
    assert load.load(calls=8, cpu=0.10) == pytest.approx(LOAD_THRESHOLD / 2)
    assert load.load(calls=15, cpu=0.10) < LOAD_THRESHOLD  # one more call fits
    assert load.load(calls=16, cpu=0.10) == pytest.approx(LOAD_THRESHOLD)  # full
    assert load.load(calls=2, cpu=0.9) == 0.9  # calls costlier than measured: CPU decides


def test_the_load_function_reads_the_servers_calls() -> None:
    load = CallCapacityLoad(4)
    server = SimpleNamespace(active_jobs=[object()] * 4)
    assert load(server) >= LOAD_THRESHOLD


def test_capacity_from_calls_per_core() -> None:
    assert worker_capacity(8, 2) == 16
    assert worker_capacity(12, 1.5) == 18  # a fractional CPU quota
    assert worker_capacity(0.5, 1) == 1
    with pytest.raises(ValueError):
        CallCapacityLoad(0)


def test_warm_processes_are_a_quarter_of_the_capacity_and_at_least_two() -> None:
    assert idle_processes(24) == 6
    assert idle_processes(16) == 4
    assert idle_processes(10) == 3
    assert idle_processes(4) == 2
    assert idle_processes(1) == 2


def test_an_idle_worker_takes_as_many_simultaneous_calls_as_it_keeps_warm_processes() -> None:
    """LiveKit's own arithmetic (`AgentServer._is_available`, production mode): with no call
    running, each accepted job not yet running counts `threshold / num_idle_processes`."""
    from livekit.agents import AgentServer

    def idle_server(num_idle: int) -> AgentServer:
        server = AgentServer(num_idle_processes=num_idle, load_threshold=LOAD_THRESHOLD)
        server._devmode = False
        server._worker_load = 0.0
        server._proc_pool = SimpleNamespace(processes=[])  # no call running yet
        server._reserved_slots = 0  # set when the server runs
        return server

    idle = idle_processes(24)
    server = idle_server(idle)
    accepted = 0
    while server._is_available():
        server._reserved_slots += 1  # what `_answer_availability` does before accepting
        accepted += 1
    assert accepted == idle
    # LiveKit's default (the cores: 2 here) would have turned the third call away
    stock = idle_server(2)
    stock._reserved_slots = 2
    assert not stock._is_available()
