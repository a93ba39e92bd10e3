"""Post-call webhooks: signed POSTs of the redacted call record, retried, then dead-lettered.

Each delivery is a row in ``webhook_deliveries`` (the body is fixed when the call is
analysed). A receiver checks:

    X-Callcenter-Timestamp: 1796032313                (unix seconds of this attempt)
    X-Callcenter-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
    X-Callcenter-Delivery:  <delivery id>            (the same on every retry: dedupe on it)

with `verify_signature()` (or the same three lines in any language), and rejects a timestamp
older than a few minutes (replays). Any 2xx is delivered; anything else, a timeout or a
refused connection is retried after `backoff`, 3x`backoff`, 9x`backoff`, ... until
`max_attempts`, then the delivery is ``dead`` and shown in the console's Webhooks page,
where ops can queue it again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

import httpx

from callcenter.data.database import Database
from callcenter.data.models import utcnow
from callcenter.data.webhook_deliveries import DeliveryStatus, DeliveryView, WebhookOutbox

log = logging.getLogger("callcenter.webhooks")

EVENT = "call.completed"
SIGNATURE_HEADER = "X-Callcenter-Signature"
TIMESTAMP_HEADER = "X-Callcenter-Timestamp"
DELIVERY_HEADER = "X-Callcenter-Delivery"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify_signature(
    secret: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    *,
    tolerance_s: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver runs: a valid, recent signature over exactly these bytes."""
    if not timestamp_header or not signature_header:
        return False
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature_header)


class WebhookDeliverer:
    """Sends due deliveries; one instance per console process."""

    def __init__(
        self,
        db: Database,
        *,
        secret: bytes,
        max_attempts: int,
        backoff_s: float,
        timeout_s: float,
        client: httpx.AsyncClient | None = None,
        on_outcome: Callable[[str], None] | None = None,
    ) -> None:
        self.outbox = WebhookOutbox(db)
        self.on_outcome = on_outcome
        """Told each attempt's outcome: `delivered`, `retry` or `dead` (the console's metrics)."""
        self.secret = secret
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._client = client or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    def delay_after(self, attempt: int) -> dt.timedelta:
        """Wait before attempt `attempt + 1`: backoff x 3^(attempt-1)."""
        return dt.timedelta(seconds=self.backoff_s * (3 ** max(0, attempt - 1)))

    async def run_once(self) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        attempted = 0
        for delivery in await self.outbox.due():
            lease = dt.timedelta(seconds=self.timeout_s * 2 + 5)
            if not await self.outbox.claim(delivery, lease):
                continue  # another console process has it
            attempted += 1
            await self._attempt(delivery, delivery.attempts + 1)
        return attempted

    async def _attempt(self, delivery: DeliveryView, attempt: int) -> None:
        body = delivery.body.encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "callcenter-webhooks/1",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            DELIVERY_HEADER: str(delivery.id),
        }
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                delivery.url, content=body, headers=headers, timeout=self.timeout_s
            )
            status_code = response.status_code
            if 200 <= status_code < 300:
                await self.outbox.finish(
                    delivery.id,
                    status=DeliveryStatus.DELIVERED,
                    status_code=status_code,
                    error=None,
                    next_attempt_at=None,
                )
                self._outcome("delivered")
                log.info(
                    "webhook delivered",
                    extra={"delivery_id": delivery.id, "call_id": delivery.call_id},
                )
                return
            error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:255]
        if attempt >= self.max_attempts:
            await self.outbox.finish(
                delivery.id,
                status=DeliveryStatus.DEAD,
                status_code=status_code,
                error=error,
                next_attempt_at=None,
            )
            self._outcome("dead")
            log.warning(
                "webhook dead-lettered",
                extra={"delivery_id": delivery.id, "call_id": delivery.call_id, "error": error},
            )
            return
        await self.outbox.finish(
            delivery.id,
            status=DeliveryStatus.PENDING,
            status_code=status_code,
            error=error,
            next_attempt_at=utcnow() + self.delay_after(attempt),
        )
        self._outcome("retry")
        log.info(
            "webhook attempt failed; will retry",
            extra={"delivery_id": delivery.id, "attempt": attempt, "error": error},
        )

    def _outcome(self, outcome: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    async def aclose(self) -> None:
        await self._client.aclose()


async def run_periodically(step: object, interval_s: float, name: str) -> None:
    """Call `step()` (an async callable) every `interval_s` until cancelled; log failures."""
    assert callable(step)
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.0f s", name, interval_s)
        await asyncio.sleep(interval_s)
