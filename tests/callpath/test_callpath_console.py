"""`callcenter console`: script parsing, a scripted call end to end, hang-up, bad input, and
what a newcomer meets: no log lines in the dialogue, `| head` and a call the agent ends
return at once, and the README demo ends the same way at any time of day."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from callcenter import cli, prompts
from callcenter.config import Settings
from callcenter.console import ConsoleOptions, ScriptError, parse_line, run_console
from callcenter.data import CallRecordStore, Database
from callcenter.data.models import Order, Shipment
from tests.callpath.helpers import MAYA

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "order_billing_human.txt"


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
    """Give order 1001 a location no code knows. Business hours and the supervisors' shifts
    stay as seeded: the console's demo moment (`--at open`) makes the call's end the same at
    any time of day."""
    db = await Database.open(f"sqlite+aiosqlite:///{db_path}")
    try:
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


# --- what a newcomer meets ------------------------------------------------------------------


def _env(db_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "CALLCENTER_PROVIDER_MODE": "degraded",
        "OPENAI_API_KEY": "",
        "CALLCENTER_LOG_LEVEL": "INFO",
        **extra,
    }


def _console(*args: str) -> list[str]:
    return [sys.executable, "-m", "callcenter.cli", "console", "--caller", MAYA, *args]


DIALOGUE = ("agent > ", "you   > ", "        [", "call ended: ")


@pytest.mark.slow
def test_log_lines_go_to_a_file_not_into_the_dialogue(db_path: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        _console("--script", str(EXAMPLE)),
        cwd=tmp_path,
        env=_env(db_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines and all(line.startswith(DIALOGUE) for line in lines), lines
    assert lines[0] == "        [log lines: var/console.log; -v shows them here]"
    log = (tmp_path / "var" / "console.log").read_text()
    assert "INFO callcenter.call: call started" in log
    assert MAYA not in log  # phone numbers stay masked in the file too


@pytest.mark.slow
def test_verbose_puts_log_lines_and_tool_calls_on_stderr(db_path: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        _console("--script", str(EXAMPLE), "-v"),
        cwd=tmp_path,
        env=_env(db_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "INFO callcenter.call: call started" in proc.stderr
    assert "[tool transfer_to_human" in proc.stdout
    assert all(line.startswith(DIALOGUE) for line in proc.stdout.splitlines())
    assert not (tmp_path / "var" / "console.log").exists()


@pytest.mark.slow
@pytest.mark.parametrize("typed", [False, True], ids=["script", "terminal"])
async def test_a_closed_stdout_ends_the_call_cleanly(
    db_path: Path, tmp_path: Path, typed: bool
) -> None:
    """`callcenter console ... | head -1`: the call ends as a hang-up, the record is written,
    the exit status is SIGPIPE's, and nothing is printed on stderr."""
    args = () if typed else ("--script", str(EXAMPLE))
    proc = subprocess.Popen(
        _console(*args),
        cwd=tmp_path,
        env=_env(db_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its first line
    if typed:  # the caller types on; stdin stays open
        proc.stdin.write("I'm calling about my order 1001\n")
        proc.stdin.flush()
    try:
        code = proc.wait(timeout=90)
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill()
        proc.stdin.close()
    assert first.startswith("        [log lines")
    assert (code, stderr) == (141, "")
    db = await Database.open(f"sqlite+aiosqlite:///{db_path}")
    try:
        [record] = await CallRecordStore(db).list_recent(limit=5)
    finally:
        await db.close()
    assert record.outcome == "abandoned"


@pytest.mark.slow
def test_the_console_returns_when_the_agent_ends_the_call(db_path: Path, tmp_path: Path) -> None:
    """The agent says goodbye while the terminal waits for the caller's next line: the
    command ends then, without waiting for Enter (stdin stays open here)."""
    proc = subprocess.Popen(
        _console(),
        cwd=tmp_path,
        env=_env(db_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write("that's all, goodbye\n")
    proc.stdin.flush()
    try:
        code = proc.wait(timeout=90)
        out = proc.stdout.read() if proc.stdout else ""
    finally:
        proc.kill()
        proc.stdin.close()
    assert code == 0
    assert "you   > that's all, goodbye\n" in out
    assert out.rstrip().endswith("call ended: resolved")


@pytest.mark.parametrize(
    ("at", "outcome", "heard"),
    [
        ("open", "transferred", "I'm connecting you with Priya Shah now."),
        ("closed", "abandoned", "We're open Monday to Friday, 8 AM to 6 PM Pacific time"),
        ("sun 10:00", "abandoned", "we open again tomorrow at 8 AM"),
    ],
)
async def test_the_demo_ends_the_same_way_at_any_time_of_day(
    settings: Settings, tmp_path: Path, at: str, outcome: str, heard: str
) -> None:
    """The README's demo script, at the default demo moment and the two others a newcomer
    would try: whatever the wall clock says, the same supervisor or the same closed line."""
    options = ConsoleOptions(caller=MAYA, script=EXAMPLE, json_output=True, verbose=False, at=at)
    record = await run_console(settings, options, out=io.StringIO())
    assert record["outcome"] == outcome
    spoken = " ".join(t["text"] for t in record["transcript"] if t["role"] == "agent")
    assert heard in spoken
    if outcome == "abandoned":
        assert prompts.line("offers.callback") in spoken
        assert "mon 08:00" not in spoken


def test_a_bad_moment_exits_2_naming_the_forms(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["console", "--at", "teatime"]) == 2
    assert "--at 'teatime': use open (default), closed, now" in capsys.readouterr().err


async def test_the_readme_policy_and_after_hours_demos(settings: Settings, tmp_path: Path) -> None:
    """The README's two other demo lines, as a newcomer runs them."""
    policy = await run_console(
        settings,
        ConsoleOptions(
            caller=MAYA,
            script=ROOT / "examples" / "policy_questions.txt",
            json_output=True,
            verbose=False,
        ),
        out=io.StringIO(),
    )
    assert "verification" not in policy["data"]["phases"]  # no identity check for policy
    assert policy["data"]["verification"]["status"] == "unverified"
    heard = " ".join(t["text"] for t in policy["transcript"] if t["role"] == "agent")
    assert "Refunds are requested by phone" in heard
    assert "I can't change an address on this line" in heard
    assert "I don't have an answer to that one" in heard
    closed = await run_console(
        settings,
        ConsoleOptions(
            caller=MAYA,
            script=ROOT / "examples" / "after_hours.txt",
            json_output=True,
            verbose=False,
            at="closed",
        ),
        out=io.StringIO(),
    )
    assert closed["outcome"] == "callback"
    heard = " ".join(t["text"] for t in closed["transcript"] if t["role"] == "agent")
    assert "We're open Monday to Friday, 8 AM to 6 PM Pacific time" in heard
    assert "Callback ticket " in heard and "booked for tomorrow morning" in heard
