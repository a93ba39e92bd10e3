"""The emulator itself behaves like LiveKit towards the real client (auth, grants, conflicts)."""

from __future__ import annotations

import pytest
from livekit import api

from tests.support.emulators.livekit import LiveKitEmulator, TwirpFault


def _client(server: LiveKitEmulator, secret: str | None = None) -> api.LiveKitAPI:
    return api.LiveKitAPI(server.url, server.api_key, secret or server.api_secret)


async def test_wrong_secret_is_unauthenticated(livekit_server: LiveKitEmulator) -> None:
    async with _client(livekit_server, "not-the-secret-" + "y" * 20) as lk:
        with pytest.raises(api.TwirpError) as caught:
            await lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
    # livekit-server answers a token it cannot verify with a bare text/plain 401, which the
    # client reports as code `unknown` (setup_sip names it: see provisioning/render.py)
    assert (caught.value.code, caught.value.status) == ("unknown", 401)


async def test_token_without_sip_admin_is_denied(livekit_server: LiveKitEmulator) -> None:
    token = (
        api.AccessToken(livekit_server.api_key, livekit_server.api_secret)
        .with_grants(api.VideoGrants(room_admin=True))
        .to_jwt()
    )
    async with api.LiveKitAPI.with_token(token, url=livekit_server.url) as lk:
        with pytest.raises(api.TwirpError) as caught:
            await lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
    assert caught.value.code == "permission_denied" and caught.value.status == 403


async def test_inbound_conflict_rejected_like_livekit(livekit_server: LiveKitEmulator) -> None:
    trunk = api.SIPInboundTrunkInfo(name="a", numbers=["+12025550123"])
    async with _client(livekit_server) as lk:
        await lk.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=trunk))
        trunk.name = "b"
        with pytest.raises(api.TwirpError) as caught:
            await lk.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=trunk))
        assert "Conflicting inbound SIP Trunks" in caught.value.message
        # A caller filter makes the second trunk more specific: allowed.
        trunk.allowed_numbers.append("+12025550150")
        await lk.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=trunk))
    assert len(livekit_server.inbound) == 2


async def test_dispatch_conflict_rejected_like_livekit(livekit_server: LiveKitEmulator) -> None:
    rule = api.SIPDispatchRuleInfo(
        name="r",
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="call-")
        ),
    )
    async with _client(livekit_server) as lk:
        await lk.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=rule))
        with pytest.raises(api.TwirpError) as caught:
            await lk.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=rule))
        assert caught.value.message.startswith(
            "Dispatch rule for the same trunk, inbound number, number, and PIN combination "
            'already exists in dispatch rule "SDR_'
        )
        assert caught.value.message.endswith('"r"')
        rule.rule.dispatch_rule_individual.pin = "1234"  # a PIN rule is a different match
        await lk.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=rule))


async def test_partial_update_and_not_found(livekit_server: LiveKitEmulator) -> None:
    async with _client(livekit_server) as lk:
        t = await lk.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(
                trunk=api.SIPOutboundTrunkInfo(name="o", address="sip.example", numbers=["+1"])
            )
        )
        updated = await lk.sip.update_outbound_trunk_fields(
            t.sip_trunk_id, numbers=api.ListUpdate(add=["+2"]), address="sip2.example"
        )
        assert list(updated.numbers) == ["+1", "+2"] and updated.name == "o"
        with pytest.raises(api.TwirpError) as caught:
            await lk.sip.update_outbound_trunk_fields("ST_missing", name="x")
        assert (caught.value.code, caught.value.message) == (
            "not_found",
            "requested sip trunk does not exist",
        )
        # livekit-server (v1.13.5) deletes a missing trunk without an error
        gone = await lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id="ST_missing"))
        assert gone.sip_trunk_id == "ST_missing"


async def test_room_and_sip_participant_defaults(livekit_server: LiveKitEmulator) -> None:
    livekit_server.add_participant("call-1", "caller")
    livekit_server.outbound["ST_out"] = api.SIPOutboundTrunkInfo(
        sip_trunk_id="ST_out", address="sip.example.com", numbers=["+12025550199"]
    )
    async with _client(livekit_server) as lk:
        info = await lk.sip.create_sip_participant(
            api.CreateSIPParticipantRequest(
                sip_trunk_id="ST_out",
                room_name="call-1",
                sip_call_to="+12025550100",
                participant_identity="sup",
            )
        )
        assert info.participant_identity == "sup" and info.room_name == "call-1"
        res = await lk.room.list_participants(api.ListParticipantsRequest(room="call-1"))
        assert {p.identity for p in res.participants} == {"caller", "sup"}
        await lk.room.remove_participant(
            api.RoomParticipantIdentity(room="call-1", identity="caller")
        )
        d = await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="x", room="call-1")
        )
        assert [x.id for x in await lk.agent_dispatch.list_dispatch("call-1")] == [d.id]
    assert [c.method for c in livekit_server.mutating_calls()] == [
        "livekit.SIP/CreateSIPParticipant",
        "livekit.RoomService/RemoveParticipant",
        "livekit.AgentDispatchService/CreateDispatch",
    ]


async def test_handlers_can_be_overridden(livekit_server: LiveKitEmulator) -> None:
    def busy(req: api.TransferSIPParticipantRequest) -> api.TransferSIPParticipantResponse:
        raise TwirpFault(
            "unavailable", "busy", meta={"sip_status_code": "486", "sip_status": "Busy Here"}
        )

    livekit_server.on("livekit.SIP/TransferSIPParticipant", busy)
    async with _client(livekit_server) as lk:
        with pytest.raises(api.SipCallError) as caught:
            await lk.sip.transfer_sip_participant(
                api.TransferSIPParticipantRequest(
                    room_name="r", participant_identity="p", transfer_to="tel:+12025550100"
                )
            )
    assert caught.value.sip_status_code == 486
    (call,) = livekit_server.calls_to("livekit.SIP/TransferSIPParticipant")
    assert call.request.transfer_to == "tel:+12025550100" and call.error == "unavailable"


def test_unknown_method_needs_types() -> None:
    with pytest.raises(ValueError):
        LiveKitEmulator().on("livekit.Egress/StartRoomCompositeEgress", lambda r: r)
