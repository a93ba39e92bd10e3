"""Our worker dispatched by agent name through a real livekit-server, with a WebRTC caller.

No SIP bridge needed (CI runs this): the caller is an `rtc.Room` participant whose token
carries the room configuration a SIP dispatch rule gives (`agents: [callcenter-agent]`), so
livekit-server creates the room with that explicit dispatch and sends the job to our
`callcenter dev` worker (merge mode left on `auto`: self-hosted for this URL). The providers
are the emulators at fixed latencies; every agent voice is a 440 Hz tone, which the caller's
recording must contain where the agent spoke.

A WebRTC caller has no SIP leg and no number: the worker treats them as a caller like any
other (`CallInfo.is_sip=False`), verification asks them for an account or order number (no
number on file to find one by), and a keyed `0` still reaches escalation, which dials the
supervisor into their room.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

from livekit import api

from callcenter import prompts
from callcenter.constants import AGENT_NAME
from tests.e2e.conftest import Stack, Worker
from tests.e2e.harness import (
    AGENT_HZ,
    ProviderEmulators,
    ScriptedModel,
    ToneTrack,
    WebCaller,
    call_record,
    caller_token,
    set_roster,
    supervisor,
    wait_until,
)
from tests.e2e.sip_phone import SipPhone
from tests.support.audio import FIXTURES_DIR

SUPERVISOR = "+14155550100"


async def _participants(stack: Stack, room: str) -> list[api.ParticipantInfo]:
    async with api.LiveKitAPI(stack.http_url, stack.info.api_key, stack.info.api_secret) as lk:
        found = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
        return list(found.participants)


async def _dispatches(stack: Stack, room: str) -> list[api.AgentDispatch]:
    async with api.LiveKitAPI(stack.http_url, stack.info.api_key, stack.info.api_secret) as lk:
        return list(await lk.agent_dispatch.list_dispatch(room))


async def test_webrtc_caller_is_answered_routed_and_a_keyed_zero_reaches_escalation(
    stack: Stack,
    worker: Worker,
    model: ScriptedModel,
    emulators: ProviderEmulators,
    tmp_path: Path,
) -> None:
    model.reset()
    await set_roster(worker.database_url, supervisor("Web Lead", SUPERVISOR))
    room = f"web-{uuid.uuid4().hex[:8]}"
    caller = WebCaller()
    async with contextlib.AsyncExitStack() as stack_ctx:
        if stack.bridge_missing is None:
            # with a bridge, the supervisor leg really rings: a phone on the trunk declines
            await stack_ctx.enter_async_context(
                SipPhone.start(
                    "web-supervisor",
                    port=stack.supervisor_port,
                    rtp_port=_rtp_port(),
                    log_dir=tmp_path,
                    answer=603,
                )
            )
        await caller.join(
            stack.info.url, caller_token(stack.info, "web-caller", room, agent_name=AGENT_NAME)
        )
        try:
            agents = await wait_until(
                lambda: _agents(stack, room), timeout=60, what="our agent to join the room"
            )
            # the server records the dispatch's job a moment after the agent can join
            [dispatch] = await wait_until(
                lambda: _dispatches_with_jobs(stack, room),
                timeout=10,
                what="the dispatch to list its job",
            )
            assert dispatch.agent_name == AGENT_NAME, "explicit dispatch by agent name"
            assert [a.identity for a in agents] == [f"agent-{dispatch.state.jobs[0].id}"]
            await caller.wait_agent_done()
            greeting_end = caller.loud_until() - caller.started_at

            model.caller_says("I want to check on my order")
            spoke_end = await caller.say(FIXTURES_DIR / "check_order.wav") - caller.started_at
            await wait_until(
                lambda: "route_to_orders" in model.decisions,
                timeout=20,
                what=f"the model to route the caller (heard {model.heard})",
            )
            await caller.wait_agent_done()

            await caller.key("0")
            await wait_until(
                lambda: "transfer_to_human" in model.decisions,
                timeout=30,
                what=f"a lone 0 to reach escalation (decisions {model.decisions})",
            )
            await wait_until(
                lambda: caller.loud_until() - caller.started_at > spoke_end + 6,
                timeout=30,
                what="the agent to come back after the transfer attempt",
            )
            await caller.wait_agent_done(quiet_s=1.5)
        finally:
            heard = caller.save(tmp_path / "caller.wav")
            await caller.leave()
        record = await call_record(worker.database_url, room, timeout=60)

    track = ToneTrack.of(heard, [AGENT_HZ])
    assert track.present(AGENT_HZ, end_s=greeting_end + 0.1) > 1.5, "the greeting was heard"
    assert track.present(AGENT_HZ, start_s=spoke_end) > 1.0, "the caller was answered"

    data = record["data"]
    assert data["sip"] is False and record["caller_e164"] is None
    assert data["intent"] == "orders"
    # a web caller has no number on file: asked for an account or order number, they keyed 0
    said = [" ".join(s.text.split()) for s in emulators.elevenlabs.syntheses]
    assert any(prompts.line("verification.identify") in text for text in said), said
    assert data["verification"]["status"] == "unverified"
    assert data["verification"]["identified_by"] is None
    [attempt] = data["transfer_attempts"]
    assert (attempt["mode"], attempt["supervisor"]) == ("warm", "Web Lead")
    if stack.bridge_missing is not None:
        # no bridge behind livekit-server: CreateSIPParticipant finds no SIP service
        assert (attempt["outcome"], attempt["detail"]) == (
            "failed",
            "dial: server error unavailable",
        )
    else:
        assert attempt["outcome"] == "declined"
    assert record["outcome"] == "abandoned", "the caller hung up after the callback offer"


async def _dispatches_with_jobs(stack: Stack, room: str) -> list[api.AgentDispatch] | None:
    found = await _dispatches(stack, room)
    return found if found and all(d.state.jobs for d in found) else None


async def _agents(stack: Stack, room: str) -> list[api.ParticipantInfo]:
    return [p for p in await _participants(stack, room) if p.kind == api.ParticipantInfo.Kind.AGENT]


def _rtp_port() -> int:
    from scripts.livekit_local import free_udp_range

    return free_udp_range(20)[0]
