"""The live board from a real `CallState`: publisher -> live_calls -> board API and events;
the screen-pop hook a warm transfer calls."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI

from callcenter.console import ConsoleOptions, run_console
from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.data import Database
from callcenter.data.call_analysis import CallAnalysisStore, Disposition
from callcenter.data.live_calls import LiveCallStore
from callcenter.live.publisher import LivePublisher, snapshot
from callcenter.live.screen_pop import SIP_HEADER, announce_transfer
from callcenter.postcall.pipeline import PostCallPipeline
from callcenter.telephony.sip import CallInfo
from tests.web.conftest import Account, client_for, login, web_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "order_billing_human.txt"


def _state(call_id: str = "live-1") -> CallState:
    call = CallInfo.for_console(caller_e164="+14155550142", call_id=call_id)
    return CallState(call=call, deps=cast(Any, None))


def test_snapshot_masks_the_caller_and_follows_the_state() -> None:
    state = _state()
    row = snapshot(state)
    assert row["caller"] == "+1********42" and row["phase"] == "greeting"
    assert "+14155550142" not in repr(row)
    state.start_verification("orders")
    state.factor_ok("zip")
    state.route_to(Phase.ORDERS, reason="verified")
    state.begin_escalation(reason="caller asked for a person")
    state.transfer_started("warm", "Alex Rivera")  # under way: no end yet
    row = snapshot(state)
    assert (row["phase"], row["verification"], row["assurance"], row["intent"]) == (
        "escalation",
        "verified",
        "basic (zip)",  # the assurance level and the factors behind it
        "orders",
    )
    assert row["transfers"][0]["supervisor"] == "Alex Rivera" and row["waiting_for_human"]
    assert row["phase_since"] == state.phase_history[-1].at


async def test_board_shows_calls_as_they_move(
    db: Database, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    state = _state()
    publisher = LivePublisher(db, state)
    await publisher.flush()
    async with client_for(console_app) as client:
        await login(client, accounts["supervisor"])
        first = (await client.get("/api/live")).json()
        assert first["active"] == 1 and first["per_phase"]["greeting"] == 1
        state.start_verification("orders")
        writes = 0
        publish = publisher.store.publish

        async def counting(*args: Any, **kwargs: Any) -> None:
            nonlocal writes
            writes += 1
            await publish(*args, **kwargs)

        publisher.store.publish = counting  # type: ignore[method-assign]
        publisher.changed()
        pending = publisher._pending
        publisher.changed()  # inside the window: coalesced into the write already scheduled
        assert pending is not None and publisher._pending is pending
        await pending
        assert writes == 1
        board = (await client.get("/api/live")).json()
        assert board["calls"][0]["phase"] == "verification" and board["version"] > first["version"]
        events = await client.get("/events", params={"board_updates": "true", "once": "true"})
        assert "event: board" in events.text and 'data-phase="verification"' in events.text
        await publisher.ended()
        done = (await client.get("/api/live")).json()
        assert done["active"] == 0 and done["calls"][0]["ended"]
        page = await client.get("/board")
        assert "+1********42" in page.text and "+14155550142" not in page.text


async def test_warm_transfer_pops_a_card_for_that_supervisor_only(
    db: Database, console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    state = _state("transfer-call")
    state.start_verification("billing")
    state.factor_ok("pin")
    state.route_to(Phase.BILLING, reason="verified")
    state.note("checked balance")
    await LivePublisher(db, state).flush()
    async with client_for(console_app) as mine, client_for(console_app) as other:
        await login(mine, accounts["supervisor"])
        await login(other, accounts["other"])
        pop = await announce_transfer(db, state, 1, summary="Caller disputes a late fee.")
        assert pop.sip_headers == {SIP_HEADER: pop.token} and len(pop.token) >= 24
        card = await mine.get("/events", params={"once": "true"})
        assert card.status_code == 200
        # the stream only sends pops newer than its start: a fresh stream has none ...
        assert "event: pop" not in card.text
        page = await mine.get(pop.path)
        assert (
            page.status_code == 200
            and "Caller disputes a late fee." in page.text
            and "checked balance" in page.text
        )
        assert (await other.get(pop.path)).status_code == 404


async def test_a_console_call_publishes_every_phase_to_the_board(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real call path (`start_call` via the terminal console): the board's rows follow the
    call through its phases and the last write marks it ended, with no number in clear."""
    published: list[dict[str, Any]] = []
    original = LiveCallStore.publish

    async def spy(self: LiveCallStore, call_id: str, snapshot: dict[str, Any], **kw: Any) -> None:
        published.append({**snapshot, "ended": kw.get("ended", False), "call_id": call_id})
        await original(self, call_id, snapshot, **kw)

    monkeypatch.setattr(LiveCallStore, "publish", spy)
    monkeypatch.setattr("callcenter.live.publisher.MIN_INTERVAL_S", 0.0)  # see every phase
    settings = web_settings(DATABASE_URL=f"sqlite+aiosqlite:///{db_path}")
    options = ConsoleOptions(caller="+14155550142", script=EXAMPLE, json_output=True, verbose=False)
    record = await run_console(settings, options, out=io.StringIO())
    phases = [p["phase"] for p in published]
    seen = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert seen[:4] == ["greeting", "verification", "orders", "billing"], seen
    assert seen[-1] == "ended" and published[-1]["ended"]
    assert {p["call_id"] for p in published} == {record["call_id"]}
    assert published[-1]["verification"] == "verified" and published[-1]["intent"] == "billing"
    assert any(p["last_latency_ms"] is not None for p in published)
    assert "+14155550142" not in repr(published)
    assert len(published[-1]["turn_latencies_ms"]) >= 3  # every turn measured
    db = await Database.open(settings.database_url)
    try:
        row = await LiveCallStore(db).get(record["call_id"])
        assert row is not None and row.ended_at is not None
        # the post-call metrics take the measured turn latencies from the last snapshot
        assert await PostCallPipeline(db, settings).run_once() == 1
        analysis = await CallAnalysisStore(db).get(int(record["id"]))
        assert analysis is not None
        # the demo moment (`--at open`): a supervisor is on duty at any time of day
        assert analysis.disposition is Disposition.TRANSFERRED
        assert analysis.metrics["turn_latency_p50_ms"] is not None
        assert analysis.metrics["turn_latency_p95_ms"] >= analysis.metrics["turn_latency_p50_ms"]
        # typed turns have no speech: the board's reply time, and the page says which
        assert analysis.metrics["turn_latency_measure"] == "reply"
        # the tools the model called, by name, as the framework reported them
        by_name = analysis.metrics["tool_calls_by_name"]
        assert by_name["check_zip_code"] == 1 and by_name["transfer_to_human"] == 1
        assert analysis.metrics["tool_calls"] == sum(by_name.values())
        # the degraded model is no network model: its usage is there, and it is zero
        usage = analysis.metrics["usage"]
        assert [m["model"] for m in usage["models"]] == ["degraded-rules"]
        assert usage["llm_prompt_tokens"] == 0
        # a day after the call ends its row leaves the table
        assert await LiveCallStore(db).sweep(older_than=dt.timedelta(days=1)) == 0
        assert await LiveCallStore(db).sweep(older_than=dt.timedelta(seconds=-1)) >= 1
        assert await LiveCallStore(db).get(record["call_id"]) is None
    finally:
        await db.close()
