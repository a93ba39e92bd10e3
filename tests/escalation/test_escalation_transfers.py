"""Warm and cold transfer paths through the LiveKit Twirp emulator and `fake_job_context`.

Each test asserts the Twirp calls the real `livekit-api` client made, the recorded
`TransferAttempt`s, the phase history and what the caller was told.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from livekit import api, rtc
from livekit.protocol.models import TrackInfo, TrackType

from callcenter import prompts
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.escalation.attempts import HoldState
from callcenter.vocabulary import CallOutcome, TransferOutcome
from tests.escalation.conftest import Harness
from tests.escalation.helpers import (
    ALEX,
    CALLER_IDENTITY,
    CALLER_ROOM,
    CALLER_TRACK,
    CARLA,
    DECLINE,
    HUNG_UP,
    OMAR,
    PRIYA,
    TRUNK_ID,
    VOICEMAIL,
    BriefingResult,
    ConsultDecision,
    FakeCtx,
    make_state,
    sup,
)
from tests.support.emulators.livekit import TwirpFault, sip_status_fault, sip_timeout_fault

ON_HOLD, DIALLING, BRIEFING = HoldState.ON_HOLD, HoldState.DIALLING, HoldState.BRIEFING
TALKING, CONNECTED, RETURNED = HoldState.TALKING, HoldState.CONNECTED, HoldState.RETURNED
SIP = "livekit.SIP/"
ROOM = "livekit.RoomService/"


def ctx(**kw: object) -> FakeCtx:
    """A verified caller in the specialist phase of their intent (orders by default)."""
    return FakeCtx(make_state(**kw))  # type: ignore[arg-type]


def assert_escalated_then_ended(state: CallState, *, reason: str) -> None:
    """The call went from where the caller was to ESCALATION, then straight to ENDED."""
    moves = [(c.from_phase, c.to_phase) for c in state.phase_history]
    assert moves[-2:] == [(Phase.ORDERS, Phase.ESCALATION), (Phase.ESCALATION, Phase.ENDED)]
    assert state.phase_history[-1].reason == reason


def sip_failure(code: int, status: str) -> TwirpFault:
    return sip_status_fault(code, status)


def fail_dial_for(h: Harness, failing: dict[str, TwirpFault]) -> None:
    """CreateSIPParticipant fails for the contacts in `failing`, answers for the others."""
    answered = h.server._routes[SIP + "CreateSIPParticipant"].handler

    def handler(req: api.CreateSIPParticipantRequest) -> object:
        if req.sip_call_to in failing:
            raise failing[req.sip_call_to]
        return answered(req)

    h.server.on(SIP + "CreateSIPParticipant", handler)


# ----------------------------------------------------------------------------- connect


async def test_warm_cloud_connect_moves_supervisor_and_closes_record(harness: Harness) -> None:
    manager = harness.build(supervisors=[OMAR, ALEX])
    c = ctx()

    reply = await manager.escalate(c, reason="wants to dispute a late delivery")  # type: ignore[arg-type]

    [dial] = harness.calls(SIP + "CreateSIPParticipant")
    assert dial.sip_trunk_id == TRUNK_ID
    assert dial.sip_call_to == OMAR.contact
    assert dial.sip_number == "+14155550199"
    assert dial.room_name == f"{CALLER_ROOM}-consult-1"
    assert dial.participant_identity == "supervisor-1-omar-haddad"
    assert dial.wait_until_answered and dial.krisp_enabled
    assert dial.ringing_timeout.seconds == 20
    [move] = harness.calls(ROOM + "MoveParticipant")
    assert (move.room, move.identity, move.destination_room) == (
        f"{CALLER_ROOM}-consult-1",
        "supervisor-1-omar-haddad",
        CALLER_ROOM,
    )
    assert [r.room for r in harness.calls(ROOM + "DeleteRoom")] == [f"{CALLER_ROOM}-consult-1"]
    assert harness.calls(ROOM + "RemoveParticipant") == []
    assert harness.server.participants[CALLER_ROOM].keys() == {
        CALLER_IDENTITY,
        "supervisor-1-omar-haddad",
    }

    state = c.userdata
    [attempt] = state.transfer_attempts
    assert (attempt.mode, attempt.supervisor, attempt.outcome) == (
        "warm",
        "Omar Haddad",
        TransferOutcome.CONNECTED,
    )
    assert state.outcome is CallOutcome.TRANSFERRED
    assert state.transferred_to == "Omar Haddad"
    assert_escalated_then_ended(state, reason="transferred to Omar Haddad")
    assert harness.ended == [c], "the agent leaves after the merge"
    assert reply.say == "" and "do not say anything more" in reply.do
    assert harness.line.events[0][0] == "say" and "hold" in harness.line.said[0]
    assert ("hold", True) in harness.line.events and harness.line.events[-1] == ("hold", False)
    assert harness.hold == [ON_HOLD, DIALLING, BRIEFING, CONNECTED]
    # the briefing names the caller, verification, intent, what was done and why
    briefing = harness.consult.opened[0]["briefing"]
    for fact in (
        "Dana",
        "verified, basic assurance: caller ID + zip (NOT enough",
        "orders",
        "looked up order 1002",
        "late delivery",
    ):
        assert fact in briefing


async def test_warm_dial_of_a_sip_uri_supervisor_uses_its_host_not_the_trunk(
    harness: Harness,
) -> None:
    """LiveKit refuses `sip:user@host` in sip_call_to (invalid_argument, tests/e2e proves it):
    the user part is dialled at the URI's host with an inline outbound config."""
    pbx = sup("Pat Lee", "sip:lead@pbx.example.com:5070;transport=tcp", ["general"])
    manager = harness.build(supervisors=[pbx])
    c = ctx()

    await manager.escalate(c, reason="needs a supervisor")  # type: ignore[arg-type]

    [dial] = harness.calls(SIP + "CreateSIPParticipant")
    assert (dial.sip_trunk_id, dial.sip_call_to) == ("", "lead")
    assert dial.trunk.hostname == "pbx.example.com:5070"
    assert dial.trunk.transport == api.SIPTransport.SIP_TRANSPORT_TCP
    assert dial.sip_number == "+14155550199"
    [attempt] = c.userdata.transfer_attempts
    assert attempt.outcome is TransferOutcome.CONNECTED


