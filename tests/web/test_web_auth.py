"""Logins, sessions, CSRF and the login rate limit, through the real app."""

from __future__ import annotations

import datetime as dt
import logging
import re

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from callcenter.data import Database
from callcenter.data.users import WebSession
from callcenter.web.app import create_app
from callcenter.web.auth import safe_next
from callcenter.web.passwords import WeakPasswordError, hash_password, verify_password
from tests.web.conftest import PASSWORD, Account, client_for, login, running, web_settings


def _login_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "login form has no CSRF field"
    return match.group(1)


async def _form_login(
    client: httpx.AsyncClient, email: str, password: str, next: str = "/"
) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": _login_token(page.text),
            "next": next,
        },
    )


def test_passwords_are_argon2id_and_checked() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)
    assert not verify_password(PASSWORD, None)  # unknown user: no match, same cost
    with pytest.raises(WeakPasswordError, match="at least 12"):
        hash_password("short")


async def test_form_login_sets_a_locked_down_session_cookie(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    response = await _form_login(
        client, accounts["ops"].email, PASSWORD, next="/calls?outcome=resolved"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/calls?outcome=resolved"
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("cc_session=")
    )
    lowered = cookie.lower()
    assert (
        "httponly" in lowered
        and "secure" in lowered
        and "samesite=lax" in lowered
        and "path=/" in lowered
    )
    page = await client.get("/calls")
    assert page.status_code == 200
    assert accounts["ops"].email in page.text


async def test_wrong_password_is_refused_without_saying_which_part(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    wrong = await _form_login(client, accounts["ops"].email, "not the password at all")
    unknown = await _form_login(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail or password" in wrong.text and "Wrong e-mail or password" in unknown.text
    assert (await client.get("/calls")).status_code == 303


async def test_login_form_needs_its_csrf_cookie(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    response = await client.post(
        "/login",
        data={"email": accounts["ops"].email, "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert "cc_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/x", "/\\evil", "", None]
)
def test_next_after_login_stays_on_this_site(target: str | None) -> None:
    assert safe_next(target) == "/"


async def test_failed_logins_are_rate_limited_per_email(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    email = accounts["ops"].email
    for _ in range(5):  # CALLCENTER_WEB_LOGIN_LIMIT default
        assert (await _form_login(client, email, "wrong password here")).status_code == 401
    limited = await _form_login(client, email, PASSWORD)  # even the right password waits
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    api = await client.post("/api/login", json={"email": email, "password": PASSWORD})
    assert api.status_code == 429
    other = await client.post(
        "/api/login", json={"email": accounts["admin"].email, "password": PASSWORD}
    )
    assert other.status_code == 429, "the same client address is limited too"


async def test_logout_ends_the_session_on_the_server(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    csrf = await login(client, accounts["ops"])
    cookie = client.cookies.get("cc_session")
    assert (await client.post("/logout", data={"csrf_token": csrf})).status_code == 303
    replay = client_for(client._transport.app)  # type: ignore[attr-defined]
    replay.cookies.set("cc_session", cookie or "", domain="testserver")
    async with replay:
        assert (await replay.get("/api/me")).status_code == 401


async def test_logout_without_csrf_is_refused(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    await login(client, accounts["ops"])
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/api/me")).status_code == 200


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
async def test_expired_sessions_are_refused(
    client: httpx.AsyncClient, accounts: dict[str, Account], db: Database, column: str
) -> None:
    await login(client, accounts["ops"])
    assert (await client.get("/api/me")).status_code == 200
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    async with db.transaction() as s:
        await s.execute(sa.update(WebSession).values({column: long_ago}))
    assert (await client.get("/api/me")).status_code == 401
    page = await client.get("/calls")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    async with db.session() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0


async def test_refusals_are_logged_without_pii(
    client: httpx.AsyncClient, accounts: dict[str, Account], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter.web")
    await client.get("/api/calls")
    await _form_login(client, accounts["ops"].email, "wrong password here")
    await login(client, accounts["supervisor"])
    await client.get("/api/audit")
    refusals = [r for r in caplog.records if r.getMessage() in ("access refused", "login failed")]
    assert {getattr(r, "status", None) for r in refusals} >= {401, 403}
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert "@example.com" not in text
        assert "127.0.0.1" not in text


async def test_insecure_cookie_only_when_configured(
    db: Database, accounts: dict[str, Account]
) -> None:
    app: FastAPI = create_app(
        web_settings(CALLCENTER_WEB_COOKIE_SECURE="false"), db=db, background=False
    )
    async with running(app), client_for(app) as client:
        response = await client.post(
            "/api/login", json={"email": accounts["ops"].email, "password": PASSWORD}
        )
        assert "secure" not in response.headers["set-cookie"].lower()
