"""An inbound phone call through the real SIP bridge: pjsua2 caller -> livekit-sip -> livekit-
server -> our worker, and back. Needs the livekit-sip binary (skips with the reason without).

The caller authenticates with digest credentials (the bridge challenges with 407), the dispatch
rule puts the call in its own `call-` room with our agent dispatched by name, the worker reads
the real `sip.*` attributes, the caller hears the greeting (440 Hz in their recording), is
answered, keys a PIN as RFC 2833 digits (verified), and a lone keyed `0` rings a supervisor.
"""

from __future__ import annotations

import time
from pathlib import Path

from livekit import api

from scripts.livekit_local import free_udp_range, free_udp_tcp_port
from tests.e2e.conftest import CARRIER_AUTH, INBOUND_NUMBER, MAYA, MAYA_PIN, Stack, Worker
from tests.e2e.harness import (
    AGENT_HZ,
    ScriptedModel,
    ToneTrack,
    agent_reply,
    call_record,
    set_roster,
    supervisor,
    wait_until,
)
from tests.e2e.sip_phone import SipPhone
from tests.e2e.sipcalls import call_rooms, new_call_room
from tests.support.audio import FIXTURES_DIR


async def test_inbound_call_greets_verifies_a_keyed_pin_and_a_lone_zero_rings_a_person(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path
) -> None:
    stack.require_bridge()
    model.reset()
    await set_roster(worker.database_url, supervisor("Pat Lee", "+14155550100"))
    before = set(await call_rooms(stack))
    async with (
        SipPhone.start(
            "supervisor",
            port=stack.supervisor_port,
            rtp_port=free_udp_range(20)[0],
            log_dir=tmp_path,
            answer=486,  # rings, then busy: this test only needs the person to be rung
        ) as desk,
        SipPhone.start(
            "caller",
            port=free_udp_tcp_port(),
            rtp_port=free_udp_range(20)[0],
            log_dir=tmp_path,
            user=MAYA,
            auth=CARRIER_AUTH,
        ) as phone,
    ):
        await phone.call(stack.sip_uri, record=tmp_path / "caller.wav")
        answered = await phone.wait_for("confirmed", timeout=60)
        room, people = await new_call_room(stack, before)

        [sip] = [p for p in people if p.kind == api.ParticipantInfo.Kind.SIP]
        attrs = dict(sip.attributes)
        assert attrs["sip.phoneNumber"] == MAYA
        assert attrs["sip.trunkPhoneNumber"] == INBOUND_NUMBER
        assert attrs["sip.callID"].startswith("SCL_")
        assert attrs["sip.trunkID"].startswith("ST_") and attrs["sip.ruleID"].startswith("SDR_")
        assert room.startswith("call-") and MAYA[1:] in room, "individual rule: a room per call"

        # the greeting, then the caller asks about an order
        await agent_reply(model, after=0, contains="Thanks for calling")
        model.caller_says("I want to check on my order", "I'll key my PIN on the keypad")
        asked = time.time()
        await phone.play(FIXTURES_DIR / "check_order.wav")
        await wait_until(
            lambda: "route_to_orders" in model.decisions,
            timeout=30,
            what=lambda: f"the caller to be routed ({model.story()})",
        )
        await agent_reply(model, after=asked, contains="verify")
        keyed = time.time()
        await phone.play(FIXTURES_DIR / "pin.wav")
        await agent_reply(model, after=keyed, contains="key your four digit PIN")
        assert "enter_pin_on_keypad" in model.decisions
        pin_at = time.time()
        await phone.dtmf(MAYA_PIN + "#")  # RFC 2833 telephone events
        await agent_reply(model, after=pin_at)
        await phone.dtmf("0")
        rung = await desk.wait_for("incoming", timeout=40)
        await desk.wait_for("disconnected", timeout=20)
        await agent_reply(model, after=rung.t)  # nobody could take it: a callback offer
        await phone.hangup()
        await phone.wait_for("recording_closed", timeout=20)
        record = await call_record(worker.database_url, room, timeout=60)

    assert rung.t > answered.t
    assert record["call_id"] == attrs["sip.callID"], "the record is keyed by the SIP call id"
    assert (record["caller_e164"], record["dialled_e164"]) == (MAYA, INBOUND_NUMBER)
    data = record["data"]
    assert data["sip"] is True
    assert data["verification"] == {
        "status": "verified",
        "attempts": 0,
        "method": "pin",
        "identified_by": "caller_id",
        "factors": ["pin"],
        "assurance": "strong",
    }, "found by the real sip.phoneNumber, a keyed PIN on top is strong assurance"
    [attempt] = data["transfer_attempts"]
    assert (attempt["supervisor"], attempt["outcome"]) == ("Pat Lee", "busy")
    assert "486" in attempt["detail"]

    heard = ToneTrack.of(tmp_path / "caller.wav", [AGENT_HZ])
    spoke = asked - answered.t
    assert heard.present(AGENT_HZ, end_s=spoke) > 1.5, "the greeting reached the caller's phone"
    assert heard.present(AGENT_HZ, start_s=spoke) > 3.0, "so did the agent's answers"
