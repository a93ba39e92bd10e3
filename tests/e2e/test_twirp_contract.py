"""The Twirp emulator (tests/support/emulators/livekit.py) answers like a real livekit-server.

The same requests go to a real livekit-server v1.13.5 and to the emulator in its
`self_hosted` flavour, from the same starting state (a trunk of each kind, a dispatch rule,
a participant publishing audio in room `r1`). Every answer must match: the error code and
message (ids masked), or success. Where they differed the emulator was corrected (the list
is in docs/self-hosting.md); this test keeps them together.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from livekit import api, rtc

from scripts.livekit_local import StackInfo
from tests.support.emulators.livekit import LiveKitEmulator

Probe = Callable[[api.LiveKitAPI, dict[str, str]], Awaitable[Any]]
_ID = re.compile(r"\b(ST|SDR|PA|RM|TR|SCL|AD)_[A-Za-z0-9]+")


def _rule(prefix: str, trunk: str) -> api.SIPDispatchRuleInfo:
    return api.SIPDispatchRuleInfo(
        name=f"rule-{prefix}",
        trunk_ids=[trunk],
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=prefix)
        ),
    )


def _outbound(**kw: Any) -> api.CreateSIPOutboundTrunkRequest:
    values = {"name": "o", "address": "sip.example.com", "numbers": ["+12025550100"], **kw}
    return api.CreateSIPOutboundTrunkRequest(trunk=api.SIPOutboundTrunkInfo(**values))


def _admin(lk: api.LiveKitAPI, method: str, req: Any, resp: Any) -> Awaitable[Any]:
    """A raw SIP admin call (the client's helpers cannot send some malformed requests)."""
    return lk.sip._client.request("SIP", method, req, lk.sip._admin_headers(), resp)


PROBES: dict[str, Probe] = {
    "inbound trunk on a taken number": lambda lk, ids: lk.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(
            trunk=api.SIPInboundTrunkInfo(name="copy", numbers=["+12025550123"])
        )
    ),
    "inbound trunk with an id": lambda lk, ids: lk.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(
            trunk=api.SIPInboundTrunkInfo(sip_trunk_id="ST_x", numbers=["+12025550777"])
        )
    ),
    "outbound trunk without numbers": lambda lk, ids: lk.sip.create_outbound_trunk(
        _outbound(numbers=[])
    ),
    "outbound trunk without address": lambda lk, ids: lk.sip.create_outbound_trunk(
        _outbound(address="")
    ),
    "outbound trunk at a SIP URI": lambda lk, ids: lk.sip.create_outbound_trunk(
        _outbound(address="sip:pbx@example.com")
    ),
    "outbound trunk with transport=": lambda lk, ids: lk.sip.create_outbound_trunk(
        _outbound(address="example.com;transport=tcp")
    ),
    "update of a missing trunk": lambda lk, ids: lk.sip.update_inbound_trunk_fields(
        "ST_missing", name="x"
    ),
    "update without an action": lambda lk, ids: _admin(
        lk,
        "UpdateSIPInboundTrunk",
        api.UpdateSIPInboundTrunkRequest(sip_trunk_id=ids["inbound"]),
        api.SIPInboundTrunkInfo,
    ),
    "delete of a missing trunk": lambda lk, ids: lk.sip.delete_trunk(
        api.DeleteSIPTrunkRequest(sip_trunk_id="ST_missing")
    ),
    "delete of a missing rule": lambda lk, ids: lk.sip.delete_dispatch_rule(
        api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id="SDR_missing")
    ),
    "rule on the same trunk and PIN": lambda lk, ids: lk.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(dispatch_rule=_rule("other-", ids["inbound"]))
    ),
    "rule without a rule": lambda lk, ids: lk.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(
            dispatch_rule=api.SIPDispatchRuleInfo(name="n", trunk_ids=["ST_elsewhere"])
        )
    ),
    "rule read back": lambda lk, ids: _read_rule(lk),
    "trunk passwords on list": lambda lk, ids: _passwords(lk),
    "dial a full SIP URI": lambda lk, ids: lk.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(
            sip_trunk_id=ids["outbound"], sip_call_to="sip:lead@pbx.example.com", room_name="r1"
        )
    ),
    "dial on a missing trunk": lambda lk, ids: lk.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(
            sip_trunk_id="ST_missing", sip_call_to="+14155550100", room_name="r1"
        )
    ),
    "dial without a room": lambda lk, ids: lk.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(sip_trunk_id=ids["outbound"], sip_call_to="+14155550100")
    ),
    "dial without trunk or number": lambda lk, ids: lk.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(sip_call_to="+14155550100", room_name="r1")
    ),
    "dial with a SIP URI as the inline host": lambda lk, ids: lk.sip.create_sip_participant(
        api.CreateSIPParticipantRequest(
            sip_call_to="lead",
            sip_number="+12025550100",
            room_name="r1",
            trunk=api.SIPOutboundConfig(hostname="sip:pbx.example.com"),
        )
    ),
    "get a missing participant": lambda lk, ids: lk.room.get_participant(
        api.RoomParticipantIdentity(room="r1", identity="nobody")
    ),
    "remove a missing participant": lambda lk, ids: lk.room.remove_participant(
        api.RoomParticipantIdentity(room="r1", identity="nobody")
    ),
    "delete a missing room": lambda lk, ids: lk.room.delete_room(
        api.DeleteRoomRequest(room="no-such-room")
    ),
    "subscriptions of a missing participant": lambda lk, ids: lk.room.update_subscriptions(
        api.UpdateSubscriptionsRequest(room="r1", identity="nobody", track_sids=["TR_x"])
    ),
    "subscriptions of a present participant": lambda lk, ids: lk.room.update_subscriptions(
        api.UpdateSubscriptionsRequest(
            room="r1", identity="alice", track_sids=["TR_unknown"], subscribe=False
        )
    ),
    "MoveParticipant": lambda lk, ids: lk.room.move_participant(
        api.MoveParticipantRequest(room="r1", identity="alice", destination_room="r2")
    ),
    "transfer to a non-URI": lambda lk, ids: lk.sip.transfer_sip_participant(
        api.TransferSIPParticipantRequest(
            room_name="r1", participant_identity="alice", transfer_to="+14155550100"
        )
    ),
    "transfer of a missing participant": lambda lk, ids: lk.sip.transfer_sip_participant(
        api.TransferSIPParticipantRequest(
            room_name="r1", participant_identity="nobody", transfer_to="tel:+14155550100"
        )
    ),
    "transfer of a WebRTC participant": lambda lk, ids: lk.sip.transfer_sip_participant(
        api.TransferSIPParticipantRequest(
            room_name="r1", participant_identity="alice", transfer_to="tel:+14155550100"
        )
    ),
}


