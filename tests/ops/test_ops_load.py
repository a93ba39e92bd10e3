"""The load a worker reports: full at its measured call capacity, or on CPU, whichever first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from callcenter.observability.load import LOAD_THRESHOLD, CallCapacityLoad, worker_capacity


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
