"""The console in a real browser: Debian's Chromium driven by Playwright.

A real `callcenter web` process serves a copy of the seeded SQLite database on 127.0.0.1;
another process plays the worker (writes live snapshots, announces a warm transfer) and a
real `callcenter console` call writes its record. Screenshots land in
`$CALLCENTER_SCREENSHOT_DIR` (default: the test's tmp dir) for a person to look at.

Skipped, with the reason, where /usr/bin/chromium is missing (Playwright's own browser
download does not work offline); CI installs Debian's `chromium` (.ci/browsers.sh).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database, TicketStore
from callcenter.data.lockouts import AccountLockouts
from callcenter.data.users import Role
from callcenter.live.publisher import LivePublisher
from callcenter.live.screen_pop import announce_transfer
from callcenter.telephony.sip import CallInfo
from tests.web.conftest import lock_account
from tests.web.live_server import PASSWORD, Site, serve

CHROMIUM = Path(os.environ.get("CALLCENTER_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

NO_BROWSER = (
    f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium; "
    "CI does it in .ci/browsers.sh) to run the browser tests"
)
if not CHROMIUM.exists() and os.environ.get("CALLCENTER_REQUIRE_BROWSER") == "1":
    raise RuntimeError(NO_BROWSER + " (CALLCENTER_REQUIRE_BROWSER=1: CI installed it, so fail)")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_BROWSER)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("browser")
    users = {"lead@example.com": (Role.SUPERVISOR, 1), "ops@example.com": (Role.OPS, None)}
    with serve(work, template_db, users) as running:
        yield running


@pytest.fixture(scope="module")
def shots(site: Site) -> Path:
    path = Path(os.environ.get("CALLCENTER_SCREENSHOT_DIR") or site.workdir / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser_context(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),  # an empty --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=LAUNCH_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any, site: Site) -> Iterator[Any]:
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    tab.close()


def _login(page: Any, site: Site, email: str) -> None:
    page.goto(site.url + "/")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click(".login button[type=submit]")
    page.wait_for_url(site.url + "/board")


def _state(call_id: str) -> CallState:
    return CallState(
        call=CallInfo.for_console(caller_e164="+14155550142", call_id=call_id), deps=cast(Any, None)
    )


def test_login_board_moves_live_and_logout(page: Any, site: Site, shots: Path) -> None:
    page.goto(site.url + "/login")
    page.screenshot(path=str(shots / "login.png"))
    _login(page, site, "ops@example.com")
    from playwright.sync_api import expect

    expect(page.locator("#live-dot.on")).to_be_visible()  # the event stream is open
    state = _state("browser-live-1")
    publisher: dict[str, LivePublisher] = {}

    async def publish(db: Database) -> None:
        pub = publisher.setdefault("p", LivePublisher(db, state))
        pub.store = LivePublisher(db, state).store  # this process's connection for this step
        await pub.flush()

    site.run(publish)
    row = page.locator("#live-browser-live-1")
    expect(row).to_have_attribute("data-phase", "greeting")
    expect(page.get_by_test_id("active-calls")).to_have_text("1")
    state.start_verification("orders")
    site.run(publish)
    expect(row).to_have_attribute("data-phase", "verification")
    state.factor_ok("zip")
    state.route_to(Phase.ORDERS, reason="verified")
    site.run(publish)
    expect(row).to_have_attribute("data-phase", "orders")
    state.begin_escalation(reason="caller asked for a person")
    state.transfer_started("warm", "Alex Rivera")
    site.run(publish)
    expect(page.get_by_test_id("waiting")).to_have_text("1")
    expect(row).to_contain_text("+1********42")
    expect(row).to_contain_text("verified")
    page.screenshot(path=str(shots / "board.png"), full_page=True)
    assert "+14155550142" not in page.content()
    page.click("nav.side form button")  # log out
    page.wait_for_url(re.compile(r".*/login.*"))
    page.goto(site.url + "/calls")
    assert "/login" in page.url


WATCH_BOARD = """
() => {
  window.__seen = [];
  const record = () => document.querySelectorAll("tr[id^='live-console-']").forEach((row) => {
    const last = window.__seen[window.__seen.length - 1];
    const ended = row.classList.contains("ended") ? " ended" : "";
    const now = row.id + " " + row.dataset.phase + ended;
    if (now !== last) window.__seen.push(now);
  });
  new MutationObserver(record)
    .observe(document.getElementById("board"), {childList: true, subtree: true});
}
"""


def test_a_console_call_moves_across_the_live_board(page: Any, site: Site, shots: Path) -> None:
    _login(page, site, "ops@example.com")
    from playwright.sync_api import expect

    expect(page.locator("#live-dot.on")).to_be_visible()
    page.evaluate(WATCH_BOARD)
    call = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callcenter.cli",
            "console",
            "--caller",
            "+14155550142",
            "--script",
            str(ROOT / "examples" / "order_billing_human.txt"),
        ],
        env=site.env,
        cwd=site.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        row = page.locator("tr[id^='live-console-']").first
        expect(row).to_be_visible(timeout=30_000)  # the console process starts, then calls
        expect(row).to_have_class(re.compile("ended"), timeout=30_000)
    finally:
        assert call.wait(timeout=120) == 0
    seen = page.evaluate("window.__seen")
    phases = [entry.split()[1] for entry in seen]
    assert len(set(phases)) >= 3, seen  # it moved: greeting ... ended, as the board saw it
    assert phases[-1] == "ended"
    assert "+14155550142" not in page.content()


def test_console_call_is_found_in_history_with_transcript(
    page: Any, site: Site, shots: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "callcenter.cli",
            "console",
            "--caller",
            "+14155550142",
            "--script",
            str(ROOT / "examples" / "order_billing_human.txt"),
        ],
        env=site.env,
        cwd=site.workdir,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    _login(page, site, "ops@example.com")
    from playwright.sync_api import expect

    page.goto(site.url + "/calls")
    first = page.locator("[data-testid=history] tbody tr").first
    # analysed by the console; its demo moment (`--at open`) has a supervisor on duty, so the
    # README's demo ends with the simulated transfer whatever the time of day
    expect(first).to_contain_text("Transferred to a person", timeout=15_000)
    page.fill("input[name=caller]", "(415) 555-0142")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"caller_hash=[0-9a-f]{64}"))
    page.screenshot(path=str(shots / "history.png"), full_page=True)
    first.locator("a").first.click()
    expect(page.get_by_test_id("disposition")).to_have_text("Transferred to a person")
    transcript = page.get_by_test_id("transcript")
    expect(transcript).to_contain_text("calling about my order 1001")
    expect(transcript).to_contain_text("[redacted]")  # the ZIP said while verifying
    expect(page.get_by_test_id("summary")).to_contain_text("Verified caller called about billing")
    page.screenshot(path=str(shots / "call.png"), full_page=True)
    assert "4155550142" not in page.content()


def test_claim_and_close_a_callback(page: Any, site: Site, shots: Path) -> None:
    ticket = site.run(
        lambda db: TicketStore(db).create_callback(
            "+14155550142",
            "refund not received",
            summary="Intent: billing. Identity: verified.",
            preferred_time="after 3pm",
        )
    )
    _login(page, site, "ops@example.com")
    from playwright.sync_api import expect

    page.goto(site.url + "/callbacks")
    row = page.locator(f"#ticket-{ticket.id}")
    expect(row).to_contain_text("refund not received")
    expect(row).not_to_contain_text("+14155550142")
    row.get_by_role("button", name="Claim").click()
    expect(page.locator(".notice")).to_contain_text("Callback claimed")
    expect(row.get_by_test_id("phone")).to_have_text("+14155550142")
    row.get_by_placeholder("Add a note").fill("left a voicemail")
    row.get_by_role("button", name="Add").click()
    expect(row).to_contain_text("left a voicemail")
    page.screenshot(path=str(shots / "callbacks.png"), full_page=True)
    row.get_by_role("button", name="Done").click()
    expect(page.locator(".notice")).to_contain_text("closed as done")
    expect(page.locator(f"#ticket-{ticket.id}")).to_have_count(0)


def test_edit_a_supervisor(page: Any, site: Site, shots: Path) -> None:
    _login(page, site, "ops@example.com")
    from playwright.sync_api import expect

    page.goto(site.url + "/roster")
    page.screenshot(path=str(shots / "roster.png"), full_page=True)
    page.locator("#supervisor-2").get_by_role("link", name="Edit").click()
    page.fill("#contact", "not a phone")
    page.click("form.form-grid button[type=submit]")
    expect(page.get_by_test_id("form-error")).to_contain_text("contact")
    page.fill("#contact", "sip:lead@pbx.example.com")
    page.fill("#hours", "mon-fri 07:00-15:00")
    page.fill("#priority", "3")
    page.click("form.form-grid button[type=submit]")
    expect(page.locator(".notice")).to_have_text("Supervisor saved.")
    row = page.locator("#supervisor-2")
    expect(row).to_contain_text("sip:lead@pbx.example.com")
    expect(row).to_contain_text("mon 07:00-15:00")


def test_screen_pop_during_a_warm_transfer(page: Any, site: Site, shots: Path) -> None:
    _login(page, site, "lead@example.com")  # supervisor 1
    from playwright.sync_api import expect

    expect(page.locator("#live-dot.on")).to_be_visible()
    state = _state("browser-transfer")
    state.start_verification("billing")
    state.factor_ok("pin")
    state.route_to(Phase.BILLING, reason="verified")
    state.note("checked balance")

    async def dial(db: Database) -> str:
        await LivePublisher(db, state).flush()
        pop = await announce_transfer(
            db, state, 1, summary="Disputes a $14.99 late fee; wants it waived."
        )
        return pop.path

    path = site.run(dial)
    card = page.get_by_test_id("screen-pop")
    expect(card).to_be_visible()
    expect(card).to_contain_text("verified")
    expect(card).to_contain_text("billing")
    expect(card).to_contain_text("Disputes a $14.99 late fee")
    page.screenshot(path=str(shots / "screen-pop.png"))
    card.get_by_role("link", name="Open call").click()
    expect(page.get_by_test_id("pop-page")).to_contain_text("checked balance")
    assert page.url.endswith(path)


def test_unlock_a_locked_account(page: Any, site: Site, shots: Path) -> None:
    customer = site.run(lambda db: lock_account(db, "ACC-100077"))
    _login(page, site, "lead@example.com")  # a supervisor: supervisors unlock, ops do not
    from playwright.sync_api import expect

    page.get_by_role("link", name="Locked accounts").click()
    row = page.locator(f"#account-{customer}")
    expect(row).to_contain_text("ACC-••••••")
    expect(row).to_contain_text("wrong verification answers")
    page.screenshot(path=str(shots / "accounts.png"), full_page=True)
    assert "100077" not in page.content()
    row.get_by_placeholder("How you confirmed the caller").fill("called back on the number on file")
    row.get_by_role("button", name="Unlock").click()
    expect(page.locator(".notice")).to_contain_text("Account unlocked")
    expect(page.locator(f"#account-{customer}")).to_have_count(0)
    assert site.run(lambda db: AccountLockouts(db).active(customer)) is None
