"""`callcenter console`: a phone call simulated in the terminal, no LiveKit server.

The caller types; lines are user turns. Special lines:

    DTMF 1234     key digits on the phone keypad (DTMF 0 asks for a person)
    HANGUP        the caller hangs up

`--caller +E164` sets the caller ID, `--script FILE` replays lines non-interactively,
`--json` prints the final call record. With an OpenAI key the real pipeline LLM answers
(text only: the greeting agent uses the pipeline LLM here, not the realtime model);
without keys the deterministic degraded mode does. There is no SIP leg, so a transfer
is simulated and the call record says so.

The call runs inside the framework's `fake_job_context` with an unconnected room, so
keypad digits travel the same path as on a phone call: `sip_dtmf_received` events on
the room, which the framework's `GetDtmfTask` listens to.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from livekit import rtc
from livekit.agents import AgentSession, RunResult
from livekit.agents.beta.workflows import GetDtmfTask
from livekit.agents.llm import ChatMessage
from livekit.agents.testing import fake_job_context
from livekit.agents.voice.events import ConversationItemAddedEvent, FunctionToolsExecutedEvent

from callcenter.call import Call, start_call
from callcenter.config import Settings
from callcenter.core.state import CallState
from callcenter.data import DATABASE_ERRORS, CallRecordStore, Database
from callcenter.data.seed import seed_demo
from callcenter.providers import build_providers
from callcenter.telephony.dtmf import keypad_turn
from callcenter.telephony.numbers import to_e164
from callcenter.telephony.sip import CallInfo


@dataclass(frozen=True)
class ConsoleOptions:
    caller: str | None
    script: Path | None
    json_output: bool
    verbose: bool
    demo: bool = False
    """Seed the demo customers into an empty `DATABASE_URL` database (the embedded SQLite
    default gets them anyway)."""


class ScriptError(ValueError):
    """A malformed line in a `--script` file (the message names the line)."""


def parse_line(raw: str, *, line_no: int | None = None) -> tuple[str, str] | None:
    """('say'|'dtmf'|'hangup', payload) for one input line; None for blanks and comments."""
    line = raw.strip()
    if not line or line.startswith("#"):
        return None
    head, _, rest = line.partition(" ")
    if head.upper() == "HANGUP" and not rest.strip():
        return ("hangup", "")
    if head.upper() == "DTMF":
        digits = rest.replace(" ", "")
        if not digits or any(c not in "0123456789*#" for c in digits):
            where = f"line {line_no}: " if line_no else ""
            raise ScriptError(f"{where}DTMF takes keypad keys 0-9, * and #, got {rest!r}")
        return ("dtmf", digits)
    return ("say", line)


class Printer:
    """Writes the conversation to the terminal as it happens (session events).

    Agent words come from `conversation_item_added`, so replies that no caller turn
    started (a greeting on entry, the result of keyed digits) are shown too.
    """

    def __init__(self, out: TextIO, *, verbose: bool, quiet: bool) -> None:
        self.out, self.verbose, self.quiet = out, verbose, quiet
        self._agent_id: str | None = None

    def attach(self, session: AgentSession[CallState]) -> None:
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if self.quiet or not isinstance(item, ChatMessage) or item.role != "assistant":
            return
        if item.text_content:
            print(f"agent > {item.text_content}", file=self.out, flush=True)

    def _on_tools(self, ev: FunctionToolsExecutedEvent) -> None:
        if self.quiet or not self.verbose:
            return
        for call in ev.function_calls:
            print(f"        [tool {call.name} {call.arguments}]", file=self.out, flush=True)

    def handoffs(self, session: AgentSession[CallState]) -> None:
        agent_id = session.current_agent.id
        if self._agent_id is not None and agent_id != self._agent_id:
            self.note(f"now with {agent_id} (phase {session.userdata.phase})")
        self._agent_id = agent_id

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"        [{text}]", file=self.out, flush=True)


async def _lines(options: ConsoleOptions) -> AsyncIterator[tuple[int, str]]:
    if options.script is not None:
        for number, line in enumerate(options.script.read_text().splitlines(), start=1):
            yield number, line
        return
    loop = asyncio.get_running_loop()
    number = 0
    while True:
        number += 1
        print("you   > ", end="", flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield number, line


def _validate_script(path: Path) -> None:
    """Fail before the call starts if any scripted line is malformed."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parse_line(line, line_no=number)


async def _send_dtmf(
    room: rtc.Room, session: AgentSession[CallState], digits: str
) -> RunResult[Any] | None:
    """Deliver keyed digits the way a phone call does."""
    task = session.current_agent
    if isinstance(task, GetDtmfTask):
        for index, digit in enumerate(digits):
            room.emit("sip_dtmf_received", rtc.SipDTMF(code=index, digit=digit, participant=None))
        # the task completes on "#" or after its per-digit timeout; wait for that, so the
        # caller's next line comes after the keyed PIN was checked
        for _ in range(int(10 / 0.02)):
            if task.done() or session.current_agent is not task:
                break
            await asyncio.sleep(0.02)
        return None
    return session.run(user_input=keypad_turn(digits))


