"""Data-layer log messages carry ids and outcomes only — never PII or secrets."""

from __future__ import annotations

import logging

import pytest

from callcenter.data import (
    DEMO_REFERENCE_NOW,
    AccountRepository,
    CallRecordStore,
    CustomerDirectory,
    Database,
    TicketStore,
)


async def test_no_pii_in_logs(db: Database, maya_id: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="callcenter")
    directory = CustomerDirectory(db)
    await directory.find_by_phone("+14155550142")
    await directory.check_factor(maya_id, "pin", "4421")
    await directory.check_factor(maya_id, "zip", "94107")
    await directory.check_factor(maya_id, "last_four", "0042")
    repo = AccountRepository(db, maya_id)
    await repo.cancel_order("1002")
    await repo.start_return("1003", "Maya Patel says it broke", now=DEMO_REFERENCE_NOW)
    await repo.create_refund_ticket("INV-2001", 100, "reason text")
    await TicketStore(db).create_callback("+14155550142", "x", preferred_time="3pm")
    calls = CallRecordStore(db)
    await calls.open("c1", "room", "+14155550142", "+18005550100")
    await calls.close("c1", "resolved", transcript=[{"role": "user", "text": "PIN 4421"}])
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "expected some audit logging"
    for secret in ("4421", "94107", "0042", "Maya", "Patel", "+1415", "reason text", "3pm"):
        assert secret not in text
