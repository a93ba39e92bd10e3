"""`callcenter console`: script parsing, a scripted call end to end, hang-up, bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from callcenter import cli
from callcenter.config import Settings
from callcenter.console import ConsoleOptions, ScriptError, parse_line, run_console
from callcenter.data import Database, SupervisorStore
from callcenter.data.models import Order, Shipment
from tests.callpath.helpers import MAYA

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "order_billing_human.txt"
ALWAYS_OPEN = "mon-sun 00:00-24:00"


# --- parse_line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("where is my order", ("say", "where is my order")),
        ("  padded words  ", ("say", "padded words")),
        ("DTMF 4421#", ("dtmf", "4421#")),
        ("dtmf 4 4 2 1", ("dtmf", "4421")),
        ("DTMF *0", ("dtmf", "*0")),
        ("HANGUP", ("hangup", "")),
        ("hangup", ("hangup", "")),
        ("HANGUP now please", ("say", "HANGUP now please")),  # words, not the command
        ("", None),
        ("   ", None),
        ("# a comment", None),
    ],
)
def test_parse_line(line: str, parsed: tuple[str, str] | None) -> None:
    assert parse_line(line) == parsed


@pytest.mark.parametrize("bad", ["DTMF", "DTMF 12a4", "DTMF one two"])
def test_bad_dtmf_line_names_the_line(bad: str) -> None:
    with pytest.raises(ScriptError, match=r"^line 7: DTMF takes keypad keys 0-9, \* and #"):
        parse_line(bad, line_no=7)


# --- the CLI refuses bad input before a call starts -----------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_path: Path) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    monkeypatch.setenv("CALLCENTER_PROVIDER_MODE", "degraded")
    return db_path


def test_malformed_caller_exits_2_naming_the_number(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "s.txt"
    script.write_text("hello\n")
    code = cli.main(["console", "--caller", "+1555", "--script", str(script), "--json"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("callcenter: ") and "'+1555'" in err


def test_bad_script_line_exits_2_naming_the_line(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "s.txt"
    script.write_text("hello\n# comment\nDTMF 12x\n")
    code = cli.main(["console", "--caller", MAYA, "--script", str(script)])
    assert code == 2
    assert "line 3: DTMF takes keypad keys" in capsys.readouterr().err


def test_missing_script_exits_2(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["console", "--script", "/nonexistent/script.txt"]) == 2
    assert "no such file: /nonexistent/script.txt" in capsys.readouterr().err


# --- in-process scripted calls -----------------------------------------------------------


async def _run(settings: Settings, tmp_path: Path, lines: str, caller: str | None = MAYA) -> dict:
    script = tmp_path / "call.txt"
    script.write_text(lines)
    options = ConsoleOptions(caller=caller, script=script, json_output=True, verbose=False)
    return await run_console(settings, options, out=io.StringIO())


async def test_hangup_records_an_abandoned_call(settings: Settings, tmp_path: Path) -> None:
    record = await _run(settings, tmp_path, "Hi, I have a question about my order\nHANGUP\n")
    assert record["outcome"] == "abandoned"
    assert record["data"]["end_reason"] == "caller hung up"
    assert record["data"]["phases"] == ["greeting", "verification", "ended"]
    assert record["data"]["transfer_attempts"] == []
    assert record["caller_e164"] == MAYA


async def test_keyed_pin_through_the_console_reaches_the_order(
    settings: Settings, tmp_path: Path
) -> None:
    """DTMF lines travel as sip_dtmf_received events into GetDtmfTask, like on a phone."""
    record = await _run(
        settings,
        tmp_path,
        "I'm calling about my order 1002\nI'll key my PIN on the keypad\nDTMF 4421#\nHANGUP\n",
    )
    assert record["data"]["verification"] == {
        "status": "verified",
        "attempts": 0,
        "method": "pin",
        "factors": ["pin"],
        "identified_by": "caller_id",
        "assurance": "strong",
    }
    assert record["assurance"] == "strong"
    assert record["data"]["phases"] == ["greeting", "verification", "orders", "ended"]
    spoken = [t["text"] for t in record["transcript"] if t["role"] == "agent"]
    assert any("Order 1002" in text and "processing" in text for text in spoken), spoken


async def test_wrong_keyed_pin_is_not_verified(settings: Settings, tmp_path: Path) -> None:
    record = await _run(
        settings,
        tmp_path,
        "I'm calling about my order 1002\nI'll key my PIN on the keypad\nDTMF 1111#\nHANGUP\n",
    )
    assert record["data"]["verification"]["status"] == "unverified"
    assert record["data"]["verification"]["attempts"] == 1
    assert "orders" not in record["data"]["phases"]


# --- the whole scripted call, as a user runs it ------------------------------------------


async def _prepare_database(db_path: Path) -> str:
    """Open every supervisor around the clock, and give order 1001 a location no code knows."""
    db = await Database.open(f"sqlite+aiosqlite:///{db_path}")
    try:
        store = SupervisorStore(db)
        always = {
            d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
        for supervisor in await store.list():
            await store.update(supervisor.id, working_hours=always)
        location = "Testville, ZZ"
        async with db.transaction() as s:
            order_id = await s.scalar(sa.select(Order.id).where(Order.order_number == "1001"))
            await s.execute(
                sa.update(Shipment)
                .where(Shipment.order_id == order_id)
                .values(last_location=location)
            )
        return location
    finally:
        await db.close()


@pytest.mark.slow
async def test_scripted_call_end_to_end(db_path: Path) -> None:
    location = await _prepare_database(db_path)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "CALLCENTER_PROVIDER_MODE": "degraded",
        "CALLCENTER_BUSINESS_HOURS": ALWAYS_OPEN,
        "CALLCENTER_BUSINESS_HOLIDAYS": "",
        "OPENAI_API_KEY": "",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "callcenter.cli",
            "console",
            "--caller",
            MAYA,
            "--script",
            str(EXAMPLE),
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout)
    data = record["data"]

    assert data["phases"][:5] == ["greeting", "verification", "orders", "billing", "escalation"]
    assert data["phases"][-1] == "ended"
    assert data["verification"]["status"] == "verified"
    assert data["intent"] == "billing"
    # the status the caller heard is the one in the database (a location only the DB has)
    agent_lines = [t["text"] for t in record["transcript"] if t["role"] == "agent"]
    heard = next(line for line in agent_lines if line.startswith("Order 1001"))
    assert "is shipped" in heard and f"last seen in {location}" in heard
    # the caller's balance came from the billing tool
    assert any(line.startswith("The balance due is $") for line in agent_lines)
    # the transfer attempt: simulated (no SIP leg), to the billing supervisor
    assert len(data["transfer_attempts"]) == 1
    attempt = data["transfer_attempts"][0]
    assert (attempt["mode"], attempt["outcome"]) == ("simulated", "simulated")
    assert attempt["supervisor"] == "Priya Shah"
    assert record["outcome"] == "transferred"
    assert record["transferred_to"] == "Priya Shah"
    # PII stays out of the record body and the transcript
    assert "94107" not in json.dumps(record["transcript"])
