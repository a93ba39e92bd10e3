"""What `callcenter.preload` saves each call process: the figures quoted for it.

    python -m benchmarks.forkserver_warmup

Three measurements, each in fresh interpreters so nothing is warm by accident:

- **First requests** (`tests/ops/test_ops_capacity.FIRST_REQUEST`: a chat request, a TTS
  stream and an STT stream from the product's providers against the emulators): pydantic
  schemas and TLS contexts built on the way, without the preload (`cold`) and after it
  (`preloaded`), and the process's CPU seconds for those requests.
- **TLS context**: CPU to build one `httpx2` client's TLS context (the CA bundle parsed),
  the median of 20.
- **VAD in a forked job process**: private memory (USS) of a child forked from a parent
  that did not load the Silero VAD (the child loads its own) and from one that did (the
  child uses the inherited one), after loading and after 200 inferences.

Nothing here asserts a number; `tests/ops/test_ops_capacity.py` checks the counts.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap
import time
from typing import Any

VAD_IN_CHILD = textwrap.dedent(
    """
    import gc, json, os, sys
    import numpy as np
    import callcenter.worker as worker
    worker.skip_unused_local_inference()
    from livekit.plugins.silero import onnx_model
    from benchmarks._common import memory_mib
    from callcenter.turn_taking import load_vad

    parent_vad = load_vad() if sys.argv[1] == "parent" else None
    gc.freeze()
    read, write = os.pipe()
    if os.fork() == 0:
        start = memory_mib()["uss"]
        vad = parent_vad or load_vad()
        loaded = memory_mib()["uss"]
        model = onnx_model.OnnxModel(onnx_session=vad._onnx_session, sample_rate=8000)
        window = np.zeros(256, dtype=np.float32)
        for _ in range(200):
            model(window)
        used = memory_mib()["uss"]
        os.write(write, json.dumps([start, loaded, used]).encode())
        os._exit(0)
    os.close(write)
    print(os.read(read, 4096).decode())
    """
)


def _run(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return result.stdout.strip().splitlines()[-1]


def first_requests() -> dict[str, dict[str, Any]]:
    from tests.ops.test_ops_capacity import FIRST_REQUEST

    return {mode: json.loads(_run(FIRST_REQUEST, mode)) for mode in ("cold", "preloaded")}


def tls_context_ms(samples: int = 20) -> float:
    import httpx2

    times = []
    for _ in range(samples):
        t0 = time.process_time()
        httpx2.create_ssl_context()
        times.append((time.process_time() - t0) * 1000)
    return statistics.median(times)


def vad_in_child() -> dict[str, list[float]]:
    return {mode: json.loads(_run(VAD_IN_CHILD, mode)) for mode in ("child", "parent")}


def main() -> None:
    requests = first_requests()
    print("First requests of a call process (chat, TTS stream, STT stream):")
    for mode, r in requests.items():
        print(
            f"  {mode:9}  schemas built {r['schemas']:4}  TLS contexts built {r['tls_contexts']:2}"
            f"  CPU {r['cpu_ms']:6.1f} ms"
        )
    print(f"One TLS context (httpx2.create_ssl_context): {tls_context_ms():.1f} ms of CPU (median)")
    print("Forked job process, private memory (USS, MiB): at fork, VAD loaded, 200 inferences")
    labels = {"child": "loads its own VAD", "parent": "uses the forkserver's"}
    for mode, (start, loaded, used) in vad_in_child().items():
        print(f"  {labels[mode]:22}  {start:6.1f}  {loaded:6.1f}  {used:6.1f}")


if __name__ == "__main__":
    main()
