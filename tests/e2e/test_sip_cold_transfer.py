"""Cold transfer (SIP REFER) through the real bridge (needs livekit-sip).

The supervisor is a `cold` one with a SIP URI contact. Our worker calls
TransferSIPParticipant; livekit-sip sends the caller's phone a REFER. A phone that accepts it
(202, then a NOTIFY with the new call's 200) calls the supervisor itself and leaves LiveKit;
a phone that refuses it keeps the caller with the agent. Both are recorded.
"""

from __future__ import annotations

from pathlib import Path

from scripts.livekit_local import free_udp_tcp_port
from tests.e2e.conftest import INBOUND_NUMBER, Stack, Worker
from tests.e2e.harness import (
    NOBODY_TOOK_IT,
    ScriptedModel,
    agent_reply,
    call_record,
    set_roster,
    supervisor,
)
from tests.e2e.sipcalls import (
    call_rooms,
    caller_call_id,
    caller_phone,
    desk_phone,
    new_call_room,
    upstream_refer_race,
)


async def test_refer_accepted_hands_the_caller_to_the_supervisor(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path
) -> None:
    stack.require_bridge()
    model.reset()
    port = free_udp_tcp_port()
    contact = f"sip:cold-lead@127.0.0.1:{port}"
    await set_roster(worker.database_url, supervisor("Cole Dunn", contact, mode="cold"))
    before = set(await call_rooms(stack))
    async with (
        desk_phone(tmp_path, port, name="cold-lead") as desk,
        caller_phone(tmp_path, refer=202) as phone,
    ):
        await phone.call(stack.sip_uri)
        await phone.wait_for("confirmed", timeout=60)
        room, people = await new_call_room(stack, before)
        await agent_reply(model, after=0, contains="Thanks for calling")
        await phone.dtmf("0")
        refer = await phone.wait_for("transfer_request", timeout=40)
        incoming = await desk.wait_for("incoming", timeout=20)
        # pjsua reports the new call's progress to the bridge in NOTIFYs (sipfrag): the 200
        # of this call is the final NOTIFY that makes TransferSIPParticipant succeed
        followed = await phone.wait_for("confirmed", remote=f"<{contact}>", timeout=20)
        with upstream_refer_race(stack, caller_call_id(people)):
            left = await phone.wait_for("disconnected", timeout=20)
        record = await call_record(worker.database_url, room, timeout=60)
        await phone.hangup()

    assert refer.data["to"].startswith(f"<{contact}") or refer.data["to"].startswith(contact)
    assert "cold-lead@127.0.0.1" in incoming.data["local"], "the caller's phone called them"
    assert followed.data["code"] == 200
    assert left.data["remote"].startswith(f"sip:{INBOUND_NUMBER}@"), "its LiveKit leg ended"
    [attempt] = record["data"]["transfer_attempts"]
    assert (attempt["mode"], attempt["outcome"], attempt["detail"]) == (
        "cold",
        "connected",
        "SIP REFER accepted",
    )
    assert record["outcome"] == "transferred" and record["transferred_to"] == "Cole Dunn"


async def test_refer_refused_keeps_the_caller_with_the_agent(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path
) -> None:
    stack.require_bridge()
    model.reset()
    contact = f"sip:cold-lead@127.0.0.1:{free_udp_tcp_port()}"
    await set_roster(worker.database_url, supervisor("Cole Dunn", contact, mode="cold"))
    before = set(await call_rooms(stack))
    async with caller_phone(tmp_path, refer=603) as phone:
        await phone.call(stack.sip_uri)
        await phone.wait_for("confirmed", timeout=60)
        room, _ = await new_call_room(stack, before)
        await agent_reply(model, after=0, contains="Thanks for calling")
        await phone.dtmf("0")
        refused = await phone.wait_for("transfer_request", timeout=40)
        back = await agent_reply(model, after=refused.t, contains=NOBODY_TOOK_IT, timeout=40)
        assert not phone.seen("disconnected"), "the caller is still on the line"
        await phone.hangup()
        record = await call_record(worker.database_url, room, timeout=60)

    assert back == NOBODY_TOOK_IT, "the caller is told, and offered a callback"
    [attempt] = record["data"]["transfer_attempts"]
    assert attempt["mode"] == "cold"
    with upstream_refer_race(stack, record["call_id"]):
        assert (attempt["outcome"], attempt["detail"]) == ("declined", "refer: SIP 603 Decline")
    assert record["outcome"] == "abandoned"
