"""The worker's local durable journal: what a call could not write to the database.

When the database is unreachable, a call still ends with a record and a caller who asked
for a callback still gets one: the call record and the callback ticket are appended here,
on the worker's own disk, and replayed into the database when it answers again
(automatically after the next record a call writes, at worker start, and with
`callcenter records replay`).

The file is `<dir>/journal.jsonl`, one JSON entry per line, append-only: each append takes
an exclusive `flock`, writes one line, and `fsync`s before it returns (the directory too
when the file is new), so an entry the call was told is saved survives a crash or a power
cut. Entries carry a random id; the replay records each applied id in the
`journal_replays` table in the same transaction as the write, so replaying twice (or a
crash in the middle of a replay) never writes anything twice. To replay, the live file is
renamed to `replaying-<id>.jsonl` under its lock (writers then start a new live file), the
entries are applied, and the renamed file is deleted once every entry is in the database.
An entry the database refuses for a reason other than being unreachable (bad data) goes
to `rejected.jsonl` with the error, so it cannot block the others; `backlog()` counts it
as pending work for a person. The backlog is the `callcenter_journal_backlog` gauge
(`observability.metrics`), updated after every append and replay; `journal_backlog(dir)`
returns it for anyone else who asks.

What is in it: the call record as it would have been stored (transcript already redacted)
and the callback's number (needed to call back), reason and preferred time (redacted).
The directory is created `0700` and the files `0600`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from callcenter.data.call_records import CallRecordStore
from callcenter.data.columns import utcnow
from callcenter.data.database import Database
from callcenter.data.models import JournalReplay
from callcenter.data.tickets import callback_ticket
from callcenter.observability import metrics

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["CALLBACK", "CALL_RECORD", "Journal", "ReplayReport", "journal_backlog"]

log = logging.getLogger(__name__)

CALL_RECORD: Final = "call_record"
"""A whole call record (`CallRecordStore.save` arguments; datetimes as ISO text)."""
CALLBACK: Final = "callback"
"""A callback ticket (`TicketStore.create_callback` arguments)."""

_LIVE = "journal.jsonl"
_REJECTED = "rejected.jsonl"
_REPLAY_LOCK = "replay.lock"
_UNREACHABLE: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    applied: int = 0
    """Entries written to the database now."""
    already: int = 0
    """Entries a previous replay had already written (skipped)."""
    rejected: int = 0
    """Entries the database refused for bad data (moved to rejected.jsonl)."""
    remaining: int = 0
    """Entries still waiting (the database went away again, or another replay runs)."""


class Journal:
    """The journal in `directory`; see the module docstring."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    @property
    def live(self) -> Path:
        return self.directory / _LIVE

    # ------------------------------------------------------------------ writing

    def append(self, kind: str, payload: dict[str, Any]) -> str:
        """Write one entry durably (fsynced) and return its id. Blocking: from a call, run it
        with `await asyncio.to_thread(journal.append, ...)`."""
        entry_id = uuid.uuid4().hex
        line = json.dumps(
            {"id": entry_id, "kind": kind, "at": utcnow().isoformat(), "payload": payload},
            default=_json_default,
            separators=(",", ":"),
        )
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        while True:
            fd = os.open(self.live, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                opened = os.fstat(fd)
                try:
                    current = os.stat(self.live)
                except FileNotFoundError:
                    current = None
                if current is None or current.st_ino != opened.st_ino:
                    continue  # a replay moved the file away while we waited: use the new one
                os.write(fd, line.encode() + b"\n")
                os.fsync(fd)
                if opened.st_size == 0:
                    _fsync_dir(self.directory)
                break
            finally:
                os.close(fd)
        log.warning("written to the local journal", extra={"kind": kind, "entry_id": entry_id})
        self._report()
        return entry_id

    def _report(self) -> None:
        """The backlog gauge (`callcenter_journal_backlog`); a metrics failure is logged."""
        try:
            metrics.journal_backlog(self.backlog())
        except Exception:
            log.exception("journal backlog metric not updated")

    async def write(self, kind: str, payload: dict[str, Any]) -> str:
        """`append` off the event loop."""
        return await asyncio.to_thread(self.append, kind, payload)

    # ------------------------------------------------------------------ reading

    def backlog(self) -> int:
        """Entries not yet in the database (pending and rejected): the ops metric."""
        total = 0
        for path in self._files(include_rejected=True):
            with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
                total += sum(1 for line in f if line.strip())
        return total

    def _files(self, *, include_rejected: bool = False) -> list[Path]:
        if not self.directory.is_dir():
            return []
        files = sorted(self.directory.glob("replaying-*.jsonl"), key=_mtime)
        if self.live.exists():
            files.append(self.live)
        if include_rejected and (self.directory / _REJECTED).exists():
            files.append(self.directory / _REJECTED)
        return files

    # ------------------------------------------------------------------ replay

    async def replay(self, db: Database) -> ReplayReport:
        """Apply every pending entry to `db` (see the module docstring)."""
        if not self.directory.is_dir():
            return ReplayReport()
        with _try_lock(self.directory / _REPLAY_LOCK) as mine:
            if not mine:
                return ReplayReport(remaining=self.backlog())
            await asyncio.to_thread(self._claim_live)
            applied = already = rejected = 0
            for path in sorted(self.directory.glob("replaying-*.jsonl"), key=_mtime):
                for entry in _entries(path):
                    try:
                        done = await _apply(db, entry)
                    except _UNREACHABLE as exc:
                        log.warning(
                            "journal replay stopped: the database is unreachable",
                            extra={"error": type(exc).__name__},
                        )
                        self._report()
                        return ReplayReport(applied, already, rejected, self._pending())
                    except Exception as exc:  # bad data: set it aside, go on
                        await asyncio.to_thread(self._reject, entry, exc)
                        rejected += 1
                        continue
                    applied += done
                    already += 1 - done
                path.unlink(missing_ok=True)
        if applied or rejected:
            log.info(
                "journal replayed",
                extra={"applied": applied, "already": already, "rejected": rejected},
            )
        self._report()
        return ReplayReport(applied, already, rejected, self._pending())

    def _pending(self) -> int:
        total = 0
        for path in self._files():
            total += sum(1 for _ in _entries(path))
        return total

    def _claim_live(self) -> None:
        """Rename the live file aside under its lock; appends then start a new one."""
        if not self.live.exists():
            return
        fd = os.open(self.live, os.O_RDWR)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_size == 0:
                return
            os.rename(self.live, self.directory / f"replaying-{uuid.uuid4().hex}.jsonl")
            _fsync_dir(self.directory)
        finally:
            os.close(fd)

    def _reject(self, entry: dict[str, Any], exc: Exception) -> None:
        log.error(
            "journal entry refused by the database",
            extra={
                "entry_id": entry.get("id"),
                "kind": entry.get("kind"),
                "error": type(exc).__name__,
            },
        )
        line = json.dumps({**entry, "error": type(exc).__name__}, default=_json_default)
        fd = os.open(self.directory / _REJECTED, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)


def journal_backlog(directory: Path | str) -> int:
    """Entries waiting in the journal at `directory` (for the ops metric)."""
    return Journal(directory).backlog()


async def _apply(db: Database, entry: dict[str, Any]) -> int:
    """Apply one entry in one transaction with its marker; 1 if written now, 0 if it was
    already. Raises on failure (nothing is committed then)."""
    entry_id = str(entry["id"])
    kind = entry["kind"]
    payload = dict(entry["payload"])
    async with db.transaction() as s:
        if await s.get(JournalReplay, entry_id) is not None:
            return 0
        if kind == CALL_RECORD:
            for key in ("started_at", "ended_at"):
                if payload.get(key):
                    payload[key] = dt.datetime.fromisoformat(payload[key])
            call_id = payload.pop("call_id")
            await CallRecordStore(db).save(call_id, session=s, **payload)
        elif kind == CALLBACK:
            s.add(callback_ticket(payload.pop("phone_e164"), payload.pop("reason"), **payload))
        else:
            raise ValueError(f"unknown journal entry kind {kind!r}")
        s.add(JournalReplay(entry_id=entry_id, kind=kind, applied_at=utcnow()))
    return 1


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            # a line cut by a crash mid-write was never acknowledged to the call: skip it
            log.warning("skipping a torn journal line", extra={"file": path.name})


@contextlib.contextmanager
def _try_lock(path: Path) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is None:
            yield True
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
