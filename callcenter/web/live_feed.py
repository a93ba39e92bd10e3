"""What wakes this console process's event streams (`/events`) when the board may have
changed.

Without Redis a stream reads the database every `board.POLL_S`. With
`CALLCENTER_REDIS_URL`, the app's lifespan runs one `LiveBus.listen` per process that calls
`notice()` for every worker announcement (`callcenter/live/bus.py`); a stream then sleeps
until a notice (or `SAFETY_POLL_S`) and reads the database once, so N open boards cost
nothing while nothing happens. Losing Redis turns `listening` off and the streams go back
to the short poll until the listener has reconnected.

A stream takes a `token()` *before* it reads the database and waits on that token, so a
notice that arrives while it reads is not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from callcenter.live.bus import SAFETY_POLL_S


class LiveFeed:
    def __init__(self) -> None:
        self.listening = False
        """Subscribed to Redis right now."""
        self.notices = 0
        """Notices received by this process (for tests and the curious)."""
        self._changed = asyncio.Event()

    def token(self) -> asyncio.Event:
        """Take before reading; pass to `wait`."""
        return self._changed

    def notice(self, _notice: dict[str, Any] | None = None) -> None:
        """Something changed: wake every waiting stream."""
        self.notices += 1
        fired, self._changed = self._changed, asyncio.Event()
        fired.set()

    def state(self, up: bool) -> None:
        """The Redis subscription came up or went down; either way, look now."""
        self.listening = up
        self.notice()

    async def wait(self, token: asyncio.Event, poll_s: float) -> None:
        """Until a notice after `token` was taken, or the poll interval (long while Redis
        is listening, `poll_s` otherwise)."""
        timeout = SAFETY_POLL_S if self.listening else poll_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(token.wait(), timeout)
