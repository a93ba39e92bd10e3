"""Every LiveKit server API call a transfer makes, in one small class.

`LiveKitTransfers` wraps `livekit.api.LiveKitAPI` (Twirp): dial a supervisor
(CreateSIPParticipant, waiting for the answer), move them into the caller's room
(MoveParticipant, LiveKit Cloud only), control who hears whom in one room
(GetParticipant + UpdateSubscriptions and UpdateParticipant's can_subscribe, for self-hosted
LiveKit), hang up a leg
(RemoveParticipant), drop a consult room (DeleteRoom) and cold-transfer the caller
(TransferSIPParticipant, SIP REFER).

A supervisor whose contact is a SIP URI (`sip:lead@pbx.example.com:5060`) is dialled at that
host directly: LiveKit refuses a full URI in `sip_call_to` ("SipCallTo should be a phone number
or SIP user, not a full SIP URI", `invalid_argument`), so the user part becomes `sip_call_to`
and the host/port/transport an inline outbound config (`CreateSIPParticipantRequest.trunk`)
instead of the carrier trunk (whose credentials belong to the carrier, not to that PBX).

Failures come back as `TransferFailed` carrying a `TransferOutcome`: the SIP status
LiveKit puts in the error metadata (`sip_status_code`) or the REFER outcome decides
busy / no answer / declined / failed. Tests drive this class against the Twirp
emulator in `tests/support/emulators/livekit.py` with the real client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from livekit import api
from livekit.protocol.models import TrackType
from livekit.protocol.sip import SIPTransferReason, SIPTransferStatus

from callcenter.telephony.numbers import mask
from callcenter.vocabulary import TransferOutcome

log = logging.getLogger("callcenter.escalation")

MAX_POLL_INTERVAL_S = 0.5
"""`wait_audio_tracks`: the longest pause between two GetParticipant polls."""
NO_ANSWER_CODES = frozenset({408, 480, 487})
"""Request timeout, temporarily unavailable, request terminated (ring timeout)."""
BUSY_CODES = frozenset({486, 600})
DECLINED_CODES = frozenset({603, 403})


class TransferFailed(Exception):
    """A transfer step failed; `outcome` says how, `detail` is safe to record (no PII)."""

    def __init__(self, outcome: TransferOutcome, detail: str, *, sip_status: int | None = None):
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.sip_status = sip_status


def outcome_for_sip_status(code: int | None) -> TransferOutcome:
    """Map a SIP final response code to what happened from the caller's point of view."""
    if code is None:
        return TransferOutcome.FAILED
    if code in NO_ANSWER_CODES:
        return TransferOutcome.NO_ANSWER
    if code in BUSY_CODES:
        return TransferOutcome.BUSY
    if code in DECLINED_CODES:
        return TransferOutcome.DECLINED
    return TransferOutcome.FAILED


def failure_from_error(err: Exception, *, step: str) -> TransferFailed:
    """Turn a Twirp/SIP/transport error into a `TransferFailed` with an outcome."""
    if isinstance(err, TransferFailed):
        return err
    if isinstance(err, api.SipCallError):
        reason = err.sip_transfer_reason
        code = err.sip_status_code
        if reason == "STR_RINGING_TIMEOUT":
            outcome = TransferOutcome.NO_ANSWER
        elif reason == "STR_REJECTED" and code is None:
            outcome = TransferOutcome.DECLINED
        else:
            outcome = outcome_for_sip_status(code)
        detail = f"{step}: SIP {code or ''} {err.sip_status or reason or ''}".strip()
        return TransferFailed(outcome, " ".join(detail.split()), sip_status=code)
    if isinstance(err, api.TwirpError):
        if err.code == api.TwirpErrorCode.DEADLINE_EXCEEDED:
            return TransferFailed(TransferOutcome.NO_ANSWER, f"{step}: no answer (deadline)")
        if err.code == api.TwirpErrorCode.CANCELED:
            # livekit-server + livekit-sip answer a callee who never picks up within the
            # ringing timeout with `canceled` ("sip request timed out"), no SIP status; an
            # unreachable trunk address gives exactly the same answer (tests/e2e)
            return TransferFailed(TransferOutcome.NO_ANSWER, f"{step}: no answer (timed out)")
        return TransferFailed(TransferOutcome.FAILED, f"{step}: server error {err.code}")
    if isinstance(err, asyncio.TimeoutError | TimeoutError):
        return TransferFailed(TransferOutcome.NO_ANSWER, f"{step}: timed out")
    return TransferFailed(TransferOutcome.FAILED, f"{step}: {type(err).__name__}")


