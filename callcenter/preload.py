"""Modules the provider SDKs import only on a call's first request, imported ahead of time.

LiveKit imports `callcenter.worker.JOB_PROCESS_PRELOAD` once in the forkserver that forks a
process per call. The OpenAI SDK, its HTTP stack (httpx2 → httpcore2, h11, anyio's asyncio
backend), jiter and truststore are imported lazily, on the first chat request: without this
module every call process imported ~80 modules in the middle of its first turn, about a
quarter of the call's event-loop CPU in the py-spy profile (BENCHMARKS.md, "Capacity").
Importing them here makes them part of the shared, frozen memory of every call process.

`tests/ops/test_ops_capacity.py` makes a first request from each provider and
fails, naming the modules, if one of these families is still imported on a call's path.
"""

from __future__ import annotations

import importlib

LAZY_ON_FIRST_REQUEST = (
    "anyio._backends._asyncio",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    "h11",
    "httpcore2",
    "jiter",
    "openai.lib.streaming.chat",
    "openai.pagination",
    "openai.resources.chat",
    "openai.resources.chat.chat",
    "openai.resources.chat.completions.completions",
    "openai.resources.chat.completions.messages",
    "openai.resources.models",
    "openai.types.chat.completions.message_list_params",
    "truststore",
)

for _name in LAZY_ON_FIRST_REQUEST:
    importlib.import_module(_name)
