"""Hostile calls through the product's own call assembly, and the scan of what they leave.

`hostile_call(db, settings, turns)` runs one call exactly as the console does (`start_call`:
the real escalation, account access, transcript, call record, timers) on a scripted model
that follows a plan turn by turn: each caller turn is answered by the planned tool call
(`act("check_pin", pin="4421")`) or by echoing the caller's words back (`ECHO`, what a
careless or injected model does with a secret). After the call the caller hangs up and the
record is written.

`scan(db)` reads every row of every table and `scan_lines(lines)` every captured log line,
looking for the seeded customers' PINs, ZIP codes, account digits, e-mail addresses and phone
numbers. The columns that hold such values by design are listed in `BY_DESIGN` (the customer
master data, the caller's own number on their call record and on a callback ticket).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from livekit import rtc
from livekit.agents.cli.log import JsonFormatter
from livekit.agents.testing import fake_job_context

from callcenter.call import start_call
from callcenter.config import Settings
from callcenter.data import CallRecordStore, CallRecordView, Database
from callcenter.data.seed.dataset import CUSTOMERS
from callcenter.observability import logs
from callcenter.providers import Providers
from callcenter.telephony.sip import CallInfo
from tests.callpath.helpers import MAYA, settle
from tests.support.scripted_llm import Request, ScriptedLLM, call, say

ECHO: Final = "echo"
"""The model repeats the caller's words back (a hostile or careless model)."""


@dataclass(frozen=True)
class Act:
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)


def act(tool: str, /, **arguments: Any) -> Act:
    return Act(tool, arguments)


Plan = list[tuple[str, Act | str]]
"""(what the caller says, what the model does on that turn)."""


class _Model:
    """One decision per request: a caller turn gets the next planned action (if its tool is
    offered, else an echo); an entry or a tool's result gets a short line."""

    def __init__(self, plan: Plan) -> None:
        self.actions = [a for _, a in plan]
        self.turn = 0

    def __call__(self, request: Request) -> Any:
        last = request.items[-1] if request.items else None
        if last is None or getattr(last, "role", None) != "user":
            return say("(the agent goes on)")
        action = self.actions[self.turn] if self.turn < len(self.actions) else ECHO
        self.turn += 1
        if isinstance(action, Act) and action.tool in request.tool_names:
            return call(action.tool, **action.arguments)
        return say(f"I heard you say: {request.last_user_text()}")


async def hostile_call(
    db: Database, settings: Settings, plan: Plan, *, caller: str | None = MAYA, call_id: str
) -> CallRecordView:
    """Run the call the plan describes; returns its stored record."""
    scripted = ScriptedLLM(*([_Model(plan)] * 80))
    providers = Providers(llm=scripted, stt=None, tts=None, realtime=None, degraded_only=False)
    info = CallInfo.for_console(caller_e164=caller, call_id=call_id)
    with fake_job_context(room=rtc.Room()):
        running = await start_call(
            settings=settings, db=db, call=info, providers=providers, vad=None
        )
        await settle(running.session)
        for said, _ in plan:
            if running.closed.is_set() or running.state.ended:
                break
            await running.session.run(user_input=said)
            await settle(running.session)
        if not running.closed.is_set():
            running.state.caller_hung_up()
            await running.session.aclose()
        await running.wait_closed()
    record = await CallRecordStore(db).get(call_id)
    assert record is not None, "the call left no record"
    return record


# --------------------------------------------------------------------------- the scan

BY_DESIGN: Final = frozenset(
    {
        ("customers", "*"),
        ("customer_phones", "*"),
        ("call_records", "caller_e164"),
        ("call_records", "dialled_e164"),
        ("tickets", "phone_e164"),
        ("supervisors", "contact"),
        ("alembic_version", "*"),
    }
)
"""Columns that hold a customer's identifiers on purpose (docs/security.md, "What is stored")."""


def seeded_secrets() -> dict[str, str]:
    """Every seeded customer's PIN, ZIP, account digits, e-mail and phone digits -> label."""
    secrets: dict[str, str] = {}
    for c in CUSTOMERS:
        first = c.full_name.split()[0]
        secrets[c.pin] = f"{first}'s PIN"
        secrets[c.zip_code] = f"{first}'s ZIP"
        secrets["".join(ch for ch in c.account_number if ch.isdigit())] = f"{first}'s account"
        secrets[c.email] = f"{first}'s e-mail"
        for phone, _ in c.phones:
            secrets[phone[2:]] = f"{first}'s phone"  # the ten national digits
    return secrets


def _finder(secrets: Iterable[str]) -> re.Pattern[str]:
    parts = sorted(secrets, key=len, reverse=True)
    return re.compile(
        "|".join(rf"(?<!\d){re.escape(p)}(?!\d)" if p.isdigit() else re.escape(p) for p in parts)
    )


async def scan(db: Database, extra: Iterable[str] = ()) -> list[str]:
    """Where a seeded secret (or one of `extra`) is stored outside `BY_DESIGN`."""
    secrets = seeded_secrets()
    secrets |= {e: "the hostile input" for e in extra}
    finder = _finder(secrets)

    def read(conn: sa.Connection) -> list[str]:
        found: list[str] = []
        inspector = sa.inspect(conn)
        for table in inspector.get_table_names():
            if (table, "*") in BY_DESIGN:
                continue
            columns = [c["name"] for c in inspector.get_columns(table)]
            kept = [c for c in columns if (table, c) not in BY_DESIGN]
            if not kept:
                continue
            quoted = ", ".join(f'"{c}"' for c in kept)
            for row in conn.execute(sa.text(f'SELECT {quoted} FROM "{table}"')):
                for column, value in zip(kept, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    for match in finder.finditer(text):
                        found.append(f"{table}.{column}: {secrets[match.group(0)]}")
        return found

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


def scan_lines(lines: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Where a seeded secret (or one of `extra`) appears in log lines."""
    secrets = seeded_secrets()
    secrets |= {e: "the hostile input" for e in extra}
    finder = _finder(secrets)
    return [f"log: {secrets[m.group(0)]}" for line in lines for m in finder.finditer(line)]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def product_log_lines() -> Iterator[list[str]]:
    """Every log line at DEBUG, as the worker prints it (LiveKit's JSON formatter, fields
    included) through the product's filters (phone-number mask and redaction)."""
    root = logging.getLogger()
    handler = _Lines()
    levels = {name: logging.getLogger(name).level for name in ("", *logs.PRODUCT_LOGGERS)}
    root.addHandler(handler)
    logs.adopt_worker_handlers()
    logs.apply_levels("DEBUG")
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
