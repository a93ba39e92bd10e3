"""Every route, every role: anonymous, each role, CSRF missing, another supervisor's pop.

`ROUTES` lists every route of the app with the roles allowed; a test fails when the app
has a route this table does not cover, so a new route cannot skip its permission test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from callcenter.data import Database
from callcenter.data.live_calls import LiveCallStore
from callcenter.web.auth import PERMISSIONS, Permission
from tests.web.conftest import (
    Account,
    add_call,
    add_callback,
    client_for,
    lock_account,
    login,
)

ALL = ("supervisor", "ops", "admin")
OPS = ("ops", "admin")
UNLOCK = ("supervisor", "admin")

# (method, path template, allowed roles, body); {call}, {ticket}, {sup}, {delivery}, {pop},
# {account} (a locked customer) are filled in per test. Pages answer 303 -> /login when
# anonymous; the API answers 401.
ROUTES: list[tuple[str, str, tuple[str, ...], Any]] = [
    ("GET", "/", ALL, None),
    ("POST", "/logout", ALL, {}),
    ("GET", "/board", ALL, None),
    ("GET", "/events", ALL, None),
    ("GET", "/pop/{pop}", ALL, None),
    ("GET", "/live/{call}", ALL, None),
    ("GET", "/calls", ALL, None),
    ("GET", "/calls.csv", ALL, None),
    ("GET", "/calls/{call}", ALL, None),
    ("GET", "/callbacks", ALL, None),
    ("POST", "/callbacks/{ticket}/claim", ALL, {}),
    ("POST", "/callbacks/{ticket}/note", ALL, {"text": "left a voicemail"}),
    ("POST", "/callbacks/{ticket}/close", ALL, {"resolution": "done"}),
    ("GET", "/roster", ALL, None),
    ("GET", "/roster/{sup}", OPS, None),
    ("POST", "/roster/{sup}", OPS, "roster-form"),
    ("GET", "/accounts", UNLOCK, None),
    ("POST", "/accounts/unlock", UNLOCK, {"account": "ACC-100042"}),
    ("POST", "/accounts/{account}/unlock", UNLOCK, {"note": "called back on file"}),
    ("GET", "/webhooks", OPS, None),
    ("POST", "/webhooks/{delivery}/retry", OPS, {}),
    ("GET", "/audit", ("admin",), None),
    ("GET", "/users", ("admin",), None),
    ("GET", "/api/openapi.json", ALL, None),
    ("POST", "/api/logout", ALL, None),
    ("GET", "/api/me", ALL, None),
    ("GET", "/api/calls", ALL, None),
    ("GET", "/api/calls/{call}", ALL, None),
    ("GET", "/api/live", ALL, None),
    ("GET", "/api/screen-pops/{pop}", ALL, None),
    ("GET", "/api/callbacks", ALL, None),
    ("POST", "/api/callbacks/{ticket}/claim", ALL, {}),
    ("POST", "/api/callbacks/{ticket}/notes", ALL, {"text": "note"}),
    ("POST", "/api/callbacks/{ticket}/close", ALL, {"resolution": "unreachable"}),
    ("GET", "/api/supervisors", ALL, None),
    ("PATCH", "/api/supervisors/{sup}", OPS, {"priority": 7}),
    ("GET", "/api/accounts/locked", UNLOCK, None),
    ("POST", "/api/accounts/{account}/unlock", UNLOCK, {"note": "called back"}),
    ("POST", "/api/accounts/unlock", UNLOCK, {"account": "ACC-100042"}),
    ("GET", "/api/webhooks/deliveries", OPS, None),
    ("POST", "/api/webhooks/deliveries/{delivery}/retry", OPS, None),
    ("GET", "/api/audit", ("admin",), None),
]
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/api/login")}


def test_every_route_is_in_the_table(console_app: FastAPI) -> None:
    covered = {(m, p) for m, p, _, _ in ROUTES} | PUBLIC
    from callcenter.web import accounts, api, login, pages

    app_routes = set()
    for route in [
        *console_app.routes,
        *login.router.routes,
        *pages.router.routes,
        *api.router.routes,
        *accounts.pages.routes,
        *accounts.api.routes,
    ]:
        if isinstance(route, APIRoute):
            app_routes |= {(m, route.path) for m in route.methods if m != "HEAD"}
        elif getattr(route, "path", "") == "/api/openapi.json":
            app_routes.add(("GET", "/api/openapi.json"))
    app_routes = {
        (
            m,
            p.replace("{call_id}", "{call}")
            .replace("{ticket_id}", "{ticket}")
            .replace("{supervisor_id}", "{sup}")
            .replace("{delivery_id}", "{delivery}")
            .replace("{token}", "{pop}")
            .replace("{customer_id}", "{account}"),
        )
        for m, p in app_routes
    }
    assert app_routes - covered == set(), "routes without a permission test"
    assert covered - app_routes == set(), "table lists routes the app does not have"


def test_roles_in_the_table_match_the_permission_map() -> None:
    assert {r.value for r in PERMISSIONS[Permission.ROSTER_EDIT]} == set(OPS)
    assert {r.value for r in PERMISSIONS[Permission.AUDIT]} == {"admin"}
    assert {r.value for r in PERMISSIONS[Permission.ACCOUNTS]} == set(UNLOCK)


async def _fixtures(db: Database) -> dict[str, str]:
    await add_call(db, "call-perm")
    ticket = await add_callback(db)
    store = LiveCallStore(db)
    now = dt.datetime.now(dt.UTC)
    await store.publish("call-live", {"phase": "orders"}, started_at=now, version=1)
    pop = await store.open_screen_pop("call-live", 1, {"caller": "+1********42"})
    account = await lock_account(db, "ACC-100042")
    return {
        "call": "call-perm",
        "ticket": str(ticket),
        "sup": "1",
        "delivery": "1",
        "pop": pop,
        "account": str(account),
    }


def _fill(path: str, ids: dict[str, str]) -> str:
    for key, value in ids.items():
        path = path.replace("{" + key + "}", value)
    return path


async def _send(
    client: httpx.AsyncClient, method: str, path: str, body: Any, csrf: str | None
) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf} if csrf and path.startswith("/api/") else {}
    if path == "/events":
        path = "/events?once=true&board_updates=true"
    if body == "roster-form":
        body = {
            "name": "Alex Rivera",
            "contact": "+14155550100",
            "timezone": "America/Los_Angeles",
            "hours": "mon-fri 09:00-17:00",
            "priority": "10",
            "transfer_mode": "warm",
            "skills": ["general"],
            "active": "1",
        }
    if method == "GET":
        return await client.get(path, headers=headers)
    if path.startswith("/api/"):
        return await client.request(method, path, json=body, headers=headers)
    form = dict(body or {})
    if csrf:
        form["csrf_token"] = csrf
    return await client.request(method, path, data=form)


@pytest.mark.parametrize(
    ("method", "path", "allowed", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
async def test_anonymous_is_refused(
    client: httpx.AsyncClient,
    db: Database,
    method: str,
    path: str,
    allowed: tuple[str, ...],
    body: Any,
) -> None:
    ids = await _fixtures(db)
    response = await _send(client, method, _fill(path, ids), body, None)
    if path.startswith("/api/") or path == "/events":
        assert response.status_code == 401
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize(
    ("method", "path", "allowed", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
async def test_each_role(
    console_app: FastAPI,
    db: Database,
    accounts: dict[str, Account],
    role: str,
    method: str,
    path: str,
    allowed: tuple[str, ...],
    body: Any,
) -> None:
    ids = await _fixtures(db)
    async with client_for(console_app) as client:
        csrf = await login(client, accounts[role])
        response = await _send(client, method, _fill(path, ids), body, csrf)
    if role in allowed:
        # allowed: anything but a refusal (a retry of a delivery that is not dead is a 409)
        assert response.status_code not in (401, 403), response.text[:300]
        assert response.status_code < 500
    else:
        assert response.status_code == 403, response.text[:300]


@pytest.mark.parametrize(
    ("method", "path", "allowed", "body"),
    [r for r in ROUTES if r[0] != "GET"],
    ids=[f"{m} {p}" for m, p, _, _ in ROUTES if m != "GET"],
)
async def test_writes_without_csrf_are_refused(
    console_app: FastAPI,
    db: Database,
    accounts: dict[str, Account],
    method: str,
    path: str,
    allowed: tuple[str, ...],
    body: Any,
) -> None:
    ids = await _fixtures(db)
    async with client_for(console_app) as client:
        await login(client, accounts["admin"])
        response = await _send(client, method, _fill(path, ids), body, None)
        assert response.status_code == 403
        wrong = await client.request(
            method, _fill(path, ids), headers={"X-CSRF-Token": "not-the-token"}
        )
        assert wrong.status_code == 403


async def test_another_supervisors_screen_pop_is_not_found(
    console_app: FastAPI, db: Database, accounts: dict[str, Account]
) -> None:
    ids = await _fixtures(db)  # the pop was minted for supervisor 1
    async with client_for(console_app) as client:
        await login(client, accounts["other"])  # supervisor 2
        assert (await client.get(f"/api/screen-pops/{ids['pop']}")).status_code == 404
        assert (await client.get(f"/pop/{ids['pop']}")).status_code == 404
    async with client_for(console_app) as client:
        await login(client, accounts["supervisor"])
        mine = await client.get(f"/api/screen-pops/{ids['pop']}")
        assert mine.status_code == 200 and mine.json()["call_id"] == "call-live"