async def test_a_full_sip_uri_in_sip_call_to_is_refused_like_livekit(harness: Harness) -> None:
    async with api.LiveKitAPI(
        harness.server.url, harness.server.api_key, harness.server.api_secret
    ) as lk:
        with pytest.raises(api.TwirpError) as err:
            await lk.sip.create_sip_participant(
                api.CreateSIPParticipantRequest(
                    sip_trunk_id=TRUNK_ID, sip_call_to="sip:lead@pbx.example.com", room_name="r"
                )
            )
    assert err.value.code == "invalid_argument"
    assert "not a full SIP URI" in err.value.message


async def test_warm_self_hosted_connect_uses_subscriptions_not_move(harness: Harness) -> None:
    manager = harness.build(supervisors=[OMAR], CALLCENTER_MERGE_MODE="self_hosted")
    c = ctx()

    await manager.escalate(c, reason="needs a supervisor")  # type: ignore[arg-type]

    [dial] = harness.calls(SIP + "CreateSIPParticipant")
    sup_id = "supervisor-1-omar-haddad"
    assert dial.room_name == CALLER_ROOM, "dialled straight into the caller's room"
    assert harness.calls(ROOM + "MoveParticipant") == []
    assert harness.calls(ROOM + "DeleteRoom") == []
    hearing = []
    for call in harness.server.calls:
        req = call.request
        if call.method.endswith("/UpdateSubscriptions"):
            hearing.append((req.identity, list(req.track_sids), req.subscribe))
        elif call.method.endswith("/UpdateParticipant"):
            hearing.append((req.identity, "can_subscribe", req.permission.can_subscribe))
    apart = [(CALLER_IDENTITY, [f"TR_{sup_id}"], False), (sup_id, [CALLER_TRACK], False)]
    assert hearing == [
        # the caller hears nothing until the supervisor's track is there and kept from them,
        # twice: the bridge's own subscription to a new track may come after the first
        (CALLER_IDENTITY, "can_subscribe", False),
        *apart,
        *apart,
        (CALLER_IDENTITY, "can_subscribe", True),
        (CALLER_IDENTITY, [f"TR_{sup_id}"], True),
        (sup_id, [CALLER_TRACK], True),
    ]
    # the agent spoke only to the caller while the supervisor was in the room
    publish = [v for k, v in harness.line.events if k == "publish_only_to"]
    assert publish == [CALLER_IDENTITY, None]
    assert harness.consult.opened[0]["room"] == CALLER_ROOM
    assert c.userdata.outcome is CallOutcome.TRANSFERRED
    assert c.userdata.transfer_attempts[0].detail == "merged (self_hosted)"


