"""The supervisor roster: who should take this call, now.

`Roster.candidates(skill, now)` orders the people on duty for a call: specialists for the
skill first, then `general` supervisors as the fallback, each group by priority (lower
first), then by name so the order is deterministic.

The people are `callcenter.staff.Supervisor` values (one validator, one on-duty rule,
shared with the data layer and the CLI); the names below are re-exported for the
escalation modules that import them from here. The roster knows nothing about LiveKit or
the database: `SupervisorDirectory` is the small port the escalation manager reads through
(`StoreDirectory` adapts the data layer's `SupervisorStore`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from callcenter.staff import (
    SKILLS,
    WEEKDAYS,
    RosterError,
    Skill,
    Supervisor,
    SupervisorTransferMode,
    WeeklyHours,
    Window,
    is_sip_uri,
    validate_contact,
    validate_timezone,
)

__all__ = [
    "SKILLS",
    "WEEKDAYS",
    "Roster",
    "RosterError",
    "Skill",
    "StaticDirectory",
    "Supervisor",
    "SupervisorDirectory",
    "SupervisorTransferMode",
    "WeeklyHours",
    "Window",
    "is_sip_uri",
    "supervisor_from_row",
    "validate_contact",
    "validate_timezone",
]


@dataclass(frozen=True, slots=True)
class Roster:
    """An immutable snapshot of supervisors, asked who should take a call now."""

    supervisors: tuple[Supervisor, ...]

    def candidates(
        self, skill: Skill, now: dt.datetime, *, exclude: Iterable[str] = ()
    ) -> list[Supervisor]:
        """Who to try, in order: on duty, able to take `skill`, not in `exclude` (names).

        Specialists for the skill come first, then `general` supervisors, each by
        priority (lower first) and then name.
        """
        excluded = set(exclude)
        on_duty = [
            s
            for s in self.supervisors
            if s.name not in excluded and s.on_duty(now) and s.can_take(skill)
        ]
        return sorted(on_duty, key=lambda s: (skill not in s.skills, s.priority, s.name))

    def pick(
        self, skill: Skill, now: dt.datetime, *, exclude: Iterable[str] = ()
    ) -> Supervisor | None:
        """The first of `candidates`, or None when nobody is on duty for the skill."""
        found = self.candidates(skill, now, exclude=exclude)
        return found[0] if found else None


class SupervisorDirectory(Protocol):
    """Where the manager reads the roster from (the database in production)."""

    async def roster(self) -> Roster: ...


@dataclass(slots=True)
class StaticDirectory:
    """A fixed roster, for tests and for the console without a database."""

    supervisors: Sequence[Supervisor]

    async def roster(self) -> Roster:
        return Roster(tuple(self.supervisors))


def supervisor_from_row(row: object, *, default_region: str = "US") -> Supervisor:
    """A `Supervisor` from what a directory returned: a `Supervisor` (the data layer's
    `SupervisorStore` returns validated values) is returned as is; a mapping or an object
    with the table's columns is validated with `Supervisor.create`.

    A row that does not validate (edited by hand) raises `RosterError` so the caller can
    skip it with a log line.
    """
    if isinstance(row, Supervisor):
        return row

    def get(name: str) -> object:
        if isinstance(row, Mapping):
            return row[name]
        return getattr(row, name)

    mode = get("transfer_mode")
    return Supervisor.create(
        id=get("id"),  # type: ignore[arg-type]
        name=str(get("name")),
        contact=str(get("contact")),
        skills=list(get("skills") or []),  # type: ignore[call-overload]
        timezone=str(get("timezone")),
        working_hours=get("working_hours") or {},  # type: ignore[arg-type]
        priority=int(get("priority")),  # type: ignore[call-overload]
        active=bool(get("active")),
        transfer_mode=str(getattr(mode, "value", mode)),
        default_region=default_region,
    )
