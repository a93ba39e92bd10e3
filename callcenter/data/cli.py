"""`callcenter db upgrade|check`: the schema, from a shell (deploy step, CI, a fresh laptop).

    callcenter db upgrade                 # alembic upgrade head on DATABASE_URL
    callcenter db upgrade --seed-demo     # ... and the demo dataset if it has no customers
    callcenter db check                   # exit 1 if the schema is behind this code

Run `upgrade` once per deployment, before the workers start (they open the database
without migrating and refuse a schema that is behind). Safe to run twice, and from
several machines at once: migrations are serialised and a no-op at head. Wire into the
main CLI with `add_db_commands(subparsers)`; each leaf sets `args.handler(args, settings)`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

import sqlalchemy as sa

from callcenter.data.database import Database, SchemaNotCurrentError, mask_url
from callcenter.data.migrate import head_revision

__all__ = ["add_db_commands", "check", "upgrade"]


def add_db_commands(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the `db` command group to an argparse subparsers object."""
    parser = subparsers.add_parser("db", help="migrate or check the database schema")
    sub = parser.add_subparsers(dest="db_command", required=True)

    p = sub.add_parser("upgrade", help="migrate the database to this code's schema (head)")
    p.add_argument("--database-url", help="override DATABASE_URL")
    p.add_argument(
        "--seed-demo",
        action="store_true",
        help="then add the demo dataset if the database has no customers",
    )
    p.set_defaults(handler=lambda args, settings: _run(upgrade, args, settings))

    p = sub.add_parser("check", help="exit 1 unless the schema is at this code's head")
    p.add_argument("--database-url", help="override DATABASE_URL")
    p.set_defaults(handler=lambda args, settings: _run(check, args, settings))
    return parser


def _run(command: Any, args: argparse.Namespace, settings: Any) -> int:
    url = args.database_url or settings.database_url
    try:
        return int(asyncio.run(command(url, args, sys.stdout)))
    except SchemaNotCurrentError as exc:
        print(f"callcenter db: {exc}", file=sys.stderr)
        return 1
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        # The driver's message, never the URL's password (mask_url).
        print(
            f"callcenter db: cannot use the database at {mask_url(url)}: {exc.__class__.__name__}:"
            f" {str(exc).splitlines()[0] if str(exc) else ''}",
            file=sys.stderr,
        )
        return 1


async def upgrade(url: str, args: argparse.Namespace, out: TextIO) -> int:
    """Migrate to head (and seed the demo data when asked); print where the schema is."""
    db = await Database.open(url, migrate=True)
    try:
        out.write(f"database {db.url}: schema at revision {await db.revision()} (head)\n")
        if getattr(args, "seed_demo", False):
            from callcenter.data.seed import seed_demo

            seeded = await seed_demo(db)
            out.write(
                "demo dataset seeded\n"
                if seeded
                else "demo dataset not seeded: the database already has customers\n"
            )
    finally:
        await db.close()
    return 0


async def check(url: str, args: argparse.Namespace, out: TextIO) -> int:
    """0 when the schema is at head (or newer); `SchemaNotCurrentError` says what to run."""
    db = await Database.open(url)
    try:
        out.write(
            f"database {db.url}: schema at revision {await db.revision()} "
            f"(this code needs {head_revision()})\n"
        )
    finally:
        await db.close()
    return 0
