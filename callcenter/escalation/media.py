"""Production media for transfers: the caller's hold line and the supervisor's briefing leg.

These need a real LiveKit SFU (an `rtc.Room` connection), so the tests replace them
with fakes; everything they do on the server API side goes through `LiveKitTransfers`
in `warm.py` and is tested against the emulator. A live trial should check them first
(see docs/escalation.md).

- `SessionCallerLine`: hold music with `BackgroundAudioPlayer`, caller audio input off
  during the hold (the caller cannot interrupt the transfer), reassurance with
  `session.say`, and (self-hosted merge) track permissions so only the caller hears the
  agent while the supervisor is in the same room.
- `RoomConsultLeg`: a second connection (identity `briefing-agent-...`) to the consult
  room (cloud) or the caller's room (self-hosted), running an `AgentSession` with the
  briefing agent: it speaks the summary and calls `connect_to_caller`,
  `decline_transfer` or `voicemail_detected` (the shape of `WarmTransferTask`).
- `end_session_after_reply`: end the caller's session once the tool reply is spoken
  (the shape of `EndCallTool`); the room is not deleted, so the caller stays with the
  supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from livekit import api, rtc
from livekit.agents import Agent, AgentSession, RunContext, function_tool
from livekit.agents.types import NOT_GIVEN
from livekit.agents.voice import room_io
from livekit.agents.voice.background_audio import (
    AudioConfig,
    BackgroundAudioPlayer,
    BuiltinAudioClip,
    PlayHandle,
)

from callcenter.config import Settings
from callcenter.core.state import CallState
from callcenter.escalation.warm import BriefingResult, ConsultDecision, ConsultLeg

log = logging.getLogger("callcenter.escalation")


class SessionCallerLine:
    """`CallerLine` over the caller's `AgentSession` and room."""

    def __init__(self, session: AgentSession[Any], room: rtc.Room) -> None:
        self._session = session
        self._room = room
        self._player: BackgroundAudioPlayer | None = None
        self._handle: PlayHandle | None = None
        self._input_was_enabled: bool | None = None

    async def start_hold(self) -> None:
        audio_in = self._session.input
        if audio_in.audio is not None:
            self._input_was_enabled = audio_in.audio_enabled
            audio_in.set_audio_enabled(False)
        self._player = BackgroundAudioPlayer()
        await self._player.start(room=self._room, agent_session=self._session)
        self._handle = self._player.play(
            AudioConfig(BuiltinAudioClip.HOLD_MUSIC, volume=0.6), loop=True
        )

    async def stop_hold(self) -> None:
        if self._handle is not None:
            self._handle.stop()
            self._handle = None
        if self._player is not None:
            with contextlib.suppress(Exception):
                await self._player.aclose()
            self._player = None
        if self._input_was_enabled is not None and self._session.input.audio is not None:
            self._session.input.set_audio_enabled(self._input_was_enabled)
            self._input_was_enabled = None

    async def say(self, text: str) -> None:
        handle = self._session.say(text, allow_interruptions=False)
        await handle.wait_for_playout()

    async def publish_only_to(self, identity: str | None) -> None:
        local = self._room.local_participant
        if identity is None:
            local.set_track_subscription_permissions(allow_all_participants=True)
        else:
            local.set_track_subscription_permissions(
                allow_all_participants=False,
                participant_permissions=[
                    rtc.ParticipantTrackPermission(participant_identity=identity, allow_all=True)
                ],
            )


def end_session_after_reply(ctx: RunContext[CallState]) -> None:
    """Shut the caller's session down after the reply to the current tool call.

    Mirrors `EndCallTool`: with a realtime model that replies to tools on its own, wait
    for that reply's speech; otherwise the reply reuses this speech handle. The room is
    left alone: after a merge the caller is talking to the supervisor in it.
    """
    session = ctx.session
    try:
        rt_session = session.current_agent.realtime_llm_session
    except RuntimeError:  # the agent runs on a pipeline LLM
        rt_session = None
    auto_reply = rt_session is not None and rt_session.capabilities.auto_tool_reply_generation

    async def _after_next_speech() -> None:
        created: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def _on_created(ev: Any) -> None:
            if not created.done():
                created.set_result(ev.speech_handle)

        session.on("speech_created", _on_created)
        try:
            handle = await asyncio.wait_for(created, timeout=5.0)
            await handle
        except TimeoutError:
            pass
        finally:
            session.off("speech_created", _on_created)
            session.shutdown()

    pending: set[asyncio.Task[None]] = set()

    def _on_done(_: object) -> None:
        if auto_reply:
            task = asyncio.ensure_future(_after_next_speech())
            pending.add(task)
            task.add_done_callback(pending.discard)
        else:
            session.shutdown()

    ctx.speech_handle.add_done_callback(_on_done)


