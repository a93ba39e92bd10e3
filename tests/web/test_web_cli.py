"""`callcenter users add|list` and `callcenter callbacks list|close` from a terminal."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from callcenter import cli
from callcenter.data import Database, TicketStore
from callcenter.data.callback_queue import CallbackQueue
from callcenter.data.users import UserStore
from callcenter.web.passwords import verify_password


@pytest.fixture
def db_env(db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{db_path}"
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(args)


def _read(url: str, fn):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        db = await Database.open(url)
        try:
            return await fn(db)
        finally:
            await db.close()

    return asyncio.run(go())


def test_users_add_hashes_the_password_and_links_the_supervisor(
    db_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(
        [
            "users",
            "add",
            "--email",
            "Lead@Example.com",
            "--role",
            "supervisor",
            "--supervisor",
            "2",
            "--password-stdin",
        ],
        monkeypatch,
        stdin="a long enough password\n",
    )
    assert code == 0, capsys.readouterr().err
    found = _read(db_env, lambda db: UserStore(db).credentials("lead@example.com"))
    assert found is not None
    user, stored = found
    assert user.role.value == "supervisor" and user.supervisor_id == 2
    assert verify_password("a long enough password", stored) and "a long enough" not in stored
    assert _run(["users", "list"], monkeypatch) == 0
    assert "lead@example.com  supervisor supervisor 2" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "supervisor"], "a long enough password\n", "--supervisor ID"),
        (
            ["--role", "supervisor", "--supervisor", "99"],
            "a long enough password\n",
            "no such supervisor",
        ),
        (["--role", "ops"], "short\n", "at least 12"),
        (["--role", "ops"], "", "no password line"),
    ],
)
def test_users_add_refuses_bad_input_clearly(
    db_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    code = _run(
        ["users", "add", "--email", "x@example.com", *args, "--password-stdin"],
        monkeypatch,
        stdin=stdin,
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert _read(db_env, lambda db: UserStore(db).list()) == []


def test_duplicate_email_is_refused(
    db_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["users", "add", "--email", "ops@example.com", "--role", "ops", "--password-stdin"]
    assert _run(args, monkeypatch, stdin="a long enough password\n") == 0
    assert _run(args, monkeypatch, stdin="a long enough password\n") == 2
    assert "already exists" in capsys.readouterr().err


def test_callbacks_list_and_close(
    db_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ticket = _read(
        db_env,
        lambda db: TicketStore(db).create_callback(
            "+14155550142", "refund question", preferred_time="after 3pm"
        ),
    )
    assert _run(["callbacks", "list", "--json"], monkeypatch) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["ticket"], r["caller"], r["reason"]) for r in rows] == [
        (ticket.id, "+1********42", "refund question")
    ]
    assert (
        _run(
            ["callbacks", "close", str(ticket.id), "--unreachable", "--note", "no answer twice"],
            monkeypatch,
        )
        == 0
    )
    assert "unreachable" in capsys.readouterr().out
    assert _run(["callbacks", "close", str(ticket.id), "--done"], monkeypatch) == 2
    assert "already closed" in capsys.readouterr().err
    import datetime as dt

    closed = _read(db_env, lambda db: CallbackQueue(db, sla=dt.timedelta(hours=4)).get(ticket.id))
    assert closed.resolution.value == "unreachable" and closed.notes[0]["text"] == "no answer twice"
    assert _run(["callbacks", "list"], monkeypatch) == 0
    assert "no open callbacks" in capsys.readouterr().out
