"""Live notices over Redis pub/sub, when `CALLCENTER_REDIS_URL` (or `REDIS_URL`) is set.

The database stays the source of truth: a worker writes a call's snapshot to ``live_calls``
(and a screen-pop to ``screen_pops``) as before, then *announces* it here; a console process
listening on the channel wakes its open event streams at once, and they read the database
as they always do. Without Redis a stream polls the database every `board.POLL_S`; with
Redis it waits for a notice, and still polls every `SAFETY_POLL_S` (a worker without Redis
configured, or a notice lost while Redis restarted, is seen that late, never missed).

A notice is small JSON with no PII: ``{"kind": "board"|"pop", "call_id": ..., "version":
..., "supervisor_id": ...}``. Publishing never raises into a call: a failure is logged (once
a minute at most) and the database poll covers it.

    bus = live_bus(settings)                # None when Redis is not configured
    await bus.announce("board", call_id, version=...)      # worker side
    await bus.listen(on_notice, on_state)   # console side: runs until cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("callcenter.live")

SAFETY_POLL_S = 2.0
"""With Redis listening, a stream still reads the database this often."""
CONNECT_TIMEOUT_S = 1.0
"""A publish waits at most this long for Redis, retries included (the call never waits on
the board)."""
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)
"""Back-off between listener reconnections; the last repeats."""
_WARN_EVERY_S = 60.0

_buses: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], LiveBus]] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop (a Redis connection belongs to one), then per URL and channel."""


class LiveBus:
    """One Redis connection pool per process and channel (see the module docstring)."""

    def __init__(self, url: str, channel: str) -> None:
        self.channel = channel
        self._redis = aioredis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=30,
        )
        self._warned_at = -_WARN_EVERY_S

    async def announce(
        self,
        kind: str,
        call_id: str,
        *,
        version: int | None = None,
        supervisor_id: int | None = None,
    ) -> bool:
        """Publish one notice; False (logged, never raised) when Redis cannot take it."""
        notice: dict[str, Any] = {"kind": kind, "call_id": call_id}
        if version is not None:
            notice["version"] = version
        if supervisor_id is not None:
            notice["supervisor_id"] = supervisor_id
        try:
            # the client's own retries (3, with back-off) could hold a transfer's dial for
            # seconds while Redis is down: one bound on the whole publish
            await asyncio.wait_for(
                self._redis.publish(self.channel, json.dumps(notice, separators=(",", ":"))),
                CONNECT_TIMEOUT_S,
            )
            return True
        except (RedisError, OSError, TimeoutError) as exc:
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY_S:
                self._warned_at = now
                log.warning(
                    "live notice not published to Redis; consoles poll the database",
                    extra={"call_id": call_id, "error": type(exc).__name__},
                )
            return False

    async def listen(
        self,
        on_notice: Callable[[dict[str, Any]], None],
        on_state: Callable[[bool], None] = lambda _up: None,
    ) -> None:
        """Deliver every notice on the channel to `on_notice` until cancelled; reconnect
        with back-off when Redis goes away. `on_state(True)` once subscribed,
        `on_state(False)` when the subscription is lost."""
        attempt = 0
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                on_state(True)
                attempt = 0
                log.info("listening for live notices on Redis", extra={"channel": self.channel})
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None or message.get("type") != "message":
                        continue
                    notice = _parse(message.get("data"))
                    if notice is not None:
                        on_notice(notice)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                on_state(False)
                delay = RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)]
                attempt += 1
                if attempt == 1:
                    log.warning(
                        "Redis live notices unavailable; polling the database meanwhile",
                        extra={"error": type(exc).__name__},
                    )
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(RedisError, OSError, TimeoutError, RuntimeError):
                    await pubsub.aclose()

    async def close(self) -> None:
        """Close the connections; `live_bus` then makes a new bus for this loop."""
        for mine in list(_buses.values()):
            for key, bus in list(mine.items()):
                if bus is self:
                    del mine[key]
        await self._redis.aclose()


def _parse(data: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("kind"), str) else None


def live_bus(settings: Any) -> LiveBus | None:
    """This process's bus for `settings` (shared by the calls on its event loop), or None
    without Redis. Call it from a coroutine."""
    secret = getattr(settings, "redis_url", None)
    if secret is None:
        return None
    url = secret.get_secret_value()
    key = (url, settings.redis_channel)
    mine = _buses.setdefault(asyncio.get_running_loop(), {})
    bus = mine.get(key)
    if bus is None:
        bus = mine[key] = LiveBus(url, settings.redis_channel)
    return bus
