"""TicketStore, SupervisorStore and CallRecordStore."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.data import (
    DEMO_REFERENCE_NOW,
    CallOutcome,
    CallRecordStore,
    Database,
    SupervisorStore,
    SupervisorValidationError,
    TicketKind,
    TicketStatus,
    TicketStore,
    TransferMode,
)

NOW = DEMO_REFERENCE_NOW
WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}

# ------------------------------------------------------------------ tickets


async def test_create_callback_and_list_open(db: Database, maya_id: int) -> None:
    store = TicketStore(db)
    assert await store.list_open() == []
    t1 = await store.create_callback(
        "(415) 555-0142",
        "billing question",
        summary="Caller asked about INV-2002",
        preferred_time="tomorrow after 3pm",
        customer_id=maya_id,
        call_id="call-1",
    )
    t2 = await store.create_callback("+12125550100", "line dropped")
    assert t1.kind is TicketKind.CALLBACK and t1.status is TicketStatus.OPEN
    assert t1.phone_e164 == "+14155550142"
    assert t1.preferred_time == "tomorrow after 3pm"
    assert t2.customer_id is None and t2.preferred_time is None
    assert [t.id for t in await store.list_open()] == [t1.id, t2.id]
    assert await store.close_ticket(t1.id)
    assert [t.id for t in await store.list_open(kind=TicketKind.CALLBACK)] == [t2.id]
    assert not await store.close_ticket(999_999)


async def test_callback_rejects_bad_phone(db: Database) -> None:
    with pytest.raises(ValueError):
        await TicketStore(db).create_callback("call me maybe", "x")


# ------------------------------------------------------------------ supervisors


async def test_demo_supervisors(db: Database) -> None:
    store = SupervisorStore(db)
    sups = await store.list()
    assert len(sups) == 3
    assert [s.priority for s in sups] == sorted(s.priority for s in sups)
    billing = await store.list(skill="billing")
    assert [s.contact for s in billing] == ["sip:billing-lead@pbx.example.com"]
    assert billing[0].is_sip_uri
    assert {s.name for s in await store.list(skill="orders")} == {"Marcus Lee"}
    general = await store.list(skill="general")
    assert general[0].contact == "+14155550100"


async def test_supervisor_crud(db: Database) -> None:
    store = SupervisorStore(db)
    added = await store.add(
        "Robin Park",
        "+1 (212) 555-0111",
        ["Billing", "general"],
        "America/New_York",
        WEEKDAYS,
        priority=5,
        transfer_mode="cold",
    )
    assert added.contact == "+12125550111"
    assert added.skills == ("billing", "general")
    assert added.transfer_mode is TransferMode.COLD
    assert await store.get(added.id) == added
    assert (await store.list(skill="billing"))[0].id == added.id  # priority 5 first

    updated = await store.update(added.id, active=False, contact="sip:robin@pbx.example.com")
    assert updated is not None and not updated.active
    assert updated.contact == "sip:robin@pbx.example.com"
    assert added.id not in [s.id for s in await store.list(active_only=True)]
    assert await store.update(999_999, active=True) is None

    assert await store.remove(added.id)
    assert await store.get(added.id) is None
    assert not await store.remove(added.id)


@pytest.mark.parametrize(
    "overrides",
    [
        {"contact": "4155550100"},
        {"contact": "sip:nohost"},
        {"skills": ["sales"]},
        {"skills": []},
        {"timezone": "Mars/Olympus"},
        {"working_hours": {"funday": [["09:00", "17:00"]]}},
        {"working_hours": {"mon": [["17:00", "09:00"]]}},
        {"working_hours": {"mon": [["9am", "5pm"]]}},
        {"transfer_mode": "lukewarm"},
        {"name": "  "},
    ],
)
async def test_supervisor_validation(db: Database, overrides: dict[str, object]) -> None:
    args: dict[str, object] = {
        "name": "X",
        "contact": "+14155550177",
        "skills": ["general"],
        "timezone": "UTC",
        "working_hours": WEEKDAYS,
        "transfer_mode": "warm",
    }
    args.update(overrides)
    with pytest.raises(SupervisorValidationError):
        await SupervisorStore(db).add(**args)  # type: ignore[arg-type]


async def test_supervisor_update_unknown_field(db: Database) -> None:
    with pytest.raises(SupervisorValidationError):
        await SupervisorStore(db).update(1, pin_hash="x")


async def test_supervisors_on_duty(db: Database) -> None:
    store = SupervisorStore(db)
    # Monday 2025-06-02 18:00 UTC = 11:00 Los Angeles, 14:00 New York, 13:00 Chicago.
    monday = dt.datetime(2025, 6, 2, 18, 0, tzinfo=dt.UTC)
    assert [s.name for s in await store.available("general", monday)] == [
        "Alex Rivera",
        "Marcus Lee",
    ]
    # Monday 22:30 UTC = 18:30 New York, 17:30 Chicago (both off), 15:30 Los Angeles (on).
    late = dt.datetime(2025, 6, 2, 22, 30, tzinfo=dt.UTC)
    assert await store.available("billing", late) == []
    assert [s.name for s in await store.available("general", late)] == ["Alex Rivera"]
    # Saturday 17:00 UTC = 12:00 Chicago: only Marcus (sat 10-14).
    saturday = dt.datetime(2025, 6, 7, 17, 0, tzinfo=dt.UTC)
    assert [s.name for s in await store.available("orders", saturday)] == ["Marcus Lee"]
    assert await store.available("billing", saturday) == []


# ------------------------------------------------------------------ call records


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
