"""Contact-center business hours: when a caller may be offered a live transfer.

Hours are data (`CALLCENTER_BUSINESS_HOURS`, compact form `mon-fri 08:00-18:00, sat
09:00-13:00`) in `CALLCENTER_BUSINESS_TIMEZONE`, with optional holidays
(`CALLCENTER_BUSINESS_HOLIDAYS`, ISO dates). Outside them the escalation manager offers
a callback ticket instead of dialling anyone, even if a supervisor is on duty.

`Settings` validates the three settings with this module at start-up (`Settings.hours`
is the parsed value), so a bad value stops the program before any call. The weekly hours
use the same parser as the supervisors' hours (`callcenter.staff.WeeklyHours`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from callcenter.staff import RosterError, WeeklyHours, validate_timezone


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

    def describe(self) -> str:
        """For the model to tell the caller, e.g. `mon 08:00-18:00, ... (America/Los_Angeles)`."""
        return f"{self.weekly.describe()} ({self.timezone} time)"
