"""SupervisorStore: the supervisors table read and written as `callcenter.staff.Supervisor`
values (validated by `Supervisor.create`, the only validator)."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from callcenter.data import Database, SupervisorStore
from callcenter.data.models import SupervisorRow
from callcenter.data.seed import DEMO_SUPERVISORS
from callcenter.staff import RosterError, Supervisor, WeeklyHours

WEEKDAYS = "mon-fri 09:00-17:00"


def robin(**overrides: object) -> Supervisor:
    fields: dict[str, object] = {
        "name": "Robin Park",
        "contact": "+1 (212) 555-0111",
        "skills": ["Billing", "general"],
        "timezone": "America/New_York",
        "working_hours": WEEKDAYS,
        "priority": 5,
        "transfer_mode": "cold",
    }
    fields.update(overrides)
    return Supervisor.create(**fields)  # type: ignore[arg-type]


async def test_demo_supervisors_round_trip_as_values(db: Database) -> None:
    stored = await SupervisorStore(db).list()
    assert [s.name for s in stored] == ["Alex Rivera", "Priya Shah", "Marcus Lee"]
    assert all(isinstance(s, Supervisor) and s.id is not None for s in stored)
    # what was seeded is what comes back, field for field (only the id is new)
    by_name = {s.name: s for s in stored}
    for demo in DEMO_SUPERVISORS:
        assert by_name[demo.name].as_row() == demo.as_row()
    billing = await SupervisorStore(db).list(skill="billing")
    assert [s.contact for s in billing] == ["sip:billing-lead@pbx.example.com"]
    assert billing[0].is_sip_uri
    assert {s.name for s in await SupervisorStore(db).list(skill="orders")} == {"Marcus Lee"}


async def test_add_get_update_remove(db: Database) -> None:
    store = SupervisorStore(db)
    added = await store.add(robin())
    assert added.id is not None
    assert added.contact == "+12125550111"
    assert added.skills == ("billing", "general")
    assert added.transfer_mode == "cold"
    assert await store.get(added.id) == added
    assert (await store.list(skill="billing"))[0].id == added.id  # priority 5 first

    updated = await store.update(added.id, active=False, contact="sip:robin@pbx.example.com")
    assert updated is not None and not updated.active
    assert updated.contact == "sip:robin@pbx.example.com"
    assert updated.skills == added.skills  # untouched fields kept
    assert added.id not in [s.id for s in await store.list(active_only=True)]
    hours = await store.update(added.id, working_hours="sat-sun 10:00-14:00")
    assert hours is not None and hours.hours == WeeklyHours.parse(
        "sat 10:00-14:00, sun 10:00-14:00"
    )
    assert await store.update(999_999, active=True) is None

    assert await store.remove(added.id)
    assert await store.get(added.id) is None
    assert not await store.remove(added.id)


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        ({"contact": "+1555"}, "E.164"),
        ({"contact": "sip:nohost"}, "SIP URI"),
        ({"skills": ["sales"]}, "unknown skill"),
        ({"skills": []}, "at least one skill"),
        ({"timezone": "Mars/Olympus"}, "IANA"),
        ({"working_hours": {"funday": [["09:00", "17:00"]]}}, "unknown weekday"),
        ({"working_hours": "mon 17:00-09:00"}, "ends before it starts"),
        ({"working_hours": {"mon": [["9am", "5pm"]]}}, "HH:MM"),
        ({"transfer_mode": "lukewarm"}, "warm or cold"),
        ({"name": "  "}, "name is empty"),
        ({"priority": "first"}, "priority"),
        ({"pin_hash": "x"}, "unknown supervisor fields"),
    ],
)
async def test_update_validates_the_merged_value_and_keeps_the_row(
    db: Database, change: dict[str, object], hint: str
) -> None:
    store = SupervisorStore(db)
    before = (await store.list())[0]
    assert before.id is not None
    with pytest.raises(RosterError, match=hint):
        await store.update(before.id, **change)
    assert await store.get(before.id) == before


async def _corrupt(db: Database, supervisor_id: int) -> None:
    """A hand edit the validator would never have let through."""
    async with db.transaction() as s:
        await s.execute(
            sa.update(SupervisorRow)
            .where(SupervisorRow.id == supervisor_id)
            .values(working_hours={"mon": [["17:00", "09:00"]]})
        )


async def test_invalid_stored_row_is_skipped_logged_and_repairable(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = SupervisorStore(db)
    alex, *others = await store.list()
    assert alex.id is not None
    await _corrupt(db, alex.id)

    with caplog.at_level(logging.WARNING, logger="callcenter.data"):
        listed = await store.list()
    assert [s.name for s in listed] == [s.name for s in others]
    [record] = [r for r in caplog.records if r.getMessage() == "skipping invalid supervisor row"]
    assert record.supervisor_id == alex.id  # type: ignore[attr-defined]
    assert record.invalid_field == "working_hours"  # type: ignore[attr-defined]
    with pytest.raises(RosterError, match="ends before it starts"):
        await store.get(alex.id)

    repaired = await store.update(alex.id, working_hours="mon-fri 09:00-17:00")
    assert repaired is not None and repaired.as_row() == alex.as_row()
    assert [s.name for s in await store.list()] == ["Alex Rivera", *(s.name for s in others)]
