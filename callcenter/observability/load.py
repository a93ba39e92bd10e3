"""The load a worker reports to LiveKit: full before its calls' latency degrades.

LiveKit's default load is the machine's CPU use (a 2.5 s average), and the worker reports
itself full at 0.7. A phone call's CPU is small and steady (3–6 % of a core in
`python -m benchmarks.concurrency`), but the turn latency breaks down well before the CPU is
used up (BENCHMARKS.md, "Capacity"): the calls' audio frames queue behind each other. So the
worker also counts its calls against the capacity the benchmark measured,
`CALLCENTER_CALLS_PER_CORE` × cores:

    load = max(CPU load, threshold × calls / capacity)

With `capacity` calls the load reaches the threshold, the worker reports itself full
(`WS_FULL`) and livekit-server sends the next call to another worker (it picks among
available workers at random, weighted by 1 − load); the CPU term still protects a worker
whose calls cost more than measured. `CALLCENTER_LOAD_COUNTS_CPU=false` drops the CPU term,
for a host whose other services' CPU must not turn calls away
(tests/e2e/test_worker_fleet.py proves the call count alone fills a worker).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

LOAD_THRESHOLD = 0.7
"""LiveKit's production threshold (`AgentServer(load_threshold=...)`), kept."""


class CallCapacityLoad:
    """`AgentServer(load_fnc=...)`: called by LiveKit every 0.5 s, in a thread."""

    def __init__(
        self, capacity: int, *, threshold: float = LOAD_THRESHOLD, count_cpu: bool = True
    ) -> None:
        if capacity < 1:
            raise ValueError("a worker's call capacity must be at least 1")
        from livekit.agents.utils.hw import get_cpu_monitor

        self.capacity = capacity
        self.threshold = threshold
        self.count_cpu = count_cpu
        self._cpu = get_cpu_monitor()
        self._samples: deque[float] = deque(maxlen=5)
        self._lock = threading.Lock()

    def __call__(self, server: Any) -> float:
        if not self.count_cpu:
            return self.load(calls=len(server.active_jobs), cpu=0.0)
        cpu = self._cpu.cpu_percent(interval=0.2)
        with self._lock:
            self._samples.append(cpu)
            cpu_avg = sum(self._samples) / len(self._samples)
        return self.load(calls=len(server.active_jobs), cpu=cpu_avg)

    def load(self, *, calls: int, cpu: float) -> float:
        return max(cpu, self.threshold * calls / self.capacity)


def worker_capacity(calls_per_core: float, cores: float) -> int:
    """Calls one worker takes before it reports itself full."""
    return max(1, math.floor(calls_per_core * cores))


def idle_processes(capacity: int) -> int:
    """Warm job processes a worker keeps ready (`AgentServer(num_idle_processes=...)`): a
    quarter of its capacity, at least 2 (LiveKit's default is the number of cores).

    Two things hang on it. A call that finds a warm process starts at once; one that does
    not waits for a fork and the prewarm ("no warmed process available"). And LiveKit counts
    a job accepted but not yet running at `threshold / num_idle_processes` of load while the
    worker runs no call yet (`AgentServer._get_effective_load`): an idle worker with the
    default 2 reports itself full after 2 calls that arrive together, and answers the next
    one "not available"; with no other worker free, livekit-server does not offer that call
    again and the caller hears ringing (benchmarks.sip_capacity: 10 calls dialled at once,
    one unanswered). With a quarter of the capacity, an idle worker takes that many calls
    in the same instant; once calls run, LiveKit estimates from their measured load. An idle
    process costs ~17 MiB of private memory (the VAD is shared, `turn_taking.process_vad`).
    """
    return max(2, math.ceil(capacity / 4))
