"""`callcenter supervisors list|add|update|remove|hours`: edit the roster from a terminal.

Wire into the main CLI with `add_supervisor_commands(subparsers)`; each leaf parser sets
`args.handler(args, settings) -> int` (exit code; the database is `--database-url` or
`settings.database_url`) and `args.func(args) -> int` (loads the settings itself).
Every value is validated with the roster's rules (`Supervisor.create`) before it reaches
the database, and a validation error says which option to fix, e.g.:

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

from callcenter.escalation.roster import RosterError, Supervisor, WeeklyHours


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
        return asyncio.run(_with_store(command, args, settings))

    def func(args: argparse.Namespace) -> int:
        return handler(args)

    parser.set_defaults(handler=handler, func=func, command_fn=command)


async def _with_store(command: Command, args: argparse.Namespace, settings: Any) -> int:
    from callcenter.config import load_settings
    from callcenter.data import Database, SupervisorStore

    url = args.database_url or (settings or load_settings()).database_url
    db = await Database.open(url)
    try:
        return await run_command(command, args, SupervisorStore(db), sys.stdout)
    finally:
        await db.close()


async def run_command(command: Command, args: argparse.Namespace, store: Any, out: TextIO) -> int:
    """Run one subcommand against `store`; validation problems exit 2 with a message."""
    try:
        return await command(args, store, out)
    except (RosterError, _UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _row(view: Any) -> dict[str, Any]:
    mode = view.transfer_mode
    return {
        "id": view.id,
        "name": view.name,
        "contact": view.contact,
        "skills": list(view.skills),
        "timezone": view.timezone,
        "working_hours": {k: [list(w) for w in v] for k, v in view.working_hours.items()},
        "priority": view.priority,
        "active": view.active,
        "transfer_mode": getattr(mode, "value", mode),
    }


async def _list(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    rows = [_row(v) for v in await store.list(skill=args.skill)]
    if args.json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    for r in rows:
        hours = WeeklyHours.parse(r["working_hours"]).describe()
        state = "" if r["active"] else " (inactive)"
        out.write(
            f"{r['id']:>3}  {r['name']}{state}  {r['contact']}  {','.join(r['skills'])}  "
            f"p{r['priority']}  {r['transfer_mode']}  {hours} {r['timezone']}\n"
        )
    if not rows:
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
    row = supervisor.as_row()
    view = await store.add(
        row["name"],
        row["contact"],
        row["skills"],
        row["timezone"],
        row["working_hours"],
        priority=row["priority"],
        active=row["active"],
        transfer_mode=row["transfer_mode"],
    )
    out.write(f"added supervisor {view.id}: {view.name}\n")
    return 0


async def _update(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    current = await store.get(args.id)
    if current is None:
        raise _UsageError(f"no supervisor with id {args.id} (see `supervisors list`)")
    merged = _row(current)
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
    merged.update(changes)
    validated = Supervisor.create(
        name=merged["name"],
        contact=merged["contact"],
        skills=merged["skills"],
        timezone=merged["timezone"],
        working_hours=merged["working_hours"],
        priority=merged["priority"],
        active=merged["active"],
        transfer_mode=merged["transfer_mode"],
    ).as_row()
    view = await store.update(args.id, **{k: validated[k] for k in changes})
    out.write(f"updated supervisor {view.id}: {', '.join(sorted(changes))}\n")
    return 0


async def _remove(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    if not await store.remove(args.id):
        raise _UsageError(f"no supervisor with id {args.id} (see `supervisors list`)")
    out.write(f"removed supervisor {args.id}\n")
    return 0


async def _hours(args: argparse.Namespace, store: Any, out: TextIO) -> int:
    current = await store.get(args.id)
    if current is None:
        raise _UsageError(f"no supervisor with id {args.id} (see `supervisors list`)")
    if args.set_hours is not None:
        hours = WeeklyHours.parse(args.set_hours)
        await store.update(args.id, working_hours=hours.as_json())
        out.write(f"{current.name}: {hours.describe()} ({current.timezone})\n")
        return 0
    out.write(
        f"{current.name}: {WeeklyHours.parse(current.working_hours).describe()} "
        f"({current.timezone})\n"
    )
    return 0
