"""Property-based tests (hypothesis) on every parser a caller or an operator can reach: spoken
digits, SIP attributes, DTMF bursts and console lines, phone numbers, amounts, dispatch-rule
files, opening hours and holidays, supervisor names. Each must either give a well-formed
value or refuse with its own documented error: never crash, hang or echo unbounded input."""

from __future__ import annotations

import asyncio
import json
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.business_hours import BusinessHours, parse_holidays
from callcenter.console import ScriptError, parse_line
from callcenter.money import format_cents, parse_amount_to_cents
from callcenter.provisioning.spec import load_file
from callcenter.speech import digit_groups, digits_in
from callcenter.staff import RosterError, WeeklyHours, validate_name
from callcenter.telephony.dtmf import KeypadRouter, keypad_turn
from callcenter.telephony.numbers import InvalidPhoneNumber, mask, to_e164, try_e164
from callcenter.telephony.sip import MAX_CALL_ID, CallInfo

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_spoken = st.lists(
    st.sampled_from(
        ["one", "two", "oh", "zero", "for", "to", "ate", "nine", "order", "my", "is", "1001",
         "4", "-", ",", "seven", "twenty", "double", "thousand", " "]
    ),
    max_size=30,
).map(" ".join)  # fmt: skip

# --------------------------------------------------------------------------- spoken digits


@FUZZ
@given(st.one_of(st.text(max_size=300), _spoken))
def test_spoken_digits_are_digits_only(text: str) -> None:
    digits = digits_in(text)
    assert digits == "" or digits.isdigit()
    assert "".join(digit_groups(text)) == digits


@FUZZ
@given(st.lists(st.integers(0, 9), min_size=1, max_size=20))
def test_digits_said_one_by_one_come_back(ds: list[int]) -> None:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    assert digits_in(" ".join(words[d] for d in ds)) == "".join(map(str, ds))


# --------------------------------------------------------------------------- SIP attributes


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            ["sip.callID", "sip.phoneNumber", "sip.trunkPhoneNumber", "sip.trunkID",
             "sip.ruleID", "other"]
        ),
        st.one_of(st.text(max_size=400), st.from_regex(r"\+?[0-9 ()-]{0,20}", fullmatch=True)),
    ),
    st.text(min_size=1, max_size=200),
)  # fmt: skip
def test_sip_attributes_never_raise_and_numbers_are_e164(
    attributes: dict[str, str], room: str
) -> None:
    info = CallInfo.from_attributes(
        attributes, room_name=room, participant_identity="p", is_sip=True
    )
    assert info.call_id and len(info.call_id) <= MAX_CALL_ID
    for number in (info.caller_e164, info.dialled_e164):
        assert number is None or (number.startswith("+") and number[1:].isdigit())


def test_a_long_call_id_stays_unique() -> None:
    a = CallInfo.from_attributes({"sip.callID": "x" * 300 + "a"}, room_name="r",
                                 participant_identity="p", is_sip=True)  # fmt: skip
    b = CallInfo.from_attributes({"sip.callID": "x" * 300 + "b"}, room_name="r",
                                 participant_identity="p", is_sip=True)  # fmt: skip
    assert a.call_id != b.call_id and len(a.call_id) == len(b.call_id) == MAX_CALL_ID


# --------------------------------------------------------------------------- phone numbers


@FUZZ
@given(st.one_of(st.text(max_size=60), st.from_regex(r"(tel:|sip:)?\+?[0-9 ().-]{0,25}(@x)?")))
def test_phone_numbers_parse_or_refuse(raw: str) -> None:
    try:
        e164 = to_e164(raw)
    except InvalidPhoneNumber:
        assert try_e164(raw) is None
        return
    assert e164.startswith("+") and e164[1:].isdigit() and len(e164) <= 16
    assert try_e164(raw) == e164
    masked = mask(e164)
    assert len(masked) == len(e164) and sum(c.isdigit() for c in masked) <= 3


# --------------------------------------------------------------------------- amounts


@FUZZ
@given(
    st.one_of(
        st.text(max_size=80), st.from_regex(r"\$?[0-9,]{0,12}(\.[0-9]{0,3})?( ?(usd|dollars))?")
    )
)
def test_amounts_parse_or_refuse(text: str) -> None:
    try:
        cents = parse_amount_to_cents(text)
    except ValueError:
        return
    assert isinstance(cents, int) and cents >= 0


@FUZZ
@given(st.integers(0, 10**9))
def test_formatted_amounts_parse_back(cents: int) -> None:
    assert parse_amount_to_cents(format_cents(cents)) == cents


