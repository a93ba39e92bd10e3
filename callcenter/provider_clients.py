"""HTTP clients for the OpenAI SDK, all on one TLS context per process.

Every `httpx` client builds its own `ssl.SSLContext` unless given one, and building one
parses the whole CA bundle: ~20 ms of CPU each. A call process made four (the two chat
models, the speech client, and the framework's aiohttp session), 60-80 ms of CPU at the
start of every call, on the core the running calls share (BENCHMARKS.md, "Capacity").

`tls_context()` builds the context the SDK would have built (`httpx2.create_ssl_context()`:
`SSL_CERT_FILE`/`SSL_CERT_DIR`, else the system's store) once per process;
`callcenter.preload` builds it in LiveKit's forkserver, so every call process inherits it.
An `SSLContext` is safe to share between clients and connections. Like the framework's own
shared context (`livekit.agents.utils.http_context`), it is not reloaded: a CA bundle
replaced on disk takes effect when the worker restarts.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx2 as httpx

CHAT_TIMEOUT = httpx.Timeout(connect=15.0, read=5.0, write=5.0, pool=5.0)
"""`livekit.plugins.openai.LLM`'s own client timeouts (when it builds the client itself)."""

CHAT_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=50, keepalive_expiry=120)
"""`livekit.plugins.openai.LLM`'s own connection-pool limits."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for provider requests (built once, then shared)."""
    return httpx.create_ssl_context()


def chat_client(*, api_key: str, base_url: str | None) -> Any:
    """An `openai.AsyncClient` for `openai.LLM(client=...)`, configured as the plugin
    configures the one it would build (`CHAT_TIMEOUT`, `CHAT_LIMITS`, redirects followed, no
    SDK retries: the fallback chain retries), on `tls_context()`."""
    import openai

    return openai.AsyncClient(
        api_key=api_key,
        base_url=base_url or None,
        max_retries=0,
        http_client=httpx.AsyncClient(
            verify=tls_context(),
            timeout=CHAT_TIMEOUT,
            follow_redirects=True,
            limits=CHAT_LIMITS,
        ),
    )