async def test_self_hosted_caller_hears_nothing_until_a_late_supervisor_track_is_kept_away(
    harness: Harness,
) -> None:
    """A phone leg's track counts as published only once its media reaches the server, which
    a real server showed can be after the dial returned: an UpdateSubscriptions then finds no
    track and the caller's bridge subscribes to it on its own. The caller may hear nothing
    until the track is there and kept from them."""
    server = harness.server

    def answered_before_media(req: api.CreateSIPParticipantRequest) -> api.SIPParticipantInfo:
        p = server.add_participant(
            req.room_name, req.participant_identity, kind=api.ParticipantInfo.Kind.SIP
        )

        async def media_arrives() -> None:
            await asyncio.sleep(0.3)
            p.tracks.append(TrackInfo(sid="TR_late", type=TrackType.AUDIO))
            # as the real server tells every participant of the room, the agent included
            harness.room.emit(
                "track_published",
                SimpleNamespace(sid="TR_late", kind=rtc.TrackKind.KIND_AUDIO),
                SimpleNamespace(identity=p.identity),
            )

        tasks.append(asyncio.ensure_future(media_arrives()))
        return api.SIPParticipantInfo(
            participant_id=p.sid, participant_identity=p.identity, room_name=req.room_name
        )

    tasks: list[asyncio.Future[None]] = []
    server.on("livekit.SIP/CreateSIPParticipant", answered_before_media)
    manager = harness.build(supervisors=[OMAR], CALLCENTER_MERGE_MODE="self_hosted")
    c = ctx()

    await manager.escalate(c, reason="needs a supervisor")  # type: ignore[arg-type]

    steps = [
        (
            call.method.rsplit("/", 1)[1],
            call.request.identity,
            list(call.request.track_sids)
            if call.method.endswith("UpdateSubscriptions")
            else call.request.permission.can_subscribe,
        )
        for call in server.calls
        if call.method.endswith(("UpdateSubscriptions", "UpdateParticipant"))
    ]
    deaf, kept_away = (
        steps.index(("UpdateParticipant", CALLER_IDENTITY, False)),
        steps.index(("UpdateSubscriptions", CALLER_IDENTITY, ["TR_late"])),
    )
    hears = steps.index(("UpdateParticipant", CALLER_IDENTITY, True))
    assert deaf < kept_away < hears, steps
    assert c.userdata.transfer_attempts[0].detail == "merged (self_hosted)"
    # the wait is the room's `track_published` event, not a poll: the server is asked once
    # before it, once after, and once more for the isolation's UpdateSubscriptions
    first_isolation = next(
        i for i, call in enumerate(server.calls) if call.method.endswith("UpdateSubscriptions")
    )
    asked = [
        call
        for call in server.calls[:first_isolation]
        if call.method.endswith("GetParticipant")
        and call.request.identity == "supervisor-1-omar-haddad"
    ]
    assert len(asked) == 3, f"{len(asked)} GetParticipant while waiting for the track"