async def _read_rule(lk: api.LiveKitAPI) -> dict[str, Any]:
    [rule] = (await lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())).items
    return {
        "media set": rule.HasField("media"),
        "timestamps": rule.HasField("created_at"),
        "trunks": len(rule.trunk_ids),
    }


async def _passwords(lk: api.LiveKitAPI) -> list[str]:
    items = (await lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())).items
    return [t.auth_password for t in items]


async def _seed(lk: api.LiveKitAPI) -> dict[str, str]:
    inbound = await lk.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(
            trunk=api.SIPInboundTrunkInfo(
                name="in", numbers=["+12025550123"], auth_username="u", auth_password="p"
            )
        )
    )
    outbound = await lk.sip.create_outbound_trunk(_outbound())
    await lk.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(dispatch_rule=_rule("call-", inbound.sip_trunk_id))
    )
    await lk.room.create_room(api.CreateRoomRequest(name="r1"))
    await lk.room.create_room(api.CreateRoomRequest(name="r2"))
    return {"inbound": inbound.sip_trunk_id, "outbound": outbound.sip_trunk_id}


async def _outcome(probe: Probe, lk: api.LiveKitAPI, ids: dict[str, str]) -> tuple[Any, ...]:
    try:
        result = await probe(lk, ids)
    except api.TwirpError as exc:
        return ("error", exc.code, exc.status, _ID.sub("<id>", exc.message))
    if isinstance(result, dict | list):
        return ("ok", result)
    return ("ok",)


async def _answers(lk: api.LiveKitAPI) -> dict[str, tuple[Any, ...]]:
    ids = await _seed(lk)
    return {name: await _outcome(probe, lk, ids) for name, probe in PROBES.items()}


async def _publishing_participant(info: StackInfo) -> rtc.Room:
    token = (
        api.AccessToken(info.api_key, info.api_secret)
        .with_identity("alice")
        .with_grants(api.VideoGrants(room_join=True, room="r1"))
        .to_jwt()
    )
    room = rtc.Room()
    await room.connect(info.url, token)
    source = rtc.AudioSource(48000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    silence = np.zeros(480, dtype=np.int16).tobytes()
    await source.capture_frame(rtc.AudioFrame(silence, 48000, 1, 480))
    return room


async def test_the_emulator_answers_like_livekit_server(fresh_server: StackInfo) -> None:
    async with api.LiveKitAPI(
        fresh_server.http_url, fresh_server.api_key, fresh_server.api_secret
    ) as lk:
        await lk.room.create_room(api.CreateRoomRequest(name="r1"))
        alice = await _publishing_participant(fresh_server)
        try:
            real = await _answers(lk)
        finally:
            await alice.disconnect()

    async with LiveKitEmulator(self_hosted=True) as emu:
        emu.add_participant("r1", "alice")
        async with api.LiveKitAPI(emu.url, emu.api_key, emu.api_secret) as lk:
            emulated = await _answers(lk)

    differences = {
        name: {"livekit-server": real[name], "emulator": emulated[name]}
        for name in PROBES
        if real[name] != emulated[name]
    }
    assert differences == {}
    # and a few answers the product depends on, spelled out
    not_implemented = ("error", "unknown", 500, "twirp error unknown: not implemented")
    assert real["MoveParticipant"] == not_implemented
    assert real["dial a full SIP URI"][1:3] == ("invalid_argument", 400)
    assert real["delete of a missing trunk"] == ("ok",)
    assert real["rule read back"] == ("ok", {"media set": True, "timestamps": False, "trunks": 1})
    assert real["trunk passwords on list"] == ("ok", ["p"])


async def test_a_bad_secret_is_a_bare_401_on_both(fresh_server: StackInfo) -> None:
    async def answer(url: str, key: str) -> tuple[Any, ...]:
        async with api.LiveKitAPI(url, key, "wrong-secret-0123456789abcdef0123456789") as lk:
            return await _outcome(
                lambda lk, _: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()), lk, {}
            )

    async with LiveKitEmulator(self_hosted=True) as emu:
        emulated = await answer(emu.url, emu.api_key)
    real = await answer(fresh_server.http_url, fresh_server.api_key)
    assert real == emulated == ("error", "unknown", 401, "")
