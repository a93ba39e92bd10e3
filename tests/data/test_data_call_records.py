"""CallRecordStore: open (idempotent per call id), update, close, list."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.data import CallOutcome, CallRecordStore, Database
from callcenter.data.seed import DEMO_REFERENCE_NOW

NOW = DEMO_REFERENCE_NOW


async def test_call_record_round_trip(db: Database, maya_id: int) -> None:
    store = CallRecordStore(db)
    started = dt.datetime(2025, 6, 2, 17, 0, 5, tzinfo=dt.UTC)
    rid = await store.open("SCL_abc123", "call-room-1", "+14155550142", "+18005550100", started)
    assert await store.open("SCL_abc123", "call-room-1") == rid  # idempotent

    opened = await store.get("SCL_abc123")
    assert opened is not None
    assert opened.id == rid and opened.outcome is None and opened.ended_at is None
    assert opened.started_at == started
    assert opened.data == {} and opened.transcript == []

    assert await store.update("SCL_abc123", customer_id=maya_id, data={"phases": ["greeter"]})
    data = {
        "phases": ["greeter", "orders"],
        "handoffs": [{"to": "orders", "at": "2025-06-02T17:01:00Z"}],
        "verification": {"result": "verified", "factors": ["zip", "pin"]},
        "metrics": {"llm_ttft_ms": [420, 380]},
    }
    transcript = [
        {"role": "assistant", "text": "Hi, how can I help?", "at": "2025-06-02T17:00:06Z"},
        {"role": "user", "text": "Where is order [REDACTED]?", "at": "2025-06-02T17:00:09Z"},
    ]
    ended = started + dt.timedelta(minutes=3)
    assert await store.close(
        "SCL_abc123",
        CallOutcome.TRANSFERRED,
        ended_at=ended,
        transferred_to="+14155550100",
        data=data,
        transcript=transcript,
    )
    rec = await store.get("SCL_abc123")
    assert rec is not None
    assert rec.outcome is CallOutcome.TRANSFERRED
    assert rec["outcome"] == "transferred"
    assert rec.ended_at == ended
    assert rec.customer_id == maya_id  # kept from update(); close() did not pass one
    assert rec.transferred_to == "+14155550100"
    assert rec.data == data
    assert rec.transcript == transcript
    assert rec.to_dict()["call_id"] == "SCL_abc123"
    with pytest.raises(KeyError):
        rec["nope"]


async def test_call_record_unknown_and_invalid(db: Database) -> None:
    store = CallRecordStore(db)
    assert await store.get("missing") is None
    assert not await store.close("missing", "ended")
    await store.open("c1", "room-1")
    with pytest.raises(ValueError):
        await store.update("c1", pin="1234")
    with pytest.raises(ValueError):
        await store.close("c1", "exploded")


async def test_call_records_list_recent(db: Database) -> None:
    store = CallRecordStore(db)
    for i in range(3):
        await store.open(f"c{i}", f"room-{i}", started_at=NOW + dt.timedelta(minutes=i))
    assert [r.call_id for r in await store.list_recent(2)] == ["c2", "c1"]
