"""Post-call analysis: dispositions from the phase machine, summary, metrics, the pipeline."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from callcenter.data import Database
from callcenter.data.call_analysis import CallAnalysis, CallAnalysisStore, Disposition
from callcenter.data.webhook_deliveries import WebhookDelivery
from callcenter.postcall.analysis import caller_hash, disposition, metrics
from callcenter.postcall.pipeline import PostCallPipeline
from tests.web.conftest import SERVED_DATA, add_call, web_settings

GREETING_ONLY: dict[str, Any] = {
    "phases": ["greeting", "ended"],
    "verification": {"status": "unverified"},
    "actions": [],
}
VERIFYING: dict[str, Any] = {
    "phases": ["greeting", "verification", "ended"],
    "verification": {"status": "unverified"},
    "actions": [],
}


@pytest.mark.parametrize(
    ("outcome", "data", "expected"),
    [
        ("transferred", SERVED_DATA, Disposition.TRANSFERRED),
        ("callback", GREETING_ONLY, Disposition.CALLBACK_BOOKED),
        ("failed", SERVED_DATA, Disposition.FAILED),
        (None, SERVED_DATA, Disposition.FAILED),
        (
            "abandoned",
            {**VERIFYING, "verification": {"status": "locked"}},
            Disposition.VERIFICATION_FAILED,
        ),
        ("resolved", SERVED_DATA, Disposition.RESOLVED_SELF_SERVICE),
        # served, then hung up: never "abandoned"
        ("abandoned", SERVED_DATA, Disposition.HUNG_UP_AFTER_SERVICE),
        ("abandoned", GREETING_ONLY, Disposition.ABANDONED_BEFORE_SERVICE),
        ("abandoned", VERIFYING, Disposition.ABANDONED_BEFORE_SERVICE),
        (
            "ended",
            {**GREETING_ONLY, "end_reason": "inactivity"},
            Disposition.ABANDONED_BEFORE_SERVICE,
        ),
        ("ended", {**SERVED_DATA, "end_reason": "inactivity"}, Disposition.HUNG_UP_AFTER_SERVICE),
        ("ended", {**SERVED_DATA, "end_reason": "maximum call duration"}, Disposition.INTERRUPTED),
    ],
)
def test_disposition_follows_the_recorded_phases(
    outcome: str | None, data: dict[str, Any], expected: Disposition
) -> None:
    assert disposition(outcome, data) is expected


def test_an_action_outside_a_service_phase_counts_as_service() -> None:
    data = {**GREETING_ONLY, "actions": ["opened callback ticket"]}
    assert disposition("abandoned", data) is Disposition.HUNG_UP_AFTER_SERVICE
    only_verified = {**VERIFYING, "actions": ["verified identity by ZIP code"]}
    assert disposition("abandoned", only_verified) is Disposition.ABANDONED_BEFORE_SERVICE


def test_metrics_say_not_recorded_instead_of_zero() -> None:
    import datetime as dt

    start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    transcript = [{"role": "caller"}, {"role": "agent"}, {"role": "agent"}]
    m = metrics(SERVED_DATA, transcript, start, start + dt.timedelta(seconds=61))
    assert (m["caller_turns"], m["agent_turns"], m["handoffs"], m["duration_s"]) == (1, 2, 4, 61.0)
    assert m["turns"] == 3
    assert m["turn_latency_p50_ms"] is None and m["usage"] is None
    assert m["tool_calls"] is None and m["tool_calls_by_name"] is None
    assert m["turn_latency_measure"] is None
    timed = metrics(
        {**SERVED_DATA, "turn_latencies_ms": [100, 200, 300, 400, 1000]}, [], start, None
    )
    assert timed["turn_latency_p50_ms"] == 300.0
    assert 400 < timed["turn_latency_p95_ms"] <= 1000
    assert timed["turn_latency_measure"] == "speech"


def test_metrics_count_tool_calls_by_name_and_keep_usage() -> None:
    import datetime as dt

    start = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    usage = {"llm_prompt_tokens": 1200, "llm_completion_tokens": 80, "models": []}
    data = {
        **SERVED_DATA,
        "tool_calls": {"lookup_order": 2, "check_zip": 1},
        "usage": usage,
        "turn_latencies_ms": [],
    }
    m = metrics(data, [], start, None, live_latencies_ms=[900.0, 1100.0])
    assert m["tool_calls"] == 3
    assert m["tool_calls_by_name"] == {"lookup_order": 2, "check_zip": 1}
    assert m["usage"] == usage
    # no speech latency on the record (a typed call): the board's reply time, labelled so
    assert m["turn_latency_measure"] == "reply"
    assert m["turn_latency_p50_ms"] == 1000.0
    # the record's own speech latencies win over the board's
    spoken = metrics({**data, "turn_latencies_ms": [400.0]}, [], start, None,
                     live_latencies_ms=[900.0])  # fmt: skip
    assert (spoken["turn_latency_p50_ms"], spoken["turn_latency_measure"]) == (400.0, "speech")


def test_caller_hash_is_keyed() -> None:
    a = caller_hash("+14155550142", b"key-one")
    assert a == caller_hash("+14155550142", b"key-one")
    assert a != caller_hash("+14155550142", b"key-two")
    assert a != caller_hash("+14155550143", b"key-one")
    assert caller_hash(None, b"k") is None


async def test_pipeline_analyses_each_closed_call_once_and_queues_webhooks(db: Database) -> None:
    settings = web_settings(
        CALLCENTER_WEBHOOK_URLS="http://127.0.0.1:9/a,http://127.0.0.1:9/b",
        CALLCENTER_WEBHOOK_SECRET="s" * 32,
    )
    await add_call(db, "served-then-gone", outcome="abandoned")
    open_call = "still-talking"
    from callcenter.data import CallRecordStore

    await CallRecordStore(db).open(open_call, "room")
    first, second = PostCallPipeline(db, settings), PostCallPipeline(db, settings)
    assert await first.run_once() == 1
    assert await second.run_once() == 0  # nothing left; never twice
    async with db.session() as s:
        analyses = list(await s.scalars(sa.select(CallAnalysis)))
        deliveries = list(await s.scalars(sa.select(WebhookDelivery)))
    assert [a.disposition for a in analyses] == [Disposition.HUNG_UP_AFTER_SERVICE]
    assert analyses[0].summary_source == "template"
    assert "Verified caller called about an order" in analyses[0].summary
    assert sorted(d.url for d in deliveries) == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
    body = json.loads(deliveries[0].body)
    assert body["event"] == "call.completed"
    assert body["call"]["disposition"] == "hung_up_after_service"
    assert "+14155550142" not in deliveries[0].body and "4155550142" not in deliveries[0].body
    assert "415 555 0142" not in deliveries[0].body
    assert await CallAnalysisStore(db).unanalysed() == []
