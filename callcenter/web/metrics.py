"""The console's own Prometheus metrics, and the ASGI middleware that records its requests.

Same conventions as the worker's (`callcenter/observability/metrics.py`): the `callcenter_`
prefix (here `callcenter_web_`), bounded labels, no PII in any label. Each app gets its own
`CollectorRegistry` (`WebMetrics`, on `app.state.web_metrics`), which `callcenter web
--metrics-port` serves on a port of its own, without login: Prometheus scrapes it, and the
console's public port never shows it (docs/operations.md).

- Requests are labelled by the route's *template* (`/calls/{call_id}`), never the raw path, so
  no call id, ticket or phone number reaches a label; a path no route matches is `unmatched`.
  Methods outside the standard ones are `other`; the status is the 3-digit code.
- Latency is observed when the response ends; live streams (`text/event-stream`) are left
  out of the histogram (they last as long as the page is open) and counted as open streams.
- Login failures by reason (`bad_credentials`, `rate_limited`, `csrf`), never the e-mail.
- Webhook attempts by outcome (`delivered`, `retry`, `dead`) and the deliveries waiting or
  dead-lettered, read from the database by the console's periodic refresh.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector
from starlette.routing import Mount

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED = "unmatched"
OTHER = "other"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
LOGIN_FAILURES = ("bad_credentials", "rate_limited", "csrf")
WEBHOOK_OUTCOMES = ("delivered", "retry", "dead")
DELIVERY_STATES = ("pending", "dead")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_template(scope: Scope) -> str:
    """The matched route's path pattern (`/calls/{call_id}`), or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return UNMATCHED
    if isinstance(route, Mount):  # /static: the files under it are one label
        return path.rstrip("/") + "/{path}"
    return path


class WebMetrics:
    """The console process's metrics, in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        ns = "callcenter_web"
        r = self.registry
        ProcessCollector(registry=r)  # CPU, memory, open files of the console process
        self.requests = Counter(
            f"{ns}_http_requests",
            "Console HTTP requests by route template (never the raw path), method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            f"{ns}_http_request_duration_seconds",
            "Console request time to the end of the response, by route template "
            "(event streams excluded).",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.streams = Gauge(
            f"{ns}_event_streams_open",
            "Live-update event streams (SSE) open on this console process.",
            registry=r,
        )
        self.login_failures = Counter(
            f"{ns}_login_failures",
            "Refused logins by reason (bad_credentials, rate_limited, csrf); no user in labels.",
            ["reason"],
            registry=r,
        )
        self.webhooks = Counter(
            f"{ns}_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retry, dead).",
            ["outcome"],
            registry=r,
        )
        self.webhook_backlog = Gauge(
            f"{ns}_webhook_backlog",
            "Webhook deliveries waiting (pending) or dead-lettered (dead), as last read.",
            ["state"],
            registry=r,
        )
        for reason in LOGIN_FAILURES:
            self.login_failures.labels(reason)
        for outcome in WEBHOOK_OUTCOMES:
            self.webhooks.labels(outcome)
        for state in DELIVERY_STATES:
            self.webhook_backlog.labels(state).set(0)

    def login_failed(self, reason: str) -> None:
        self.login_failures.labels(reason if reason in LOGIN_FAILURES else OTHER).inc()

    def webhook_attempted(self, outcome: str) -> None:
        self.webhooks.labels(outcome if outcome in WEBHOOK_OUTCOMES else OTHER).inc()

    def set_webhook_backlog(self, counts: dict[str, int]) -> None:
        for state in DELIVERY_STATES:
            self.webhook_backlog.labels(state).set(counts.get(state, 0))

    def request_done(self, scope: Scope, status: int, seconds: float | None) -> None:
        route = route_template(scope)
        method = str(scope.get("method", "")).upper()
        method = method if method in METHODS else OTHER
        code = str(status) if 100 <= status <= 599 else OTHER
        self.requests.labels(route, method, code).inc()
        if seconds is not None:
            self.latency.labels(route, method).observe(seconds)


class RequestMetrics:
    """ASGI middleware (outermost): counts every HTTP request once it is answered.

    It reads the route the router put in the scope after the app ran (same scope dict), so
    it must wrap the whole app; an exception that escapes the app counts as a 500."""

    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        stream = False
        done = False

        async def tracked(message: Message) -> None:
            nonlocal status, stream, done
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = dict(message.get("headers") or [])
                kind = headers.get(b"content-type", b"").split(b";")[0].strip()
                if kind == b"text/event-stream":
                    stream = True
                    self.metrics.streams.inc()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done = True

        try:
            await self.app(scope, receive, tracked)
        finally:
            if stream:
                self.metrics.streams.dec()
            seconds = None if stream or not done else time.perf_counter() - start
            self.metrics.request_done(scope, status, seconds)


def web_metrics(request: Any) -> WebMetrics:
    """The app's metrics, from a route (`request.app.state.web_metrics`)."""
    metrics: WebMetrics = request.app.state.web_metrics
    return metrics


def serve_metrics(metrics: WebMetrics, host: str, port: int) -> Any:
    """Serve `GET /metrics` of `metrics` on `host:port` (0: a free port) in a daemon thread,
    without login. Returns the server (`.server_port`, `.shutdown()`); OSError if taken."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    return server
