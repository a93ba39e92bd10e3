"""The call's clocks: a silent caller is prompted, then the call ends; no call outlives
`Settings.max_call_duration_s`.

Silence is the session's own `user_away_timeout` (`Settings.inactivity_timeout_s`, set by
`callcenter.call`): the first "away" gets a prompt, the next one ends the call politely.
What the caller hears is in `prompts/lines.toml` (`[timers]`).
"""

from __future__ import annotations

import asyncio

from livekit.agents import AgentSession
from livekit.agents.voice.events import CloseEvent, UserStateChangedEvent

from callcenter import prompts
from callcenter.core.state import CallState

INACTIVITY_PROMPTS = 1
"""How many "are you still there?" prompts before a silent call is ended."""


class CallTimers:
    """Inactivity prompts and the maximum duration of one session."""

    def __init__(self, session: AgentSession[CallState], state: CallState) -> None:
        self.session = session
        self.state = state
        self._away_prompts = 0
        self._deadline: asyncio.Task[None] | None = None

    def attach(self) -> CallTimers:
        self.session.on("user_state_changed", self._on_user_state)
        self.session.on("close", self._on_close)
        self._deadline = asyncio.create_task(self._max_duration(), name="max-call-duration")
        return self

    def _on_user_state(self, ev: UserStateChangedEvent) -> None:
        if ev.new_state != "away" or self.state.ended:
            return
        if self._away_prompts < INACTIVITY_PROMPTS:
            self._away_prompts += 1
            self.session.say(prompts.line("timers.still_there"))
            return
        self.end_politely(prompts.line("timers.inactivity_goodbye"), reason="inactivity")

    async def _max_duration(self) -> None:
        await asyncio.sleep(self.state.deps.settings.max_call_duration_s)
        self.end_politely(
            prompts.line("timers.max_duration_goodbye"), reason="maximum call duration"
        )

    def end_politely(self, goodbye: str, *, reason: str) -> None:
        """Say `goodbye`, record why, then hang up once it has been said."""
        if self.state.ended:
            return
        self.state.ended_by_us(reason=reason)
        handle = self.session.say(goodbye, allow_interruptions=False)
        handle.add_done_callback(lambda _: self.session.shutdown())

    def _on_close(self, _: CloseEvent) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
