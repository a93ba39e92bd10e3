"""History, call page, CSV, callback queue, roster edits: what supervisors and ops do."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from callcenter.data import Database, SupervisorStore
from callcenter.data.audit_log import AuditLog
from callcenter.data.models import Ticket, TicketStatus
from callcenter.postcall.pipeline import PostCallPipeline
from tests.web.conftest import (
    SERVED_DATA,
    Account,
    add_call,
    add_callback,
    client_for,
    login,
    web_settings,
)

T0 = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
NUMBER_FORMS = ("+14155550142", "4155550142", "415 555 0142", "(415) 555-0142")


async def _calls(db: Database) -> None:
    await add_call(db, "a-resolved", started=T0, outcome="resolved")
    await add_call(
        db,
        "b-abandoned",
        started=T0 + dt.timedelta(hours=1),
        outcome="abandoned",
        caller="+14155550199",
        data={
            "phases": ["greeting", "ended"],
            "verification": {"status": "unverified"},
            "actions": [],
        },
    )
    await add_call(
        db,
        "c-transferred",
        started=T0 + dt.timedelta(hours=2),
        outcome="transferred",
        transferred_to="Alex Rivera",
        data={
            **SERVED_DATA,
            "transfer_attempts": [
                {
                    "mode": "warm",
                    "supervisor": "Alex Rivera",
                    "outcome": "connected",
                    "detail": "accepted",
                    "started_at": 1796065200.0,
                    "ended_at": 1796065212.5,
                }
            ],
        },
    )
    await PostCallPipeline(db, web_settings()).run_once()


class _Opened(httpx.AsyncClient):
    """A logged-in client the test may use with or without `async with`."""

    csrf = ""

    async def __aenter__(self) -> _Opened:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


@pytest.fixture
async def ops(console_app: FastAPI, accounts: dict[str, Account]) -> AsyncIterator[_Opened]:
    client = _Opened(
        transport=httpx.ASGITransport(app=console_app, client=("127.0.0.1", 50000)),
        base_url="https://testserver",
    )
    client.csrf = await login(client, accounts["ops"])
    yield client
    await client.aclose()


def _ids(html: str) -> list[str]:
    return re.findall(r'href="/calls/([^"]+)"', html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["c-transferred", "b-abandoned", "a-resolved"]),
        ({"outcome": "abandoned"}, ["b-abandoned"]),
        ({"disposition": "abandoned_before_service"}, ["b-abandoned"]),
        ({"transfer": "connected"}, ["c-transferred"]),
        ({"transfer": "none"}, ["b-abandoned", "a-resolved"]),
        ({"verified": "no"}, ["b-abandoned"]),
        ({"verified": "yes"}, ["c-transferred", "a-resolved"]),
        ({"caller": "+1 (415) 555-0142"}, ["c-transferred", "a-resolved"]),
        ({"caller": "4155550199"}, ["b-abandoned"]),
        (
            {"since": "2026-11-30T09:30", "until": "2026-11-30T10:30"},
            ["b-abandoned"],
        ),  # Los Angeles time
    ],
)
async def test_history_filters(
    db: Database, ops: httpx.AsyncClient, query: dict[str, str], expected: list[str]
) -> None:
    await _calls(db)
    async with ops:
        page = await ops.get("/calls", params=query, follow_redirects=True)
        api = await ops.get("/api/calls", params=query)
    assert page.status_code == 200
    assert "caller=" not in str(page.url)
    assert _ids(page.text) == expected
    assert [c["call_id"] for c in api.json()["calls"]] == expected


async def test_numbers_never_appear_in_clear(db: Database, ops: httpx.AsyncClient) -> None:
    await _calls(db)
    async with ops:
        texts = [
            (
                await ops.get("/calls", params={"caller": "+14155550142"}, follow_redirects=True)
            ).text,
            (await ops.get("/api/calls", params={"caller": "+14155550142"})).text,
            (await ops.get("/calls/a-resolved")).text,
            (await ops.get("/api/calls/a-resolved")).text,
            (await ops.get("/calls.csv")).text,
        ]
    for text in texts:
        for form in NUMBER_FORMS:
            assert form not in text
    assert "+1********42" in texts[0]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"caller": "555"}, "full number"),
        ({"since": "yesterday"}, "since"),
        ({"outcome": "bogus"}, "outcome"),
        ({"since": "2026-12-01T00:00", "until": "2026-11-01T00:00"}, "after its end"),
        ({"before": "nope"}, "cursor"),
    ],
)
async def test_bad_filters_say_what_is_wrong(
    db: Database, ops: httpx.AsyncClient, query: dict[str, str], message: str
) -> None:
    async with ops:
        page = await ops.get("/calls", params=query)
        api = await ops.get("/api/calls", params=query)
    assert page.status_code == 200 and message in page.text
    assert api.status_code == 422 and message in json.dumps(api.json()["detail"])


async def test_history_pages_by_cursor(db: Database, ops: httpx.AsyncClient) -> None:
    for i in range(5):
        await add_call(db, f"call-{i}", started=T0 + dt.timedelta(minutes=i))
    async with ops:
        first = (await ops.get("/api/calls", params={"limit": 2})).json()
        second = (await ops.get("/api/calls", params={"limit": 2, "before": first["next"]})).json()
        third = (await ops.get("/api/calls", params={"limit": 2, "before": second["next"]})).json()
    ids = [c["call_id"] for page in (first, second, third) for c in page["calls"]]
    assert ids == ["call-4", "call-3", "call-2", "call-1", "call-0"] and third["next"] is None


async def test_csv_export_follows_the_filters(db: Database, ops: httpx.AsyncClient) -> None:
    await _calls(db)
    async with ops:
        response = await ops.get("/calls.csv", params={"verified": "yes"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["call_id"] for r in rows] == ["c-transferred", "a-resolved"]
    assert rows[0]["disposition"] == "transferred" and rows[0]["caller"] == "'+1********42"


async def test_call_page_shows_timeline_transcript_and_is_audited(
    db: Database, ops: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    await _calls(db)
    async with ops:
        page = await ops.get("/calls/c-transferred")
        missing = await ops.get("/calls/no-such-call")
    html = page.text
    for expected in (
        "Transferred to Alex Rivera",
        "greeting → verification",
        "caller wants help with orders",
        "warm transfer to Alex Rivera: connected",
        "12.5 s",
        "Where is my order 1001?",
        "[phone]",
        "my zip is [redacted]",
        "not recorded",
    ):
        assert expected in html, expected
    assert missing.status_code == 404
    entries = await AuditLog(db).recent(target_type="call", target_id="c-transferred")
    assert [(e.action, e.actor) for e in entries] == [("call.view", accounts["ops"].email)]


async def test_callback_queue_claim_note_close(
    db: Database, ops: httpx.AsyncClient, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    old = await add_callback(db, reason="refund not received")
    fresh = await add_callback(db, reason="wants invoice copy")
    async with db.transaction() as s:  # the first was opened a day ago: overdue
        await s.execute(
            sa.update(Ticket).where(Ticket.id == old).values(created_at=T0 - dt.timedelta(days=1))
        )
    async with ops:
        page = await ops.get("/callbacks")
        assert page.text.index("refund not received") < page.text.index("wants invoice copy")
        assert re.search(rf'id="ticket-{old}" class="overdue"', page.text)
        assert not re.search(rf'id="ticket-{fresh}" class="overdue"', page.text)
        assert "+14155550142" not in page.text
        csrf = ops.csrf
        claimed = await ops.post(f"/callbacks/{old}/claim", data={"csrf_token": csrf})
        assert claimed.status_code == 303
        page = await ops.get("/callbacks")
        assert 'href="tel:+14155550142"' in page.text, "the claimer sees the number to call"
        await ops.post(
            f"/callbacks/{old}/note", data={"csrf_token": csrf, "text": "left a voicemail"}
        )
        closed = await ops.post(
            f"/callbacks/{old}/close", data={"csrf_token": csrf, "resolution": "unreachable"}
        )
        assert closed.status_code == 303
        again = await ops.post(
            f"/callbacks/{old}/close", data={"csrf_token": csrf, "resolution": "done"}
        )
        assert again.status_code == 409 and "already closed" in again.text
    async with client_for(console_app) as other:
        csrf2 = await login(other, accounts["supervisor"])
        api = await other.post(f"/api/callbacks/{fresh}/claim", headers={"X-CSRF-Token": csrf2})
        assert api.json()["claimed_by_me"] and api.json()["phone"] == "+14155550142"
        listing = (await other.get("/api/callbacks")).json()
        assert [t["ticket_id"] for t in listing] == [fresh]
    async with db.session() as s:
        status = await s.scalar(sa.select(Ticket.status).where(Ticket.id == old))
    assert status is TicketStatus.CLOSED
    actions = [
        e.action for e in await AuditLog(db).recent(target_type="ticket", target_id=str(old))
    ]
    assert actions == ["callback.close", "callback.note", "callback.claim"]


async def test_claimed_ticket_needs_take_over(
    db: Database, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    ticket = await add_callback(db)
    async with client_for(console_app) as a, client_for(console_app) as b:
        csrf_a = await login(a, accounts["ops"])
        csrf_b = await login(b, accounts["admin"])
        assert (
            await a.post(f"/api/callbacks/{ticket}/claim", headers={"X-CSRF-Token": csrf_a})
        ).status_code == 200
        taken = await b.post(f"/api/callbacks/{ticket}/claim", headers={"X-CSRF-Token": csrf_b})
        assert taken.status_code == 409 and "someone else" in taken.json()["detail"]
        over = await b.post(
            f"/api/callbacks/{ticket}/claim",
            json={"take_over": True},
            headers={"X-CSRF-Token": csrf_b},
        )
        assert over.status_code == 200 and over.json()["claimed_by_me"]
        gone = await b.post("/api/callbacks/999999/claim", headers={"X-CSRF-Token": csrf_b})
        assert gone.status_code == 404


async def test_roster_edit_validates_like_the_cli_and_is_audited(
    db: Database, ops: httpx.AsyncClient
) -> None:
    store = SupervisorStore(db)
    before = await store.get(1)
    assert before is not None
    form = {
        "csrf_token": ops.csrf,
        "name": before.name,
        "contact": "+1 415 555 0111",
        "timezone": "America/New_York",
        "hours": "mon-thu 08:00-16:00",
        "priority": "5",
        "transfer_mode": "cold",
        "skills": ["billing", "general"],
        "active": "1",
    }
    async with ops:
        bad = await ops.post("/roster/1", data={**form, "contact": "not a number"})
        assert bad.status_code == 422 and "contact" in bad.text
        assert await store.get(1) == before, "nothing is saved when anything is invalid"
        bad_hours = await ops.post("/roster/1", data={**form, "hours": "mon 17:00-09:00"})
        assert bad_hours.status_code == 422
        saved = await ops.post("/roster/1", data=form)
        assert saved.status_code == 303
        api_bad = await ops.patch(
            "/api/supervisors/1", json={"timezone": "Mars/Base"}, headers={"X-CSRF-Token": ops.csrf}
        )
        assert api_bad.status_code == 422 and "Mars/Base" in api_bad.json()["detail"][0]["msg"]
        api = await ops.patch(
            "/api/supervisors/1", json={"active": False}, headers={"X-CSRF-Token": ops.csrf}
        )
        assert api.status_code == 200 and api.json()["active"] is False
    after = await store.get(1)
    assert after is not None
    assert (
        after.contact,
        after.timezone,
        after.priority,
        after.transfer_mode,
        list(after.skills),
        after.active,
    ) == ("+14155550111", "America/New_York", 5, "cold", ["billing", "general"], False)
    assert after.hours.as_json() == {d: [["08:00", "16:00"]] for d in ("mon", "tue", "wed", "thu")}
    entries = await AuditLog(db).recent(target_type="supervisor", target_id="1")
    assert [e.action for e in entries] == ["supervisor.update", "supervisor.update"]
    assert entries[1].detail["fields"] == [
        "contact",
        "priority",
        "skills",
        "timezone",
        "transfer_mode",
        "working_hours",
    ]


MEASURED = {
    **SERVED_DATA,
    "turn_latencies_ms": [620.0, 810.0, 1490.0],
    "tool_calls": {"check_zip_code": 1, "lookup_order": 2},
    "usage": {
        "llm_prompt_tokens": 5400,
        "llm_prompt_cached_tokens": 1200,
        "llm_completion_tokens": 310,
        "tts_characters": 742,
        "tts_audio_s": 48.2,
        "stt_audio_s": 61.5,
        "models": [{"kind": "llm", "provider": "openai", "model": "gpt-4o-mini"}],
    },
}
TIMED_TRANSCRIPT = [
    {"role": "caller", "text": "where is my order", "phase": "orders", "at": 1796058020.0},
    {
        "role": "agent",
        "text": "It shipped yesterday.",
        "phase": "orders",
        "at": 1796058021.5,
        "latency_ms": 810.0,
    },
]


async def test_per_call_metrics_on_the_call_page_the_api_and_the_csv(
    db: Database, ops: httpx.AsyncClient
) -> None:
    await add_call(db, "m-measured", started=T0, data=MEASURED, transcript=TIMED_TRANSCRIPT)
    await add_call(db, "m-old", started=T0 - dt.timedelta(hours=1))  # no numbers recorded
    await PostCallPipeline(db, web_settings()).run_once()
    async with ops:
        page = await ops.get("/calls/m-measured")
        detail = await ops.get("/api/calls/m-measured")
        listed = await ops.get("/api/calls")
        exported = await ops.get("/calls.csv")
    html = page.text
    for expected in (
        "p50 810 ms · p95 1422 ms",
        "end of the caller&#39;s speech → first agent audio",
        "check_zip_code ×1",
        "lookup_order ×2",
        "5,400 prompt (1,200 cached) · 310 completion tokens",
        "TTS 742 characters · 48.2 s audio",
        "STT 61.5 s audio",
        "openai gpt-4o-mini",
    ):
        assert expected in html, expected
    # the agent's line carries its own latency
    assert re.search(r"It shipped yesterday\. <span[^>]*turn-latency[^>]*>810 ms<", html)
    metrics = detail.json()["analysis"]["metrics"]
    assert metrics["tool_calls"] == 3 and metrics["turns"] == 2
    assert metrics["usage"]["stt_audio_s"] == 61.5
    assert detail.json()["transcript"][1]["latency_ms"] == 810.0
    rows = {r["call_id"]: r for r in listed.json()["calls"]}
    assert rows["m-measured"]["turn_latency_p50_ms"] == 810.0
    assert rows["m-measured"]["llm_prompt_tokens"] == 5400
    assert rows["m-old"]["tool_calls"] is None and rows["m-old"]["llm_prompt_tokens"] is None
    csv_rows = {r["call_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert csv_rows["m-measured"]["tool_calls"] == "3"
    assert csv_rows["m-measured"]["tts_characters"] == "742"
    assert csv_rows["m-measured"]["turn_latency_p95_ms"] == "1422.0"
    assert csv_rows["m-old"]["stt_audio_s"] == ""
