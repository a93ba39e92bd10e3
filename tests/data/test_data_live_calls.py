"""The live board's rows: a call's writes may commit out of order, the newest version wins."""

from __future__ import annotations

import datetime as dt

from callcenter.data import Database
from callcenter.data.live_calls import LiveCallStore

STARTED = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


async def test_an_older_write_committed_late_does_not_bring_an_ended_call_back(
    db: Database,
) -> None:
    store = LiveCallStore(db)
    await store.publish("call-1", {"phase": "greeting"}, started_at=STARTED, version=1)
    # the ended write (version 3) lands before a periodic update taken earlier (version 2)
    await store.publish("call-1", {"phase": "ended"}, started_at=STARTED, version=3, ended=True)
    await store.publish("call-1", {"phase": "billing"}, started_at=STARTED, version=2)
    row = await store.get("call-1")
    assert row is not None
    assert row.ended_at is not None and row.version == 3
    assert row.snapshot["phase"] == "ended"
    # a newer write still replaces the row
    await store.publish("call-1", {"phase": "wrap_up"}, started_at=STARTED, version=4)
    row = await store.get("call-1")
    assert row is not None and row.version == 4 and row.snapshot["phase"] == "wrap_up"
