"""The call's clocks: a silent caller is prompted, then the call ends politely; no call
outlives `Settings.max_call_duration_s`.

Silence is counted here, not by the framework's `user_away_timeout` (which fires once and
then never again, so a caller who stayed silent after "are you still there?" was kept on
the line until the maximum duration). The idle timer runs only while both sides are quiet:

- it starts when the agent's playout ends (the agent goes back to `listening`) and the
  caller is not speaking, and restarts each time that happens again;
- it stops while the agent thinks or speaks, while the caller speaks, and while the caller
  is on hold for a transfer (the escalation owns that silence);
- caller activity resets it and the prompt count: speech, a final transcript, and keypad
  input (`caller_active()`, wired to the keypad by the worker and to typed lines by the
  console).

After `Settings.inactivity_timeout_s` of silence the caller hears "are you still there?"
(`INACTIVITY_PROMPTS` times); after the same silence again the agent says goodbye and
hangs up, with end reason `inactivity`. What the caller hears is in `prompts/lines.toml`
(`[timers]`).
"""

from __future__ import annotations

import asyncio

from livekit.agents import AgentSession
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    UserInputTranscribedEvent,
    UserStateChangedEvent,
)

from callcenter import prompts
from callcenter.core.phases import Phase
from callcenter.core.state import CallState

INACTIVITY_PROMPTS = 1
"""How many "are you still there?" prompts before a silent call is ended."""
INACTIVITY_REASON = "inactivity"
"""The end reason a silent call is recorded with."""


class CallTimers:
    """Inactivity prompts and the maximum duration of one session."""

    def __init__(self, session: AgentSession[CallState], state: CallState) -> None:
        self.session = session
        self.state = state
        self.prompts_said = 0
        self._idle: asyncio.TimerHandle | None = None
        self._deadline: asyncio.Task[None] | None = None
        self._agent = "initializing"
        self._user = "listening"

    def attach(self) -> CallTimers:
        self.session.on("agent_state_changed", self._on_agent_state)
        self.session.on("user_state_changed", self._on_user_state)
        self.session.on("user_input_transcribed", self._on_transcribed)
        self.session.on("close", self._on_close)
        self._deadline = asyncio.create_task(self._max_duration(), name="max-call-duration")
        return self

    # ------------------------------------------------------------------ silence

    def caller_active(self) -> None:
        """The caller did something (a key, a typed line): silence starts again from now."""
        self.prompts_said = 0
        self._arm()

    @property
    def idle(self) -> bool:
        """The idle timer is running (both sides quiet)."""
        return self._idle is not None

    def _quiet(self) -> bool:
        return (
            self._agent == "listening"
            and self._user != "speaking"
            and not self.state.ended
            and self.state.phase is not Phase.ESCALATION
        )

    def _arm(self) -> None:
        self._disarm()
        if self._quiet():
            timeout = self.state.deps.settings.inactivity_timeout_s
            self._idle = asyncio.get_running_loop().call_later(timeout, self._silence)

    def _disarm(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._agent = ev.new_state
        if ev.new_state == "listening":
            self._arm()  # the agent's playout just ended
        else:
            self._disarm()

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        self._user = ev.new_state
        if ev.new_state == "speaking":
            self.prompts_said = 0
            self._disarm()
        elif ev.new_state == "listening":
            self._arm()

    def _on_transcribed(self, ev: UserInputTranscribedEvent) -> None:
        if ev.is_final and ev.transcript.strip():
            self.caller_active()

    def _silence(self) -> None:
        self._idle = None
        if not self._quiet():
            return
        if self.prompts_said < INACTIVITY_PROMPTS:
            self.prompts_said += 1
            self.session.say(prompts.line("timers.still_there"))
            return
        self.end_politely(prompts.line("timers.inactivity_goodbye"), reason=INACTIVITY_REASON)

    # ------------------------------------------------------------------ the end

    async def _max_duration(self) -> None:
        await asyncio.sleep(self.state.deps.settings.max_call_duration_s)
        self.end_politely(
            prompts.line("timers.max_duration_goodbye"), reason="maximum call duration"
        )

    def end_politely(self, goodbye: str, *, reason: str) -> None:
        """Say `goodbye`, record why, then hang up once it has been said."""
        if self.state.ended:
            return
        self._disarm()
        self.state.ended_by_us(reason=reason)
        handle = self.session.say(goodbye, allow_interruptions=False)
        handle.add_done_callback(lambda _: self.session.shutdown())

    def _on_close(self, _: CloseEvent) -> None:
        self._disarm()
        if self._deadline is not None:
            self._deadline.cancel()
