"""Interface the agents use to reach a human. See `EscalationService`."""

from __future__ import annotations

from typing import Protocol

from livekit.agents import RunContext

from callcenter.state import CallState


class EscalationService(Protocol):
    """What `transfer_to_human` and `request_callback` call.

    Both return a short text for the model: what happened and what to tell the caller.
    Implementations record every attempt on `CallState.transfer_attempts`, move the
    phase to ESCALATION and back (or to ENDED when the supervisor took the call), and
    never leave the caller on hold without an outcome.

    The production implementation is `callcenter.escalation.manager.EscalationManager`
    (built with `build_escalation(settings, db)`); see docs/escalation.md for the paths.
    """

    async def escalate(self, ctx: RunContext[CallState], *, reason: str) -> str: ...

    async def request_callback(
        self, ctx: RunContext[CallState], *, reason: str, preferred_time: str
    ) -> str: ...
