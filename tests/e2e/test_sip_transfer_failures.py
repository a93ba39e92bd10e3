"""Every way a warm transfer can fail, through the real bridge with real phones (needs
livekit-sip). Each gives the outcome the product promises (docs/escalation.md): the attempt is
recorded with what happened, the supervisor's leg is gone, and the caller is back with the
agent, who offers a callback (or the call is recorded as abandoned when the caller left).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, Worker
from tests.e2e.harness import (
    BRIEFING_MARK,
    NOBODY_TOOK_IT,
    SUPERVISOR_NO_HZ,
    ScriptedModel,
    agent_reply,
    call_record,
    set_roster,
    supervisor,
    write_tone,
)
from tests.e2e.sip_phone import SipPhone
from tests.e2e.sipcalls import (
    call_rooms,
    caller_phone,
    desk_phone,
    kinds,
    new_call_room,
    participants,
)


@dataclass(frozen=True)
class Case:
    answer: int | None
    """How the supervisor's phone answers: a SIP code, or None to let it ring."""
    outcome: str
    detail: str
    after_answer: str = ""
    """What the supervisor does once answered: "no" (declines the briefing), "hang up"."""


CASES = {
    "busy (486)": Case(486, "busy", "dial: SIP 486 Busy Here"),
    "declined at the phone (603)": Case(603, "declined", "dial: SIP 603 Decline"),
    "no answer (rings out)": Case(None, "no_answer", "dial: no answer (timed out)"),
    "declines after the briefing": Case(200, "declined", "busy right now", after_answer="no"),
    "hangs up during the briefing": Case(
        200, "supervisor_hung_up", "supervisor hung up", after_answer="hang up"
    ),
}


async def _escalated_call(
    stack: Stack, model: ScriptedModel, tmp_path: Path, phone: SipPhone
) -> str:
    """Place the call, let the greeting play, key 0; returns the call's room."""
    before = set(await call_rooms(stack))
    await phone.call(stack.sip_uri, record=tmp_path / "caller.wav")
    await phone.wait_for("confirmed", timeout=60)
    room, _ = await new_call_room(stack, before)
    await agent_reply(model, after=0, contains="Thanks for calling")
    await phone.dtmf("0")
    return room


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_failed_warm_transfer_brings_the_caller_back(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path, case: Case
) -> None:
    stack.require_bridge()
    model.reset()
    await set_roster(worker.database_url, supervisor("Pat Lee", "+14155550100"))
    no = write_tone(tmp_path / "no.wav", SUPERVISOR_NO_HZ, 1.0)
    async with (
        desk_phone(tmp_path, stack.supervisor_port, answer=case.answer) as desk,
        caller_phone(tmp_path) as phone,
    ):
        room = await _escalated_call(stack, model, tmp_path, phone)
        rung = await desk.wait_for("incoming", timeout=40)
        if case.after_answer:
            up = await desk.wait_for("confirmed", timeout=20)
            await agent_reply(model, after=up.t, contains=BRIEFING_MARK, timeout=40)
            if case.after_answer == "no":
                await desk.play(no)
            else:
                await desk.hangup()
        await desk.wait_for("disconnected", timeout=40)
        # the caller is back with the agent, who says nobody could take the call
        back = await agent_reply(model, after=rung.t, contains=NOBODY_TOOK_IT, timeout=60)
        people = kinds(await participants(stack, room))
        await phone.hangup()
        await phone.wait_for("recording_closed", timeout=20)
        record = await call_record(worker.database_url, room, timeout=60)

    assert people == ["AGENT", "SIP"], "the supervisor leg is gone, the agent is still there"
    assert back == NOBODY_TOOK_IT, "the caller is told, and offered a callback"
    [attempt] = record["data"]["transfer_attempts"]
    assert attempt["outcome"] == case.outcome, attempt
    assert attempt["detail"] == case.detail, attempt
    assert record["outcome"] == "abandoned", "the caller hung up after the callback offer"


async def test_caller_hanging_up_while_the_supervisor_rings_ends_the_supervisor_leg(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path
) -> None:
    stack.require_bridge()
    model.reset()
    await set_roster(worker.database_url, supervisor("Pat Lee", "+14155550100"))
    async with (
        desk_phone(tmp_path, stack.supervisor_port, answer=None) as desk,
        caller_phone(tmp_path) as phone,
    ):
        room = await _escalated_call(stack, model, tmp_path, phone)
        await desk.wait_for("incoming", timeout=40)
        await asyncio.sleep(1.0)
        hung_up = time.time()
        await phone.hangup()
        gone = await desk.wait_for("disconnected", timeout=20)
        record = await call_record(worker.database_url, room, timeout=60)

    assert gone.data["code"] == 487, "the ringing leg was cancelled (487 Request Terminated)"
    assert gone.t - hung_up < 10
    [attempt] = record["data"]["transfer_attempts"]
    assert attempt["outcome"] == "caller_hung_up"
    assert record["outcome"] == "abandoned"


async def test_an_unreachable_trunk_is_a_failed_attempt(
    stack: Stack, worker: Worker, model: ScriptedModel, tmp_path: Path
) -> None:
    """Nothing answers at the trunk's address (no phone on the port). livekit-sip v1.11.0
    retries the INVITE until the ringing timeout and livekit-server then answers exactly as for
    a supervisor who never picks up: the product cannot tell the two apart, and says no answer."""
    stack.require_bridge()
    model.reset()
    await set_roster(worker.database_url, supervisor("Pat Lee", "+14155550100"))
    async with caller_phone(tmp_path) as phone:
        room = await _escalated_call(stack, model, tmp_path, phone)
        keyed = time.time()
        back = await agent_reply(model, after=keyed + 1, contains=NOBODY_TOOK_IT, timeout=90)
        await phone.hangup()
        record = await call_record(worker.database_url, room, timeout=60)

    assert back == NOBODY_TOOK_IT, "the caller is told, and offered a callback"
    [attempt] = record["data"]["transfer_attempts"]
    assert (attempt["outcome"], attempt["detail"]) == ("no_answer", "dial: no answer (timed out)")


async def test_the_emulator_answers_refused_and_unanswered_dials_like_the_bridge(
    stack: Stack, tmp_path: Path
) -> None:
    """CreateSIPParticipant through the real server and bridge to phones that refuse or ring
    out, next to what the Twirp emulator (tests/support/emulators/livekit.py) answers."""
    stack.require_bridge()
    from livekit import api

    from tests.e2e.sipcalls import lk
    from tests.support.emulators.livekit import sip_status_fault, sip_timeout_fault

    async def dial(answer: int | None) -> tuple[str, str, dict[str, str]]:
        async with desk_phone(tmp_path, stack.supervisor_port, name=f"desk{answer}", answer=answer):
            req = api.CreateSIPParticipantRequest(
                sip_trunk_id=stack.outbound_trunk_id,
                sip_call_to="+14155550100",
                room_name="dial-probe",
                participant_identity=f"probe-{answer}",
                wait_until_answered=True,
            )
            req.ringing_timeout.FromSeconds(3)
            async with lk(stack) as client:
                with pytest.raises(api.TwirpError) as err:
                    await client.sip.create_sip_participant(req)
        meta = {k: v for k, v in err.value.metadata.items() if k.startswith("sip_status")}
        return err.value.code, err.value.message, meta

    for answer, status in ((486, "Busy Here"), (603, "Decline"), (480, "Temporarily Unavailable")):
        fault = sip_status_fault(answer, status)
        assert await dial(answer) == (fault.code, fault.msg, fault.meta)
    fault = sip_timeout_fault()
    assert await dial(None) == (fault.code, fault.msg, {})
