"""Data-layer log lines carry ids and outcomes only — never PII or secrets, neither in the
message nor in the structured `extra` fields a JSON log handler would print."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from callcenter.data import (
    AccountRepository,
    CallRecordStore,
    CustomerDirectory,
    Database,
    SupervisorStore,
    TicketStore,
)
from callcenter.data.models import SupervisorRow
from callcenter.data.seed import DEMO_REFERENCE_NOW
from callcenter.staff import Supervisor

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def rendered(record: logging.LogRecord) -> str:
    """The message and every `extra` field, as a structured log handler would emit them."""
    extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    return f"{record.getMessage()} {extras!r}"


def test_rendered_includes_extra_fields() -> None:
    """The helper itself: a value passed only in `extra` is seen."""
    record = logging.LogRecord("x", logging.INFO, "", 0, "static message", None, None)
    record.caller = "+14155550142"
    assert "+14155550142" in rendered(record)


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

    supervisors = SupervisorStore(db)
    robin = await supervisors.add(
        Supervisor.create(
            name="Robin Park",
            contact="+12125550111",
            skills=["general"],
            timezone="UTC",
            working_hours="mon 09:00-17:00",
        )
    )
    assert robin.id is not None
    await supervisors.update(robin.id, contact="+12125550112")
    async with db.transaction() as s:  # a hand-edited row with a bad contact is skipped
        await s.execute(
            sa.update(SupervisorRow)
            .where(SupervisorRow.id == robin.id)
            .values(contact="+1 555 000 0113")
        )
    await supervisors.list()
    await supervisors.remove(robin.id)

    assert caplog.records, "expected some audit logging"
    assert any("supervisor" in r.getMessage() for r in caplog.records)
    text = "\n".join(rendered(r) for r in caplog.records)
    for secret in (
        "4421",
        "94107",
        "0042",
        "Maya",
        "Patel",
        "+1415",
        "reason text",
        "3pm",
        "Robin",
        "212555011",
        "555 000 0113",
    ):
        assert secret not in text
