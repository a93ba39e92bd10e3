"""Who takes escalated calls, and when: the `Supervisor` value and `WeeklyHours`.

One value, one validator, one on-duty rule, used by every reader and writer:

- `Supervisor.create` is the only way to build a supervisor (E.164 number or SIP URI,
  skills, IANA time zone, weekly hours, priority, warm/cold); it raises `RosterError`
  naming the field to fix. The data layer's `SupervisorStore` stores and returns these
  values, the `callcenter supervisors` CLI builds them, the escalation roster picks
  among them.
- `Supervisor.on_duty(now)`: active, and `now` falls in one of their windows in their own
  time zone.
- `WeeklyHours.parse` is the one reader of opening hours (`mon-fri 09:00-17:00, sat
  10:00-14:00`, or the stored `{"mon": [["09:00", "17:00"]]}` form), for supervisors'
  shifts and for the contact center's business hours alike.

Pure values: no database, no LiveKit, no settings, so configuration can validate hours
with the same rules at start-up.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.telephony.numbers import InvalidPhoneNumber, to_e164
from callcenter.vocabulary import TransferMode

__all__ = [
    "SKILLS",
    "WEEKDAYS",
    "RosterError",
    "Skill",
    "Supervisor",
    "SupervisorTransferMode",
    "WeeklyHours",
    "Window",
    "is_sip_uri",
    "validate_contact",
    "validate_name",
    "validate_timezone",
]

Skill = Literal["orders", "billing", "general"]
SKILLS: tuple[Skill, ...] = ("orders", "billing", "general")
SupervisorTransferMode = TransferMode
"""How a supervisor takes calls (`callcenter.vocabulary.TransferMode`, defined there once)."""
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

NAME_MAX = 120
"""Longest supervisor name (the column holds 200; a name is spoken to callers)."""
NAME_MAX_WORDS = 6
_NAME_PUNCTUATION = frozenset(" '’-.")
_INSTRUCTION_WORDS = frozenset(
    {
        "ignore", "instruction", "instructions", "prompt", "system", "assistant", "disregard",
        "previous", "pin", "password", "say", "tell", "reveal", "transfer", "connect",
    }
)  # fmt: skip
"""Words that make a "name" read as an instruction to the model that speaks it."""


def validate_name(raw: str) -> str:
    """A supervisor's name as the agent will say it: 1-120 characters of letters (any
    script), spaces, apostrophes, hyphens and periods, at most six words, no control
    characters and nothing that reads as an instruction. Raises `RosterError`."""
    name = " ".join(str(raw).split()) if not any(_control(c) for c in str(raw)) else None
    if name is None:
        raise RosterError("name contains control characters (newlines, escapes): type it plainly")
    if not name:
        raise RosterError("name is empty")
    if len(name) > NAME_MAX:
        raise RosterError(f"name is {len(name)} characters: at most {NAME_MAX}")
    odd = sorted({c for c in name if not (c.isalpha() or _mark(c) or c in _NAME_PUNCTUATION)})
    if odd:
        shown = " ".join(repr(c) for c in odd[:5])
        raise RosterError(
            f"name may hold letters, spaces, apostrophes, hyphens and periods only (not {shown})"
        )
    words = name.replace(".", " ").split()
    if len(words) > NAME_MAX_WORDS:
        raise RosterError(f"name has {len(words)} words: at most {NAME_MAX_WORDS}")
    if {w.lower().strip("'’-") for w in words} & _INSTRUCTION_WORDS:
        raise RosterError("name reads like an instruction, not a person's name")
    return name


def _control(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")


def _mark(c: str) -> bool:
    return unicodedata.category(c).startswith("M")


class RosterError(ValueError):
    """A supervisor field or an opening-hours value that does not validate; the message
    says what to fix (and may quote the value: show it to the operator, never log it).
    `field` names the `Supervisor.create` argument at fault, when known (safe to log)."""

    field: str | None = None


@contextmanager
def _about(field_name: str) -> Iterator[None]:
    """Tag a `RosterError` raised inside with the field it is about."""
    try:
        yield
    except RosterError as exc:
        if exc.field is None:
            exc.field = field_name
        raise


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
    if len(value) > 255:
        raise RosterError(f"contact is {len(value)} characters: at most 255")
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
        if not isinstance(value, Mapping):
            raise RosterError(f"working hours must map day -> [[start, end], ...], got {value!r}")
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
            days[key] = tuple(sorted((*days.get(key, ()), *parsed), key=lambda w: w.start))
        for key, kept in days.items():
            for before, after in itertools.pairwise(kept):
                start = after.start.hour * 60 + after.start.minute
                if start < before.end_minutes:
                    raise RosterError(
                        f"{key}: windows {'-'.join(before.as_pair())} and "
                        f"{'-'.join(after.as_pair())} overlap: merge them into one"
                    )
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
    transfer_mode: TransferMode = TransferMode.WARM
    """`cold` sends the caller straight over with SIP REFER, no briefing."""
    id: int | None = None
    """The database id once stored (None for a value not yet added)."""

    @classmethod
    def create(
        cls,
        *,
        name: str,
        contact: str,
        skills: Iterable[str],
        timezone: str,
        working_hours: str | Mapping[str, Sequence[Sequence[str]]] | WeeklyHours,
        priority: int = 100,
        active: bool = True,
        transfer_mode: str = "warm",
        id: int | None = None,
        default_region: str = "US",
    ) -> Supervisor:
        """Validate every field; raises `RosterError` naming the field to fix."""
        with _about("name"):
            clean_name = validate_name(name)
        with _about("skills"):
            skill_list: list[Skill] = []
            for skill in skills:
                s = str(skill).strip().lower()
                if s not in SKILLS:
                    raise RosterError(f"unknown skill {skill!r}: use {', '.join(SKILLS)}")
                if s not in skill_list:
                    skill_list.append(s)  # type: ignore[arg-type]
            if not skill_list:
                raise RosterError(f"give at least one skill ({', '.join(SKILLS)})")
        with _about("timezone"):
            validate_timezone(timezone)
        with _about("transfer_mode"):
            try:
                mode = TransferMode(str(getattr(transfer_mode, "value", transfer_mode)))
            except ValueError:
                raise RosterError(f"transfer mode {transfer_mode!r} must be warm or cold") from None
        with _about("priority"):
            try:
                rank = int(priority)
            except (TypeError, ValueError):
                rank = None
            if rank is None or isinstance(priority, bool) or not -1000 <= rank <= 1000:
                raise RosterError("priority must be between -1000 and 1000 (lower is tried first)")
        with _about("working_hours"):
            hours = (
                working_hours
                if isinstance(working_hours, WeeklyHours)
                else WeeklyHours.parse(working_hours)
            )
            if not any(hours.days.values()):
                raise RosterError(
                    "working hours are empty: give at least one window "
                    "(e.g. 'mon-fri 09:00-17:00'), or make the supervisor inactive"
                )
        with _about("contact"):
            contact = validate_contact(contact, default_region=default_region)
        return cls(
            name=clean_name,
            contact=contact,
            skills=tuple(skill_list),
            timezone=timezone,
            hours=hours,
            priority=rank,
            active=bool(active),
            transfer_mode=mode,
            id=id,
        )

    @property
    def is_sip_uri(self) -> bool:
        """True when the contact is a SIP URI (dialled as such, not over the PSTN)."""
        return is_sip_uri(self.contact)

    def on_duty(self, now: dt.datetime) -> bool:
        """Active and inside their working hours at `now` (aware datetime, any zone)."""
        if not self.active:
            return False
        return self.hours.is_open(now.astimezone(ZoneInfo(self.timezone)))

    def can_take(self, skill: Skill) -> bool:
        """Has the skill, or is a `general` supervisor (who takes anything as a fallback)."""
        return skill in self.skills or "general" in self.skills

    def as_row(self) -> dict[str, object]:
        """Column values for the `supervisors` table (everything but the id)."""
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
