"""SIP participant attributes → `CallInfo`, directly and through a fake job's room."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from livekit import rtc
from livekit.agents import get_job_context
from livekit.agents.testing import fake_job_context

from callcenter.accounts import DatabaseAccounts
from callcenter.call import identify_caller
from callcenter.data import AccountLockouts, Database
from callcenter.telephony.sip import CallInfo

SIP_ATTRIBUTES = {
    "sip.callID": "SCL_abc123",
    "sip.phoneNumber": "+14155550142",
    "sip.trunkPhoneNumber": "+18005550100",
    "sip.trunkID": "ST_inbound",
    "sip.ruleID": "SDR_rule",
    "sip.callStatus": "active",
}


def _participant(kind: rtc.ParticipantKind.ValueType, attributes: dict[str, str]) -> object:
    """Duck-typed `rtc.RemoteParticipant`: what `from_participant` reads."""
    return SimpleNamespace(identity="sip_+14155550142", kind=kind, attributes=attributes)


def test_full_sip_attributes() -> None:
    info = CallInfo.from_attributes(
        SIP_ATTRIBUTES, room_name="call-1", participant_identity="sip_caller", is_sip=True
    )
    assert info == CallInfo(
        call_id="SCL_abc123",
        room_name="call-1",
        participant_identity="sip_caller",
        is_sip=True,
        caller_e164="+14155550142",
        dialled_e164="+18005550100",
        trunk_id="ST_inbound",
        rule_id="SDR_rule",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4155550142", "+14155550142"),  # national notation, default region US
        ("tel:+12125550199", "+12125550199"),
        ("sip:+12125550199@pbx.example.com", "+12125550199"),
        ("anonymous", None),  # withheld
        ("", None),
        ("+1555", None),  # malformed
        ("not a number", None),
    ],
)
def test_caller_number_forms(raw: str, expected: str | None) -> None:
    info = CallInfo.from_attributes(
        {**SIP_ATTRIBUTES, "sip.phoneNumber": raw},
        room_name="r",
        participant_identity="p",
        is_sip=True,
    )
    assert info.caller_e164 == expected


def test_default_region_applies_to_national_numbers() -> None:
    info = CallInfo.from_attributes(
        {"sip.phoneNumber": "020 7946 0018"},
        room_name="r",
        participant_identity="p",
        is_sip=True,
        default_region="GB",
    )
    assert info.caller_e164 == "+442079460018"


def test_missing_call_id_falls_back_to_room_name() -> None:
    info = CallInfo.from_attributes({}, room_name="call-x", participant_identity="p", is_sip=True)
    assert (info.call_id, info.caller_e164, info.trunk_id, info.rule_id) == (
        "call-x",
        None,
        None,
        None,
    )


def test_non_sip_participant_ignores_sip_attributes() -> None:
    participant = _participant(rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD, SIP_ATTRIBUTES)
    info = CallInfo.from_participant(participant, room_name="web-room")  # type: ignore[arg-type]
    assert info.is_sip is False
    assert (info.call_id, info.caller_e164, info.dialled_e164) == ("web-room", None, None)


async def test_sip_participant_through_fake_job_context(db: Database) -> None:
    """What the worker's entrypoint does: the job's room name + the participant → a known
    customer."""
    room = rtc.Room()
    with fake_job_context(room=room) as job:
        assert get_job_context() is job
        participant = _participant(rtc.ParticipantKind.PARTICIPANT_KIND_SIP, SIP_ATTRIBUTES)
        info = CallInfo.from_participant(
            participant,  # type: ignore[arg-type]
            room_name=job.job.room.name,
            default_region="US",
        )
    assert info.is_sip and info.room_name == "fake-room"
    assert info.participant_identity == "sip_+14155550142"
    caller = await identify_caller(DatabaseAccounts(db, AccountLockouts(db)), info)
    assert caller is not None and caller.first_name == "Maya"


async def test_withheld_number_identifies_nobody(db: Database) -> None:
    participant = _participant(
        rtc.ParticipantKind.PARTICIPANT_KIND_SIP, {**SIP_ATTRIBUTES, "sip.phoneNumber": "anonymous"}
    )
    info = CallInfo.from_participant(participant, room_name="r")  # type: ignore[arg-type]
    assert info.caller_e164 is None
    assert await identify_caller(DatabaseAccounts(db, AccountLockouts(db)), info) is None
