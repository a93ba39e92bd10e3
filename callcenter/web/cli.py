"""Terminal commands for the console: `callcenter web`, `callcenter users`, `callcenter callbacks`.

    callcenter web [--host 127.0.0.1] [--port 8080] [--metrics-port 9101]
    callcenter users add --email lead@example.com --role supervisor --supervisor 1
    callcenter users add --email ops@example.com --role ops --password-stdin < pw.txt
    callcenter users list
    callcenter callbacks list [--json]
    callcenter callbacks close 12 --done|--unreachable [--note "left a voicemail"]

Each handler returns the exit code: 0 done, 2 bad input (the message says what to fix).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from callcenter.config import ConfigError, Settings


def add_console_commands(sub: argparse._SubParsersAction[Any]) -> None:
    web = sub.add_parser("web", help="serve the supervisor and ops console")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    web.add_argument(
        "--metrics-port",
        type=int,
        metavar="P",
        help="Prometheus /metrics on this port of --host, without login and never on --port "
        "(default CALLCENTER_WEB_METRICS_PORT, 9101; 0 turns it off)",
    )
    web.add_argument(
        "--trusted-proxy",
        metavar="IP",
        help="address of a reverse proxy in front: trust its X-Forwarded-For (client address "
        "for the login rate limit) and X-Forwarded-Proto",
    )
    web.set_defaults(console_handler=_web)

    users = sub.add_parser("users", help="console users (log in to `callcenter web`)")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a console user")
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=["supervisor", "ops", "admin"])
    add.add_argument(
        "--supervisor",
        type=int,
        help="roster id of the supervisor this user is (required for --role supervisor; "
        "see `callcenter supervisors list`)",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(console_handler=_users_add)
    ls = users_sub.add_parser("list", help="list console users")
    ls.set_defaults(console_handler=_users_list)

    callbacks = sub.add_parser("callbacks", help="the callback queue")
    cb_sub = callbacks.add_subparsers(dest="callbacks_command", required=True)
    cb_list = cb_sub.add_parser("list", help="open callback tickets by due time")
    cb_list.add_argument("--json", action="store_true")
    cb_list.set_defaults(console_handler=_callbacks_list)
    close = cb_sub.add_parser("close", help="close a callback ticket")
    close.add_argument("ticket", type=int)
    how = close.add_mutually_exclusive_group(required=True)
    how.add_argument("--done", action="store_const", const="done", dest="resolution")
    how.add_argument("--unreachable", action="store_const", const="unreachable", dest="resolution")
    close.add_argument("--note", help="a note to keep with the ticket")
    close.set_defaults(console_handler=_callbacks_close)


def run(args: argparse.Namespace, settings: Settings) -> int:
    handler = args.console_handler
    return int(handler(args, settings))


# --------------------------------------------------------------------------- web


def _web(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from callcenter.web.app import create_app
    from callcenter.web.metrics import WebMetrics, serve_metrics

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port}: use 1-65535")
    metrics_port = settings.web_metrics_port if args.metrics_port is None else args.metrics_port
    if not 0 <= metrics_port < 65536:
        raise ConfigError(f"--metrics-port {metrics_port}: use 1-65535, or 0 for no metrics")
    if metrics_port and metrics_port == args.port:
        raise ConfigError(
            f"--metrics-port {metrics_port}: the metrics need a port other than the console's"
        )
    metrics = WebMetrics()
    if metrics_port:
        try:
            serve_metrics(metrics, args.host, metrics_port)
        except OSError as exc:
            raise ConfigError(
                f"--metrics-port {metrics_port}: cannot listen on {args.host}:{metrics_port} "
                f"({exc.strerror or exc}); pick a free port or 0 for no metrics"
            ) from exc
        print(f"console metrics on http://{args.host}:{metrics_port}/metrics (no login)")
    print(f"callcenter console on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    uvicorn.run(
        create_app(settings, metrics=metrics),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=args.trusted_proxy is not None,
        forwarded_allow_ips=args.trusted_proxy,
        access_log=False,  # request lines carry filter values; the app logs what it needs
        server_header=False,
    )
    return 0


# --------------------------------------------------------------------------- users


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise ConfigError("--password-stdin: standard input had no password line")
        return value
    first = getpass.getpass("Password (12+ characters): ")
    second = getpass.getpass("Again: ")
    if first != second:
        raise ConfigError("the two passwords differ; nothing was saved")
    return first


def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.data.users import Role, UserExistsError
    from callcenter.web.passwords import WeakPasswordError, check_strength, hash_password

    email = args.email.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise ConfigError(f"--email {args.email!r} is not an e-mail address")
    role = Role(args.role)
    if role is Role.SUPERVISOR and args.supervisor is None:
        raise ConfigError(
            "--role supervisor needs --supervisor ID (the roster row they answer transfers "
            "as; see `callcenter supervisors list`)"
        )
    password = _read_password(args.password_stdin)
    try:
        check_strength(password)
    except WeakPasswordError as exc:
        raise ConfigError(str(exc)) from None

    async def go() -> int:
        from callcenter.data import Database, SupervisorStore
        from callcenter.data.audit_log import AuditLog
        from callcenter.data.users import UserStore

        db = await Database.open(settings.database_url, migrate=True)
        try:
            if (
                args.supervisor is not None
                and await SupervisorStore(db).get(args.supervisor) is None
            ):
                raise ConfigError(
                    f"--supervisor {args.supervisor}: no such supervisor "
                    "(see `callcenter supervisors list`)"
                )
            try:
                user = await UserStore(db).add(
                    email, hash_password(password), role, args.supervisor
                )
            except UserExistsError as exc:
                raise ConfigError(str(exc)) from None
            await AuditLog(db).record(
                actor="cli",
                user_id=None,
                action="user.add",
                target_type="user",
                target_id=user.id,
                detail={"role": role.value, "supervisor_id": args.supervisor},
            )
            print(f"added {role.value} {user.email} (user {user.id})")
            return 0
        finally:
            await db.close()

    return asyncio.run(go())


def _users_list(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        from callcenter.data import Database
        from callcenter.data.users import UserStore

        db = await Database.open(settings.database_url, migrate=True)
        try:
            users = await UserStore(db).list()
        finally:
            await db.close()
        for u in users:
            sup = f" supervisor {u.supervisor_id}" if u.supervisor_id else ""
            state = "" if u.active else " (inactive)"
            print(f"{u.id:>3}  {u.email}  {u.role.value}{sup}{state}")
        if not users:
            print("no users: add one with `callcenter users add --email E --role admin`")
        return 0

    return asyncio.run(go())


# --------------------------------------------------------------------------- callbacks


def _callbacks_list(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from callcenter.data.models import utcnow
    from callcenter.telephony.numbers import mask

    async def go() -> int:
        from callcenter.data import Database
        from callcenter.data.callback_queue import CallbackQueue

        db = await Database.open(settings.database_url, migrate=True)
        try:
            queue = CallbackQueue(db, sla=dt.timedelta(hours=settings.callback_sla_hours))
            items = await queue.open_items()
        finally:
            await db.close()
        now = utcnow()
        tz = ZoneInfo(settings.business_timezone)
        rows = [
            {
                "ticket": i.ticket_id,
                "due": i.due_at.astimezone(tz).isoformat(timespec="minutes"),
                "overdue": i.overdue(now),
                "caller": mask(i.phone_e164),
                "reason": i.reason,
                "preferred_time": i.preferred_time,
                "claimed_by": i.claimed_by_email,
                "call_id": i.call_id,
            }
            for i in items
        ]
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for r in rows:
            flag = "OVERDUE " if r["overdue"] else ""
            who = f"  claimed by {r['claimed_by']}" if r["claimed_by"] else ""
            print(
                f"{r['ticket']:>4}  due {r['due']} {flag}{r['caller']}  {r['reason']}"
                f"  (prefers: {r['preferred_time'] or '-'}){who}"
            )
        if not rows:
            print("no open callbacks")
        return 0

    return asyncio.run(go())


def _callbacks_close(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    async def go() -> int:
        from callcenter.data import Database
        from callcenter.data.audit_log import AuditLog
        from callcenter.data.callback_queue import CallbackQueue, CallbackResolution, QueueError

        db = await Database.open(settings.database_url, migrate=True)
        try:
            queue = CallbackQueue(db, sla=dt.timedelta(hours=settings.callback_sla_hours))
            try:
                if args.note:
                    await queue.add_note(args.ticket, "cli", args.note)
                await queue.resolve(args.ticket, CallbackResolution(args.resolution), None)
            except QueueError as exc:
                raise ConfigError(str(exc)) from None
            await AuditLog(db).record(
                actor="cli",
                user_id=None,
                action="callback.close",
                target_type="ticket",
                target_id=args.ticket,
                detail={"resolution": args.resolution},
            )
        finally:
            await db.close()
        print(f"closed callback ticket {args.ticket}: {args.resolution}")
        return 0

    return asyncio.run(go())
