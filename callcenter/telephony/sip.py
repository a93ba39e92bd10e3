"""The caller's side of a call, read from the participant LiveKit put in the room.

LiveKit SIP sets `sip.*` attributes on the participant it creates for a phone call.
`CallInfo.from_participant` turns them into one typed value with E.164 numbers; a
non-SIP participant (a WebRTC caller, e.g. a web widget) yields a `CallInfo` with
`is_sip=False` and no numbers, so the rest of the call path works the same for both:
such a caller can still be warm-transferred (the supervisor is dialled into their room),
only SIP REFER needs a SIP leg. The terminal console has no room at all (`in_room=False`):
its transfers are simulated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from livekit import rtc

from callcenter.telephony.numbers import try_e164

ATTR_CALL_ID = "sip.callID"
ATTR_CALLER_NUMBER = "sip.phoneNumber"
ATTR_DIALLED_NUMBER = "sip.trunkPhoneNumber"
ATTR_TRUNK_ID = "sip.trunkID"
ATTR_RULE_ID = "sip.ruleID"
ATTR_CALL_STATUS = "sip.callStatus"

MAX_CALL_ID = 128
"""The call record's key column; a longer SIP call id is shortened with a digest so it stays
unique (`call_id_of`)."""


def call_id_of(raw: str) -> str:
    """`raw` as a call-record key: itself when it fits, else a prefix and a digest."""
    if len(raw) <= MAX_CALL_ID:
        return raw
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"{raw[: MAX_CALL_ID - 25]}~{digest}"


@dataclass(frozen=True, slots=True)
class CallInfo:
    """Who called, which number they dialled, and the ids that tie logs together."""

    call_id: str
    """SIP call id, or the room name for a non-SIP call: the call record's key."""
    room_name: str
    participant_identity: str
    """Identity of the caller's participant: what transfers and hang-up act on."""
    is_sip: bool
    caller_e164: str | None = None
    """Caller ID as E.164; None when withheld, malformed or not a phone call. PII."""
    dialled_e164: str | None = None
    """The number the caller dialled (which line/brand they reached)."""
    trunk_id: str | None = None
    rule_id: str | None = None
    in_room: bool = True
    """False for the terminal console: there is no room to dial a supervisor into."""

    @classmethod
    def from_attributes(
        cls,
        attributes: Mapping[str, str],
        *,
        room_name: str,
        participant_identity: str,
        is_sip: bool,
        default_region: str = "US",
    ) -> CallInfo:
        """Build from raw participant attributes; never raises on odd values."""
        call_id = call_id_of(attributes.get(ATTR_CALL_ID) or room_name)
        return cls(
            call_id=call_id,
            room_name=room_name,
            participant_identity=participant_identity,
            is_sip=is_sip,
            caller_e164=try_e164(attributes.get(ATTR_CALLER_NUMBER), default_region=default_region),
            dialled_e164=try_e164(
                attributes.get(ATTR_DIALLED_NUMBER), default_region=default_region
            ),
            trunk_id=attributes.get(ATTR_TRUNK_ID) or None,
            rule_id=attributes.get(ATTR_RULE_ID) or None,
        )

    @classmethod
    def from_participant(
        cls, participant: rtc.RemoteParticipant, *, room_name: str, default_region: str = "US"
    ) -> CallInfo:
        """Read a live participant: SIP attributes when it is a phone call."""
        is_sip = participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP
        return cls.from_attributes(
            participant.attributes if is_sip else {},
            room_name=room_name,
            participant_identity=participant.identity,
            is_sip=is_sip,
            default_region=default_region,
        )

    @classmethod
    def for_console(cls, *, caller_e164: str | None, call_id: str) -> CallInfo:
        """A simulated call in the terminal: no SIP leg, so transfers are simulated."""
        return cls(
            call_id=call_id,
            room_name=call_id,
            participant_identity="console-caller",
            is_sip=False,
            caller_e164=caller_e164,
            in_room=False,
        )
