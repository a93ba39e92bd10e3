"""Contact-center business hours: when a caller may be offered a live transfer.

Hours are data (`CALLCENTER_BUSINESS_HOURS`, compact form `mon-fri 08:00-18:00, sat
09:00-13:00`) in `CALLCENTER_BUSINESS_TIMEZONE`, with optional holidays
(`CALLCENTER_BUSINESS_HOLIDAYS`, ISO dates). Outside them the escalation manager offers
a callback ticket instead of dialling anyone, even if a supervisor is on duty.

`Settings` validates the three settings with this module at start-up (`Settings.hours`
is the parsed value), so a bad value stops the program before any call. The weekly hours
use the same parser as the supervisors' hours (`callcenter.staff.WeeklyHours`).

Callers hear the hours the way a person says them (`spoken()`): "Monday to Friday, 8 AM to
6 PM Pacific time", not the configuration's `mon 08:00-18:00, tue 08:00-18:00, ...`. Days
with the same hours are grouped ("Monday, Wednesday and Friday"), a shift that runs past
midnight is one span ("10 PM to 6 AM"), and a whole day is "all day" ("24 hours a day, 7
days a week" when it never closes). `reopens(now)` says when the next opening is ("tomorrow
at 8 AM"), skipping holidays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from callcenter.speech import spoken_clock, spoken_date, spoken_list
from callcenter.staff import WEEKDAYS, RosterError, WeeklyHours, validate_timezone

DAY_NAMES: tuple[str, ...] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip
"""The spoken name of each of `staff.WEEKDAYS`, in the same order."""

_DAY = 24 * 60

ZONE_NAMES: dict[str, str] = {
    "America/Los_Angeles": "Pacific", "America/Vancouver": "Pacific",
    "America/Tijuana": "Pacific", "US/Pacific": "Pacific",
    "America/Denver": "Mountain", "America/Boise": "Mountain", "America/Edmonton": "Mountain",
    "US/Mountain": "Mountain", "America/Phoenix": "Arizona",
    "America/Chicago": "Central", "America/Winnipeg": "Central", "US/Central": "Central",
    "America/New_York": "Eastern", "America/Toronto": "Eastern", "America/Detroit": "Eastern",
    "US/Eastern": "Eastern", "America/Halifax": "Atlantic", "America/St_Johns": "Newfoundland",
    "America/Anchorage": "Alaska", "Pacific/Honolulu": "Hawaii", "UTC": "UTC", "Etc/UTC": "UTC",
    "Europe/London": "UK",
}  # fmt: skip
"""How callers name a time zone ("Pacific time"); any other zone is said by its city."""


def spoken_zone(timezone: str) -> str:
    """`America/Los_Angeles` → "Pacific time"; `Europe/Berlin` → "Berlin time"."""
    name = ZONE_NAMES.get(timezone) or timezone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{name} time"


def _day_spans(weekly: WeeklyHours) -> list[list[tuple[int, int]]]:
    """Each weekday's openings as (start, end) minutes after its midnight; a shift that
    runs past midnight into the next day's 00:00 window is one span ending after 1440, when it
    ends before the clock time it started ("Friday 6 PM to 2 AM"); a span of a day or more
    ("12:30 AM to 12:30 AM") stays two days, each named."""
    days = [
        [(w.start.hour * 60 + w.start.minute, w.end_minutes) for w in weekly.days.get(d, ())]
        for d in WEEKDAYS
    ]
    for i in range(7):
        following = days[(i + 1) % 7]
        if not days[i] or not following:
            continue
        start, end = days[i][-1]
        overnight = following[0][0] == 0 and following[0][1] < start  # under 24 hours
        if end == _DAY and start > 0 and overnight:
            days[i][-1] = (start, _DAY + following[0][1])
            del following[0]
    return days


def _spoken_span(start: int, end: int) -> str:
    if (start, end) == (0, _DAY):
        return "all day"
    return f"{spoken_clock(start)} to {spoken_clock(end - _DAY if end > _DAY else end)}"


def spoken_days(days: list[int]) -> str:
    """Weekday indexes (0 = Monday) as said: "every day", "Monday to Friday", "Monday,
    Wednesday and Friday", "Saturday to Monday" (a run may wrap past Sunday)."""
    chosen = sorted(set(days))
    if len(chosen) == 7:
        return "every day"
    runs: list[list[int]] = []
    for day in chosen:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 6:
        runs[0] = runs.pop() + runs[0]  # Saturday and Sunday run on into Monday
        runs.insert(0, runs.pop(0))
    items: list[str] = []
    for run in runs:
        if len(run) >= 3:
            items.append(f"{DAY_NAMES[run[0]]} to {DAY_NAMES[run[-1]]}")
        else:
            items.extend(DAY_NAMES[d] for d in run)
    return spoken_list(items)


