"""`callcenter console`: a phone call simulated in the terminal, no LiveKit server.

The caller types; lines are user turns. Special lines:

    DTMF 1234     key digits on the phone keypad (DTMF 0 asks for a person)
    HANGUP        the caller hangs up

`--caller +E164` sets the caller ID, `--script FILE` replays lines non-interactively,
`--json` prints the final call record. With an OpenAI key the real pipeline LLM answers
(text only: the greeting agent uses the pipeline LLM here, not the realtime model);
without keys the deterministic degraded mode does. There is no SIP leg, so a transfer
is simulated and the call record says so.

What a newcomer sees is the dialogue and nothing else:

- Log lines go to `var/console.log` (`-v` prints them on stderr instead, with the tool
  calls), so they never land between the caller's and the agent's lines.
- The call happens at a demo moment when the contact center is open (`--at open`, the
  default: an hour into the week's first opening, in the business time zone), so the README's
  demo ends the same way at any time of day. `--at closed`, `--at "sun 10:00"`, an ISO time or
  `--at now` (the real clock) try the other paths. The first line says which moment it is.
- `console ... | head` ends cleanly: when stdout closes, the call ends as a hang-up, the
  record is written, and the command exits with 141 (what a shell reports for SIGPIPE), no
  traceback. A call the agent ends (goodbye, transfer) returns at once, even while the
  terminal is waiting for the caller's next line.

The call runs inside the framework's `fake_job_context` with an unconnected room, so
keypad digits travel the same path as on a phone call: `sip_dtmf_received` events on
the room, which the framework's `GetDtmfTask` listens to.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, TextIO
from zoneinfo import ZoneInfo

from livekit import rtc
from livekit.agents import AgentSession, RunResult
from livekit.agents.beta.workflows import GetDtmfTask
from livekit.agents.llm import ChatMessage
from livekit.agents.testing import fake_job_context
from livekit.agents.voice.events import ConversationItemAddedEvent, FunctionToolsExecutedEvent

from callcenter.business_hours import DAY_NAMES, BusinessHours, spoken_zone
from callcenter.call import Call, start_call
from callcenter.config import ConfigError, Settings
from callcenter.core.state import CallState
from callcenter.data import DATABASE_ERRORS, CallRecordStore, Database
from callcenter.data.seed import seed_demo
from callcenter.escalation.wiring import build_escalation
from callcenter.observability.logs import configure_cli_logging
from callcenter.providers import build_providers
from callcenter.speech import spoken_clock
from callcenter.staff import WEEKDAYS
from callcenter.telephony.dtmf import keypad_turn
from callcenter.telephony.numbers import to_e164
from callcenter.telephony.sip import CallInfo

LOG_FILE: Final = Path("var") / "console.log"
"""Where the console's log lines go without `-v` (beside the demo database, `var/`)."""
PIPE_CLOSED_EXIT: Final = 141
"""The exit status when stdout closed under us (128 + SIGPIPE, as shells report it)."""


@dataclass(frozen=True)
class ConsoleOptions:
    caller: str | None
    script: Path | None
    json_output: bool
    verbose: bool
    at: str = "open"
    """The call's moment for business hours and shifts (`call_moment`)."""
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

    def __init__(self, out: TextIO | None, *, verbose: bool, quiet: bool) -> None:
        self.out, self.verbose, self.quiet = out, verbose, quiet
        self._agent_id: str | None = None
        self.gone = asyncio.Event()
        """Set when the output closed (`console | head` has read enough): the call ends."""
        self.prompting = False
        """The `you   > ` prompt is on the last line, waiting for the caller."""

    def write(self, text: str, *, end: str = "\n") -> None:
        """Print to the terminal; a closed output is noted, never raised mid-call. A line
        written while the prompt waits (the agent asking "are you still there?") starts on
        a line of its own."""
        if self.gone.is_set() or self.out is None:
            return
        if self.prompting:
            text = "\n" + text
        self.prompting = False
        try:
            print(text, end=end, file=self.out, flush=True)
        except (BrokenPipeError, ValueError, OSError):  # a closed pipe or file
            self.gone.set()

    def prompt(self) -> None:
        self.write("you   > ", end="")
        self.prompting = True

    def typed(self, line: str) -> None:
        """The caller's line was read: a terminal echoed it, a pipe did not."""
        if not self.prompting:
            return
        self.prompting = False
        if sys.stdin is None or not sys.stdin.isatty():
            self.write(line.rstrip("\n"))

    def attach(self, session: AgentSession[CallState]) -> None:
        session.on("conversation_item_added", self._on_item)
        session.on("function_tools_executed", self._on_tools)

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if self.quiet or not isinstance(item, ChatMessage) or item.role != "assistant":
            return
        if item.text_content:
            self.write(f"agent > {item.text_content}")

    def _on_tools(self, ev: FunctionToolsExecutedEvent) -> None:
        if self.quiet or not self.verbose:
            return
        for call in ev.function_calls:
            self.write(f"        [tool {call.name} {call.arguments}]")

    def handoffs(self, session: AgentSession[CallState]) -> None:
        agent_id = session.current_agent.id
        if self._agent_id is not None and agent_id != self._agent_id:
            self.note(f"now with {agent_id} (phase {session.userdata.phase})")
        self._agent_id = agent_id

    def note(self, text: str) -> None:
        if not self.quiet:
            self.write(f"        [{text}]")


