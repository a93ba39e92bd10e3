"""The console's own metrics (`callcenter/web/metrics.py`): requests by route template (no
call id or number in any label), errors counted, latency histogram, event streams, login
failures, webhook outcomes and backlog, and `/metrics` served on its own port without login."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from callcenter import cli
from callcenter.data import Database
from callcenter.data.webhook_deliveries import WebhookOutbox
from callcenter.postcall.pipeline import PostCallPipeline
from callcenter.postcall.webhooks import WebhookDeliverer
from callcenter.web.app import refresh_webhook_backlog
from callcenter.web.metrics import RequestMetrics, WebMetrics, serve_metrics
from tests.web.conftest import Account, add_call, client_for, login, web_settings

CALL_ID = "call-7f3a9c21"
CALLER = "+14155550142"


def _metrics(app: FastAPI) -> WebMetrics:
    metrics: WebMetrics = app.state.web_metrics
    return metrics


def _exposition(app: FastAPI) -> str:
    return generate_latest(_metrics(app).registry).decode()


def _value(app: FastAPI, sample: str, **labels: str) -> float:
    """The value of one sample (`0.0` when no such sample was recorded)."""
    for family in text_string_to_metric_families(_exposition(app)):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def test_a_call_page_is_counted_under_its_route_template_with_no_raw_id(
    db: Database, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    await add_call(db, CALL_ID, caller=CALLER)
    async with client_for(console_app) as client:
        await login(client, accounts["admin"])
        page = await client.get(f"/calls/{CALL_ID}")
        assert page.status_code == 200 and CALL_ID in page.text
        api = await client.get(f"/api/calls/{CALL_ID}")
        assert api.status_code == 200
    requests = "callcenter_web_http_requests_total"
    assert _value(console_app, requests, route="/calls/{call_id}", method="GET", status="200") == 1
    assert (
        _value(console_app, requests, route="/api/calls/{call_id}", method="GET", status="200") == 1
    )
    text = _exposition(console_app)
    assert CALL_ID not in text
    assert CALLER not in text and CALLER[-4:] + '"' not in text
    assert accounts["admin"].email not in text
    # the latency histogram, by template: one observation, in the +Inf bucket at least
    hist = "callcenter_web_http_request_duration_seconds"
    labels = {"route": "/calls/{call_id}", "method": "GET"}
    assert _value(console_app, f"{hist}_count", **labels) == 1
    assert _value(console_app, f"{hist}_bucket", le="+Inf", **labels) == 1
    assert _value(console_app, f"{hist}_sum", **labels) > 0


async def test_not_found_unauthenticated_and_forbidden_are_counted(
    console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    requests = "callcenter_web_http_requests_total"
    async with client_for(console_app) as client:
        assert (await client.get("/no-such-page/4155550142")).status_code == 404
        assert (await client.get("/api/calls")).status_code == 401
        assert (await client.get("/audit")).status_code == 303  # to the login page
        await login(client, accounts["supervisor"])
        assert (await client.get("/api/audit")).status_code == 403
        assert (await client.get(f"/api/calls/{CALL_ID}")).status_code == 404
    assert _value(console_app, requests, route="unmatched", method="GET", status="404") == 1
    assert _value(console_app, requests, route="/api/calls", method="GET", status="401") == 1
    assert _value(console_app, requests, route="/audit", method="GET", status="303") == 1
    assert _value(console_app, requests, route="/api/audit", method="GET", status="403") == 1
    assert (
        _value(console_app, requests, route="/api/calls/{call_id}", method="GET", status="404") == 1
    )
    text = _exposition(console_app)
    assert "4155550142" not in text and CALL_ID not in text


async def test_the_console_port_does_not_serve_metrics(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 404
    assert "callcenter_web_http_requests_total" not in response.text


async def test_login_failures_by_reason_without_the_user(
    console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    failures = "callcenter_web_login_failures_total"
    email = accounts["ops"].email
    async with client_for(console_app) as client:
        for _ in range(5):  # CALLCENTER_WEB_LOGIN_LIMIT: 5 failures, then 429
            bad = await client.post("/api/login", json={"email": email, "password": "wrong!"})
            assert bad.status_code == 401
        limited = await client.post("/api/login", json={"email": email, "password": "wrong!"})
        assert limited.status_code == 429
        form = await client.post("/login", data={"email": email, "password": "x", "csrf_token": ""})
        assert form.status_code == 403
    assert _value(console_app, failures, reason="bad_credentials") == 5
    assert _value(console_app, failures, reason="rate_limited") == 1
    assert _value(console_app, failures, reason="csrf") == 1
    assert email not in _exposition(console_app)


async def test_event_streams_open_are_counted_and_left_out_of_latency() -> None:
    metrics = WebMetrics()
    seen: list[float] = []

    async def stream(scope: object, receive: object, send: object) -> None:
        assert callable(send)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        seen.append(metrics.registry.get_sample_value("callcenter_web_event_streams_open") or 0.0)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: object) -> None:
        pass

    app = RequestMetrics(stream, metrics)
    await app({"type": "http", "method": "GET", "path": "/events"}, receive, send)
    assert seen == [1.0]
    assert metrics.registry.get_sample_value("callcenter_web_event_streams_open") == 0
    text = generate_latest(metrics.registry).decode()
    assert 'callcenter_web_http_requests_total{method="GET",route="unmatched",status="200"}' in text
    assert "callcenter_web_http_request_duration_seconds_count{" not in text


async def test_an_exception_is_counted_as_a_500() -> None:
    metrics = WebMetrics()

    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("boom")

    async def noop(*_: object) -> None:
        return None

    with pytest.raises(RuntimeError):
        await RequestMetrics(broken, metrics)({"type": "http", "method": "POST"}, noop, noop)  # type: ignore[arg-type]
    sample = metrics.registry.get_sample_value(
        "callcenter_web_http_requests_total",
        {"route": "unmatched", "method": "POST", "status": "500"},
    )
    assert sample == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_outcomes_and_backlog(db: Database, console_app: FastAPI) -> None:
    metrics = _metrics(console_app)
    settings = web_settings(
        CALLCENTER_WEBHOOK_URLS=f"http://127.0.0.1:{_closed_port()}/hook",
        CALLCENTER_WEBHOOK_SECRET="webhook-secret-for-tests-0123456789",
    )
    await add_call(db, "hooked-call")
    assert await PostCallPipeline(db, settings).run_once() == 1
    await refresh_webhook_backlog(console_app.state.console, metrics)
    backlog = "callcenter_web_webhook_backlog"
    assert _value(console_app, backlog, state="pending") == 1
    assert _value(console_app, backlog, state="dead") == 0
    deliverer = WebhookDeliverer(
        db,
        secret=b"webhook-secret-for-tests-0123456789",
        max_attempts=2,
        backoff_s=0.01,
        timeout_s=2,
        on_outcome=metrics.webhook_attempted,
    )
    try:
        for _ in range(100):
            await deliverer.run_once()
            if (await WebhookOutbox(db).counts()).get("dead"):
                break
            await asyncio.sleep(0.02)
    finally:
        await deliverer.aclose()
    await refresh_webhook_backlog(console_app.state.console, metrics)
    deliveries = "callcenter_web_webhook_deliveries_total"
    assert _value(console_app, deliveries, outcome="retry") == 1
    assert _value(console_app, deliveries, outcome="dead") == 1
    assert _value(console_app, deliveries, outcome="delivered") == 0
    assert _value(console_app, backlog, state="pending") == 0
    assert _value(console_app, backlog, state="dead") == 1


async def test_metrics_are_served_on_their_own_port_without_login(
    console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    async with client_for(console_app) as client:
        await login(client, accounts["ops"])
    server = serve_metrics(_metrics(console_app), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as scraper:  # no cookie, no credentials
            response = await scraper.get(f"http://127.0.0.1:{server.server_port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    assert 'route="/api/login"' in response.text
    assert "callcenter_web_http_requests_total" in response.text
    assert "process_cpu_seconds_total" in response.text


def test_web_refuses_a_metrics_port_equal_to_its_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(str(tmp_path))
    code = cli.main(["web", "--port", "8088", "--metrics-port", "8088"])
    assert code == 2
    assert "--metrics-port 8088" in capsys.readouterr().err


def test_web_reports_a_metrics_port_in_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["web", "--port", "8088", "--metrics-port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
