"""Checks on the desired state that protobuf parsing cannot make.

All of these run before any API call. Each failure is a `Problem` naming file and field.

Conflict rules follow LiveKit's own (`livekit/protocol` `sip.ValidateTrunks` and
`sip.ValidateDispatchRules`), so what we refuse is what LiveKit would refuse:

- Inbound trunks conflict when they claim the same called number (or both claim "any
  number") and have the same `allowed_numbers` filter: both empty, or one caller number in
  common. A trunk with a caller filter and one without do not conflict (specific wins).
- Dispatch rules conflict when they share a trunk (no trunks = "all trunks", which only
  collides with other all-trunk rules), an `inbound_numbers` entry (none = "any caller"),
  a `numbers` entry (none = "any called number") and the same PIN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import phonenumbers

from callcenter.constants import AGENT_NAME

from .model import Desired, Kind, Problem

_NUMBER_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.INBOUND: ("numbers", "allowed_numbers"),
    Kind.OUTBOUND: ("numbers",),
    Kind.DISPATCH: ("inbound_numbers", "numbers"),
}
_TOP = {Kind.INBOUND: "trunk", Kind.OUTBOUND: "trunk", Kind.DISPATCH: "dispatch_rule"}


def e164_problem(number: str) -> str | None:
    """Why `number` is not a valid E.164 number, or None when it is."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as e:
        return f"{number!r} is not a valid E.164 number ({e._msg})"
    country = phonenumbers.region_code_for_number(parsed) or (
        phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    )
    if not phonenumbers.is_valid_number(parsed):
        return f"{number!r} is not a valid number (parsed country: {country})"
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if canonical != number:
        return f"{number!r} is not in E.164 form; write {canonical!r} (parsed country: {country})"
    return None


def _normalize(number: str) -> str:
    # LiveKit's normalizeNumber: prefix "+" when missing.
    return number if not number or number.startswith("+") else "+" + number


def inbound_conflicts(
    trunks: Iterable[tuple[str, Any]],
) -> list[tuple[str, str, str]]:
    """Pairs of inbound trunks LiveKit would reject: (label_a, label_b, why)."""
    seen: dict[tuple[str, str], str] = {}
    found: list[tuple[str, str, str]] = []
    for label, info in trunks:
        numbers = [_normalize(n) for n in info.numbers] or [""]
        allowed = [_normalize(n) for n in info.allowed_numbers] or [""]
        for number in numbers:
            for caller in allowed:
                other = seen.get((number, caller))
                if other is not None and other != label:
                    what = f"number {number or '<any>'}"
                    what += f" and allowed caller {caller}" if caller else " with no caller filter"
                    found.append((label, other, what))
                else:
                    seen[(number, caller)] = label
    return found


def dispatch_conflicts(
    rules: Iterable[tuple[str, Any]],
    trunk_key: Callable[[str], str] = lambda t: t,
) -> list[tuple[str, str, str]]:
    """Pairs of dispatch rules LiveKit would reject: (label_a, label_b, why)."""
    seen: dict[tuple[str, str, str, str], str] = {}
    found: list[tuple[str, str, str]] = []
    for label, info in rules:
        which = info.rule.WhichOneof("rule")
        pin = getattr(info.rule, which).pin if which else ""
        trunks = [trunk_key(t) for t in info.trunk_ids] or [""]
        callers = [_normalize(n) for n in info.inbound_numbers] or [""]
        called = [_normalize(n) for n in info.numbers] or [""]
        for trunk in trunks:
            for caller in callers:
                for number in called:
                    key = (pin, trunk, caller, number)
                    other = seen.get(key)
                    if other is not None and other != label:
                        why = (
                            f"same trunk ({trunk or 'all trunks'}), caller ({caller or 'any'}), "
                            f"called number ({number or 'any'}) and PIN"
                        )
                        found.append((label, other, why))
                    else:
                        seen[key] = label
    return found


