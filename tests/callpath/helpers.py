"""Shared helpers for the call-path tests: fake escalation, state and session builders,
exact tool-call assertions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc
from livekit.agents import Agent, AgentSession, RunContext
from livekit.agents.testing import fake_job_context
from livekit.agents.voice.run_result import EventAssert, FunctionCallAssert, RunResult

from callcenter.call import call_deps, new_call_state
from callcenter.config import Settings, load_settings
from callcenter.core.phases import Phase
from callcenter.core.replies import parse
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.telephony.sip import CallInfo
from callcenter.vocabulary import FactorKind, TransferOutcome
from tests.support.call_states import walk_to
from tests.support.scripted_llm import ScriptedLLM

MAYA = "+14155550142"
DANIEL = "+12125550199"
UNKNOWN = "+14155559999"
MAYA_ZIP, MAYA_LAST_FOUR, MAYA_PIN = "94107", "0042", "4421"


def make_settings(**overrides: Any) -> Settings:
    """Degraded-mode settings that ignore `.env` (tests never depend on a developer's file)."""
    values: dict[str, Any] = {
        "CALLCENTER_PROVIDER_MODE": "degraded",
        "CALLCENTER_VERIFY_ATTEMPTS": 3,
        "DATABASE_URL": "sqlite+aiosqlite:///unused.db",
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class Escalated:
    phase: Phase
    reason: str


@dataclass
class FakeEscalation:
    """In-process `EscalationPort` for the agent tests: records what reached it, and moves
    the call the way the real manager does, through `CallState`'s methods: success ends
    the call as transferred, failure returns to where the escalation began with
    `failure_text` for the model. What the state then holds is the state's doing, not this
    double's (the real manager is tested in tests/escalation/).
    """

    succeed: bool = True
    supervisor: str = "Sam Supervisor"
    failure_text: str = (
        "Nobody could take the call right now. Tell the caller and offer a callback."
    )
    calls: list[Escalated] = field(default_factory=list)
    callbacks: list[tuple[str, str]] = field(default_factory=list)

    async def escalate(self, ctx: RunContext[CallState], *, reason: str) -> str:
        state = ctx.userdata
        self.calls.append(Escalated(phase=state.phase, reason=reason))
        state.begin_escalation(reason=reason)
        if not self.succeed:
            state.transfer_recorded("warm", self.supervisor, TransferOutcome.NO_ANSWER, "")
            state.escalation_failed(reason="no answer")
            return self.failure_text
        state.transfer_recorded("simulated", self.supervisor, TransferOutcome.CONNECTED, "")
        state.transferred(self.supervisor)
        return f"Connected to {self.supervisor}. Tell the caller they are being connected now."

    async def request_callback(
        self, ctx: RunContext[CallState], *, reason: str, preferred_time: str
    ) -> str:
        self.callbacks.append((reason, preferred_time))
        ctx.userdata.callback_booked(7, preferred_time)
        return "Callback ticket 7 is booked. Read the ticket number to the caller."


async def make_state(
    db: Database,
    settings: Settings,
    escalation: Any,
    *,
    caller: str | None = MAYA,
    verified: bool = False,
    phase: Phase = Phase.GREETING,
    factor: FactorKind = "zip",
) -> CallState:
    """A console-style call from `caller`, built like `start_call` builds one, then walked
    to `phase` by legal moves (verified on the way with `factor` when `verified`: the ZIP
    code gives `basic` assurance, the PIN `strong`)."""
    info = CallInfo.for_console(caller_e164=caller, call_id="test-call")
    state = await new_call_state(info, call_deps(settings, db, escalation=escalation))
    return walk_to(state, phase, verified=verified, factor=factor)


async def settle(session: AgentSession[Any], timeout: float = 5.0) -> None:
    """Wait until the agent has finished speaking (e.g. the reply from `on_enter`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await asyncio.sleep(0)
    while loop.time() < deadline:
        speech = session.current_speech
        if speech is None and session.agent_state in ("listening", "idle"):
            await asyncio.sleep(0.01)
            if session.current_speech is None:
                return
        elif speech is not None:
            await speech.wait_for_playout()
        else:
            await asyncio.sleep(0.01)
    raise TimeoutError("the agent did not settle")


@asynccontextmanager
async def running_session(
    state: CallState,
    scripted: ScriptedLLM,
    agent: Agent,
    *,
    room: rtc.Room | None = None,
) -> AsyncIterator[AgentSession[CallState]]:
    """A started text-only session inside a fake job; checks the script on exit."""
    session = AgentSession[CallState](llm=scripted, userdata=state)
    with fake_job_context(room=room or rtc.Room()):
        await session.start(agent)
        await settle(session)
        try:
            yield session
        finally:
            await session.aclose()
    scripted.check()


def is_call(event: EventAssert, name: str, **arguments: Any) -> FunctionCallAssert:
    """The event is a call of `name` with exactly `arguments` (no more, no fewer)."""
    asserted = event.is_function_call(name=name, arguments=arguments)
    actual = json.loads(asserted.event().item.arguments or "{}")
    assert actual == arguments, f"{name} called with {actual}, expected {arguments}"
    return asserted


def called(result: RunResult[Any], name: str) -> dict[str, Any]:
    """Arguments of the only call of `name` in the run (fails if there is not exactly one)."""
    calls = [e.item for e in result.events if e.type == "function_call" and e.item.name == name]
    assert len(calls) == 1, f"expected one call of {name}, got {len(calls)}"
    return json.loads(calls[0].arguments or "{}")


def said(output: str) -> str:
    """The spoken part of a rendered `ToolReply` (fails when `output` is not one)."""
    reply = parse(output)
    assert reply is not None, f"not a ToolReply: {output!r}"
    return reply.say


def then(output: str) -> str:
    """The model-facing part of a rendered `ToolReply`."""
    reply = parse(output)
    assert reply is not None, f"not a ToolReply: {output!r}"
    return reply.do


def output_of(event: EventAssert, *, is_error: bool = False) -> str:
    """The event is a tool output with the given error flag; returns its text."""
    return event.is_function_call_output(is_error=is_error).event().item.output
