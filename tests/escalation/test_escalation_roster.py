"""Roster rules: contact validation, working hours, who is picked, business hours."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.business_hours import BusinessHours
from callcenter.data import Database, SupervisorStore
from callcenter.escalation.manager import skill_for
from callcenter.escalation.roster import (
    Roster,
    RosterError,
    Skill,
    Supervisor,
    WeeklyHours,
    validate_contact,
)
from callcenter.escalation.wiring import StoreDirectory
from tests.escalation.helpers import (
    ALEX,
    CARLA,
    MONDAY_10AM_LA,
    OMAR,
    PRIYA,
    SUNDAY_10AM_LA,
    make_state,
    sup,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (415) 555-0100", "+14155550100"),
        ("4155550100", "+14155550100"),
        ("sip:lead@pbx.example.com", "sip:lead@pbx.example.com"),
        ("sip:lead@pbx.example.com:5061", "sip:lead@pbx.example.com:5061"),
        ("sips:2001@10.0.0.5;transport=tls", "sips:2001@10.0.0.5;transport=tls"),
    ],
)
def test_valid_contacts_are_normalised(raw: str, expected: str) -> None:
    assert validate_contact(raw) == expected


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("+1555", "E.164"),
        ("sip:pbx.example.com", "SIP URI"),
        ("sip:lead@", "SIP URI"),
        ("sip:lead@pbx.example.com:99999", "port"),
        ("", "empty"),
    ],
)
def test_invalid_contacts_say_what_to_fix(raw: str, hint: str) -> None:
    with pytest.raises(RosterError, match=hint):
        validate_contact(raw)


def test_weekly_hours_compact_and_json_forms_agree() -> None:
    compact = WeeklyHours.parse("mon-wed 09:00-12:00, mon-wed 13:00-17:00; sat 10:00-14:00")
    as_json = WeeklyHours.parse(compact.as_json())
    assert as_json == compact
    assert compact.as_json()["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert "thu" not in compact.as_json()


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("mon-fri 17:00-09:00", "ends before it starts"),
        ("fri-mon 09:00-17:00", "backwards"),
        ("mon 9-5", "HH:MM"),
        ("funday 09:00-17:00", "cannot read|unknown weekday"),
    ],
)
def test_bad_hours_are_rejected(text: str, hint: str) -> None:
    with pytest.raises(RosterError, match=hint):
        WeeklyHours.parse(text)


def test_supervisor_validation_names_the_field() -> None:
    with pytest.raises(RosterError, match="unknown skill"):
        sup("X", "+14155550100", ["refunds"])
    with pytest.raises(RosterError, match="IANA"):
        sup("X", "+14155550100", ["general"], timezone="Mars/Olympus")
    with pytest.raises(RosterError, match="warm or cold"):
        sup("X", "+14155550100", ["general"], transfer_mode="lukewarm")


def test_on_duty_uses_the_supervisors_own_time_zone() -> None:
    ny = sup(
        "NY",
        "+12125550100",
        ["general"],
        timezone="America/New_York",
        working_hours="mon 08:00-12:00",
    )
    # 10:00 in LA is 13:00 in New York: past the NY shift
    assert not ny.on_duty(MONDAY_10AM_LA)
    assert ny.on_duty(MONDAY_10AM_LA - dt.timedelta(hours=2))
    inactive = sup("Off", "+14155550100", ["general"], active=False)
    assert not inactive.on_duty(MONDAY_10AM_LA)


def test_candidates_specialists_first_then_general_by_priority() -> None:
    early_general = sup("Gina", "+14155550133", ["general"], priority=1)
    roster = Roster((ALEX, PRIYA, CARLA, OMAR, early_general))
    names = [s.name for s in roster.candidates("orders", MONDAY_10AM_LA)]
    assert names == ["Omar Haddad", "Carla Diaz", "Gina", "Alex Rivera"]
    assert roster.pick("billing", MONDAY_10AM_LA) == PRIYA
    assert roster.pick("orders", MONDAY_10AM_LA, exclude={"Omar Haddad"}) == CARLA
    assert roster.candidates("orders", SUNDAY_10AM_LA) == []


def test_general_supervisor_is_the_fallback_for_any_skill() -> None:
    roster = Roster((ALEX, OMAR))
    assert roster.pick("billing", MONDAY_10AM_LA) == ALEX


def test_skill_comes_from_the_triaged_intent() -> None:
    assert skill_for(make_state(intent="billing")) == "billing"
    assert skill_for(make_state(intent="orders")) == "orders"
    assert skill_for(make_state(intent=None)) == "general"


def test_business_hours_time_zone_and_holidays() -> None:
    hours = BusinessHours.parse(
        timezone="America/Los_Angeles", hours="mon-fri 08:00-18:00", holidays="2026-11-26"
    )
    assert hours.is_open(MONDAY_10AM_LA)
    assert not hours.is_open(SUNDAY_10AM_LA)
    # 07:30 LA on Monday = 15:30 UTC: closed, although it is "open" in UTC terms
    assert not hours.is_open(dt.datetime(2026, 11, 23, 15, 30, tzinfo=dt.UTC))
    thanksgiving_noon = dt.datetime(2026, 11, 26, 20, 0, tzinfo=dt.UTC)
    assert not hours.is_open(thanksgiving_noon)
    with pytest.raises(RosterError, match="ISO date"):
        BusinessHours.parse(timezone="UTC", hours="mon 09:00-10:00", holidays="26/11/2026")


async def test_store_directory_reads_the_supervisors_table(db: Database) -> None:
    store = SupervisorStore(db)
    for row in await store.list():
        assert row.id is not None
        await store.remove(row.id)
    hours = {"mon": [["09:00", "17:00"]]}
    await store.add(sup("Zed", "+14155550177", ["orders"], working_hours=hours, priority=5))
    await store.add(
        sup("Off Duty", "+14155550178", ["orders"], working_hours=hours, priority=1, active=False)
    )
    roster = await StoreDirectory(store).roster()
    assert [s.name for s in roster.supervisors] == ["Zed"]
    picked = roster.pick("orders", MONDAY_10AM_LA)
    assert isinstance(picked, Supervisor)
    assert picked.contact == "+14155550177" and picked.transfer_mode == "warm"


@pytest.mark.parametrize(
    ("when", "skill", "expected"),
    [
        # Monday 2025-06-02 18:00 UTC = 11:00 Los Angeles, 14:00 New York, 13:00 Chicago.
        (
            dt.datetime(2025, 6, 2, 18, 0, tzinfo=dt.UTC),
            "billing",
            ["Priya Shah", "Alex Rivera", "Marcus Lee"],
        ),
        (dt.datetime(2025, 6, 2, 18, 0, tzinfo=dt.UTC), "general", ["Alex Rivera", "Marcus Lee"]),
        # Monday 22:30 UTC = 18:30 New York, 17:30 Chicago (both off), 15:30 Los Angeles.
        (dt.datetime(2025, 6, 2, 22, 30, tzinfo=dt.UTC), "billing", ["Alex Rivera"]),
        (dt.datetime(2025, 6, 2, 22, 30, tzinfo=dt.UTC), "orders", ["Alex Rivera"]),
        # Saturday 17:00 UTC = 12:00 Chicago: only Marcus works Saturdays (10-14).
        (dt.datetime(2025, 6, 7, 17, 0, tzinfo=dt.UTC), "orders", ["Marcus Lee"]),
        (dt.datetime(2025, 6, 7, 17, 0, tzinfo=dt.UTC), "billing", ["Marcus Lee"]),
        (dt.datetime(2025, 6, 7, 22, 0, tzinfo=dt.UTC), "billing", []),
    ],
)
async def test_demo_roster_on_duty_through_the_production_path(
    db: Database, when: dt.datetime, skill: Skill, expected: list[str]
) -> None:
    """The seeded supervisors, read as production reads them (store -> directory -> roster):
    each in their own time zone, specialists first, `general` supervisors as the fallback."""
    roster = await StoreDirectory(SupervisorStore(db)).roster()
    assert [s.name for s in roster.candidates(skill, when)] == expected