async def test_self_hosted_caller_hears_again_when_isolation_fails(harness: Harness) -> None:
    """Whatever fails while the caller may hear nothing, the tear-down gives it back."""

    def refused(req: api.UpdateSubscriptionsRequest) -> object:
        raise TwirpFault("internal", "boom")

    harness.server.on(ROOM + "UpdateSubscriptions", refused)
    manager = harness.build(supervisors=[OMAR], CALLCENTER_MERGE_MODE="self_hosted")
    c = ctx()

    await manager.escalate(c, reason="needs a supervisor")  # type: ignore[arg-type]

    caller_perm = [
        u.permission.can_subscribe
        for u in harness.calls(ROOM + "UpdateParticipant")
        if u.identity == CALLER_IDENTITY
    ]
    assert caller_perm == [False, True]
    assert c.userdata.transfer_attempts[0].outcome is TransferOutcome.FAILED


# ----------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [
        (480, "Temporarily Unavailable", TransferOutcome.NO_ANSWER),
        (408, "Request Timeout", TransferOutcome.NO_ANSWER),
        (486, "Busy Here", TransferOutcome.BUSY),
        (603, "Decline", TransferOutcome.DECLINED),
        (404, "Not Found", TransferOutcome.FAILED),
        (503, "Service Unavailable", TransferOutcome.FAILED),
    ],
)
async def test_sip_failure_then_next_supervisor_connects(
    harness: Harness, code: int, status: str, outcome: TransferOutcome
) -> None:
    fail_dial_for(harness, {OMAR.contact: sip_failure(code, status)})
    manager = harness.build(supervisors=[OMAR, CARLA])
    c = ctx()

    await manager.escalate(c, reason="help")  # type: ignore[arg-type]

    dials = harness.calls(SIP + "CreateSIPParticipant")
    assert [d.sip_call_to for d in dials] == [OMAR.contact, CARLA.contact]
    assert [d.room_name for d in dials] == [f"{CALLER_ROOM}-consult-1", f"{CALLER_ROOM}-consult-2"]
    first, second = c.userdata.transfer_attempts
    assert (first.supervisor, first.outcome) == ("Omar Haddad", outcome)
    assert str(code) in first.detail
    assert (second.supervisor, second.outcome) == ("Carla Diaz", TransferOutcome.CONNECTED)
    assert any("trying another colleague" in s for s in harness.line.said)
    # the failed leg was cleaned up: its consult room deleted
    assert f"{CALLER_ROOM}-consult-1" in [r.room for r in harness.calls(ROOM + "DeleteRoom")]
    assert c.userdata.transferred_to == "Carla Diaz"
    assert harness.hold == [ON_HOLD, DIALLING, ON_HOLD, DIALLING, BRIEFING, CONNECTED]


async def test_ringing_timeout_is_no_answer(harness: Harness) -> None:
    """A real server answers a supervisor who never picks up (and an unreachable trunk alike)
    with Twirp `canceled` and no SIP status, after the ringing timeout."""
    fail_dial_for(harness, {OMAR.contact: sip_timeout_fault()})
    manager = harness.build(supervisors=[OMAR, CARLA])
    c = ctx()

    await manager.escalate(c, reason="help")  # type: ignore[arg-type]

    first, second = c.userdata.transfer_attempts
    assert (first.outcome, first.detail) == (
        TransferOutcome.NO_ANSWER,
        "dial: no answer (timed out)",
    )
    assert second.outcome is TransferOutcome.CONNECTED


