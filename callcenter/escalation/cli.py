"""`callcenter supervisors list|add|update|remove|hours`: edit the roster from a terminal.

Wire into the main CLI with `add_supervisor_commands(subparsers)`; each leaf parser sets
`args.handler(args, settings) -> int` (exit code; the database is `--database-url` or
`settings.database_url`) and `args.func(args) -> int` (loads the settings itself).
Every value is validated by the one supervisor validator (`callcenter.staff.Supervisor.create`;
the store stores nothing else), and a validation error says which option to fix, e.g.:

    callcenter supervisors add --name "Alex Rivera" --contact +14155550100 \\
        --skills general --timezone America/Los_Angeles --hours "mon-fri 09:00-17:00"
    callcenter supervisors list --json
    callcenter supervisors hours 3 --set "mon-thu 08:00-16:00, fri 08:00-12:00"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from callcenter.staff import RosterError, Supervisor


def add_supervisor_commands(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the `supervisors` command group to an argparse subparsers object."""
    parser = subparsers.add_parser("supervisors", help="manage the supervisor roster")
    parser.add_argument("--database-url", help="override DATABASE_URL")
    sub = parser.add_subparsers(dest="supervisors_command", required=True)

    p = sub.add_parser("list", help="list supervisors")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--skill", choices=["orders", "billing", "general"])
    _set_command(p, _list)

    p = sub.add_parser("add", help="add a supervisor")
    p.add_argument("--name", required=True)
    p.add_argument("--contact", required=True, help="E.164 number or sip:user@host[:port]")
    p.add_argument("--skills", required=True, help="comma-separated: orders,billing,general")
    p.add_argument("--timezone", required=True, help="IANA zone, e.g. America/New_York")
    p.add_argument("--hours", required=True, help='e.g. "mon-fri 09:00-17:00, sat 10:00-14:00"')
    p.add_argument("--priority", type=int, default=100, help="lower is tried first")
    p.add_argument("--mode", choices=["warm", "cold"], default="warm")
    p.add_argument("--inactive", action="store_true")
    _set_command(p, _add)

    p = sub.add_parser("update", help="change some fields of a supervisor")
    p.add_argument("id", type=int)
    p.add_argument("--name")
    p.add_argument("--contact")
    p.add_argument("--skills")
    p.add_argument("--timezone")
    p.add_argument("--hours")
    p.add_argument("--priority", type=int)
    p.add_argument("--mode", choices=["warm", "cold"])
    active = p.add_mutually_exclusive_group()
    active.add_argument("--active", dest="active", action="store_true", default=None)
    active.add_argument("--inactive", dest="active", action="store_false")
    _set_command(p, _update)

    p = sub.add_parser("remove", help="delete a supervisor")
    p.add_argument("id", type=int)
    _set_command(p, _remove)

    p = sub.add_parser("hours", help="show or set a supervisor's working hours")
    p.add_argument("id", type=int)
    p.add_argument("--set", dest="set_hours", help='e.g. "mon-fri 09:00-17:00"')
    _set_command(p, _hours)
    return parser


class _UsageError(Exception):
    pass


Command = Callable[[argparse.Namespace, Any, TextIO], Awaitable[int]]


def _set_command(parser: argparse.ArgumentParser, command: Command) -> None:
    def handler(args: argparse.Namespace, settings: Any = None) -> int:
        from callcenter.data import SchemaNotCurrentError

        try:
            return asyncio.run(_with_store(command, args, settings))
        except SchemaNotCurrentError as exc:  # e.g. a fresh machine: say what to run
            print(f"error: {exc}", file=sys.stderr)
            return 1

    def func(args: argparse.Namespace) -> int:
        return handler(args)

    parser.set_defaults(handler=handler, func=func, command_fn=command)


async def _with_store(command: Command, args: argparse.Namespace, settings: Any) -> int:
    from callcenter.config import load_settings
    from callcenter.data import Database, SupervisorStore

    settings = settings or load_settings()
    db = await Database.open(args.database_url or settings.database_url)
    try:
        store = SupervisorStore(db, default_region=settings.default_region)
        return await run_command(command, args, store, sys.stdout)
    finally:
        await db.close()


async def run_command(command: Command, args: argparse.Namespace, store: Any, out: TextIO) -> int:
    """Run one subcommand against `store`; validation problems exit 2 with a message."""
    try:
        return await command(args, store, out)
    except (RosterError, _UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _row(supervisor: Supervisor) -> dict[str, Any]:
    return {"id": supervisor.id, **supervisor.as_row()}


async def _list(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    supervisors = await store.list(skill=args.skill)
    if args.json:
        json.dump([_row(s) for s in supervisors], out, indent=2)
        out.write("\n")
        return 0
    for s in supervisors:
        state = "" if s.active else " (inactive)"
        out.write(
            f"{s.id:>3}  {s.name}{state}  {s.contact}  {','.join(s.skills)}  "
            f"p{s.priority}  {s.transfer_mode}  {s.hours.describe()} {s.timezone}\n"
        )
    if not supervisors:
        out.write("no supervisors\n")
    return 0


def _skills(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


async def _add(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    supervisor = Supervisor.create(
        name=args.name,
        contact=args.contact,
        skills=_skills(args.skills),
        timezone=args.timezone,
        working_hours=args.hours,
        priority=args.priority,
        active=not args.inactive,
        transfer_mode=args.mode,
    )
    added = await store.add(supervisor)
    out.write(f"added supervisor {added.id}: {added.name}\n")
    return 0


async def _update(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    changes: dict[str, Any] = {}
    for option, key in (
        ("name", "name"),
        ("contact", "contact"),
        ("timezone", "timezone"),
        ("priority", "priority"),
        ("mode", "transfer_mode"),
        ("active", "active"),
    ):
        value = getattr(args, option)
        if value is not None:
            changes[key] = value
    if args.skills is not None:
        changes["skills"] = _skills(args.skills)
    if args.hours is not None:
        changes["working_hours"] = args.hours
    if not changes:
        raise _UsageError("nothing to change: pass at least one option (see --help)")
    updated = await store.update(args.id, **changes)
    if updated is None:
        raise _UsageError(f"no supervisor with id {args.id} (see `supervisors list`)")
    out.write(f"updated supervisor {updated.id}: {', '.join(sorted(changes))}\n")
    return 0


async def _remove(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    if not await store.remove(args.id):
        raise _UsageError(f"no supervisor with id {args.id} (see `supervisors list`)")
    out.write(f"removed supervisor {args.id}\n")
    return 0


async def _hours(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    if args.set_hours is not None:
        current = await store.update(args.id, working_hours=args.set_hours)
    else:
        current = await store.get(args.id)
    if current is None:
        raise _UsageError(f"no supervisor with id {args.id} (see `supervisors list`)")
    out.write(f"{current.name}: {current.hours.describe()} ({current.timezone})\n")
    return 0