async def run_console(
    settings: Settings, options: ConsoleOptions, out: TextIO = sys.stdout
) -> dict[str, Any]:
    """Run one simulated call; returns the final call record as a dict."""
    if options.script is not None:
        _validate_script(options.script)
    caller = (
        to_e164(options.caller, default_region=settings.default_region) if options.caller else None
    )
    printer = Printer(out, verbose=options.verbose, quiet=options.json_output)

    db = await _open_database(settings, options, printer)
    try:
        providers = build_providers(settings, vad=_console_vad(settings))
        providers = replace(providers, realtime=None, stt=None, tts=None)  # text only
        call = CallInfo.for_console(caller_e164=caller, call_id=f"console-{uuid.uuid4().hex[:8]}")
        printer.note(
            f"call {call.call_id} from {caller or 'an unknown number'}; "
            + ("degraded mode (no provider keys)" if providers.degraded_only else "live models")
        )
        room = rtc.Room()
        with fake_job_context(room=room):
            running = await start_call(
                settings=settings,
                db=db,
                call=call,
                providers=providers,
                vad=None,
                before_start=printer.attach,
            )
            await _converse(running, room, options, printer)
            if not running.closed.is_set():
                running.state.caller_hung_up()  # the script or the terminal ran out
                await running.session.aclose()
            await running.wait_closed()
        try:
            record = await CallRecordStore(db).get(call.call_id)
        except DATABASE_ERRORS:
            record = None
        if record is None:  # the database was unreachable: the record is in the journal
            printer.note("the database was unreachable: the call record is in the journal")
            return {"call_id": call.call_id, "outcome": running.state.outcome, "journaled": True,
                    "data": running.state.record_data()}  # fmt: skip
        return record.to_dict()
    finally:
        await db.close()


async def _open_database(settings: Settings, options: ConsoleOptions, printer: Printer) -> Database:
    """Migrate (a fresh machine: once) and seed the demo customers into the embedded SQLite
    default, or into another database only with `--demo`. With the database unreachable the
    call still runs, without account services (what a caller would hear)."""
    try:
        db = await Database.open(
            settings.database_url, migrate=True, connect_timeout=settings.database_timeout_s
        )
    except DATABASE_ERRORS as exc:
        printer.note(f"database unreachable ({type(exc).__name__}): no account services")
        return await Database.open(settings.database_url, check=False)
    if settings.embedded_database or options.demo:
        await seed_demo(db)
    return db


async def _converse(
    running: Call, room: rtc.Room, options: ConsoleOptions, printer: Printer
) -> None:
    session = running.session
    await _drain(running, printer)
    async for number, raw in _lines(options):
        if running.closed.is_set() or running.state.ended:
            break
        try:
            parsed = parse_line(raw, line_no=number)
        except ScriptError as exc:
            printer.note(str(exc))
            continue
        if parsed is None:
            continue
        kind, payload = parsed
        running.timers.caller_active()  # a typed line (or keys) is the caller being there
        if options.script is not None and not options.json_output:
            print(f"you   > {raw.strip()}", file=printer.out)
        if kind == "hangup":
            running.state.caller_hung_up()
            await session.aclose()
            break
        result = (
            await _send_dtmf(room, session, payload)
            if kind == "dtmf"
            else session.run(user_input=payload)
        )
        if result is not None:
            try:
                await result
            except Exception as exc:  # a provider error is shown, the call goes on
                printer.note(f"turn failed: {type(exc).__name__}: {exc}")
        await _drain(running, printer)


async def _drain(
    running: Call,
    printer: Printer,
    *,
    settle_s: float = 0.3,
    timeout: float = 15.0,
) -> None:
    """Wait until it is the caller's turn again, or the call is over.

    That is: the agent has been listening (nothing being generated, no tool running,
    no handoff under way) for `settle_s` in a row. A keypad task waiting for digits
    counts as the caller's turn.
    """
    session = running.session
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet_since: float | None = None
    while loop.time() < deadline and not running.closed.is_set():
        if session.agent_state in ("listening", "idle"):
            quiet_since = quiet_since if quiet_since is not None else loop.time()
            if loop.time() - quiet_since >= settle_s:
                break
        else:
            quiet_since = None
        await asyncio.sleep(0.02)
    if not running.state.ended:
        printer.handoffs(session)


def _console_vad(settings: Settings) -> Any:
    if not settings.use_live_providers:
        return None
    from callcenter.turn_taking import load_vad

    return load_vad()


def main_console(
    settings: Settings, options: ConsoleOptions, *, printer: Callable[[str], None] = print
) -> int:
    record = asyncio.run(run_console(settings, options))
    if options.json_output:
        printer(json.dumps(record, indent=2, default=str))
    else:
        printer(
            f"call ended: {record.get('outcome')}"
            + (
                f", transferred to {record['transferred_to']}"
                if record.get("transferred_to")
                else ""
            )
        )
    return 0
