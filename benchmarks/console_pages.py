"""Console pages at scale: server render time of each page with `n_calls` call records.

Loads ``n_calls`` closed call records (phases, handoffs, actions, a transcript; a few in
four with a transfer attempt) with their post-call analyses, 500 open callback tickets and
a handful of live calls, on PostgreSQL (own schema, dropped afterwards; skipped with a
message when the server does not answer) and SQLite (temp file). Then the real console app
(in-process, over ASGI: no network, no browser) serves each page to a logged-in admin
`iterations` times after a warm-up; the table is the time from request to the last byte.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa

from benchmarks._common import summary, table, write_json
from benchmarks.bulk_data import bulk_phone
from callcenter.config import load_settings
from callcenter.data import Database, TicketStore
from callcenter.data.call_analysis import CallAnalysis
from callcenter.data.live_calls import LiveCallStore
from callcenter.data.models import CallOutcome, CallRecord
from callcenter.data.seed import DEMO_REFERENCE_NOW, seed_demo
from callcenter.data.users import Role, UserStore
from callcenter.postcall.analysis import DEVELOPMENT_CALLER_HASH_KEY, analyse
from callcenter.web.app import create_app
from callcenter.web.passwords import hash_password

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
KNOWN_CALLER = "+14155550142"
"""One caller with a few dozen calls among the bulk ones (the history's caller filter)."""

_OUTCOMES = [
    (CallOutcome.RESOLVED, 45),
    (CallOutcome.ABANDONED, 25),
    (CallOutcome.TRANSFERRED, 15),
    (CallOutcome.CALLBACK, 10),
    (CallOutcome.FAILED, 3),
    (CallOutcome.ENDED, 2),
]


def _record(i: int, rng: random.Random, start: dt.datetime) -> dict[str, Any]:
    outcome = rng.choices([o for o, _ in _OUTCOMES], weights=[w for _, w in _OUTCOMES])[0]
    intent = rng.choice(["orders", "billing", "other"])
    verified = rng.random() < 0.8
    served = outcome is not CallOutcome.ABANDONED or rng.random() < 0.5
    t0 = start.timestamp()
    phases = ["greeting", "verification"] + (
        [intent if intent != "other" else "orders"] if served and verified else []
    )
    phases.append("ended")
    handoffs = [
        {"from": a, "to": b, "at": t0 + 5 * (k + 1), "reason": "test"}
        for k, (a, b) in enumerate(itertools.pairwise(phases))
    ]
    attempts = []
    if outcome is CallOutcome.TRANSFERRED or rng.random() < 0.1:
        attempts.append(
            {
                "mode": "warm",
                "supervisor": "Alex Rivera",
                "outcome": "connected" if outcome is CallOutcome.TRANSFERRED else "no_answer",
                "detail": "",
                "started_at": t0 + 30,
                "ended_at": t0 + 45,
            }
        )
    data = {
        "phases": phases,
        "handoffs": handoffs,
        "intent": intent,
        "verification": {
            "status": "verified" if verified else "unverified",
            "attempts": 0,
            "method": "zip" if verified else None,
        },
        "actions": (
            ["verified identity by ZIP code", f"looked up order {1000 + i % 9000}"]
            if verified and served
            else []
        ),
        "transfer_attempts": attempts,
        "provider_switches": [],
        "sip": True,
        "end_reason": "caller hung up",
    }
    transcript = [
        {
            "role": "agent" if k % 2 == 0 else "caller",
            "text": "Thanks for calling, how can I help you today with your order?",
            "phase": phases[min(k // 3, len(phases) - 1)],
            "at": t0 + k * 4,
        }
        for k in range(8)
    ]
    caller = KNOWN_CALLER if i % 2500 == 0 else bulk_phone(rng.randrange(20_000))
    return {
        "call_id": f"bench-{i:07d}",
        "room_name": f"call-bench-{i}",
        "caller_e164": caller,
        "dialled_e164": "+12025550123",
        "customer_id": None,
        "started_at": start,
        "ended_at": start + dt.timedelta(seconds=rng.randint(30, 600)),
        "outcome": outcome,
        "transferred_to": "Alex Rivera" if outcome is CallOutcome.TRANSFERRED else None,
        "data": data,
        "transcript": transcript,
    }


async def _load(db: Database, n_calls: int) -> float:
    rng = random.Random(13)
    t0 = time.perf_counter()
    end = DEMO_REFERENCE_NOW
    step = dt.timedelta(days=90) / n_calls  # three months of calls
    batch = 5_000
    next_id = 1
    for first in range(0, n_calls, batch):
        rows = [
            _record(i, rng, end - step * (n_calls - i))
            for i in range(first, min(n_calls, first + batch))
        ]
        for row in rows:
            row["id"] = next_id
            next_id += 1
        analyses = []
        for row in rows:
            a = analyse(
                SimpleNamespace(**row), hash_key=DEVELOPMENT_CALLER_HASH_KEY, now=row["ended_at"]
            )
            analyses.append(
                {
                    "call_record_id": row["id"],
                    "caller_hash": a.caller_hash,
                    "disposition": a.disposition,
                    "verified": a.verified,
                    "transfer_outcome": a.transfer_outcome,
                    "summary": a.summary,
                    "summary_source": a.summary_source,
                    "metrics": a.metrics,
                    "analysed_at": a.analysed_at,
                }
            )
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(CallRecord), rows)
            await conn.execute(sa.insert(CallAnalysis), analyses)
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('call_records', 'id'), "
                    "(SELECT max(id) FROM call_records))"
                )
            )
            await conn.execute(sa.text("ANALYZE"))
    tickets = TicketStore(db)
    for k in range(500):
        await tickets.create_callback(
            bulk_phone(k),
            "wants a call back",
            summary="Intent: billing.",
            preferred_time="afternoon",
        )
    live = LiveCallStore(db)
    now = dt.datetime.now(dt.UTC)
    for k in range(20):
        await live.publish(
            f"live-{k}",
            {
                "phase": ["greeting", "orders", "billing", "escalation"][k % 4],
                "caller": "+1********42",
                "verification": "verified",
            },
            started_at=now,
            version=k + 1,
        )
    return time.perf_counter() - t0


