"""`callcenter supervisors ...` subcommands against a real (SQLite) supervisors table."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from callcenter.data import Database, SupervisorStore
from callcenter.escalation.cli import add_supervisor_commands, run_command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="callcenter")
    add_supervisor_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["supervisors", *argv])


async def run(store: SupervisorStore, *argv: str) -> tuple[int, str]:
    args = parse(*argv)
    out = io.StringIO()
    code = await run_command(args.command_fn, args, store, out)
    return code, out.getvalue()


@pytest.fixture
async def store(db: Database) -> SupervisorStore:
    s = SupervisorStore(db)
    for row in await s.list():
        assert row.id is not None
        await s.remove(row.id)
    return s


ADD = (
    "add",
    "--name",
    "Alex Rivera",
    "--contact",
    "+1 415 555 0100",
    "--skills",
    "general,orders",
    "--timezone",
    "America/Los_Angeles",
    "--hours",
    "mon-fri 09:00-17:00",
)


async def test_add_list_json_update_hours_remove(store: SupervisorStore) -> None:
    code, out = await run(store, *ADD, "--priority", "5")
    assert code == 0 and "added supervisor" in out

    code, out = await run(store, "list", "--json")
    [row] = json.loads(out)
    assert row["contact"] == "+14155550100"
    assert row["skills"] == ["general", "orders"]
    assert row["working_hours"]["fri"] == [["09:00", "17:00"]] and "sat" not in row["working_hours"]
    assert (row["priority"], row["transfer_mode"], row["active"]) == (5, "warm", True)

    code, out = await run(
        store,
        "update",
        str(row["id"]),
        "--contact",
        "sip:alex@pbx.example.com:5060",
        "--mode",
        "cold",
        "--inactive",
    )
    assert code == 0
    view = await store.get(row["id"])
    assert view is not None
    assert view.contact == "sip:alex@pbx.example.com:5060"
    assert (view.transfer_mode, view.active) == ("cold", False)

    code, out = await run(store, "hours", str(row["id"]), "--set", "sat-sun 10:00-14:00")
    assert code == 0 and "sat 10:00-14:00, sun 10:00-14:00" in out
    view = await store.get(row["id"])
    assert view is not None and view.hours.as_json() == {
        "sat": [["10:00", "14:00"]],
        "sun": [["10:00", "14:00"]],
    }

    code, out = await run(store, "list")
    assert "(inactive)" in out and "Alex Rivera" in out

    code, _ = await run(store, "remove", str(row["id"]))
    assert code == 0 and await store.list() == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (("--contact", "+1555"), "E.164"),
        (("--contact", "sip:nohost"), "SIP URI"),
        (("--skills", "refunds"), "unknown skill"),
        (("--timezone", "PST"), "IANA"),
        (("--hours", "mon-fri 17:00-09:00"), "ends before it starts"),
    ],
)
async def test_add_rejects_bad_values_and_says_what_to_fix(
    store: SupervisorStore,
    capsys: pytest.CaptureFixture[str],
    override: tuple[str, str],
    message: str,
) -> None:
    argv = list(ADD)
    argv[argv.index(override[0]) + 1] = override[1]
    code, _ = await run(store, *argv)
    assert code == 2
    assert message in capsys.readouterr().err
    assert await store.list() == []


async def test_update_and_remove_unknown_id(
    store: SupervisorStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await run(store, "update", "999", "--priority", "1"))[0] == 2
    assert "no supervisor with id 999" in capsys.readouterr().err
    assert (await run(store, "remove", "999"))[0] == 2


def test_unmigrated_database_says_to_run_db_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse("list")
    args.database_url = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
    settings = SimpleNamespace(database_url="unused", default_region="US")
    assert args.handler(args, settings) == 1
    assert "run `callcenter db upgrade` first" in capsys.readouterr().err
