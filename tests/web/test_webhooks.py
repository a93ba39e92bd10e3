"""Post-call webhooks against a local receiver: signature, retries with backoff, dead letter."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from fastapi import FastAPI

from callcenter.data import Database
from callcenter.data.webhook_deliveries import DeliveryStatus, WebhookOutbox
from callcenter.postcall.pipeline import PostCallPipeline
from callcenter.postcall.webhooks import WebhookDeliverer, sign, verify_signature
from tests.web.conftest import Account, add_call, client_for, login, web_settings

SECRET = b"webhook-secret-for-tests-0123456789"


@dataclass
class Receiver:
    """A local HTTP endpoint answering with scripted statuses (then 200), keeping requests."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status < 300 else "nope")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rx.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rx.url = f"http://127.0.0.1:{port}/hook"
    yield rx
    await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _queue(db: Database, url: str) -> None:
    settings = web_settings(CALLCENTER_WEBHOOK_URLS=url, CALLCENTER_WEBHOOK_SECRET=SECRET.decode())
    await add_call(db, "hooked-call")
    assert await PostCallPipeline(db, settings).run_once() == 1


def _deliverer(db: Database, *, max_attempts: int = 4, backoff_s: float = 0.05) -> WebhookDeliverer:
    return WebhookDeliverer(
        db, secret=SECRET, max_attempts=max_attempts, backoff_s=backoff_s, timeout_s=2
    )


async def _until_settled(
    deliverer: WebhookDeliverer, db: Database, rounds: int = 60
) -> DeliveryStatus:
    outbox = WebhookOutbox(db)
    for _ in range(rounds):
        await deliverer.run_once()
        (delivery,) = await outbox.recent()
        if delivery.status is not DeliveryStatus.PENDING:
            return delivery.status
        await asyncio.sleep(0.05)
    raise AssertionError("delivery never settled")


async def test_delivery_is_signed_over_timestamp_and_body(db: Database, receiver: Receiver) -> None:
    await _queue(db, receiver.url)
    deliverer = _deliverer(db)
    try:
        assert await deliverer.run_once() == 1
    finally:
        await deliverer.aclose()
    ((headers, body),) = receiver.received
    assert verify_signature(
        SECRET, headers["X-Callcenter-Timestamp"], headers["X-Callcenter-Signature"], body
    )
    assert not verify_signature(
        SECRET, headers["X-Callcenter-Timestamp"], headers["X-Callcenter-Signature"], body + b" "
    )
    assert not verify_signature(
        b"another secret",
        headers["X-Callcenter-Timestamp"],
        headers["X-Callcenter-Signature"],
        body,
    )
    payload = json.loads(body)
    assert payload["call"]["call_id"] == "hooked-call"
    assert payload["call"]["caller"] == "+1********42"
    (delivery,) = await WebhookOutbox(db).recent()
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert headers["X-Callcenter-Delivery"] == str(delivery.id)


def test_old_timestamps_are_rejected() -> None:
    body = b"{}"
    then = 1_800_000_000
    header = sign(SECRET, then, body)
    assert verify_signature(SECRET, str(then), header, body, now=then + 10)
    assert not verify_signature(SECRET, str(then), header, body, now=then + 3600)
    assert not verify_signature(SECRET, "not-a-number", header, body)
    assert not verify_signature(SECRET, None, header, body)


async def test_failures_are_retried_with_growing_backoff(db: Database, receiver: Receiver) -> None:
    receiver.statuses = [500, 502]
    await _queue(db, receiver.url)
    deliverer = _deliverer(db, backoff_s=1.0)  # long enough that 'not due yet' holds under load
    outbox = WebhookOutbox(db)
    gaps = []
    try:
        for expected_attempts in (1, 2):
            before = dt.datetime.now(dt.UTC)
            await deliverer.run_once()
            (d,) = await outbox.recent()
            assert (d.status, d.attempts, d.last_status_code) == (
                DeliveryStatus.PENDING,
                expected_attempts,
                500 if expected_attempts == 1 else 502,
            )
            assert d.next_attempt_at is not None
            gaps.append((d.next_attempt_at - before).total_seconds())
            assert await deliverer.run_once() == 0, "not due yet"
            await asyncio.sleep(gaps[-1] + 0.05)
        assert await _until_settled(deliverer, db) is DeliveryStatus.DELIVERED
    finally:
        await deliverer.aclose()
    # scheduled 1 s after the first failure, 3 x 1 s after the second (lower bounds only:
    # the gap also holds the time the attempt itself took)
    assert deliverer.delay_after(1) == dt.timedelta(seconds=1)
    assert deliverer.delay_after(2) == dt.timedelta(seconds=3)
    assert gaps[0] >= 1 and gaps[1] >= 3, gaps
    bodies = {body for _, body in receiver.received}
    assert len(receiver.received) == 3 and len(bodies) == 1, "every retry sends the same body"


async def test_dead_letter_after_the_last_attempt_then_requeue_from_the_console(
    db: Database, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    await _queue(db, url)
    deliverer = _deliverer(db, max_attempts=3, backoff_s=0.01)
    try:
        assert await _until_settled(deliverer, db) is DeliveryStatus.DEAD
    finally:
        await deliverer.aclose()
    (dead,) = await WebhookOutbox(db).recent()
    assert dead.attempts == 3 and dead.last_error and "Connect" in dead.last_error
    async with client_for(console_app) as client:
        csrf = await login(client, accounts["ops"])
        page = await client.get("/webhooks?status=dead")
        assert "dead" in page.text and url in page.text
        api = await client.get("/api/webhooks/deliveries", params={"status": "dead"})
        assert [d["id"] for d in api.json()] == [dead.id]
        again = await client.post(
            f"/api/webhooks/deliveries/{dead.id}/retry", headers={"X-CSRF-Token": csrf}
        )
        assert again.status_code == 204
        twice = await client.post(
            f"/api/webhooks/deliveries/{dead.id}/retry", headers={"X-CSRF-Token": csrf}
        )
        assert twice.status_code == 409
    (requeued,) = await WebhookOutbox(db).recent()
    assert requeued.status is DeliveryStatus.PENDING and requeued.attempts == 0


async def test_two_deliverers_never_send_one_delivery_twice_at_once(
    db: Database, receiver: Receiver
) -> None:
    await _queue(db, receiver.url)
    a, b = _deliverer(db), _deliverer(db)
    try:
        sent = await asyncio.gather(a.run_once(), b.run_once())
    finally:
        await a.aclose()
        await b.aclose()
    assert sorted(sent) == [0, 1] and len(receiver.received) == 1


def test_webhook_urls_need_a_secret() -> None:
    from callcenter.config import ConfigError

    with pytest.raises(ConfigError, match="CALLCENTER_WEBHOOK_SECRET"):
        web_settings(CALLCENTER_WEBHOOK_URLS="https://crm.example.com/hook")
    with pytest.raises(ConfigError, match="not an http"):
        web_settings(CALLCENTER_WEBHOOK_URLS="ftp://x", CALLCENTER_WEBHOOK_SECRET="x" * 20)