def validate(desired: list[Desired]) -> list[Problem]:
    """Every problem in the desired state (empty list when it is sound)."""
    problems: list[Problem] = []
    by_file = {(d.kind, d.name): d for d in desired}

    # Numbers are E.164.
    for d in desired:
        top = _TOP[d.kind]
        for field in _NUMBER_FIELDS[d.kind]:
            for i, number in enumerate(getattr(d.info, field)):
                why = e164_problem(number)
                if why:
                    problems.append(Problem(d.file, f"{top}.{field}[{i}]", why))

    # Names are unique: trunk names across both trunk kinds (rules refer to them), rule
    # names among rules.
    seen: dict[tuple[str, str], Desired] = {}
    for d in desired:
        group = "rule" if d.kind is Kind.DISPATCH else "trunk"
        first = seen.get((group, d.name))
        if first is not None:
            problems.append(
                Problem(
                    d.file, f"{_TOP[d.kind]}.name", f"{d.name!r} is already used by {first.file}"
                )
            )
        else:
            seen[(group, d.name)] = d

    # Outbound trunks: somewhere to send calls and a number to call from (LiveKit refuses a
    # trunk without either, and an address that is a SIP URI rather than host[:port]).
    for d in desired:
        if d.kind is not Kind.OUTBOUND:
            continue
        address = d.info.address
        if not address:
            problems.append(Problem(d.file, "trunk.address", "is required for an outbound trunk"))
        elif (
            address.lower().startswith(("sip:", "sips:"))
            or any(c in address for c in "@;")
            or "transport=" in address
        ):
            problems.append(
                Problem(
                    d.file,
                    "trunk.address",
                    f"{address!r} must be a host or host:port (e.g. sip.carrier.example or "
                    "203.0.113.7:5060), not a SIP URI; the transport goes in trunk.transport",
                )
            )
        if not d.info.numbers:
            problems.append(
                Problem(d.file, "trunk.numbers", "needs at least one number to call from")
            )

    # Dispatch rules: a rule, known trunk names, and our agent.
    inbound_names = {d.name for d in desired if d.kind is Kind.INBOUND}
    for d in desired:
        if d.kind is not Kind.DISPATCH:
            continue
        if d.info.rule.WhichOneof("rule") is None:
            problems.append(Problem(d.file, "dispatch_rule.rule", "is required"))
        for i, ref in enumerate(d.info.trunk_ids):
            if ref not in inbound_names:
                hint = (
                    " (outbound trunks cannot receive calls)"
                    if ((Kind.OUTBOUND, ref) in by_file)
                    else ""
                )
                problems.append(
                    Problem(
                        d.file,
                        f"dispatch_rule.trunk_ids[{i}]",
                        f"no inbound trunk named {ref!r} in the files{hint}",
                    )
                )
        agents = d.info.room_config.agents
        if not agents:
            problems.append(
                Problem(
                    d.file,
                    "dispatch_rule.room_config.agents",
                    f"must dispatch the agent {AGENT_NAME!r} explicitly",
                )
            )
        for i, agent in enumerate(agents):
            if agent.agent_name != AGENT_NAME:
                problems.append(
                    Problem(
                        d.file,
                        f"dispatch_rule.room_config.agents[{i}].agent_name",
                        f"{agent.agent_name!r} is not the worker's agent name {AGENT_NAME!r}",
                    )
                )

    # LiveKit's own conflict rules, among the files.
    files = {(d.kind, d.name): d.file for d in desired}
    for a, b, why in inbound_conflicts((d.name, d.info) for d in desired if d.kind is Kind.INBOUND):
        problems.append(
            Problem(
                files[(Kind.INBOUND, a)],
                "trunk.numbers",
                f"inbound trunk {a!r} conflicts with {b!r} ({files[(Kind.INBOUND, b)]}): {why}",
            )
        )
    for a, b, why in dispatch_conflicts(
        (d.name, d.info) for d in desired if d.kind is Kind.DISPATCH
    ):
        problems.append(
            Problem(
                files[(Kind.DISPATCH, a)],
                "dispatch_rule",
                f"dispatch rule {a!r} matches the same calls as {b!r} "
                f"({files[(Kind.DISPATCH, b)]}): {why}",
            )
        )
    return problems
