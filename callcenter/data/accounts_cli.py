"""`callcenter accounts locked|unlock|attempts`: account lockouts, for supervisors.

    callcenter accounts locked [--json]                   # every account locked for phone
    callcenter accounts unlock ACC-100042 --by "Alex Rivera"
    callcenter accounts attempts ACC-100042 [--limit 20]  # the verification audit

An account is locked for phone verification after `CALLCENTER_LOCKOUT_FAILURES` wrong
answers within `CALLCENTER_LOCKOUT_WINDOW_HOURS`; only a person unlocks it (here, or in the
web console, which calls the same `AccountLockouts.unlock`). Confirm who the caller is by
other means before unlocking. Exit codes: 0 done, 1 nothing to unlock or database error,
2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, TextIO

from callcenter.data.database import DATABASE_ERRORS, Database, SchemaNotCurrentError, mask_url
from callcenter.data.lockouts import AccountLockouts

__all__ = ["add_accounts_commands"]


def add_accounts_commands(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the `accounts` command group; each leaf sets `args.handler(args, settings)`."""
    parser = subparsers.add_parser("accounts", help="account lockouts: list, unlock, audit")
    parser.add_argument("--database-url", help="override DATABASE_URL")
    sub = parser.add_subparsers(dest="accounts_command", required=True)

    p = sub.add_parser("locked", help="accounts locked for phone verification")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=lambda a, s: _run(_locked, a, s))

    p = sub.add_parser("unlock", help="unlock an account for phone verification")
    p.add_argument("account", help="account number, e.g. ACC-100042")
    p.add_argument("--by", required=True, help="who unlocks it (recorded)")
    p.set_defaults(handler=lambda a, s: _run(_unlock, a, s))

    p = sub.add_parser("attempts", help="an account's latest verification attempts")
    p.add_argument("account", help="account number, e.g. ACC-100042")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=lambda a, s: _run(_attempts, a, s))
    return parser


class _Refused(Exception):
    """Bad input: exit 2 with the message."""


def _run(command: Any, args: argparse.Namespace, settings: Any) -> int:
    url = args.database_url or settings.database_url

    async def run() -> int:
        db = await Database.open(url, connect_timeout=settings.database_timeout_s)
        try:
            return int(await command(AccountLockouts(db), args, sys.stdout))
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except (_Refused, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SchemaNotCurrentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DATABASE_ERRORS as exc:
        print(f"error: cannot use the database at {mask_url(url)}: {type(exc).__name__}",
              file=sys.stderr)  # fmt: skip
        return 1


async def _customer(lockouts: AccountLockouts, account: str) -> int:
    customer_id = await lockouts.customer_for_account(account)
    if customer_id is None:
        raise _Refused(f"no account {account!r} (give the account number, e.g. ACC-100042)")
    return customer_id


async def _locked(lockouts: AccountLockouts, args: argparse.Namespace, out: TextIO) -> int:
    rows = await lockouts.locked()
    if args.json:
        json.dump(
            [
                {
                    "account_number": r.account_number,
                    "locked_at": r.locked_at.isoformat(),
                    "failures": r.failures,
                    "reason": r.reason,
                }
                for r in rows
            ],
            out,
            indent=2,
        )
        out.write("\n")
        return 0
    for r in rows:
        out.write(f"{r.account_number}  locked {r.locked_at:%Y-%m-%d %H:%M} UTC  {r.reason}\n")
    if not rows:
        out.write("no locked accounts\n")
    return 0


async def _unlock(lockouts: AccountLockouts, args: argparse.Namespace, out: TextIO) -> int:
    customer_id = await _customer(lockouts, args.account)
    if not await lockouts.unlock(customer_id, by=args.by):
        out.write(f"{args.account} was not locked\n")
        return 1
    out.write(f"unlocked {args.account}\n")
    return 0


async def _attempts(lockouts: AccountLockouts, args: argparse.Namespace, out: TextIO) -> int:
    customer_id = await _customer(lockouts, args.account)
    for a in await lockouts.attempts(customer_id, limit=args.limit):
        out.write(
            f"{a.at:%Y-%m-%d %H:%M:%S}  {a.factor:<14} {a.outcome.value:<9} "
            f"caller {a.caller_masked or '-'}  call {a.call_id or '-'}\n"
        )
    return 0