def _stdin_reader(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines typed on stdin (None at end of input), read by a daemon thread: a call that
    ends while the terminal waits for the next line returns at once instead of waiting for
    Enter (an executor thread would hold the process until `readline` returns)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        while True:
            line = sys.stdin.readline() if sys.stdin is not None else ""
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line or None)
            except RuntimeError:  # the loop has closed: the console is done
                return
            if not line:
                return

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    return queue


async def _first(*waits: Any) -> Any:
    """The result of the first awaitable to finish (the others are cancelled)."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return next(iter(done)).result()


async def _lines(
    options: ConsoleOptions, printer: Printer, stop: asyncio.Event
) -> AsyncIterator[tuple[int, str]]:
    """Numbered caller lines from the script or the terminal, until input ends or `stop`."""
    if options.script is not None:
        for number, line in enumerate(options.script.read_text().splitlines(), start=1):
            yield number, line
        return
    typed = _stdin_reader(asyncio.get_running_loop())
    number = 0
    while not stop.is_set():
        number += 1
        printer.prompt()
        line = await _first(typed.get(), stop.wait())
        if not isinstance(line, str):  # end of input (None) or the call is over (True)
            return
        printer.typed(line)
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
    settings: Settings,
    options: ConsoleOptions,
    out: TextIO | None = None,
    *,
    printer: Printer | None = None,
) -> dict[str, Any]:
    """Run one simulated call, shown on `out` (stdout) or through `printer`; returns the
    final call record as a dict."""
    if options.script is not None:
        _validate_script(options.script)
    caller = (
        to_e164(options.caller, default_region=settings.default_region) if options.caller else None
    )
    if printer is None:
        printer = Printer(
            out if out is not None else sys.stdout,
            verbose=options.verbose,
            quiet=options.json_output,
        )
    real_now = dt.datetime.now(dt.UTC)
    moment = call_moment(options.at, settings.hours, real_now)
    offset = moment - real_now

    db = await _open_database(settings, options, printer)
    try:
        providers = build_providers(settings, vad=_console_vad(settings))
        providers = replace(providers, realtime=None, stt=None, tts=None)  # text only
        call = CallInfo.for_console(caller_e164=caller, call_id=f"console-{uuid.uuid4().hex[:8]}")
        printer.note(
            f"call {call.call_id} from {caller or 'an unknown number'}; "
            + ("degraded mode (no provider keys)" if providers.degraded_only else "live models")
        )
        printer.note(describe_moment(moment, settings.hours, options.at))
        if options.script is None:
            printer.note("type what the caller says; DTMF 1234 keys digits, HANGUP hangs up")
        escalation = build_escalation(settings, db, clock=lambda: dt.datetime.now(dt.UTC) + offset)
        room = rtc.Room()
        with fake_job_context(room=room):
            running = await start_call(
                settings=settings,
                db=db,
                call=call,
                providers=providers,
                vad=None,
                escalation=escalation,
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
    await _drain(running, printer)
    stop = asyncio.Event()  # the call closed, or nobody reads the output any more
    watchers = [asyncio.ensure_future(e.wait()) for e in (running.closed, printer.gone)]
    for watcher in watchers:
        watcher.add_done_callback(lambda _: stop.set())
    try:
        await _turns(running, room, options, printer, stop)
    finally:
        for watcher in watchers:
            watcher.cancel()


async def _turns(
    running: Call, room: rtc.Room, options: ConsoleOptions, printer: Printer, stop: asyncio.Event
) -> None:
    session = running.session
    async for number, raw in _lines(options, printer, stop):
        if running.closed.is_set() or running.state.ended or printer.gone.is_set():
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
            printer.write(f"you   > {raw.strip()}")
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
        if printer.gone.is_set():  # nobody is reading: the caller has, in effect, hung up
            break


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


# --------------------------------------------------------------------------- the call's moment

_AT_FORMS = (
    "open (default), closed, now, a weekday and time like 'sun 10:00', "
    "or an ISO time like 2026-12-24T10:00"
)


def call_moment(spec: str, hours: BusinessHours, now: dt.datetime) -> dt.datetime:
    """The moment the console's call happens at, for business hours and supervisors' shifts.

    - `open`: an hour into the week's first opening (Monday 9 AM for `mon-fri 08:00-18:00`),
      this week or the next that is not a holiday: the same weekday and time whenever the
      console runs, so the same supervisors are on duty and the demo ends the same way;
    - `closed`: an hour after that first opening ends (or the next closed moment);
    - `now`: the real clock;
    - `DAY HH:MM` (`sun 10:00`): the next such moment, today included, in the business time
      zone; an ISO time (`2026-12-24T10:00`, in the business time zone unless it says).

    Raises `ConfigError` naming the forms for anything else, and for `open`/`closed` when
    the hours have no such moment.
    """
    text = " ".join(spec.strip().lower().split())
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    if text == "now":
        return now
    if text in ("open", "closed"):
        return _demo_moment(text == "open", hours, local)
    match = re.fullmatch(r"([a-z]{3})[a-z]* (\d{1,2}):(\d{2})", text)
    if match and match.group(1) in WEEKDAYS:
        day, hour, minute = WEEKDAYS.index(match.group(1)), int(match.group(2)), int(match.group(3))
        if hour < 24 and minute < 60:
            date = local.date() + dt.timedelta(days=(day - local.weekday()) % 7)
            return dt.datetime.combine(date, dt.time(hour, minute), zone)
    try:
        moment = dt.datetime.fromisoformat(spec.strip())
    except ValueError:
        raise ConfigError(f"--at {spec!r}: use {_AT_FORMS}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _demo_moment(open_: bool, hours: BusinessHours, local: dt.datetime) -> dt.datetime:
    windows = [(d, w) for d, day in enumerate(WEEKDAYS) for w in hours.weekly.days.get(day, ())]
    if not windows:
        raise ConfigError("--at open/closed: CALLCENTER_BUSINESS_HOURS has no opening hours")
    day, first = windows[0]
    start = first.start.hour * 60 + first.start.minute
    minutes = start + min(60, (first.end_minutes - start) // 2)
    if not open_:
        minutes = first.end_minutes + 60
    monday = dt.datetime.combine(local.date() - dt.timedelta(days=local.weekday()), dt.time(0))
    for week in range(0, 60):
        moment = (monday + dt.timedelta(days=7 * week + day, minutes=minutes)).replace(
            tzinfo=local.tzinfo
        )
        for _ in range(7 * 48):  # `closed`: walk on half an hour at a time
            if hours.is_open(moment) == open_:
                return moment
            if open_:
                break
            moment += dt.timedelta(minutes=30)
        else:
            raise ConfigError(f"--at closed: the contact center never closes ({hours.describe()})")
    raise ConfigError("--at open: no opening in the next year that is not a holiday")


def describe_moment(moment: dt.datetime, hours: BusinessHours, spec: str) -> str:
    """The console's first note: when the call happens and whether people can take it."""
    local = hours.local(moment)
    when = (
        f"{DAY_NAMES[local.weekday()]} {spoken_clock(local.hour * 60 + local.minute)} "
        f"{spoken_zone(hours.timezone)}"
    )
    state = "open" if hours.is_open(moment) else "closed"
    if spec.strip().lower() == "now":
        return f"clock: now, {when}; the contact center is {state}"
    return (
        f"clock: {when} (--at {spec}); the contact center is {state}. --at now uses the real time"
    )


