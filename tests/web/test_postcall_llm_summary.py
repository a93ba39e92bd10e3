"""The model-written summary (fixed schema) against the OpenAI emulator, and its fallbacks."""

from __future__ import annotations

import json

import sqlalchemy as sa

from callcenter.data import Database
from callcenter.data.call_analysis import CallAnalysis, Disposition
from callcenter.postcall.pipeline import PostCallPipeline
from tests.support.emulators import OpenAIHTTPEmulator
from tests.web.conftest import add_call, web_settings


def _live(emulator: OpenAIHTTPEmulator):  # type: ignore[no-untyped-def]
    return web_settings(
        CALLCENTER_PROVIDER_MODE="live",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=emulator.base_url,
        CALLCENTER_PROVIDER_TIMEOUT_S="2",
    )


async def _analysis(db: Database) -> CallAnalysis:
    async with db.session() as s:
        return (await s.scalars(sa.select(CallAnalysis))).one()


async def test_summary_from_the_model_in_the_fixed_schema(
    db: Database, openai_http: OpenAIHTTPEmulator
) -> None:
    openai_http.chat.script(
        json.dumps(
            {
                "reason": "Where is order 1001",
                "done": ["verified the caller", "read the shipment status"],
                "outcome": "Answered; the caller said goodbye",
                "follow_up": None,
            }
        )
    )
    await add_call(db, "llm-call", outcome="resolved")
    assert await PostCallPipeline(db, _live(openai_http)).run_once() == 1
    analysis = await _analysis(db)
    assert analysis.summary_source == "llm"
    assert (
        analysis.disposition is Disposition.RESOLVED_SELF_SERVICE
    )  # from the phases, not the model
    assert analysis.summary.startswith("Where is order 1001. Done: verified the caller;")
    assert analysis.metrics["summary_usage"]["prompt_tokens"] > 0
    (request,) = openai_http.chat.requests
    sent = json.dumps(request.messages)
    assert "[phone]" in sent and "555 0142" not in sent  # the transcript goes out redacted
    assert request.body["response_format"]["json_schema"]["strict"] is True


async def test_a_bad_answer_falls_back_to_the_template(
    db: Database, openai_http: OpenAIHTTPEmulator
) -> None:
    openai_http.chat.script("Sure! The caller wanted their order.")  # not the schema
    await add_call(db, "llm-bad", outcome="resolved")
    assert await PostCallPipeline(db, _live(openai_http)).run_once() == 1
    analysis = await _analysis(db)
    assert analysis.summary_source == "template"
    assert analysis.summary.startswith("Verified caller called about an order.")


async def test_no_model_call_without_live_providers(
    db: Database, openai_http: OpenAIHTTPEmulator
) -> None:
    await add_call(db, "degraded-call", outcome="resolved")
    assert await PostCallPipeline(db, web_settings()).run_once() == 1
    assert openai_http.chat.requests == []
    assert (await _analysis(db)).summary_source == "template"
