"""OpenTelemetry traces of calls, through LiveKit's own telemetry.

LiveKit Agents already opens spans for a session, each turn, each model request, each tool
and each TTS synthesis (`livekit.agents.telemetry.tracer`); they go nowhere until a tracer
provider is set. When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, `setup_tracing` gives LiveKit an
SDK provider that exports over OTLP/HTTP (the exporter reads the standard `OTEL_EXPORTER_OTLP_*`
variables itself; `OTEL_SERVICE_NAME` names the service, default `callcenter-worker`), with
`allow_pii=False`: LiveKit strips conversation text, tool arguments and results from every
span before export, so no transcript or account data leaves in a trace.

Call it once per job process before the session starts (the worker's entrypoint does), and
`flush_tracing` before the process exits: LiveKit ends job processes with `os._exit`, which
skips the SDK's own exit hook.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

logger = logging.getLogger("callcenter.observability")

_provider: Any = None

FLUSH_TIMEOUT_MS = 5000


def setup_tracing(endpoint: str | None, *, service: str = "callcenter-worker") -> bool:
    """Export LiveKit's spans to `endpoint` (once per process); False when tracing is off."""
    global _provider
    if not endpoint:
        return False
    if _provider is not None:
        return True
    from livekit.agents.telemetry import set_tracer_provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    set_tracer_provider(provider, allow_pii=False)
    _provider = provider
    logger.info("tracing to OTLP endpoint")
    return True


async def flush_tracing() -> None:
    """Export the spans still buffered (bounded by `FLUSH_TIMEOUT_MS`)."""
    if _provider is None:
        return
    await asyncio.to_thread(_provider.force_flush, FLUSH_TIMEOUT_MS)
