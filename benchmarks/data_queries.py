"""Account tool queries at scale: p50/p99 of each AccountRepository call.

Loads ``n_orders`` synthetic orders with billing (``benchmarks.bulk_data.generate_orders(...,
with_billing=True)``: one invoice per non-cancelled order, a payment per paid invoice) on top
of the demo dataset, on SQLite (temp file) and PostgreSQL (own schema, dropped afterwards;
skipped with a message when the server does not answer). Every tool is timed for the bulk
customer with the most orders, so the order and billing queries run against tables of
``n_orders`` scale (about ``0.9 * n_orders`` invoices and ``0.8 * n_orders`` payments).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from benchmarks._common import summary, table, write_json
from benchmarks.bulk_data import generate_orders
from callcenter.data import AccountRepository, Database
from callcenter.data.models import Invoice, Order, Payment
from callcenter.data.seed import DEMO_REFERENCE_NOW, seed_demo

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TOOLS = (
    "get_order",
    "recent_orders",
    "get_shipment",
    "balance",
    "recent_invoices",
    "get_invoice",
    "recent_payments",
)


async def _pg_reason() -> str | None:
    from tests.support.db import postgres_unavailable_reason

    return await postgres_unavailable_reason(PG_URL)


async def _pick_customer(db: Database, first_customer: int) -> tuple[int, list[str], list[str]]:
    """The bulk customer with the most orders, 50 of their order and invoice numbers."""
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(Order.customer_id, sa.func.count())
                .where(Order.customer_id >= first_customer)
                .group_by(Order.customer_id)
                .order_by(sa.func.count().desc(), Order.customer_id)
                .limit(1)
            )
        ).first()
        customer = int(row[0]) if row else first_customer
        order_numbers = list(
            (
                await conn.execute(
                    sa.select(Order.order_number).where(Order.customer_id == customer).limit(50)
                )
            ).scalars()
        )
        invoice_numbers = list(
            (
                await conn.execute(
                    sa.select(Invoice.invoice_number)
                    .where(Invoice.customer_id == customer)
                    .limit(50)
                )
            ).scalars()
        )
    return customer, order_numbers or ["0"], invoice_numbers or ["INV-0000"]


async def _count(conn: AsyncConnection, model: Any, customer: int) -> int:
    n = await conn.scalar(
        sa.select(sa.func.count()).select_from(model).where(model.customer_id == customer)
    )
    return int(n or 0)


async def _time_tools(db: Database, first_customer: int, iterations: int) -> dict[str, Any]:
    customer, orders, invoices = await _pick_customer(db, first_customer)
    repo = AccountRepository(db, customer)
    calls = {
        "get_order": lambda i: repo.get_order(orders[i % len(orders)]),
        "recent_orders": lambda i: repo.recent_orders(5),
        "get_shipment": lambda i: repo.get_shipment(orders[i % len(orders)]),
        "balance": lambda i: repo.balance(now=DEMO_REFERENCE_NOW),
        "recent_invoices": lambda i: repo.recent_invoices(5),
        "get_invoice": lambda i: repo.get_invoice(invoices[i % len(invoices)]),
        "recent_payments": lambda i: repo.recent_payments(5),
    }
    async with db.engine.connect() as conn:
        counts = {
            name: await _count(conn, model, customer)
            for name, model in (("orders", Order), ("invoices", Invoice), ("payments", Payment))
        }
    results: dict[str, Any] = {
        "customer_id": customer,
        "customer_orders": counts["orders"],
        "customer_invoices": counts["invoices"],
        "customer_payments": counts["payments"],
        "tools": {},
    }
    for name, call in calls.items():
        for i in range(10):  # warm the pool, statement caches and pages
            await call(i)
        samples = []
        for i in range(iterations):
            t0 = time.perf_counter()
            await call(i)
            samples.append((time.perf_counter() - t0) * 1000)
        results["tools"][name] = {**summary(samples), "samples_ms": samples}
    return results


async def _run_backend(
    backend: str, n_orders: int, n_customers: int, iterations: int
) -> dict[str, Any]:
    if backend == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="bench-data-")
        url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
        db = await Database.open(url, migrate=True)
        schema = None
    else:
        tmp = None
        schema = f"cc_test_{os.getpid()}_bench{uuid.uuid4().hex[:6]}"
        db = await Database.open(PG_URL, migrate=True, schema=schema)
    try:
        await seed_demo(db, now=DEMO_REFERENCE_NOW)
        t0 = time.perf_counter()
        bulk = await generate_orders(
            db, n_orders, n_customers, seed=42, now=DEMO_REFERENCE_NOW, with_billing=True
        )
        load_s = time.perf_counter() - t0
        if backend == "postgres":
            async with db.engine.begin() as conn:
                await conn.execute(sa.text("ANALYZE"))
        res = await _time_tools(db, bulk.first_customer_id, iterations)
        res["load_seconds"] = load_s
        res["orders"] = bulk.orders
        res["customers"] = bulk.customers
        res["invoices"] = bulk.invoices
        res["payments"] = bulk.payments
        return res
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
    n_orders: int | None = None,
    iterations: int | None = None,
    backends: tuple[str, ...] = ("sqlite", "postgres"),
) -> dict[str, Any]:
    n_orders = n_orders or (50_000 if quick else 1_000_000)
    iterations = iterations or (50 if quick else 200)
    n_customers = max(1, n_orders // 1000)  # ~1000 orders per customer: "many orders"
    payload: dict[str, Any] = {
        "n_orders": n_orders,
        "n_customers": n_customers,
        "iterations": iterations,
        "backends": {},
    }
    rows = []
    for backend in backends:
        if backend == "postgres":
            reason = await _pg_reason()
            if reason is not None:
                print(f"[data] PostgreSQL skipped: not reachable at {PG_URL}: {reason}")
                payload["backends"]["postgres"] = {"skipped": reason}
                continue
        print(
            f"[data] {backend}: loading {n_orders:,} orders for {n_customers:,} customers ...",
            flush=True,
        )
        res = await _run_backend(backend, n_orders, n_customers, iterations)
        payload["backends"][backend] = res
        print(
            f"[data] {backend}: loaded in {res['load_seconds']:.1f} s ({res['invoices']:,} "
            f"invoices, {res['payments']:,} payments); timed customer has "
            f"{res['customer_orders']} orders, {res['customer_invoices']} invoices, "
            f"{res['customer_payments']} payments",
            flush=True,
        )
        for tool in TOOLS:
            s = res["tools"][tool]
            rows.append([backend, tool, s["n"], s["p50"], s["p99"], s["max"]])
    print(f"\nAccount tool queries at {n_orders:,} orders (ms)")
    print(table(["backend", "tool", "n", "p50", "p99", "max"], rows))
    all_p99 = [r[4] for r in rows]
    payload["target_p99_ms"] = 5.0
    payload["max_p99_ms"] = max(all_p99) if all_p99 else None
    write_json(out_dir, "data", payload)
    return payload


if __name__ == "__main__":
    asyncio.run(run(Path("bench-results"), quick=True))
