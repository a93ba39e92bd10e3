"""`setup_sip` command line: plan, apply and list LiveKit SIP trunks and dispatch rules.

Exit codes
----------
0  success (for `plan`: the plan was computed, whether or not it has changes)
1  LiveKit API error: bad credentials, missing permission, conflict, unreachable server,
   or a partial apply (the output says what was applied and what was not)
2  usage or validation error: bad arguments, missing environment variables, invalid files,
   or a plan that would collide with resources setup_sip does not manage. Nothing was
   changed.

`run()` is the async entry point (tests await it inside their own event loop); `main()`
wraps it for `scripts/setup_sip.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp
from livekit import api

from .apply import apply_plan
from .diff import compute_plan
from .live import fetch_live
from .model import Change, Problem, ProvisioningError
from .render import (
    describe,
    error_text,
    list_json,
    list_text,
    plan_json,
    plan_text,
    problems_text,
    result_json,
    result_text,
)
from .spec import load_dir
from .validate import validate

EXIT_OK, EXIT_API, EXIT_INVALID = 0, 1, 2
CREDENTIAL_VARS = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
REQUEST_TIMEOUT_S = 30.0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--rules-dir",
        default="dispatch_rules",
        type=Path,
        help="directory of inbound-*/outbound-*/dispatch-*.json files (default: dispatch_rules)",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    parser = argparse.ArgumentParser(
        prog="setup_sip.py",
        description="Provision LiveKit SIP trunks and dispatch rules from dispatch_rules/. "
        "Credentials: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET.",
        epilog="exit codes: 0 ok, 1 LiveKit API error, 2 usage/validation error",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("plan", "print the changes apply would make; change nothing"),
        ("apply", "make the changes, then print the result"),
    ):
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.add_argument(
            "--prune",
            action="store_true",
            help="also delete managed resources that are no longer in the files",
        )
    sub.add_parser("list", parents=[common], help="show the live trunks and rules as a table")
    return parser


def _progress(i: int, total: int, change: Change, status: str, seconds: float) -> None:
    if status == "start":
        return
    sys.stderr.write(f"[{i}/{total}] {describe(change)} ... {status} ({seconds:.2f}s)\n")
    sys.stderr.flush()


async def run(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the CLI; returns the exit code. `env` defaults to `os.environ`."""
    env = os.environ if env is None else env
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse already printed the usage error
        return int(e.code or 0)
    out, err = sys.stdout, sys.stderr

    desired = []
    if args.command in ("plan", "apply"):
        try:
            desired = load_dir(args.rules_dir, env)
            problems = validate(desired)
        except ProvisioningError as e:
            problems = e.problems
        if problems:
            problems_text(problems, err)
            return EXIT_INVALID

    missing = [name for name in CREDENTIAL_VARS if not env.get(name)]
    if missing:
        problems_text([Problem("environment", n, "is not set") for n in missing], err)
        return EXIT_INVALID
    url, key, secret = (env[name] for name in CREDENTIAL_VARS)

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with api.LiveKitAPI(url, key, secret, timeout=timeout) as lk:
        if not args.json:
            err.write("Reading live SIP state (3 list calls)...\n")
        try:
            live = await fetch_live(lk.sip)
        except Exception as e:  # API and transport errors alike end here
            err.write(f"error: could not read the live SIP state: {error_text(e)}\n")
            err.write("Nothing was changed.\n")
            return EXIT_API

        if args.command == "list":
            if args.json:
                out.write(json.dumps(list_json(live), indent=2) + "\n")
            else:
                list_text(live, out)
            return EXIT_OK

        try:
            plan = compute_plan(desired, live, secret, prune=args.prune)
        except ProvisioningError as e:
            problems_text(e.problems, err)
            return EXIT_INVALID

        if args.command == "plan":
            if args.json:
                out.write(json.dumps(plan_json(plan), indent=2) + "\n")
            else:
                plan_text(plan, out)
            return EXIT_OK

        if not args.json:
            plan_text(plan, out)
        if not plan.mutations:
            if args.json:
                out.write(json.dumps({"plan": plan_json(plan), "result": None}, indent=2) + "\n")
            else:
                out.write("Nothing to do: the project already matches the files.\n")
            return EXIT_OK
        result = await apply_plan(lk.sip, plan, progress=_progress)
        if args.json:
            out.write(
                json.dumps({"plan": plan_json(plan), "result": result_json(result)}, indent=2)
                + "\n"
            )
        else:
            result_text(result, out)
        return EXIT_OK if result.ok else EXIT_API


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(argv))
