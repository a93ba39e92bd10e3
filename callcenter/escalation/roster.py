"""The supervisor roster as data: who can take a call, for which skill, and when.

A `Supervisor` is a validated value (E.164 number or SIP URI, skills, weekly working
hours in their own time zone, priority). `Roster.candidates(skill, now)` orders the
people on duty for a call: specialists for the skill first, then `general`
supervisors as the fallback, each group by priority (lower first), then by name so the
order is deterministic.

The roster knows nothing about LiveKit or the database: `SupervisorDirectory` is the
small port the escalation manager reads through (`StoreDirectory` adapts the data
layer's `SupervisorStore`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.telephony.numbers import InvalidPhoneNumber, to_e164

Skill = Literal["orders", "billing", "general"]
SKILLS: tuple[Skill, ...] = ("orders", "billing", "general")
SupervisorTransferMode = Literal["warm", "cold"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_SIP_URI = re.compile(
    r"^sips?:"  # scheme
    r"(?P<user>[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+)@"  # user part (RFC 3261 unreserved + escapes)
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>\d{1,5}))?"
    r"(?P<params>(?:;[A-Za-z0-9\-_.!~*'()%]+(?:=[A-Za-z0-9\-_.!~*'()%]+)?)*)$"
)
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


class RosterError(ValueError):
    """A supervisor field that does not validate; the message says what to fix."""


# --------------------------------------------------------------------------- contacts


def is_sip_uri(value: str) -> bool:
    """True when `value` looks like a SIP URI rather than a phone number."""
    return value.strip().lower().startswith(("sip:", "sips:"))


def validate_contact(raw: str, *, default_region: str = "US") -> str:
    """Normalise a supervisor contact: an E.164 number or a `sip:user@host[:port]` URI.

    Raises `RosterError` saying which form was expected and what was wrong.
    """
    value = raw.strip()
    if not value:
        raise RosterError("contact is empty: give an E.164 number (+14155550100) or a SIP URI")
    if is_sip_uri(value):
        match = _SIP_URI.match(value)
        if match is None:
            raise RosterError(
                f"{value!r} is not a valid SIP URI: expected sip:user@host or "
                "sip:user@host:port (e.g. sip:lead@pbx.example.com:5060)"
            )
        port = match.group("port")
        if port is not None and not 0 < int(port) < 65536:
            raise RosterError(f"{value!r} has an invalid port {port}: use 1-65535")
        return value
    try:
        return to_e164(value, default_region=default_region)
    except InvalidPhoneNumber as exc:
        raise RosterError(
            f"contact {exc}; use E.164 like +14155550100 or a SIP URI like sip:lead@pbx.example.com"
        ) from None


# --------------------------------------------------------------------------- hours


@dataclass(frozen=True, slots=True)
class Window:
    """One opening window on a weekday, local time. `end` may be 24:00."""

    start: dt.time
    end_minutes: int
    """Minutes after midnight the window closes (1440 for 24:00)."""

    def contains(self, local: dt.time) -> bool:
        minutes = local.hour * 60 + local.minute
        start = self.start.hour * 60 + self.start.minute
        return start <= minutes < self.end_minutes

    def as_pair(self) -> list[str]:
        end = "24:00" if self.end_minutes == 1440 else _fmt(self.end_minutes)
        return [self.start.strftime("%H:%M"), end]


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_window(start: str, end: str, *, day: str) -> Window:
    for label, text in (("start", start), ("end", end)):
        if not isinstance(text, str) or not _HHMM.match(text):
            raise RosterError(f"{day}: {label} time {text!r} must be HH:MM (00:00-24:00)")
    if start == "24:00":
        raise RosterError(f"{day}: a window cannot start at 24:00")
    sh, sm = (int(p) for p in start.split(":"))
    eh, em = (int(p) for p in end.split(":"))
    window = Window(start=dt.time(sh, sm), end_minutes=eh * 60 + em)
    if window.end_minutes <= sh * 60 + sm:
        raise RosterError(
            f"{day}: window {start}-{end} ends before it starts; split overnight shifts "
            "into two days (e.g. mon 22:00-24:00 and tue 00:00-06:00)"
        )
    return window


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Opening windows per weekday (`mon`..`sun`); a missing day is closed."""

    days: Mapping[str, tuple[Window, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: str | Mapping[str, Sequence[Sequence[str]]]) -> WeeklyHours:
        """From JSON-like data `{"mon": [["09:00", "17:00"]]}` or the compact text form.

        The compact form, for the CLI and environment variables, is a comma- or
        semicolon-separated list of `<days> <HH:MM>-<HH:MM>` where days is one day
        (`sat`) or a range (`mon-fri`): `"mon-fri 09:00-17:00, sat 10:00-14:00"`.
        """
        if isinstance(value, str):
            return cls._parse_text(value)
        days: dict[str, tuple[Window, ...]] = {}
        for day, windows in value.items():
            key = str(day).lower()[:3]
            if key not in WEEKDAYS:
                raise RosterError(f"unknown weekday {day!r}: use one of {', '.join(WEEKDAYS)}")
            parsed = []
            for pair in windows:
                if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
                    raise RosterError(f"{key}: each window must be [start, end], got {pair!r}")
                parsed.append(_parse_window(pair[0], pair[1], day=key))
            days[key] = (*days.get(key, ()), *sorted(parsed, key=lambda w: w.start))
        return cls(days=days)

    @classmethod
    def _parse_text(cls, text: str) -> WeeklyHours:
        days: dict[str, list[list[str]]] = {}
        for chunk in re.split(r"[;,]", text):
            chunk = chunk.strip()
            if not chunk:
                continue
            match = re.fullmatch(r"([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\S+)-(\S+)", chunk)
            if match is None:
                raise RosterError(
                    f"cannot read hours {chunk!r}: write e.g. "
                    "'mon-fri 09:00-17:00, sat 10:00-14:00'"
                )
            first, last, start, end = match.groups()
            names = [d.lower() for d in (first, last or first)]
            for name in names:
                if name not in WEEKDAYS:
                    raise RosterError(f"unknown weekday {name!r}: use one of {', '.join(WEEKDAYS)}")
            i, j = WEEKDAYS.index(names[0]), WEEKDAYS.index(names[1])
            if j < i:
                raise RosterError(f"day range {first}-{last} runs backwards: write it as mon-fri")
            for day in WEEKDAYS[i : j + 1]:
                days.setdefault(day, []).append([start, end])
        return cls.parse(days)

    def is_open(self, local: dt.datetime) -> bool:
        """True when the local (already converted) datetime falls in a window."""
        day = WEEKDAYS[local.weekday()]
        return any(w.contains(local.time()) for w in self.days.get(day, ()))

    def as_json(self) -> dict[str, list[list[str]]]:
        """The `{"mon": [["09:00", "17:00"]]}` shape stored in the database."""
        return {
            day: [w.as_pair() for w in self.days[day]] for day in WEEKDAYS if self.days.get(day)
        }

    def describe(self) -> str:
        """Compact text form, e.g. `mon 09:00-17:00, tue 09:00-17:00`."""
        parts = [
            f"{day} {'-'.join(w.as_pair())}" for day in WEEKDAYS for w in self.days.get(day, ())
        ]
        return ", ".join(parts) or "closed"


def validate_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RosterError(
            f"{name!r} is not an IANA time zone (e.g. America/New_York, Europe/Berlin)"
        ) from None


# --------------------------------------------------------------------------- supervisors


@dataclass(frozen=True, slots=True)
class Supervisor:
    """One person who can take escalated calls. Build with `Supervisor.create`."""

    name: str
    contact: str
    """E.164 number or SIP URI. PII: never log it unmasked."""
    skills: tuple[Skill, ...]
    timezone: str
    hours: WeeklyHours
    priority: int = 100
    """Lower is tried first."""
    active: bool = True
    transfer_mode: SupervisorTransferMode = "warm"
    """`cold` sends the caller straight over with SIP REFER, no briefing."""
    id: int | None = None

    @classmethod
    def create(
        cls,
        *,
        name: str,
        contact: str,
        skills: Iterable[str],
        timezone: str,
        working_hours: str | Mapping[str, Sequence[Sequence[str]]],
        priority: int = 100,
        active: bool = True,
        transfer_mode: str = "warm",
        id: int | None = None,
        default_region: str = "US",
    ) -> Supervisor:
        """Validate every field; raises `RosterError` naming the field to fix."""
        clean_name = name.strip()
        if not clean_name:
            raise RosterError("name is empty")
        skill_list: list[Skill] = []
        for skill in skills:
            s = skill.strip().lower()
            if s not in SKILLS:
                raise RosterError(f"unknown skill {skill!r}: use {', '.join(SKILLS)}")
            if s not in skill_list:
                skill_list.append(s)  # type: ignore[arg-type]
        if not skill_list:
            raise RosterError(f"give at least one skill ({', '.join(SKILLS)})")
        validate_timezone(timezone)
        if transfer_mode not in ("warm", "cold"):
            raise RosterError(f"transfer mode {transfer_mode!r} must be warm or cold")
        if not -1000 <= int(priority) <= 1000:
            raise RosterError("priority must be between -1000 and 1000 (lower is tried first)")
        return cls(
            name=clean_name,
            contact=validate_contact(contact, default_region=default_region),
            skills=tuple(skill_list),
            timezone=timezone,
            hours=WeeklyHours.parse(working_hours),
            priority=int(priority),
            active=active,
            transfer_mode=transfer_mode,  # type: ignore[arg-type]
            id=id,
        )

    def on_duty(self, now: dt.datetime) -> bool:
        """Active and inside their working hours at `now` (aware datetime, any zone)."""
        if not self.active:
            return False
        return self.hours.is_open(now.astimezone(ZoneInfo(self.timezone)))

    def can_take(self, skill: Skill) -> bool:
        """Has the skill, or is a `general` supervisor (who takes anything as a fallback)."""
        return skill in self.skills or "general" in self.skills

    def as_row(self) -> dict[str, object]:
        """Column values for the `supervisors` table."""
        return {
            "name": self.name,
            "contact": self.contact,
            "skills": list(self.skills),
            "timezone": self.timezone,
            "working_hours": self.hours.as_json(),
            "priority": self.priority,
            "active": self.active,
            "transfer_mode": self.transfer_mode,
        }


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
    """Build a `Supervisor` from a data-layer row (ORM object or mapping).

    Rows were validated when written; a row that no longer validates (edited by hand)
    raises `RosterError` so the caller can skip it with a log line.
    """

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