async def _time_pages(db: Database, n_calls: int, iterations: int) -> dict[str, Any]:
    settings = load_settings(_env_file=None, CALLCENTER_PROVIDER_MODE="degraded")
    await UserStore(db).add(
        "admin@example.com", hash_password("benchmark password"), Role.ADMIN, None
    )
    app = create_app(settings, db=db, background=False)
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
            login = await client.post(
                "/api/login", json={"email": "admin@example.com", "password": "benchmark password"}
            )
            login.raise_for_status()
            redirect = await client.get("/calls", params={"caller": KNOWN_CALLER})
            by_caller = redirect.headers["location"]
            deep = (await client.get("/api/calls", params={"limit": 500})).json()["next"]
            for _ in range(n_calls // 1000 - 1):  # a cursor half-way back (page 1000 at 100k)
                deep = (
                    await client.get("/api/calls", params={"limit": 500, "before": deep})
                ).json()["next"]
            day = DEMO_REFERENCE_NOW - dt.timedelta(days=10)
            pages = {
                "live board": "/board",
                "history, newest": "/calls",
                "history, not verified": "/calls?verified=no",
                "history, transferred": "/calls?disposition=transferred",
                "history, one caller": by_caller,
                f"history, page {n_calls // 100}": f"/calls?before={quote(deep)}",
                "history, one day": f"/calls?since={day:%Y-%m-%dT00:00}&until={day:%Y-%m-%dT23:59}",
                "call page": f"/calls/bench-{n_calls // 2:07d}",
                "callback queue (500)": "/callbacks",
                "roster": "/roster",
                "API calls, newest": "/api/calls",
                "API call": f"/api/calls/bench-{n_calls // 2:07d}",
            }
            for name, url in pages.items():
                samples = []
                for k in range(iterations + 3):
                    t0 = time.perf_counter()
                    response = await client.get(url)
                    body = response.content
                    elapsed = (time.perf_counter() - t0) * 1000
                    assert response.status_code == 200, (name, response.status_code, body[:200])
                    if k >= 3:  # warm-up: first renders compile templates, fill caches
                        samples.append(elapsed)
                results[name] = {
                    **summary(samples),
                    "samples_ms": samples,
                    "url": url.split("?")[0],
                    "bytes": len(body),
                }
    return results


async def _run_backend(backend: str, n_calls: int, iterations: int) -> dict[str, Any]:
    tmp = None
    schema = None
    if backend == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="bench-console-")
        db = await Database.open(f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}", migrate=True)
    else:
        schema = f"cc_test_{os.getpid()}_console{uuid.uuid4().hex[:6]}"
        db = await Database.open(PG_URL, migrate=True, schema=schema)
    try:
        await seed_demo(db, now=DEMO_REFERENCE_NOW)
        load_s = await _load(db, n_calls)
        return {"load_seconds": load_s, "pages": await _time_pages(db, n_calls, iterations)}
    finally:
        if schema is not None:
            async with db.engine.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await db.close()
        if tmp is not None:
            tmp.cleanup()


async def run(
    out_dir: Path,
    *,
    quick: bool = False,
    n_calls: int | None = None,
    iterations: int | None = None,
    backends: tuple[str, ...] = ("postgres", "sqlite"),
) -> dict[str, Any]:
    from tests.support.db import postgres_unavailable_reason

    n_calls = n_calls or (5_000 if quick else 100_000)
    iterations = iterations or (5 if quick else 30)
    payload: dict[str, Any] = {"n_calls": n_calls, "iterations": iterations, "backends": {}}
    rows = []
    for backend in backends:
        if backend == "postgres":
            reason = await postgres_unavailable_reason(PG_URL)
            if reason is not None:
                print(f"[console] PostgreSQL skipped: not reachable at {PG_URL}: {reason}")
                payload["backends"]["postgres"] = {"skipped": reason}
                continue
        print(f"[console] {backend}: loading {n_calls:,} call records ...", flush=True)
        res = await _run_backend(backend, n_calls, iterations)
        payload["backends"][backend] = res
        print(f"[console] {backend}: loaded in {res['load_seconds']:.1f} s", flush=True)
        for name, s in res["pages"].items():
            rows.append([backend, name, s["n"], s["p50"], s["p95"], s["max"], s["bytes"] // 1024])
    print(f"\nConsole pages at {n_calls:,} call records, render to last byte (ms)")
    print(table(["backend", "page", "n", "p50", "p95", "max", "KiB"], rows))
    payload["target_ms"] = 200.0
    write_json(out_dir, "console", payload)
    return payload


if __name__ == "__main__":
    import asyncio

    asyncio.run(run(Path("bench-results"), quick=True))