def spoken_week(weekly: WeeklyHours, timezone: str) -> str:
    """Opening hours as a person says them (see the module docstring); "" when never open."""
    shapes: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for index, spans in enumerate(_day_spans(weekly)):
        if spans:
            shapes.setdefault(tuple(spans), []).append(index)
    if not shapes:
        return ""
    if list(shapes) == [((0, _DAY),)] and len(shapes[((0, _DAY),)]) == 7:
        return "24 hours a day, 7 days a week"
    groups = sorted(shapes.items(), key=lambda item: item[1][0] if 0 not in item[1] else -1)
    parts = [
        f"{spoken_days(days)}, {spoken_list([_spoken_span(*span) for span in spans])}"
        for spans, days in groups
    ]
    zone = spoken_zone(timezone)
    if len(parts) == 1:
        return f"{parts[0]}{',' if parts[0].endswith('all day') else ''} {zone}"
    return ", ".join(parts[:-1]) + f", and {parts[-1]}, {zone}"


def parse_holidays(text: str) -> frozenset[dt.date]:
    """`2026-12-25, 2027-01-01` (commas or semicolons); `RosterError` naming a bad date."""
    days: set[dt.date] = set()
    for raw in text.replace(";", ",").split(","):
        raw = raw.strip()
        if not raw:
            continue
        try:
            days.add(dt.date.fromisoformat(raw))
        except ValueError:
            raise RosterError(f"holiday {raw!r} must be an ISO date like 2026-12-25") from None
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Weekly opening hours in one time zone, minus holidays."""

    timezone: str
    weekly: WeeklyHours
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, *, timezone: str, hours: str, holidays: str = "") -> BusinessHours:
        """Validate text settings; raises `RosterError` saying what to fix."""
        validate_timezone(timezone)
        return cls(
            timezone=timezone, weekly=WeeklyHours.parse(hours), holidays=parse_holidays(holidays)
        )

    def local(self, now: dt.datetime) -> dt.datetime:
        return now.astimezone(ZoneInfo(self.timezone))

    def is_open(self, now: dt.datetime) -> bool:
        """True when `now` (an aware datetime) is inside opening hours and not a holiday."""
        local = self.local(now)
        if local.date() in self.holidays:
            return False
        return self.weekly.is_open(local)

    def spoken(self) -> str:
        """The hours for the caller's ear, e.g. "Monday to Friday, 8 AM to 6 PM Pacific
        time" ("" when the contact center has no opening hours)."""
        return spoken_week(self.weekly, self.timezone)

    def holiday(self, now: dt.datetime) -> bool:
        """True when `now` falls on one of the holidays (local date)."""
        return self.local(now).date() in self.holidays

    def next_open(self, now: dt.datetime) -> dt.datetime | None:
        """`now` when open, else the next opening (local time), skipping holidays; None
        when there is none within a year (no opening hours at all)."""
        local = self.local(now)
        zone = ZoneInfo(self.timezone)
        for offset in range(0, 370):
            day = local.date() + dt.timedelta(days=offset)
            if day in self.holidays:
                continue
            midnight = dt.datetime.combine(day, dt.time(0), zone)
            for window in self.weekly.days.get(WEEKDAYS[day.weekday()], ()):
                start = dt.datetime.combine(day, window.start, zone)
                end = midnight + dt.timedelta(minutes=window.end_minutes)
                if start <= local < end:
                    return local
                if start > local:
                    return start
        return None

    def reopens(self, now: dt.datetime) -> str | None:
        """When the contact center opens next, said from `now`: "today at 8 AM", "tomorrow
        at 8 AM", "on Monday at 8 AM", "on Monday, January 4, 2027, at 8 AM"."""
        moment = self.next_open(now)
        if moment is None:
            return None
        today = self.local(now).date()
        at = spoken_clock(moment.hour * 60 + moment.minute)
        days = (moment.date() - today).days
        if days == 0:
            return f"today at {at}"
        if days == 1:
            return f"tomorrow at {at}"
        name = DAY_NAMES[moment.weekday()]
        if days < 7:
            return f"on {name} at {at}"
        return f"on {name}, {spoken_date(moment.date())}, at {at}"

    def describe(self) -> str:
        """For the model to tell the caller, e.g. `mon 08:00-18:00, ... (America/Los_Angeles)`."""
        return f"{self.weekly.describe()} ({self.timezone} time)"
