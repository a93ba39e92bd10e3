"""`callcenter`: one command for everything a person runs.

callcenter console [--caller +E164] [--script FILE] [--json] [--verbose] [--at WHEN] [--demo]
callcenter graph [--mermaid]          (the call's phases and the tool that makes each move)
callcenter demo-data [--json]
callcenter supervisors list|add|update|remove|hours ...
callcenter accounts locked|unlock|attempts ...   (account lockouts)
callcenter records backlog|replay|sweep|purge    (journal, interrupted calls, retention)
callcenter db upgrade [--seed-demo] | check   (the schema; run upgrade once per deploy)
callcenter web [--host H] [--port P] [--metrics-port P]      (the console; its metrics)
callcenter users add|list | callbacks list|close   (the console's users, callbacks)
callcenter start | dev [--log-level L] [--port P] [--metrics-port P] [--drain-timeout S]
                                             (the LiveKit worker; other options go to LiveKit)
callcenter download-files                    (model files for the worker)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from callcenter.config import ConfigError, load_settings
from callcenter.observability.logs import configure_cli_logging
from callcenter.serve import WORKER_COMMANDS, resolve_options, run_worker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    console = sub.add_parser("console", help="simulate a phone call in the terminal")
    console.add_argument("--caller", help="caller ID, e.g. +14155550142 (a demo customer)")
    console.add_argument("--script", type=Path, help="replay caller lines from FILE")
    console.add_argument("--json", action="store_true", help="print the final call record as JSON")
    console.add_argument(
        "--verbose", "-v", action="store_true", help="show tool calls and log lines (on stderr)"
    )
    console.add_argument(
        "--at",
        default="open",
        metavar="WHEN",
        help="when the call happens, for business hours and shifts: open (default: a moment "
        "the contact center is open, the same whenever you run it), closed, now (the real "
        "time), 'sun 10:00', or an ISO time; in CALLCENTER_BUSINESS_TIMEZONE",
    )
    console.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo customers into an empty DATABASE_URL database (the embedded "
        "SQLite default gets them without asking)",
    )

    graph = sub.add_parser("graph", help="print which tool moves the call between phases")
    graph.add_argument("--mermaid", action="store_true", help="as a Mermaid flowchart")

    demo = sub.add_parser("demo-data", help="list demo customers, their factors and orders")
    demo.add_argument("--json", action="store_true")

    from callcenter.data.accounts_cli import add_accounts_commands
    from callcenter.data.cli import add_db_commands
    from callcenter.data.records_cli import add_records_commands

    add_db_commands(sub)
    add_accounts_commands(sub)
    add_records_commands(sub)
    try:
        from callcenter.escalation.cli import add_supervisor_commands

        add_supervisor_commands(sub)
    except ImportError:  # pragma: no cover - escalation package always ships
        pass

    from callcenter.web.cli import add_console_commands

    add_console_commands(sub)
    from callcenter.serve import add_worker_commands

    add_worker_commands(sub)
    files = sub.add_parser(
        "download-files",
        help="fetch the model files the worker needs (Silero VAD, noise cancellation)",
        add_help=False,
    )
    files.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _demo_data(as_json: bool) -> int:
    from callcenter.data.seed import DEMO_CUSTOMERS

    rows: list[dict[str, Any]] = [
        {
            "name": c.full_name,
            "phones": list(c.phones),
            "zip": c.zip_code,
            "account_last_four": c.last_four,
            "pin": c.pin,
            "orders": [{"number": n, "status": s} for n, s in c.orders],
            "invoices": [{"number": n, "status": s} for n, s in c.invoices],
        }
        for c in DEMO_CUSTOMERS
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    print("Demo customers (call as them with: callcenter console --caller PHONE)\n")
    for row in rows:
        print(f"{row['name']}  phone {', '.join(row['phones'])}")
        print(
            f"  verify with ZIP {row['zip']}, last four {row['account_last_four']}, "
            f"PIN {row['pin']}"
        )
        print("  orders:   " + ", ".join(f"{o['number']} ({o['status']})" for o in row["orders"]))
        print("  invoices: " + ", ".join(f"{i['number']} ({i['status']})" for i in row["invoices"]))
        print()
    return 0


def _download_files(rest: list[str]) -> int:
    from livekit.agents import cli

    from callcenter.worker import build_server

    sys.argv = ["callcenter", "download-files", *rest]
    cli.run_app(build_server())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in WORKER_COMMANDS:
        parser.error("unrecognized arguments: " + " ".join(rest))
    try:
        settings = load_settings()
        if args.command in WORKER_COMMANDS:
            # LiveKit's CLI prints the worker's log lines (one handler); we set the rules
            return run_worker(resolve_options(args, settings), rest, settings)
        if args.command == "download-files":
            return _download_files(args.rest)
        if args.command == "console":
            from callcenter.console import ConsoleOptions, main_console

            if args.script is not None and not args.script.is_file():
                raise ConfigError(f"--script: no such file: {args.script}")
            # the console sets up its own logging: a file, or stderr with -v
            return main_console(
                settings,
                ConsoleOptions(
                    caller=args.caller,
                    script=args.script,
                    json_output=args.json,
                    verbose=args.verbose,
                    at=args.at,
                    demo=args.demo,
                ),
            )
        configure_cli_logging(settings.log_level)
        if args.command == "graph":
            from callcenter.core.moves import render_mermaid, render_text

            print(render_mermaid() if args.mermaid else render_text())
            return 0
        if args.command == "demo-data":
            return _demo_data(args.json)
        if args.command in ("supervisors", "db", "accounts", "records"):
            return int(args.handler(args, settings) or 0)
        if args.command in ("web", "users", "callbacks"):
            from callcenter.web.cli import run

            return run(args, settings)
        parser.error(f"unknown command {args.command}")
    except ConfigError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad input (caller number, script line): say what, exit 2
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