@dataclass(frozen=True, slots=True)
class SipUriTarget:
    """Where a `sip:user@host[:port][;transport=x]` contact is dialled."""

    user: str
    hostport: str
    transport: api.SIPTransport = api.SIPTransport.SIP_TRANSPORT_AUTO


_TRANSPORTS = {
    "udp": api.SIPTransport.SIP_TRANSPORT_UDP,
    "tcp": api.SIPTransport.SIP_TRANSPORT_TCP,
    "tls": api.SIPTransport.SIP_TRANSPORT_TLS,
}


def sip_uri_target(contact: str) -> SipUriTarget | None:
    """Split a SIP URI contact for CreateSIPParticipant; None for a phone number.

    The roster has already validated the URI (`escalation.roster.validate_contact`).
    """
    scheme, _, rest = contact.partition(":")
    if scheme.lower() not in ("sip", "sips") or "@" not in rest:
        return None
    address, *params = rest.split(";")
    user, _, hostport = address.rpartition("@")
    transport = api.SIPTransport.SIP_TRANSPORT_TLS if scheme.lower() == "sips" else None
    for param in params:
        name, _, value = param.partition("=")
        if name.lower() == "transport" and value.lower() in _TRANSPORTS:
            transport = _TRANSPORTS[value.lower()]
    return SipUriTarget(
        user=user,
        hostport=hostport,
        transport=transport if transport is not None else api.SIPTransport.SIP_TRANSPORT_AUTO,
    )


SIP_URI_FROM_USER = "callcenter"
"""The From user when a SIP-URI supervisor is dialled and no `LIVEKIT_SIP_NUMBER` is set
(LiveKit needs one: without a trunk it has no number to fall back to)."""


@dataclass(frozen=True, slots=True)
class DialedLeg:
    """A supervisor leg that answered: where it is and who it is."""

    room: str
    identity: str
    sip_call_id: str = ""


ApiSource = Callable[[], api.LiveKitAPI]


