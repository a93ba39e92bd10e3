"""Warm transfer in `self_hosted` merge mode through the real bridge (needs livekit-sip).

The caller keys `0`; our worker puts them on hold, dials the supervisor's phone on the
outbound trunk into the caller's own room, briefs the supervisor there, and connects them on
"yes". Every voice is a distinct tone, so the two recordings show who heard what:

- the agent: 440 Hz; the briefing: 1500 Hz (ElevenLabs emulator, `BRIEFING_HZ`);
- the supervisor answers with "hello" (900 Hz) the moment their phone picks up, and says
  "yes" (1300 Hz) to the briefing: both before the connect, so the caller must hear neither
  (the early-track window: the bridge subscribes the caller to a new track as soon as it is
  published, before our isolation runs);
- after the connect the caller says 700 Hz and the supervisor 1100 Hz: each must hear the
  other.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from livekit import api

from scripts.livekit_local import free_udp_tcp_port
from tests.e2e.conftest import Stack, Worker
from tests.e2e.harness import (
    AGENT_HZ,
    BRIEFING_HZ,
    BRIEFING_MARK,
    CALLER_HZ,
    NOBODY_TOOK_IT,
    SUPERVISOR_HELLO_HZ,
    SUPERVISOR_HZ,
    SUPERVISOR_YES_HZ,
    ScriptedModel,
    ToneTrack,
    agent_reply,
    call_record,
    set_roster,
    supervisor,
    wait_until,
    write_tone,
)
from tests.e2e.sipcalls import (
    at,
    call_rooms,
    caller_phone,
    desk_phone,
    kinds,
    new_call_room,
    participants,
)

TONES = [AGENT_HZ, BRIEFING_HZ, CALLER_HZ, SUPERVISOR_HZ, SUPERVISOR_HELLO_HZ, SUPERVISOR_YES_HZ]


async def test_warm_transfer_hold_briefing_isolation_connect_and_agent_leaves(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path
) -> None:
    stack.require_bridge()
    model.reset()
    await set_roster(worker.database_url, supervisor("Pat Lee", "+14155550100"))
    hello = write_tone(tmp_path / "hello.wav", SUPERVISOR_HELLO_HZ, 1.5)
    yes = write_tone(tmp_path / "yes.wav", SUPERVISOR_YES_HZ, 1.0)
    caller_voice = write_tone(tmp_path / "caller-voice.wav", CALLER_HZ, 2.0)
    desk_voice = write_tone(tmp_path / "desk-voice.wav", SUPERVISOR_HZ, 2.0)
    before = set(await call_rooms(stack))

    async with (
        desk_phone(
            tmp_path, stack.supervisor_port, hello=hello, record=tmp_path / "desk.wav"
        ) as desk,
        caller_phone(tmp_path) as phone,
    ):
        await phone.call(stack.sip_uri, record=tmp_path / "caller.wav")
        await phone.wait_for("confirmed", timeout=60)
        room, _ = await new_call_room(stack, before)
        await agent_reply(model, after=0, contains="Thanks for calling")

        await phone.dtmf("0")
        keyed = time.time()
        await desk.wait_for("incoming", timeout=40)
        desk_up = await desk.wait_for("confirmed", timeout=20)
        await agent_reply(model, after=desk_up.t, contains=BRIEFING_MARK, timeout=40)
        said_yes = await desk.play(yes)
        await wait_until(
            lambda: "connect_to_caller" in model.decisions,
            timeout=30,
            what=lambda: f"the supervisor's yes to connect ({model.story()})",
        )

        async def agent_gone() -> list[api.ParticipantInfo] | None:
            people = await participants(stack, room)
            return people if kinds(people) == ["SIP", "SIP"] else None

        after_merge = await wait_until(agent_gone, timeout=30, what="the agent to leave")
        merged = time.time()
        await asyncio.sleep(1.0)
        caller_spoke = await phone.play(caller_voice)
        await asyncio.sleep(2.5)
        desk_spoke = await desk.play(desk_voice)
        await asyncio.sleep(2.5)
        assert not phone.seen("disconnected") and not desk.seen("disconnected"), "both stay"
        await phone.hangup()
        await phone.wait_for("recording_closed", timeout=20)
        await desk.hangup()
        await desk.wait_for("recording_closed", timeout=20)
        record = await call_record(worker.database_url, room, timeout=60)

    identities = sorted(p.identity for p in after_merge)
    assert identities == ["sip_+14155550142", "supervisor-1-pat-lee"]

    caller = ToneTrack.of(tmp_path / "caller.wav", TONES)
    desk_rec = ToneTrack.of(tmp_path / "desk.wav", TONES)
    c_keyed, c_merged = at(phone, keyed), at(phone, merged)
    d_up, d_yes, d_merged = at(desk, desk_up), at(desk, said_yes), at(desk, merged)

    # the caller heard hold audio (music besides the agent's announcements) until the connect
    assert caller.loud(start_s=c_keyed, end_s=c_merged, besides=(AGENT_HZ,)) > 3.0
    # ... and nothing of the supervisor's leg before the connect: no hello, no yes, no briefing
    leaks = {
        hz: caller.present(hz, end_s=c_merged)
        for hz in (SUPERVISOR_HELLO_HZ, SUPERVISOR_YES_HZ, BRIEFING_HZ)
    }
    assert leaks == {SUPERVISOR_HELLO_HZ: 0.0, SUPERVISOR_YES_HZ: 0.0, BRIEFING_HZ: 0.0}
    assert caller.present(BRIEFING_HZ) == 0.0

    # the supervisor heard the briefing, and none of the caller's hold audio
    assert desk_rec.present(BRIEFING_HZ, start_s=d_up, end_s=d_yes) > 1.0
    assert desk_rec.present(AGENT_HZ, end_s=d_yes) == 0.0
    assert desk_rec.loud(end_s=d_up) == 0.0, "no early media before the supervisor answered"

    # after the connect each hears the other
    assert caller.present(SUPERVISOR_HZ, start_s=at(phone, desk_spoke)) > 1.5
    assert desk_rec.present(CALLER_HZ, start_s=at(desk, caller_spoke)) > 1.5
    assert desk_rec.present(CALLER_HZ, end_s=d_merged) == 0.0

    assert record["outcome"] == "transferred" and record["transferred_to"] == "Pat Lee"
    [attempt] = record["data"]["transfer_attempts"]
    assert (attempt["mode"], attempt["outcome"], attempt["detail"]) == (
        "warm",
        "connected",
        "merged (self_hosted)",
    )


async def test_a_sip_uri_supervisor_is_rung_at_their_own_host(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path
) -> None:
    """`sip:user@host:port` contacts: LiveKit refuses the URI in sip_call_to, so the product
    dials the user at that host (not on the carrier trunk); a real phone there rings."""
    stack.require_bridge()
    model.reset()
    port = free_udp_tcp_port()
    contact = f"sip:pbx-lead@127.0.0.1:{port}"
    await set_roster(worker.database_url, supervisor("Pat Lee", contact))
    before = set(await call_rooms(stack))
    async with (
        desk_phone(tmp_path, port, name="pbx-lead", answer=486) as desk,
        caller_phone(tmp_path) as phone,
    ):
        await phone.call(stack.sip_uri)
        await phone.wait_for("confirmed", timeout=60)
        room, _ = await new_call_room(stack, before)
        await agent_reply(model, after=0, contains="Thanks for calling")
        await phone.dtmf("0")
        rung = await desk.wait_for("incoming", timeout=40)
        await agent_reply(model, after=rung.t, contains=NOBODY_TOOK_IT, timeout=40)
        await phone.hangup()
        record = await call_record(worker.database_url, room, timeout=60)

    # the phone listening on the URI's port got the INVITE, addressed to the URI's user
    # (livekit-sip leaves the port out of the To header)
    assert rung.data["local"] == "<sip:pbx-lead@127.0.0.1>"
    [attempt] = record["data"]["transfer_attempts"]
    assert (attempt["outcome"], attempt["detail"]) == ("busy", "dial: SIP 486 Busy Here")
