"""Closed calls -> analysis rows + queued webhook deliveries, exactly once per call.

`PostCallPipeline.run_once()` reads closed call records that have no analysis yet, analyses
each (`analysis.analyse`; the summary from the model when live providers are configured,
`llm_summary`, else the template) and saves the analysis together with one webhook delivery per
configured URL in one transaction. The analysis row is unique per call, so when two
processes race on the same call one commit wins and the other's is discarded whole: no
duplicate webhooks.
"""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa

from callcenter.config import Settings
from callcenter.data.call_analysis import CallAnalysisStore
from callcenter.data.database import Database
from callcenter.data.live_calls import LiveCallStore
from callcenter.data.models import CallRecord, utcnow
from callcenter.data.webhook_deliveries import WebhookOutbox
from callcenter.postcall.analysis import (
    DEVELOPMENT_CALLER_HASH_KEY,
    analyse,
    disposition,
    redacted_record,
    template_summary,
)
from callcenter.postcall.llm_summary import llm_summary
from callcenter.postcall.webhooks import EVENT

log = logging.getLogger("callcenter.postcall")


def caller_hash_key(settings: Settings) -> bytes:
    if settings.caller_hash_key is not None and settings.caller_hash_key.get_secret_value():
        return settings.caller_hash_key.get_secret_value().encode()
    return DEVELOPMENT_CALLER_HASH_KEY


class PostCallPipeline:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.analyses = CallAnalysisStore(db)
        self.hash_key = caller_hash_key(settings)
        self.webhook_urls = settings.webhook_url_list
        self.settings = settings

    async def run_once(self, limit: int = 50) -> int:
        """Analyse up to `limit` closed calls; returns how many this process saved."""
        ids = await self.analyses.unanalysed(limit)
        if not ids:
            return 0
        async with self.db.session() as s:
            records = list(await s.scalars(sa.select(CallRecord).where(CallRecord.id.in_(ids))))
        live = LiveCallStore(self.db)
        saved = 0
        for record in records:
            now = utcnow()
            summary, usage = None, None
            if self.settings.use_live_providers:
                template = template_summary(
                    disposition(record.outcome, dict(record.data or {})),
                    dict(record.data or {}),
                    record.transferred_to,
                )
                result = await llm_summary(self.settings, record, template)
                if result is not None:
                    summary, usage = result
            # turn latencies are measured live (callcenter/live) and kept on the call's last
            # snapshot, not in the record the call wrote
            row = await live.get(record.call_id)
            latencies = (row.snapshot.get("turn_latencies_ms") if row is not None else None) or []
            analysis = analyse(
                record,
                hash_key=self.hash_key,
                now=now,
                summary=summary,
                summary_usage=usage,
                turn_latencies_ms=latencies,
            )
            deliveries = []
            if self.webhook_urls:
                body = json.dumps(
                    {"event": EVENT, "call": redacted_record(record, analysis)},
                    separators=(",", ":"),
                    sort_keys=True,
                    default=str,
                )
                deliveries = [
                    WebhookOutbox.new(record.call_id, EVENT, url, body, now)
                    for url in self.webhook_urls
                ]
            if await self.analyses.save(analysis, extra=deliveries):
                saved += 1
                log.info(
                    "call analysed",
                    extra={"call_id": record.call_id, "disposition": analysis.disposition.value},
                )
        return saved