@pytest.mark.parametrize(
    ("decision", "outcome"),
    [
        (DECLINE, TransferOutcome.DECLINED),
        (VOICEMAIL, TransferOutcome.VOICEMAIL),
        (HUNG_UP, TransferOutcome.SUPERVISOR_HUNG_UP),
    ],
)
async def test_briefing_failures_hang_up_and_return_caller(
    harness: Harness, decision: BriefingResult, outcome: TransferOutcome
) -> None:
    harness.consult.decisions = [decision, decision]
    manager = harness.build(supervisors=[OMAR, ALEX])
    c = ctx()

    reply = await manager.escalate(c, reason="help")  # type: ignore[arg-type]

    state = c.userdata
    assert [a.outcome for a in state.transfer_attempts] == [outcome, outcome]
    assert [a.supervisor for a in state.transfer_attempts] == ["Omar Haddad", "Alex Rivera"]
    removed = [(r.room, r.identity) for r in harness.calls(ROOM + "RemoveParticipant")]
    assert removed == [
        (f"{CALLER_ROOM}-consult-1", "supervisor-1-omar-haddad"),
        (f"{CALLER_ROOM}-consult-2", "supervisor-2-alex-rivera"),
    ]
    assert harness.calls(ROOM + "MoveParticipant") == []
    assert all(leg.closed for leg in harness.consult.legs)
    assert state.phase is Phase.ORDERS, "back to where the caller was"
    assert state.outcome is None
    assert reply.say == " ".join(
        prompts.line(key) for key in ("escalation.nobody_took_it", "offers.callback")
    )
    assert "request_callback" in reply.do and "Omar Haddad" in reply.do
    assert harness.line.events[-1] == ("hold", False)
    assert harness.hold == [ON_HOLD, DIALLING, BRIEFING] * 2 + [ON_HOLD, RETURNED]
    assert harness.ended == []


async def test_attempts_are_bounded_by_max_transfer_attempts(harness: Harness) -> None:
    harness.consult.decisions = [DECLINE, DECLINE, DECLINE]
    manager = harness.build(supervisors=[OMAR, CARLA, ALEX], CALLCENTER_MAX_TRANSFER_ATTEMPTS=2)
    c = ctx()
    await manager.escalate(c, reason="help")  # type: ignore[arg-type]
    assert len(harness.calls(SIP + "CreateSIPParticipant")) == 2
    assert len(c.userdata.transfer_attempts) == 2


async def test_trunk_missing_is_a_failed_attempt(harness: Harness) -> None:
    manager = harness.build(supervisors=[OMAR], LIVEKIT_SIP_OUTBOUND_TRUNK="ST_unknown")
    c = ctx()
    await manager.escalate(c, reason="help")  # type: ignore[arg-type]
    [attempt] = c.userdata.transfer_attempts
    assert attempt.outcome is TransferOutcome.FAILED
    assert "not_found" in attempt.detail
    assert c.userdata.phase is Phase.ORDERS


async def test_agent_side_error_returns_caller(harness: Harness) -> None:
    harness.consult.fail_with = RuntimeError("briefing session failed to start")
    manager = harness.build(supervisors=[OMAR])
    c = ctx()

    reply = await manager.escalate(c, reason="help")  # type: ignore[arg-type]

    [attempt] = c.userdata.transfer_attempts
    assert (attempt.outcome, attempt.detail) == (
        TransferOutcome.FAILED,
        "agent error: RuntimeError",
    )
    # the answered supervisor leg is hung up and its consult room dropped
    assert [r.identity for r in harness.calls(ROOM + "RemoveParticipant")] == [
        "supervisor-1-omar-haddad"
    ]
    assert [r.room for r in harness.calls(ROOM + "DeleteRoom")] == [f"{CALLER_ROOM}-consult-1"]
    assert c.userdata.phase is Phase.ORDERS
    assert "request_callback" in reply.do