# --------------------------------------------------------------------------- DTMF


@FUZZ
@given(st.text(max_size=80))
def test_console_lines_parse_or_name_the_line(line: str) -> None:
    try:
        parsed = parse_line(line, line_no=3)
    except ScriptError as exc:
        assert str(exc).startswith("line 3: ")
        return
    if parsed is not None:
        kind, payload = parsed
        assert kind in ("say", "dtmf", "hangup")
        if kind == "dtmf":
            assert payload and set(payload) <= set("0123456789*#")


class _Session:
    """What the keypad router uses of a session: no turn detector, a step expecting free
    text (so only `#` or the burst gap ends a keyed value)."""

    turn_detection = None

    def __init__(self) -> None:
        self.current_agent = object()
        self.turns: list[str] = []

    def interrupt(self) -> None:
        pass

    def clear_user_turn(self) -> None:
        pass

    def generate_reply(self, *, user_input: str) -> None:
        self.turns.append(user_input)


class _Key:
    def __init__(self, digit: str) -> None:
        self.digit = digit


@FUZZ
@given(st.lists(st.text(alphabet="0123456789*#", min_size=1, max_size=30), max_size=5))
def test_dtmf_bursts_become_one_turn_each(bursts: list[str]) -> None:
    # hypothesis runs plain functions: the router needs a running loop, so one per example
    asyncio.run(_bursts(bursts))


async def _bursts(bursts: list[str]) -> None:
    session = _Session()
    keys: list[None] = []
    router = KeypadRouter(session, burst_gap_s=60, on_key=lambda: keys.append(None))  # type: ignore[arg-type]
    for burst in bursts:
        for digit in burst:
            router.on_dtmf(_Key(digit))  # type: ignore[arg-type]
        router.flush()
    # `#` ends a keyed value at once ("that's all") and is not part of it
    expected = [keypad_turn(part) for b in bursts for part in b.split("#") if part]
    assert session.turns == expected
    assert len(keys) == sum(len(b) for b in bursts)  # every key, `#` too, resets the idle timer


# --------------------------------------------------------------------------- hours


_hours = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.tuples(
            st.sampled_from(["mon", "tue", "sun", "mon-fri", "fri-mon", "xyz", "sat-sun"]),
            st.from_regex(r"[0-2][0-9]:[0-5][0-9]", fullmatch=True),
            st.from_regex(r"[0-2][0-9]:[0-5][0-9]", fullmatch=True),
        ),
        max_size=4,
    ).map(lambda ws: ", ".join(f"{d} {a}-{b}" for d, a, b in ws)),
)


@FUZZ
@given(_hours)
def test_hours_parse_or_say_what_to_fix(text: str) -> None:
    try:
        hours = WeeklyHours.parse(text)
    except RosterError as exc:
        assert str(exc)
        return
    for windows in hours.days.values():
        ends = [(w.start.hour * 60 + w.start.minute, w.end_minutes) for w in windows]
        assert all(a < b for a, b in ends)
        assert all(ends[i][1] <= ends[i + 1][0] for i in range(len(ends) - 1))  # no overlap
    assert WeeklyHours.parse(hours.as_json()) == hours


@FUZZ
@given(st.text(max_size=60), st.text(max_size=40))
def test_holidays_and_business_hours_parse_or_refuse(holidays: str, zone: str) -> None:
    try:
        parse_holidays(holidays)
        BusinessHours.parse(timezone=zone or "UTC", hours="mon 09:00-17:00", holidays=holidays)
    except RosterError:
        pass


@FUZZ
@given(st.text(max_size=300))
def test_supervisor_names_are_short_and_plain(raw: str) -> None:
    try:
        name = validate_name(raw)
    except RosterError:
        return
    assert 0 < len(name) <= 120
    assert all(c.isalpha() or unicodedata.category(c)[0] == "M" or c in " '’-." for c in name)
    assert "\n" not in name and "\x1b" not in name


# --------------------------------------------------------------------------- dispatch rules

_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                ["trunk", "rule", "name", "numbers", "trunk_ids", "metadata", "address",
                 "dispatch_rule", "room_config", "agents", "agent_name", "x", "${NOPE}"]
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["inbound-a.json", "outbound-a.json", "dispatch-a.json", "x.json"]), _json)
def test_dispatch_rule_files_load_or_name_the_problem(name: str, data: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(json.dumps(data))
        desired, problems = load_file(path, name, {})
    assert (desired is None) == bool(problems)
    for problem in problems:
        assert problem.file == name and str(problem.message)