class LiveKitTransfers:
    """The Twirp operations of warm and cold transfers, with outcome mapping.

    `api_source` returns the client to use (production: the job context's
    `JobContext.api`; tests: a `LiveKitAPI` pointed at the emulator). It is called on
    each operation so the class can be built before a job exists.
    """

    def __init__(
        self,
        api_source: ApiSource,
        *,
        trunk_id: str | None,
        caller_id_number: str | None = None,
        ringing_timeout_s: float = 25.0,
    ) -> None:
        self._api_source = api_source
        self._trunk_id = trunk_id
        self._caller_id_number = caller_id_number
        self._ringing_timeout_s = ringing_timeout_s

    @property
    def lk(self) -> api.LiveKitAPI:
        return self._api_source()

    async def dial(
        self,
        *,
        room: str,
        identity: str,
        contact: str,
        display_name: str,
        headers: dict[str, str] | None = None,
    ) -> DialedLeg:
        """Dial `contact` on the outbound trunk into `room`; returns once answered.

        Raises `TransferFailed` (BUSY / NO_ANSWER / DECLINED / FAILED) when the call is
        not answered; cancelling the awaiting task abandons the request (the caller of
        this method must also `hang_up` the identity: the SIP leg may still connect).
        A SIP URI `contact` is dialled at its own host (module docstring), not on the trunk.
        """
        target = sip_uri_target(contact)
        if target is None and not self._trunk_id:
            raise TransferFailed(
                TransferOutcome.FAILED, "dial: no outbound trunk (set LIVEKIT_SIP_OUTBOUND_TRUNK)"
            )
        request = api.CreateSIPParticipantRequest(
            room_name=room,
            participant_identity=identity,
            participant_name=display_name,
            wait_until_answered=True,
            krisp_enabled=True,
            play_dialtone=False,
            headers=headers or {},  # X-Callcenter-Call: the console's screen-pop token
        )
        if target is None:
            request.sip_trunk_id = self._trunk_id or ""
            request.sip_call_to = contact
            request.sip_number = self._caller_id_number or ""
        else:
            request.sip_call_to = target.user
            request.trunk.hostname = target.hostport
            request.trunk.transport = target.transport
            request.sip_number = self._caller_id_number or SIP_URI_FROM_USER
        request.ringing_timeout.FromNanoseconds(int(self._ringing_timeout_s * 1e9))
        log.info(
            "dialling supervisor",
            extra={"room": room, "identity": identity, "contact": _mask_contact(contact)},
        )
        try:
            info = await self.lk.sip.create_sip_participant(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = failure_from_error(exc, step="dial")
            log.info(
                "supervisor leg failed",
                extra={"room": room, "outcome": failure.outcome.value, "detail": failure.detail},
            )
            raise failure from exc
        return DialedLeg(room=room, identity=identity, sip_call_id=info.sip_call_id)

    async def move(self, *, from_room: str, identity: str, to_room: str) -> None:
        """MoveParticipant (LiveKit Cloud): bring the supervisor into the caller's room."""
        try:
            await self.lk.room.move_participant(
                api.MoveParticipantRequest(
                    room=from_room, identity=identity, destination_room=to_room
                )
            )
        except Exception as exc:
            raise failure_from_error(exc, step="move") from exc

    async def audio_track_sids(self, *, room: str, identity: str) -> list[str]:
        """The audio tracks `identity` publishes (GetParticipant); [] when absent."""
        try:
            info = await self.lk.room.get_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )
        except api.TwirpError as exc:
            if exc.code == api.TwirpErrorCode.NOT_FOUND:
                return []
            raise failure_from_error(exc, step="get_participant") from exc
        return [t.sid for t in info.tracks if t.type == TrackType.AUDIO]

    async def wait_audio_tracks(
        self, *, room: str, identity: str, timeout_s: float, interval_s: float = 0.05
    ) -> list[str]:
        """The audio tracks `identity` publishes, polled until there is one or `timeout_s`
        passes ([] then). A phone leg's track counts as published once its first media
        reaches the server, which can be a second after the dial was answered.

        This class has only the server API, no room, so it polls; the interval doubles up
        to `MAX_POLL_INTERVAL_S` (a GetParticipant every 50 ms for seconds loaded the
        server for nothing). A caller in the room waits for its `track_published` event
        instead (`WarmTransfer._supervisor_audio`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            sids = await self.audio_track_sids(room=room, identity=identity)
            left = deadline - loop.time()
            if sids or left <= 0:
                return sids
            await asyncio.sleep(min(interval_s, left))
            interval_s = min(interval_s * 2, MAX_POLL_INTERVAL_S)

    async def set_can_subscribe(self, *, room: str, identity: str, allowed: bool) -> None:
        """UpdateParticipant: let `identity` hear anything at all, or nothing.

        While not allowed, the server delivers no track to them, whatever they ask for; once
        allowed again, it restores every subscription they still want (an UpdateSubscriptions
        made meanwhile included). The participant's other permissions are kept as they are.
        """
        try:
            info = await self.lk.room.get_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )
            permission = api.ParticipantPermission()
            permission.CopyFrom(info.permission)
            permission.can_subscribe = allowed
            await self.lk.room.update_participant(
                api.UpdateParticipantRequest(room=room, identity=identity, permission=permission)
            )
        except Exception as exc:
            raise failure_from_error(exc, step="update_participant") from exc

    async def set_hearing(
        self, *, room: str, listener: str, speakers: Iterable[str], hear: bool
    ) -> list[str]:
        """Make `listener` hear (or stop hearing) the audio of `speakers` in `room`.

        Self-hosted merge: uses UpdateSubscriptions on the listener with the speakers'
        audio track sids (read through GetParticipant). Returns the track sids changed.
        """
        sids: list[str] = []
        for speaker in speakers:
            sids += await self.audio_track_sids(room=room, identity=speaker)
        if not sids:
            return []
        try:
            await self.lk.room.update_subscriptions(
                api.UpdateSubscriptionsRequest(
                    room=room, identity=listener, track_sids=sids, subscribe=hear
                )
            )
        except Exception as exc:
            raise failure_from_error(exc, step="update_subscriptions") from exc
        return sids

    async def hang_up(self, *, room: str, identity: str) -> None:
        """RemoveParticipant: ends that SIP leg. Missing participants are not an error."""
        try:
            await self.lk.room.remove_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )
        except api.TwirpError as exc:
            if exc.code != api.TwirpErrorCode.NOT_FOUND:
                log.warning("could not remove participant", extra={"room": room, "code": exc.code})
        except Exception:
            log.warning("could not remove participant", extra={"room": room}, exc_info=True)

    async def delete_room(self, room: str) -> None:
        """DeleteRoom: drops a consult room and everyone in it. Best effort."""
        try:
            await self.lk.room.delete_room(api.DeleteRoomRequest(room=room))
        except api.TwirpError as exc:
            if exc.code != api.TwirpErrorCode.NOT_FOUND:
                log.warning("could not delete room", extra={"room": room, "code": exc.code})
        except Exception:
            log.warning("could not delete room", extra={"room": room}, exc_info=True)

    async def refer(self, *, room: str, identity: str, transfer_to: str) -> None:
        """Cold transfer: SIP REFER the caller to `transfer_to` (TransferSIPParticipant).

        Returns when the far end accepted; raises `TransferFailed` otherwise, including
        when the server answers without an error but with a non-successful status.
        """
        to = (
            transfer_to
            if transfer_to.startswith(("sip:", "sips:", "tel:"))
            else f"tel:{transfer_to}"
        )
        request = api.TransferSIPParticipantRequest(
            room_name=room, participant_identity=identity, transfer_to=to, play_dialtone=False
        )
        request.ringing_timeout.FromNanoseconds(int(self._ringing_timeout_s * 1e9))
        log.info("cold transfer", extra={"room": room, "to": _mask_contact(transfer_to)})
        try:
            response = await self.lk.sip.transfer_sip_participant(request)
        except Exception as exc:
            raise failure_from_error(exc, step="refer") from exc
        status = response.status
        # an empty body (older servers) decodes as ONGOING: only an explicit FAILED is a failure
        if status == SIPTransferStatus.STS_TRANSFER_FAILED:
            code = response.sip_status.code or None
            reason = response.reason
            if reason == SIPTransferReason.STR_RINGING_TIMEOUT:
                outcome = TransferOutcome.NO_ANSWER
            elif code is None and reason == SIPTransferReason.STR_REJECTED:
                outcome = TransferOutcome.DECLINED
            else:
                outcome = outcome_for_sip_status(int(code) if code else None)
            detail = f"refer: {SIPTransferReason.Name(reason)} {int(code) if code else ''}".strip()
            raise TransferFailed(outcome, detail, sip_status=int(code) if code else None)


def _mask_contact(contact: str) -> str:
    """Log-safe form of a number or SIP URI (the user part of a URI is hidden)."""
    if contact.lower().startswith(("sip:", "sips:")):
        host = contact.split("@", 1)[-1]
        return f"sip:***@{host}"
    return mask(contact)
