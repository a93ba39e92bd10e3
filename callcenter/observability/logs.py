"""The one logging set-up of the product: the same rules in every process.

1. **One line per event.** Each process has exactly one handler that prints:
   - the worker (`callcenter start|dev`): the handler LiveKit's CLI installs (JSON lines on
     stdout under `start`, coloured lines under `dev`). We add none; `adopt_worker_handlers`
     puts our filter on LiveKit's once the worker runs.
   - a call's job process: LiveKit's `LogQueueHandler` sends every record to the worker's main
     process, which prints it with the handler above (job id and room added by LiveKit, call id
     and phase by `bind_call`);
   - every other command (console, db, supervisors): `configure_cli_logging`, on stderr (the
     terminal console writes to `var/console.log` instead, or stderr with `-v`, so log lines
     never land in the middle of the dialogue).
2. **One level**, `CALLCENTER_LOG_LEVEL` or `--log-level`, for the root logger, `callcenter`,
   `livekit.agents` and the plugins. LiveKit copies the main process's logger levels into each
   job process it starts, so setting them before the worker starts is enough.
3. **Libraries never below WARNING** (`LIBRARY_LOGGERS`): SQLAlchemy would print every statement
   at INFO, aiosqlite every call at DEBUG, websockets every frame. SQLAlchemy never logs or
   raises with statement parameters either: `Database.open` creates its engine with
   `hide_parameters=True`.
4. **No phone number in any line.** `MaskPhoneNumbers` rewrites E.164 numbers in the message and
   in every string field of a record as `telephony.numbers.mask` does; LiveKit's own lines
   carry SIP identities such as `sip_+14155550142`.
5. **No secret in any line, at any level.** The same filter then applies the product's one
   redaction layer (`callcenter.redaction.RedactingLogFilter`, lenient: ids stay readable):
   labelled PINs, ZIP codes and account digits, cards, SSNs, e-mails, other phone notations,
   in the message, its arguments, every string field and an exception's text; LiveKit's
   `lk.pii.*` fields (the caller's words at DEBUG, tool arguments) are dropped whole.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from callcenter.redaction import RedactingLogFilter
from callcenter.telephony.numbers import mask

LIBRARY_LOGGERS = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "asyncio",
    "websockets",
    "aiohttp",
    "httpx",
    "httpcore",
    "openai",
    "urllib3",
    "livekit",  # the rtc library's logger (its children livekit.agents/.plugins are ours)
    "opentelemetry",
)
"""Third-party loggers held at WARNING or above, whatever the product's level."""

PRODUCT_LOGGERS = ("callcenter", "livekit.agents", "livekit.plugins")
"""Loggers at the product's level (plugin loggers are children of `livekit.plugins`)."""

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_E164 = re.compile(r"\+\d{7,15}(?!\d)")

# LogRecord attributes that are not fields (same list as logging's own and LiveKit's).
_RESERVED = frozenset(
    {
        "args", "asctime", "created", "exc_info", "exc_text", "filename", "funcName",
        "levelname", "levelno", "lineno", "module", "msecs", "message", "msg", "name",
        "pathname", "process", "processName", "relativeCreated", "stack_info", "thread",
        "threadName", "taskName",
    }
)  # fmt: skip


def mask_phone_numbers(text: str) -> str:
    """`text` with every E.164 number masked (`+14155550142` → `+1*******42`)."""
    if "+" not in text:
        return text
    return _E164.sub(lambda m: mask(m.group(0)), text)


class MaskPhoneNumbers(logging.Filter):
    """Masks phone numbers in a record's message and string fields, then redacts the rest
    (`RedactingLogFilter`); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
                record.args = None
            except (TypeError, ValueError):
                return True  # a broken format string: logging reports it, unchanged
        if isinstance(record.msg, str):
            record.msg = mask_phone_numbers(record.msg)
        for key, value in list(record.__dict__.items()):
            if key not in _RESERVED and isinstance(value, str) and "+" in value:
                setattr(record, key, mask_phone_numbers(value))
        return _REDACT.filter(record)


_REDACT = RedactingLogFilter()
_MASK = MaskPhoneNumbers()


class CallLogFields(logging.Filter):
    """Adds `call_id`, `room` and the call's current `phase` to every record of a call's
    process (a field already on the record wins)."""

    def __init__(self, call_id: str, room: str, phase: Callable[[], str]) -> None:
        super().__init__()
        self._fields = {"call_id": call_id, "room": room}
        self._phase = phase

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in self._fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if not hasattr(record, "phase"):
            try:
                phase = self._phase()
            except Exception:  # the state is gone: log the line anyway
                phase = "unknown"
            # a field of the log record (read from the call state, which only its methods
            # write): set through the record's namespace, as `extra=` does
            record.__dict__["phase"] = phase
        return True


def bind_call(call_id: str, room: str, phase: Callable[[], str]) -> Callable[[], None]:
    """Put the call's fields (and the phone-number mask) on this process's handlers.

    A call's job process has one root handler (LiveKit's forwarder to the worker); the
    console has the one `configure_cli_logging` installed. Returns the undo function.
    """
    fields = CallLogFields(call_id, room, phase)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(fields)
        if _MASK not in handler.filters:
            handler.addFilter(_MASK)

    def unbind() -> None:
        for handler in handlers:
            handler.removeFilter(fields)

    return unbind


def apply_levels(level: str) -> None:
    """The product's level on the root and product loggers; libraries at WARNING or above."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: use one of {', '.join(LEVELS)}")
    numeric = logging.getLevelName(level)
    logging.getLogger().setLevel(numeric)
    for name in PRODUCT_LOGGERS:
        logging.getLogger(name).setLevel(numeric)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))


def framework_level(level: str) -> str:
    """The name LiveKit's CLI takes for `level` (it says WARN, not WARNING)."""
    return "WARN" if level == "WARNING" else level


def adopt_worker_handlers() -> None:
    """Put the phone-number mask on the handler(s) LiveKit's CLI installed (call once the
    worker runs: `AgentServer` emits `worker_started` after the CLI set logging up)."""
    for handler in logging.getLogger().handlers:
        if _MASK not in handler.filters:
            handler.addFilter(_MASK)


class _CliHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler `configure_cli_logging` owns, so a second call replaces it."""


def configure_cli_logging(
    level: str, *, json_lines: bool = False, stream: TextIO | None = None
) -> None:
    """One handler for a command that is not the worker (console, db, supervisors): on
    stderr, or on `stream` (the console's log file).

    `json_lines`: LiveKit's JSON formatter (one JSON object per line, fields included), as the
    worker prints under `start`; otherwise `LEVEL logger: message {fields}`.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _CliHandler)]:
        root.removeHandler(handler)
    handler = _CliHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(_json_formatter() if json_lines else _TextFormatter())
    handler.addFilter(_MASK)
    root.addHandler(handler)
    apply_levels(level)


def _json_formatter() -> logging.Formatter:
    from livekit.agents.cli.log import JsonFormatter

    return JsonFormatter()


class _TextFormatter(logging.Formatter):
    """`LEVEL logger: message` plus the record's fields as `key=value`."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")
    }