# --------------------------------------------------------------------------- the command


def configure_console_logging(settings: Settings, options: ConsoleOptions) -> str:
    """Log lines to `LOG_FILE`, or stderr with `-v`; never between the dialogue's lines.
    Returns where they go, for the first note."""
    if options.verbose:
        configure_cli_logging(settings.log_level)
        return "stderr"
    try:
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        stream = LOG_FILE.open("a", encoding="utf-8", buffering=1)
    except OSError:
        configure_cli_logging("ERROR")  # nowhere to write: only errors, on stderr
        return "stderr (errors only)"
    configure_cli_logging(settings.log_level, stream=stream)
    return str(LOG_FILE)


def main_console(settings: Settings, options: ConsoleOptions) -> int:
    """`callcenter console`: logging, the call, then its last line (or the record with
    `--json`). Exit 0, or `PIPE_CLOSED_EXIT` when stdout closed during the call."""
    call_moment(options.at, settings.hours, dt.datetime.now(dt.UTC))  # a bad --at: exit 2 now
    where = configure_console_logging(settings, options)
    printer = Printer(sys.stdout, verbose=options.verbose, quiet=options.json_output)
    if not options.verbose:
        printer.note(f"log lines: {where}; -v shows them here")
    try:
        record = asyncio.run(run_console(settings, options, printer=printer))
    except KeyboardInterrupt:
        printer.write("\n        [call ended: interrupted]")
        return 130
    if options.json_output:
        printer.write(json.dumps(record, indent=2, default=str))
    else:
        transferred = record.get("transferred_to")
        printer.write(
            f"call ended: {record.get('outcome')}"
            + (f", transferred to {transferred}" if transferred else "")
        )
    if printer.gone.is_set():
        _quiet_stdout()
        return PIPE_CLOSED_EXIT
    return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