class BriefingAgent(Agent):
    """Speaks the briefing to the supervisor and records their decision (its tools)."""

    def __init__(self, instructions: str, decided: asyncio.Future[BriefingResult]) -> None:
        super().__init__(instructions=instructions)
        self._decided = decided

    async def on_enter(self) -> None:
        self.session.generate_reply(
            instructions="Greet the supervisor briefly and give the spoken summary now."
        )

    def _decide(self, result: BriefingResult) -> None:
        if not self._decided.done():
            self._decided.set_result(result)

    @function_tool
    async def connect_to_caller(self) -> str:
        """Call when the supervisor says they will take the call."""
        self._decide(BriefingResult(ConsultDecision.CONNECT))
        return "Connecting now. Say nothing more."

    @function_tool
    async def decline_transfer(self, reason: str) -> str:
        """Call when the supervisor declines to take the call.

        Args:
            reason: Their reason in a few words.
        """
        self._decide(BriefingResult(ConsultDecision.DECLINE, reason[:200]))
        return "Understood. Thank them briefly and say goodbye."

    @function_tool
    async def voicemail_detected(self) -> str:
        """Call as soon as you hear a voicemail greeting or a beep instead of a person."""
        self._decide(BriefingResult(ConsultDecision.VOICEMAIL))
        return "Say nothing."


class RoomConsultLeg:
    """`ConsultLeg`: an AgentSession talking to the supervisor over its own connection."""

    def __init__(
        self,
        room: rtc.Room,
        session: AgentSession[Any],
        decided: asyncio.Future[BriefingResult],
        supervisor_identity: str,
    ) -> None:
        self._room = room
        self._session = session
        self._decided = decided
        self._supervisor = supervisor_identity

        def _on_left(participant: rtc.RemoteParticipant) -> None:
            if participant.identity == supervisor_identity and not decided.done():
                decided.set_result(BriefingResult(ConsultDecision.HUNG_UP, "supervisor hung up"))

        room.on("participant_disconnected", _on_left)

    async def brief(self) -> BriefingResult:
        return await self._decided

    async def tell_supervisor(self, text: str) -> None:
        handle = self._session.say(text, allow_interruptions=False)
        await asyncio.wait_for(handle.wait_for_playout(), timeout=15)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._session.aclose()
        with contextlib.suppress(Exception):
            await self._room.disconnect()


class RoomConsultLegFactory:
    """Opens `RoomConsultLeg`s with the caller session's models (STT/LLM/TTS/VAD)."""

    def __init__(self, settings: Settings, caller_session: AgentSession[Any]) -> None:
        self._settings = settings
        self._caller_session = caller_session

    async def open(
        self, *, room: str, supervisor_identity: str, caller_identity: str, briefing: str
    ) -> ConsultLeg:
        caller_session = self._caller_session
        identity = f"briefing-agent-{uuid.uuid4().hex[:6]}"
        secret = self._settings.livekit_api_secret
        token = (
            api.AccessToken(
                self._settings.livekit_api_key,
                secret.get_secret_value() if secret is not None else None,
            )
            .with_identity(identity)
            .with_kind("agent")
            .with_grants(
                api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True)
            )
            .to_jwt()
        )
        url = self._settings.livekit_url
        if not url:  # the worker refuses to start without it (`Settings.require_livekit`)
            raise RuntimeError("LIVEKIT_URL is not set: the briefing leg cannot connect")
        lk_room = rtc.Room()
        await lk_room.connect(url, token)
        # self-hosted: the caller is in this room too and must not hear the briefing
        lk_room.local_participant.set_track_subscription_permissions(
            allow_all_participants=False,
            participant_permissions=[
                rtc.ParticipantTrackPermission(
                    participant_identity=supervisor_identity, allow_all=True
                )
            ],
        )
        decided: asyncio.Future[BriefingResult] = asyncio.get_running_loop().create_future()
        session: AgentSession[Any] = AgentSession(
            vad=caller_session.vad or NOT_GIVEN,
            stt=caller_session.stt or NOT_GIVEN,
            llm=caller_session.llm or NOT_GIVEN,
            tts=caller_session.tts or NOT_GIVEN,
        )
        leg = RoomConsultLeg(lk_room, session, decided, supervisor_identity)
        try:
            await session.start(
                agent=BriefingAgent(briefing, decided),
                room=lk_room,
                room_options=room_io.RoomOptions(
                    participant_identity=supervisor_identity,
                    close_on_disconnect=False,
                    delete_room_on_close=False,
                ),
                record=False,
            )
        except BaseException:
            await leg.aclose()
            raise
        return leg
