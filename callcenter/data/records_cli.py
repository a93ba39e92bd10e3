"""`callcenter records replay|sweep|purge|backlog`: the call records' upkeep, from a shell.

    callcenter records backlog                 # entries waiting in this machine's journal
    callcenter records replay                  # write them to the database (exit 1 if any remain)
    callcenter records sweep [--stale-after S] # close records of calls whose process died
    callcenter records purge [--days N] [--dry-run]   # delete what is past the retention

Replay and sweep also run by themselves (after each record a call writes, and when a worker
starts); these commands are for an operator who does not want to wait, and for the
retention, which nothing runs automatically: schedule `records purge` (cron, a Kubernetes
CronJob) once a day. Purge deletes call records and closed tickets created, and
verification audit rows written, more than `CALLCENTER_RETENTION_DAYS` days ago; open
tickets and active account lockouts are kept whatever their age.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any, TextIO

from callcenter.data.call_records import CallRecordStore
from callcenter.data.columns import utcnow
from callcenter.data.database import DATABASE_ERRORS, Database, SchemaNotCurrentError, mask_url
from callcenter.data.journal import Journal
from callcenter.data.lockouts import AccountLockouts
from callcenter.data.tickets import TicketStore

__all__ = ["add_records_commands"]


def add_records_commands(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the `records` command group; each leaf sets `args.handler(args, settings)`."""
    parser = subparsers.add_parser("records", help="journal replay, interrupted sweep, purge")
    parser.add_argument("--database-url", help="override DATABASE_URL")
    sub = parser.add_subparsers(dest="records_command", required=True)

    p = sub.add_parser("backlog", help="how many entries wait in this machine's journal")
    p.set_defaults(handler=lambda a, s: _backlog(a, s, sys.stdout))

    p = sub.add_parser("replay", help="write the journal's entries to the database")
    p.set_defaults(handler=lambda a, s: _with_db(_replay, a, s))

    p = sub.add_parser("sweep", help="close records of calls whose process died (interrupted)")
    p.add_argument(
        "--stale-after",
        type=float,
        help="seconds without a heartbeat (default CALLCENTER_RECORD_STALE_S)",
    )
    p.set_defaults(handler=lambda a, s: _with_db(_sweep, a, s))

    p = sub.add_parser("purge", help="delete records, closed tickets and audit past retention")
    p.add_argument("--days", type=int, help="retention in days (default CALLCENTER_RETENTION_DAYS)")
    p.add_argument("--dry-run", action="store_true", help="say what would go, delete nothing")
    p.set_defaults(handler=lambda a, s: _with_db(_purge, a, s))
    return parser


def _backlog(args: argparse.Namespace, settings: Any, out: TextIO) -> int:
    out.write(f"{Journal(settings.journal_dir).backlog()}\n")
    return 0


def _with_db(command: Any, args: argparse.Namespace, settings: Any) -> int:
    url = args.database_url or settings.database_url

    async def run() -> int:
        db = await Database.open(url, connect_timeout=settings.database_timeout_s)
        try:
            return int(await command(db, args, settings, sys.stdout))
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except SchemaNotCurrentError as exc:
        print(f"callcenter records: {exc}", file=sys.stderr)
        return 1
    except DATABASE_ERRORS as exc:
        print(
            f"callcenter records: cannot use the database at {mask_url(url)}: {type(exc).__name__}",
            file=sys.stderr,
        )
        return 1


async def _replay(db: Database, args: argparse.Namespace, settings: Any, out: TextIO) -> int:
    report = await Journal(settings.journal_dir).replay(db)
    out.write(
        f"replayed {report.applied}, already in the database {report.already}, "
        f"rejected {report.rejected}, still waiting {report.remaining}\n"
    )
    return 0 if report.remaining == 0 else 1


async def _sweep(db: Database, args: argparse.Namespace, settings: Any, out: TextIO) -> int:
    stale = args.stale_after if args.stale_after is not None else settings.record_stale_s
    if stale < 0:
        raise SystemExit("callcenter records sweep: --stale-after must be 0 or more")
    closed = await CallRecordStore(db).sweep(stale_after_s=stale)
    out.write(f"closed {len(closed)} interrupted call record(s)\n")
    return 0


async def _purge(db: Database, args: argparse.Namespace, settings: Any, out: TextIO) -> int:
    days = args.days if args.days is not None else settings.retention_days
    if days < 1:
        print("callcenter records purge: --days must be 1 or more", file=sys.stderr)
        return 2
    cutoff = utcnow() - dt.timedelta(days=days)
    if args.dry_run:
        out.write(f"would delete what is older than {cutoff:%Y-%m-%d %H:%M} UTC ({days} days)\n")
        return 0
    records = await CallRecordStore(db).purge(older_than=cutoff)
    tickets = await TicketStore(db).purge_closed(older_than=cutoff)
    attempts = await AccountLockouts(db).purge_attempts(older_than=cutoff)
    out.write(
        f"deleted {records} call record(s), {tickets} closed ticket(s), "
        f"{attempts} verification audit row(s) older than {days} days\n"
    )
    return 0