async def test_caller_hangs_up_while_supervisor_rings(harness: Harness) -> None:
    ringing = asyncio.Event()
    never = asyncio.Event()

    async def slow_answer(req: api.CreateSIPParticipantRequest) -> api.SIPParticipantInfo:
        ringing.set()
        await never.wait()
        raise AssertionError("unreachable")

    harness.server.on(SIP + "CreateSIPParticipant", slow_answer)
    manager = harness.build(supervisors=[OMAR, ALEX])
    c = ctx()
    task = asyncio.create_task(manager.escalate(c, reason="help"))  # type: ignore[arg-type]
    await asyncio.wait_for(ringing.wait(), 5)
    harness.caller_hangs_up()
    reply = await asyncio.wait_for(task, 5)
    never.set()  # let the emulator finish the abandoned request

    state = c.userdata
    assert [a.outcome for a in state.transfer_attempts] == [TransferOutcome.CALLER_HUNG_UP]
    assert state.outcome is CallOutcome.ABANDONED
    assert_escalated_then_ended(state, reason="caller hung up during transfer")
    assert len(harness.calls(SIP + "CreateSIPParticipant")) == 1, "no second supervisor dialled"
    # a leg that connects late is removed, and the consult room dropped
    assert [r.identity for r in harness.calls(ROOM + "RemoveParticipant")] == [
        "supervisor-1-omar-haddad"
    ]
    assert [r.room for r in harness.calls(ROOM + "DeleteRoom")] == [f"{CALLER_ROOM}-consult-1"]
    assert reply.say == "" and "hung up" in reply.do
    assert harness.hold == [ON_HOLD, DIALLING, RETURNED]


@pytest.mark.parametrize("merge_mode", ["cloud", "self_hosted"])
async def test_caller_hangs_up_during_briefing_supervisor_is_told(
    harness: Harness, merge_mode: str
) -> None:
    briefing = asyncio.Event()

    async def supervisor_still_listening() -> BriefingResult:
        briefing.set()
        await asyncio.sleep(30)
        return BriefingResult(ConsultDecision.CONNECT)

    harness.consult.decisions = [supervisor_still_listening]
    manager = harness.build(supervisors=[OMAR], CALLCENTER_MERGE_MODE=merge_mode)
    c = ctx()
    task = asyncio.create_task(manager.escalate(c, reason="help"))  # type: ignore[arg-type]
    await asyncio.wait_for(briefing.wait(), 5)
    harness.caller_hangs_up()
    await asyncio.wait_for(task, 5)

    [leg] = harness.consult.legs
    assert leg.told and "caller has just hung up" in leg.told[0]
    assert leg.closed
    consult_room = f"{CALLER_ROOM}-consult-1" if merge_mode == "cloud" else CALLER_ROOM
    assert [(r.room, r.identity) for r in harness.calls(ROOM + "RemoveParticipant")] == [
        (consult_room, "supervisor-1-omar-haddad")
    ]
    assert harness.calls(ROOM + "MoveParticipant") == []
    if merge_mode == "cloud":
        assert [r.room for r in harness.calls(ROOM + "DeleteRoom")] == [consult_room]
    else:
        assert harness.calls(ROOM + "DeleteRoom") == [], "never delete the caller's room"
        assert all(u.subscribe is False for u in harness.calls(ROOM + "UpdateSubscriptions"))
    assert c.userdata.transfer_attempts[-1].outcome is TransferOutcome.CALLER_HUNG_UP
    assert c.userdata.outcome is CallOutcome.ABANDONED


async def test_reassurance_while_on_hold(harness: Harness) -> None:
    async def slow_answer(req: api.CreateSIPParticipantRequest) -> api.SIPParticipantInfo:
        await asyncio.sleep(2.6)
        p = harness.server.add_participant(req.room_name, req.participant_identity)
        p.tracks.append(TrackInfo(sid="TR_x", type=TrackType.AUDIO))
        return api.SIPParticipantInfo(participant_identity=p.identity, room_name=req.room_name)

    harness.server.on(SIP + "CreateSIPParticipant", slow_answer)
    manager = harness.build(supervisors=[OMAR], CALLCENTER_HOLD_REASSURANCE_S=1.2)
    c = ctx()
    await manager.escalate(c, reason="help")  # type: ignore[arg-type]
    reassurances = [s for s in harness.line.said if "holding" in s or "on hold" in s]
    assert len(reassurances) >= 2
    assert c.userdata.outcome is CallOutcome.TRANSFERRED


