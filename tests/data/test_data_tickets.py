"""TicketStore: callback tickets (phone numbers normalised to E.164), the open queue."""

from __future__ import annotations

import pytest

from callcenter.data import Database, TicketKind, TicketStatus, TicketStore


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


async def test_callback_rejects_invalid_number(db: Database) -> None:
    """The product's one normaliser decides: a number with a non-existent area code is
    refused (the caller would never be reached), with nothing stored."""
    with pytest.raises(ValueError, match="not a valid phone number"):
        await TicketStore(db).create_callback("+1 555 000 0142", "x")
    assert await TicketStore(db).list_open() == []
