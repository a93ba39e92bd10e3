"""Fixtures for the console: a seeded database, the app in-process, users of each role.

`console_app` runs the real app (lifespan included) on the test's database with the
background loops off, so a test drives the post-call pipeline and the webhook deliverer
itself. `client` is an httpx client over ASGI at https://testserver (the session cookie is
Secure, as in production).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from callcenter.config import Settings, load_settings
from callcenter.data import CallRecordStore, Database, TicketStore
from callcenter.data.enums import AttemptOutcome
from callcenter.data.lockouts import AccountLockouts
from callcenter.data.users import Role, UserStore
from callcenter.web.app import create_app
from callcenter.web.passwords import hash_password
from tests.support.db import open_test_database

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    id: int
    email: str
    role: Role
    supervisor_id: int | None


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_test_database("sqlite", tmp_path) as database:
        yield database


def web_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"_env_file": None, "CALLCENTER_PROVIDER_MODE": "degraded"}
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings() -> Settings:
    return web_settings()


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def console_app(db: Database, settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings, db=db, background=False)
    async with running(app):
        yield app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
        base_url="https://testserver",
        follow_redirects=False,
    )


@pytest.fixture
async def client(console_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(console_app) as c:
        yield c


_hash_cache: dict[str, str] = {}


async def add_user(
    db: Database, role: Role, *, supervisor_id: int | None = None, email: str | None = None
) -> Account:
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = hash_password(PASSWORD)
    email = email or f"{role.value}{supervisor_id or ''}@example.com"
    user = await UserStore(db).add(email, _hash_cache[PASSWORD], role, supervisor_id)
    return Account(id=user.id, email=email, role=role, supervisor_id=supervisor_id)


@pytest.fixture
async def accounts(db: Database) -> dict[str, Account]:
    """One user per role; the supervisor is roster supervisor 1, `other` is supervisor 2."""
    return {
        "supervisor": await add_user(db, Role.SUPERVISOR, supervisor_id=1),
        "other": await add_user(db, Role.SUPERVISOR, supervisor_id=2),
        "ops": await add_user(db, Role.OPS),
        "admin": await add_user(db, Role.ADMIN),
    }


async def login(client: httpx.AsyncClient, account: Account) -> str:
    """Log in through the API; returns the session's CSRF token."""
    response = await client.post("/api/login", json={"email": account.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


async def add_call(
    db: Database,
    call_id: str,
    *,
    caller: str | None = "+14155550142",
    outcome: str = "resolved",
    started: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
    transcript: list[dict[str, Any]] | None = None,
    transferred_to: str | None = None,
) -> None:
    """A closed call record, as `CallLifecycle.close_record` writes one."""
    records = CallRecordStore(db)
    start = started or dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    await records.open(call_id, f"room-{call_id}", caller_e164=caller, started_at=start)
    await records.close(
        call_id,
        outcome=outcome,
        ended_at=start + dt.timedelta(seconds=95),
        transferred_to=transferred_to,
        data=data if data is not None else SERVED_DATA,
        transcript=transcript if transcript is not None else TRANSCRIPT,
    )


SERVED_DATA: dict[str, Any] = {
    "phases": ["greeting", "verification", "orders", "wrap_up", "ended"],
    "handoffs": [
        {
            "from": "greeting",
            "to": "verification",
            "at": 1796058001.0,
            "reason": "caller wants help with orders",
        },
        {"from": "verification", "to": "orders", "at": 1796058010.0, "reason": "verified"},
        {"from": "orders", "to": "wrap_up", "at": 1796058040.0, "reason": "request done"},
        {"from": "wrap_up", "to": "ended", "at": 1796058090.0, "reason": "goodbye"},
    ],
    "intent": "orders",
    "verification": {"status": "verified", "attempts": 0, "method": "zip"},
    "actions": ["verified identity by ZIP code", "looked up order 1001"],
    "transfer_attempts": [],
    "provider_switches": [],
    "sip": False,
    "end_reason": "goodbye",
}

TRANSCRIPT: list[dict[str, Any]] = [
    {
        "role": "agent",
        "text": "Thanks for calling. How can I help?",
        "phase": "greeting",
        "at": 1796058000.5,
    },
    {
        "role": "caller",
        "text": "Where is my order 1001? Call me on +1 415 555 0142",
        "phase": "greeting",
        "at": 1796058000.9,
    },
    {"role": "caller", "text": "my zip is [redacted]", "phase": "verification", "at": 1796058008.0},
]


async def lock_account(db: Database, account: str, *, failures: int = 2) -> int:
    """Lock `account` for phone verification as `failures` wrong answers do; its customer id."""
    lockouts = AccountLockouts(db, failures=failures)
    customer_id = await lockouts.customer_for_account(account)
    assert customer_id is not None, account
    for _ in range(failures):
        await lockouts.record_attempt(
            customer_id=customer_id,
            factor="pin",
            outcome=AttemptOutcome.WRONG,
            call_id="call-locked",
            caller_e164="+14155550142",
        )
    assert await lockouts.active(customer_id) is not None
    return customer_id


async def add_callback(
    db: Database, *, reason: str = "refund question", call_id: str | None = None
) -> int:
    ticket = await TicketStore(db).create_callback(
        "+14155550142",
        reason,
        summary="Intent: billing.",
        preferred_time="after 3pm",
        call_id=call_id,
    )
    return ticket.id