# ----------------------------------------------------------------------------- cold


async def test_cold_transfer_refers_caller(harness: Harness) -> None:
    cold_priya = sup("Priya Shah", PRIYA.contact, ["billing"], transfer_mode="cold")
    manager = harness.build(supervisors=[cold_priya])
    c = ctx(intent="billing")

    reply = await manager.escalate(c, reason="billing dispute")  # type: ignore[arg-type]

    [refer] = harness.calls(SIP + "TransferSIPParticipant")
    assert (refer.room_name, refer.participant_identity, refer.transfer_to) == (
        CALLER_ROOM,
        CALLER_IDENTITY,
        "sip:billing-lead@pbx.example.com",
    )
    assert harness.calls(SIP + "CreateSIPParticipant") == []
    [attempt] = c.userdata.transfer_attempts
    assert (attempt.mode, attempt.outcome) == ("cold", TransferOutcome.CONNECTED)
    assert c.userdata.outcome is CallOutcome.TRANSFERRED
    assert c.userdata.transferred_to == "Priya Shah"
    assert harness.line.said == ["I'm transferring you to Priya Shah now. One moment."]
    assert ("hold", True) not in harness.line.events
    assert harness.hold == [DIALLING, CONNECTED]
    assert reply.say == "" and "do not say anything more" in reply.do


async def test_cold_transfer_failures_bring_caller_back(harness: Harness) -> None:
    results = iter(
        [
            api.TransferSIPParticipantResponse(
                transfer_id="STR_1",
                status=api.SIPTransferStatus.STS_TRANSFER_FAILED,
                reason=api.SIPTransferReason.STR_RINGING_TIMEOUT,
            ),
            sip_failure(486, "Busy Here"),
        ]
    )

    def refer(req: api.TransferSIPParticipantRequest) -> api.TransferSIPParticipantResponse:
        result = next(results)
        if isinstance(result, Exception):
            raise result
        return result

    harness.server.on(SIP + "TransferSIPParticipant", refer)
    manager = harness.build(supervisors=[OMAR, ALEX], CALLCENTER_TRANSFER_MODE="cold")
    c = ctx()

    reply = await manager.escalate(c, reason="help")  # type: ignore[arg-type]

    refers = harness.calls(SIP + "TransferSIPParticipant")
    assert [r.transfer_to for r in refers] == ["tel:+14155550111", "tel:+14155550100"]
    assert [a.outcome for a in c.userdata.transfer_attempts] == [
        TransferOutcome.NO_ANSWER,
        TransferOutcome.BUSY,
    ]
    assert c.userdata.phase is Phase.ORDERS
    assert "request_callback" in reply.do
    assert harness.hold == [DIALLING, TALKING, DIALLING, TALKING, RETURNED]


# ----------------------------------------------------------------------------- no transfer


async def test_outside_business_hours_offers_callback_without_dialling(harness: Harness) -> None:
    from tests.escalation.helpers import SUNDAY_10AM_LA

    manager = harness.build(supervisors=[OMAR, ALEX], now=SUNDAY_10AM_LA)
    c = ctx()
    reply = await manager.escalate(c, reason="help")  # type: ignore[arg-type]
    assert harness.server.calls == []
    [attempt] = c.userdata.transfer_attempts
    assert (attempt.supervisor, attempt.outcome, attempt.detail) == (
        None,
        TransferOutcome.UNAVAILABLE,
        "outside business hours",
    )
    assert c.userdata.phase is Phase.ORDERS
    assert [p.to_phase for p in c.userdata.phase_history][-2:] == [Phase.ESCALATION, Phase.ORDERS]
    assert "Monday to Friday, 8 AM to 6 PM Pacific time" in reply.say
    assert "we open again tomorrow at 8 AM" in reply.say
    assert reply.say.endswith(prompts.line("offers.callback"))
    assert "request_callback" in reply.do


