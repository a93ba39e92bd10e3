"""The transfer primitives (`callcenter.escalation.livekit_transfers`) against a real
livekit-server v1.13.5, no bridge needed (CI runs these).

- MoveParticipant, which `cloud` merging needs, is not implemented by a self-hosted server:
  the product refuses `cloud` against such a server at start-up (tests/callpath config tests).
- A SIP-URI supervisor is dialled with the URI's user at its host: the server accepts that
  request (it fails here only because no bridge runs), where the full URI is refused.
- Self-hosted isolation works on the real server: UpdateSubscriptions stops and restarts what a
  listener hears, a publisher's track permissions keep a track from a participant, and a
  participant that may not subscribe (UpdateParticipant) hears nothing published meanwhile.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from livekit import api, rtc

from callcenter.escalation.livekit_transfers import LiveKitTransfers, TransferFailed
from callcenter.vocabulary import TransferOutcome
from scripts.livekit_local import StackInfo

RATE = 16000


def _client(info: StackInfo) -> api.LiveKitAPI:
    return api.LiveKitAPI(info.http_url, info.api_key, info.api_secret)


async def _join(info: StackInfo, identity: str, room: str, *, like_sip: bool = False) -> rtc.Room:
    """`like_sip`: subscribe as livekit-sip does, itself, to each audio track the moment it
    is published (no server-side auto-subscribe)."""
    token = (
        api.AccessToken(info.api_key, info.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )
    r = rtc.Room()
    if like_sip:

        def _on_published(pub: rtc.RemoteTrackPublication, _p: rtc.RemoteParticipant) -> None:
            if pub.kind == rtc.TrackKind.KIND_AUDIO:
                pub.set_subscribed(True)

        r.on("track_published", _on_published)
    await r.connect(info.url, token, rtc.RoomOptions(auto_subscribe=not like_sip))
    if like_sip:
        for participant in r.remote_participants.values():
            for pub in participant.track_publications.values():
                pub.set_subscribed(True)
    return r


class Speaker:
    """A participant publishing a continuous tone."""

    def __init__(self, room: rtc.Room, hz: float) -> None:
        self.room, self.hz = room, hz
        self.source = rtc.AudioSource(RATE, 1)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> rtc.LocalTrackPublication:
        track = rtc.LocalAudioTrack.create_audio_track("voice", self.source)
        pub = await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        self.task = asyncio.create_task(self._feed())
        return pub

    async def _feed(self) -> None:
        n = RATE // 50
        t = np.arange(n) / RATE
        i = 0
        while True:
            x = 8000 * np.sin(2 * np.pi * self.hz * (t + i * n / RATE))
            await self.source.capture_frame(
                rtc.AudioFrame(x.astype(np.int16).tobytes(), RATE, 1, n)
            )
            i += 1


class Listener:
    """A participant recording the arrival time, level and speaker of every audio frame."""

    def __init__(self, room: rtc.Room) -> None:
        self.frames: list[tuple[float, float, str]] = []
        self.tasks: list[asyncio.Task[None]] = []
        room.on("track_subscribed", self._on_track)

    def _on_track(self, track: rtc.Track, _pub: object, participant: rtc.Participant) -> None:
        self.tasks.append(asyncio.create_task(self._read(track, participant.identity)))

    async def _read(self, track: rtc.Track, speaker: str) -> None:
        async for ev in rtc.AudioStream(track, sample_rate=RATE, num_channels=1):
            x = np.frombuffer(ev.frame.data, dtype=np.int16).astype(np.float64)
            self.frames.append((time.monotonic(), float(np.sqrt(np.mean(x * x))), speaker))

    def heard_since(self, t: float, speaker: str | None = None) -> float:
        """Seconds of loud audio received since monotonic time `t` (from `speaker`)."""
        return sum(
            0.02
            for at, rms, who in self.frames
            if at >= t and rms > 1000 and speaker in (None, who)
        )

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()


async def test_move_participant_is_not_implemented_self_hosted(fresh_server: StackInfo) -> None:
    async with _client(fresh_server) as lk:
        await lk.room.create_room(api.CreateRoomRequest(name="consult"))
        await lk.room.create_room(api.CreateRoomRequest(name="call"))
        sup = await _join(fresh_server, "supervisor-1", "consult")
        try:
            transfers = LiveKitTransfers(lambda: lk, trunk_id=None)
            with pytest.raises(TransferFailed) as failed:
                await transfers.move(from_room="consult", identity="supervisor-1", to_room="call")
        finally:
            await sup.disconnect()
    assert (failed.value.outcome, failed.value.detail) == (
        TransferOutcome.FAILED,
        "move: server error unknown",
    )


async def test_a_sip_uri_supervisor_passes_the_servers_validation(fresh_server: StackInfo) -> None:
    async with _client(fresh_server) as lk:
        await lk.room.create_room(api.CreateRoomRequest(name="call"))
        transfers = LiveKitTransfers(
            lambda: lk, trunk_id="ST_unused", caller_id_number="+12025550124"
        )
        with pytest.raises(TransferFailed) as failed:
            await transfers.dial(
                room="call",
                identity="supervisor-1",
                contact="sip:lead@pbx.example.com:5070;transport=tcp",
                display_name="Lead",
            )
    # accepted by livekit-server and handed to the SIP service, which is not running here
    assert failed.value.detail == "dial: server error unavailable"


async def test_update_subscriptions_mutes_and_restores_a_speaker(fresh_server: StackInfo) -> None:
    alice = await _join(fresh_server, "alice", "room")
    bob = await _join(fresh_server, "bob", "room")
    listener = Listener(bob)
    speaker = Speaker(alice, 440)
    try:
        await speaker.start()
        await asyncio.sleep(1.5)
        assert listener.heard_since(0) > 0.5, "bob hears alice"
        async with _client(fresh_server) as lk:
            transfers = LiveKitTransfers(lambda: lk, trunk_id=None)
            muted = await transfers.set_hearing(
                room="room", listener="bob", speakers=["alice"], hear=False
            )
            assert len(muted) == 1
            await asyncio.sleep(0.5)
            quiet_from = time.monotonic()
            await asyncio.sleep(1.5)
            heard_muted = listener.heard_since(quiet_from)
            await transfers.set_hearing(room="room", listener="bob", speakers=["alice"], hear=True)
            await asyncio.sleep(0.5)
            back_from = time.monotonic()
            await asyncio.sleep(1.5)
            heard_back = listener.heard_since(back_from)
    finally:
        if speaker.task:
            speaker.task.cancel()
        listener.stop()
        await alice.disconnect()
        await bob.disconnect()
    assert heard_muted == 0.0, "unsubscribed: nothing of alice reaches bob"
    assert heard_back > 1.0, "subscribed again"


async def test_a_listener_that_may_not_subscribe_never_hears_a_track_published_meanwhile(
    fresh_server: StackInfo,
) -> None:
    """What `WarmTransfer._keep_apart` relies on, with a listener that subscribes as
    livekit-sip does (itself, on publication): while it may not subscribe, a new speaker's
    track it asks for is not delivered; unsubscribed meanwhile, that track stays off when it
    may subscribe again, and what it heard before comes back."""
    agent = await _join(fresh_server, "agent", "room")
    hold, late = Speaker(agent, 440), None
    await hold.start()
    caller = await _join(fresh_server, "caller", "room", like_sip=True)
    heard = Listener(caller)
    try:
        await asyncio.sleep(1.5)
        assert heard.heard_since(0, "agent") > 0.5, "the caller hears the hold audio"
        async with _client(fresh_server) as lk:
            transfers = LiveKitTransfers(lambda: lk, trunk_id=None)
            await transfers.set_can_subscribe(room="room", identity="caller", allowed=False)
            deaf_from = time.monotonic()
            sup = await _join(fresh_server, "supervisor", "room")
            late = Speaker(sup, 900)
            await late.start()  # the caller's own subscription request follows at once
            sids = await transfers.wait_audio_tracks(
                room="room", identity="supervisor", timeout_s=10
            )
            assert len(sids) == 1
            await asyncio.sleep(1.0)
            await transfers.set_hearing(
                room="room", listener="caller", speakers=["supervisor"], hear=False
            )
            await transfers.set_can_subscribe(room="room", identity="caller", allowed=True)
            back_from = time.monotonic()
            await asyncio.sleep(2.0)
    finally:
        for speaker in (hold, late):
            if speaker is not None and speaker.task:
                speaker.task.cancel()
        heard.stop()
        for r in (agent, caller):
            await r.disconnect()
        if late is not None:
            await late.room.disconnect()
    assert heard.heard_since(deaf_from, "supervisor") == 0.0, "never the supervisor"
    assert heard.heard_since(back_from, "agent") > 1.0, "the hold audio again"


async def test_track_permissions_keep_a_track_from_everyone_but_one(
    fresh_server: StackInfo,
) -> None:
    """What `SessionCallerLine.publish_only_to` and the briefing leg rely on."""
    agent = await _join(fresh_server, "agent", "room")
    caller = await _join(fresh_server, "caller", "room")
    sup = await _join(fresh_server, "supervisor", "room")
    to_caller, to_sup = Listener(caller), Listener(sup)
    speaker = Speaker(agent, 440)
    try:
        agent.local_participant.set_track_subscription_permissions(
            allow_all_participants=False,
            participant_permissions=[
                rtc.ParticipantTrackPermission(participant_identity="caller", allow_all=True)
            ],
        )
        await speaker.start()
        await asyncio.sleep(2.0)
    finally:
        if speaker.task:
            speaker.task.cancel()
        to_caller.stop()
        to_sup.stop()
        for r in (agent, caller, sup):
            await r.disconnect()
    assert to_caller.heard_since(0) > 1.0
    assert to_sup.heard_since(0) == 0.0


def test_the_worker_refuses_cloud_merging_against_this_server(fresh_server: StackInfo) -> None:
    """Detected at start-up: `callcenter dev` exits before registering, saying what to set.
    (Left on `auto`, the worker merges self-hosted: test_sip_warm_transfer.py.)"""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        **fresh_server.env(),
        "OPENAI_API_KEY": "test",
        "CALLCENTER_PROVIDER_MODE": "live",
        "CALLCENTER_MERGE_MODE": "cloud",
    }
    done = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "dev"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "CALLCENTER_MERGE_MODE=cloud needs LiveKit Cloud" in done.stderr
    assert "Use CALLCENTER_MERGE_MODE=self_hosted (or auto)" in done.stderr
