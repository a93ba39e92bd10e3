"""Contact-center business hours: when a caller may be offered a live transfer.

Hours are data (`CALLCENTER_BUSINESS_HOURS`, compact form `mon-fri 08:00-18:00, sat
09:00-13:00`) in `CALLCENTER_BUSINESS_TIMEZONE`, with optional holidays
(`CALLCENTER_BUSINESS_HOLIDAYS`, ISO dates). Outside them the escalation manager offers
a callback ticket instead of dialling anyone, even if a supervisor is on duty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from callcenter.escalation.roster import RosterError, WeeklyHours, validate_timezone

if TYPE_CHECKING:
    from callcenter.config import Settings


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
        days: set[dt.date] = set()
        for raw in holidays.replace(";", ",").split(","):
            raw = raw.strip()
            if not raw:
                continue
            try:
                days.add(dt.date.fromisoformat(raw))
            except ValueError:
                raise RosterError(f"holiday {raw!r} must be an ISO date like 2026-12-25") from None
        return cls(timezone=timezone, weekly=WeeklyHours.parse(hours), holidays=frozenset(days))

    @classmethod
    def from_settings(cls, settings: Settings) -> BusinessHours:
        return cls.parse(
            timezone=settings.business_timezone,
            hours=settings.business_hours,
            holidays=settings.business_holidays,
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