async def test_nobody_on_duty_for_skill_offers_callback(harness: Harness) -> None:
    night_owl = sup("Night Owl", "+14155550144", ["general"], working_hours="mon 20:00-23:00")
    manager = harness.build(supervisors=[PRIYA, night_owl])
    c = ctx(intent="orders")
    reply = await manager.escalate(c, reason="help")  # type: ignore[arg-type]
    assert harness.server.calls == []
    [attempt] = c.userdata.transfer_attempts
    assert (attempt.outcome, attempt.detail) == (
        TransferOutcome.UNAVAILABLE,
        "nobody on duty for orders",
    )
    assert reply.say == prompts.line("escalation.nobody_on_duty") + " " + prompts.line(
        "offers.callback"
    )


async def test_web_caller_is_warm_transferred_even_to_a_cold_supervisor(harness: Harness) -> None:
    """A WebRTC caller (no SIP leg) in a real room: the supervisor is dialled into the room;
    REFER is impossible without a SIP leg, so a cold supervisor gets a warm transfer."""
    cold_omar = sup("Omar Haddad", OMAR.contact, ["orders"], transfer_mode="cold")
    manager = harness.build(supervisors=[cold_omar], CALLCENTER_MERGE_MODE="self_hosted")
    c = ctx(is_sip=False)

    await manager.escalate(c, reason="needs a supervisor")  # type: ignore[arg-type]

    assert harness.calls(SIP + "TransferSIPParticipant") == []
    [dial] = harness.calls(SIP + "CreateSIPParticipant")
    assert dial.room_name == CALLER_ROOM
    [attempt] = c.userdata.transfer_attempts
    assert (attempt.mode, attempt.outcome) == ("warm", TransferOutcome.CONNECTED)


async def test_console_call_is_simulated(harness: Harness) -> None:
    manager = harness.build(supervisors=[OMAR, ALEX])
    c = ctx(is_sip=False, in_room=False)
    reply = await manager.escalate(c, reason="help")  # type: ignore[arg-type]
    assert harness.server.calls == []
    [attempt] = c.userdata.transfer_attempts
    assert (attempt.mode, attempt.outcome, attempt.supervisor) == (
        "simulated",
        TransferOutcome.SIMULATED,
        "Omar Haddad",
    )
    assert c.userdata.outcome is CallOutcome.TRANSFERRED
    assert c.userdata.transferred_to == "Omar Haddad"
    assert_escalated_then_ended(c.userdata, reason="transferred to Omar Haddad")
    assert harness.ended == [c], "the session ends after the reply"
    assert reply.say == prompts.line("escalation.simulated", supervisor="Omar Haddad")


async def test_no_decision_within_briefing_timeout_hangs_up(harness: Harness) -> None:
    from livekit.agents import get_job_context

    from callcenter.config import MergeMode
    from callcenter.escalation.livekit_transfers import LiveKitTransfers
    from callcenter.escalation.warm import WarmTransfer

    async def supervisor_says_nothing() -> BriefingResult:
        await asyncio.sleep(30)
        return BriefingResult(ConsultDecision.CONNECT)

    harness.consult.decisions = [supervisor_says_nothing]
    warm = WarmTransfer(
        transfers=LiveKitTransfers(lambda: get_job_context().api, trunk_id=TRUNK_ID),
        consult=harness.consult,
        caller=harness.line,
        merge_mode=MergeMode.CLOUD,
        caller_room=CALLER_ROOM,
        caller_identity=CALLER_IDENTITY,
        caller_left=asyncio.Event(),
        briefing="brief",
        briefing_timeout_s=0.2,
    )
    result = await warm.run(OMAR, 1)
    assert result.outcome is TransferOutcome.NO_ANSWER
    assert "briefing timeout" in result.detail
    assert [r.identity for r in harness.calls(ROOM + "RemoveParticipant")] == [
        "supervisor-1-omar-haddad"
    ]
    assert harness.consult.legs[0].closed
