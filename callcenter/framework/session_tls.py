"""The framework's shared aiohttp TLS context, built ahead of the first call.

`livekit.agents.utils.http_context` builds one `ssl.SSLContext` per trust configuration
(`_create_ssl_context`, cached per process) when a job opens its HTTP session: ~20 ms of CPU
parsing the CA bundle, at the start of every call process. `warm_session_tls_context()`
builds it in the forkserver (`callcenter.preload`), so call processes inherit it.
"""

from __future__ import annotations

import ssl

from livekit.agents.utils import http_context


def warm_session_tls_context() -> ssl.SSLContext:
    """Build (once per process; the framework caches it) the TLS context of the framework's
    shared HTTP session, and return it."""
    return http_context._create_ssl_context()
