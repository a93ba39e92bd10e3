"""Business hours as a person says them, when the contact center opens again, the closed
line with its callback offer, and the console's call moment (`--at`)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from callcenter import prompts
from callcenter.business_hours import BusinessHours, spoken_days, spoken_zone
from callcenter.config import ConfigError
from callcenter.console import call_moment
from callcenter.escalation.manager import closed_line, with_callback_offer
from callcenter.speech import spoken_clock
from callcenter.staff import WEEKDAYS, WeeklyHours

LA = "America/Los_Angeles"
# Monday 2026-11-23; Thanksgiving is Thursday 2026-11-26
MONDAY_7AM_LA = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
MONDAY_10AM_LA = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
MONDAY_8PM_LA = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.UTC)
FRIDAY_7PM_LA = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
THANKSGIVING_NOON_LA = dt.datetime(2026, 11, 26, 20, 0, tzinfo=dt.UTC)


def hours(text: str, *, holidays: str = "", timezone: str = LA) -> BusinessHours:
    return BusinessHours.parse(timezone=timezone, hours=text, holidays=holidays)


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (0, "midnight"),
        (1440, "midnight"),
        (720, "noon"),
        (480, "8 AM"),
        (510, "8:30 AM"),
        (1080, "6 PM"),
        (30, "12:30 AM"),
        (750, "12:30 PM"),
        (1439, "11:59 PM"),
    ],
)
def test_a_time_of_day_as_said(minutes: int, said: str) -> None:
    assert spoken_clock(minutes) == said


@pytest.mark.parametrize(
    ("configured", "said"),
    [
        # the report: "mon 08:00-18:00, tue 08:00-18:00 ..." read out to a caller
        ("mon-fri 08:00-18:00", "Monday to Friday, 8 AM to 6 PM Pacific time"),
        (
            "mon-fri 08:00-18:00, sat 09:00-13:00",
            "Monday to Friday, 8 AM to 6 PM, and Saturday, 9 AM to 1 PM, Pacific time",
        ),
        # irregular weeks: days with the same hours are said together, in week order
        (
            "mon 09:00-17:00, wed 09:00-17:00, fri 09:00-17:00",
            "Monday, Wednesday and Friday, 9 AM to 5 PM Pacific time",
        ),
        (
            "mon-wed 09:00-17:00, thu 12:00-20:00, fri 09:00-17:00",
            "Monday to Wednesday and Friday, 9 AM to 5 PM, and Thursday, noon to 8 PM, "
            "Pacific time",
        ),
        (
            "mon-fri 08:30-12:00, mon-fri 13:00-17:30",
            "Monday to Friday, 8:30 AM to noon and 1 PM to 5:30 PM Pacific time",
        ),
        ("mon-sun 09:00-17:00", "every day, 9 AM to 5 PM Pacific time"),
        ("sat-sun 10:00-16:00, mon 10:00-16:00", "Saturday to Monday, 10 AM to 4 PM Pacific time"),
        # midnight: a night shift split at midnight is one span; a day from midnight
        (
            "mon-fri 22:00-24:00, tue-sat 00:00-06:00",
            "Monday to Friday, 10 PM to 6 AM Pacific time",
        ),
        ("sun 22:00-24:00, mon 00:00-06:00", "Sunday, 10 PM to 6 AM Pacific time"),
        ("mon-fri 00:00-12:00", "Monday to Friday, midnight to noon Pacific time"),
        ("mon-fri 12:00-24:00", "Monday to Friday, noon to midnight Pacific time"),
        # whole days, and never closed
        ("mon-fri 00:00-24:00", "Monday to Friday, all day, Pacific time"),
        ("mon-sun 00:00-24:00", "24 hours a day, 7 days a week"),
    ],
)
def test_hours_are_said_as_a_person_would(configured: str, said: str) -> None:
    assert hours(configured).spoken() == said


def test_no_opening_hours_say_nothing() -> None:
    assert hours("").spoken() == ""


@pytest.mark.parametrize(
    ("timezone", "said"),
    [
        ("America/New_York", "Eastern time"),
        ("America/Chicago", "Central time"),
        ("America/Denver", "Mountain time"),
        ("America/Phoenix", "Arizona time"),
        ("Europe/Berlin", "Berlin time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
    ],
)
def test_time_zones_are_said_by_their_common_name(timezone: str, said: str) -> None:
    assert spoken_zone(timezone) == said


_WINDOWS = st.lists(
    st.tuples(st.sampled_from(WEEKDAYS), st.integers(0, 47), st.integers(1, 48)).filter(
        lambda w: w[1] < w[2]
    ),
    max_size=10,
)


@given(_WINDOWS)
@example([("fri", 1, 48), ("sat", 0, 1)])  # a day long: both days named (hypothesis found it)
@example([("fri", 36, 48), ("sat", 0, 4)])  # overnight: "Friday, 6 PM to 2 AM"
@example([("sun", 2, 48), ("mon", 0, 1)])  # overnight across the week's end
def test_any_week_is_said_without_codes_and_names_every_open_day(
    windows: list[tuple[str, int, int]],
) -> None:
    """Whatever the configuration: no `mon`/`08:00` codes, and every open day is named
    (itself, or inside a range or "every day")."""
    by_day: dict[str, list[list[str]]] = {}
    for day, start, end in windows:
        slots = by_day.setdefault(day, [])
        if all(end * 30 <= _m(s) or start * 30 >= _m(e) for s, e in slots):  # no overlaps
            slots.append([_hhmm(start * 30), _hhmm(end * 30)])
    weekly = WeeklyHours.parse({d: w for d, w in by_day.items() if w})
    said = BusinessHours(timezone=LA, weekly=weekly).spoken()
    assert not any(code in said.split() for code in WEEKDAYS)
    assert ":00 " not in said and "00:" not in said
    open_days = [
        i for i, d in enumerate(WEEKDAYS) if weekly.days.get(d) and not _overnight_tail(by_day, i)
    ]
    if not open_days:
        assert said == ""
    elif said not in ("24 hours a day, 7 days a week",) and "every day" not in said:
        for day in open_days:
            assert _named(day, said), (day, said)


def _overnight_tail(by_day: dict[str, list[list[str]]], day: int) -> bool:
    """The day's only opening is the end of the day before's shift past midnight (Friday
    18:00-24:00 with Saturday 00:00-02:00 is said "Friday, 6 PM to 2 AM"), shorter than a
    day: the day is covered without being named."""
    slots = sorted(by_day.get(WEEKDAYS[day], []), key=lambda w: _m(w[0]))
    before = sorted(by_day.get(WEEKDAYS[day - 1], []), key=lambda w: _m(w[0]))
    if len(slots) != 1 or not before:
        return False
    (start, end), (shift_start, shift_end) = slots[0], before[-1]
    return (
        _m(start) == 0
        and _m(shift_end) == 24 * 60
        and _m(shift_start) > 0
        and _m(end) < _m(shift_start)
    )


def _m(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _named(day: int, said: str) -> bool:
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    if names[day] in said:
        return True
    for first, start in enumerate(names):
        for last, end in enumerate(names):
            if f"{start} to {end}" in said:
                span = (
                    range(first, last + 1)
                    if first <= last
                    else [*range(first, 7), *range(0, last + 1)]
                )
                if day in span:
                    return True
    return False


def test_day_runs_wrap_past_sunday() -> None:
    assert spoken_days([5, 6, 0, 1]) == "Saturday to Tuesday"
    assert spoken_days([0, 2, 4]) == "Monday, Wednesday and Friday"
    assert spoken_days([5, 6]) == "Saturday and Sunday"


@pytest.mark.parametrize(
    ("now", "reopens"),
    [
        (MONDAY_7AM_LA, "today at 8 AM"),
        (MONDAY_8PM_LA, "tomorrow at 8 AM"),
        (FRIDAY_7PM_LA, "on Monday at 8 AM"),
        (dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC), "on Friday at 8 AM"),  # Wed 8 PM
    ],
)
def test_when_the_contact_center_opens_again(now: dt.datetime, reopens: str) -> None:
    assert hours("mon-fri 08:00-18:00", holidays="2026-11-26").reopens(now) == reopens


def test_a_long_closure_names_the_date() -> None:
    closure = ",".join(f"2026-12-{d:02d}" for d in range(21, 32))
    assert (
        hours("mon-fri 08:00-18:00", holidays=closure).reopens(
            dt.datetime(2026, 12, 19, 20, 0, tzinfo=dt.UTC)
        )
        == "on Friday, January 1, 2027, at 8 AM"
    )


def test_the_closed_line_says_the_hours_and_when_they_open() -> None:
    said = closed_line(hours("mon-fri 08:00-18:00"), MONDAY_8PM_LA)
    assert said == prompts.line(
        "escalation.closed",
        hours="Monday to Friday, 8 AM to 6 PM Pacific time",
        reopens="tomorrow at 8 AM",
    )
    assert "mon 08:00" not in said


def test_the_closed_line_on_a_holiday_says_so() -> None:
    said = closed_line(hours("mon-fri 08:00-18:00", holidays="2026-11-26"), THANKSGIVING_NOON_LA)
    assert said.startswith("The contact center is closed today for a holiday")
    assert said.endswith("we open again tomorrow at 8 AM.")


def test_without_opening_hours_the_closed_line_names_none() -> None:
    assert closed_line(hours(""), MONDAY_8PM_LA) == prompts.line("escalation.closed_no_hours")


def test_every_unavailable_line_ends_with_the_callback_offer() -> None:
    assert with_callback_offer("Closed.") == "Closed. " + prompts.line("offers.callback")


# --- the console's call moment (`callcenter console --at`) --------------------------------


@pytest.mark.parametrize("now", [MONDAY_7AM_LA, MONDAY_8PM_LA, FRIDAY_7PM_LA])
def test_the_demo_moment_is_the_same_weekday_and_time_whenever_it_runs(now: dt.datetime) -> None:
    business = hours("mon-fri 08:00-18:00")
    moment = business.local(call_moment("open", business, now))
    assert (moment.strftime("%a %H:%M"), business.is_open(moment)) == ("Mon 09:00", True)
    closed = business.local(call_moment("closed", business, now))
    assert (closed.strftime("%a %H:%M"), business.is_open(closed)) == ("Mon 19:00", False)


def test_the_demo_moment_skips_a_holiday() -> None:
    business = hours("mon-fri 08:00-18:00", holidays="2026-11-23")
    moment = business.local(call_moment("open", business, MONDAY_7AM_LA))
    assert moment.date() == dt.date(2026, 11, 30) and business.is_open(moment)


def test_a_weekday_and_time_is_the_next_such_moment_in_the_business_zone() -> None:
    business = hours("mon-fri 08:00-18:00")
    moment = business.local(call_moment("sun 10:00", business, MONDAY_10AM_LA))
    assert moment.isoformat() == "2026-11-29T10:00:00-08:00"
    assert call_moment("now", business, MONDAY_10AM_LA) == MONDAY_10AM_LA
    iso = call_moment("2026-12-24T10:00", business, MONDAY_10AM_LA)
    assert iso.isoformat() == "2026-12-24T10:00:00-08:00"


@pytest.mark.parametrize("bad", ["bogus", "xyz 10:00", "mon 25:00", "tomorrow"])
def test_a_bad_moment_names_the_forms(bad: str) -> None:
    with pytest.raises(ConfigError, match="use open \\(default\\), closed, now"):
        call_moment(bad, hours("mon-fri 08:00-18:00"), MONDAY_10AM_LA)


def test_a_contact_center_that_never_closes_has_no_closed_moment() -> None:
    with pytest.raises(ConfigError, match="never closes"):
        call_moment("closed", hours("mon-sun 00:00-24:00"), MONDAY_10AM_LA)
