"""Logging in and out of the console (pages): the login form with its double-submit CSRF
cookie, the rate limit, the session cookie, and `authenticate` (shared with `POST
/api/login`). See `auth.py` for what the cookie and the CSRF token protect."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from callcenter.data.models import utcnow
from callcenter.web.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Principal,
    current,
    require,
    safe_next,
)
from callcenter.web.context import console
from callcenter.web.metrics import web_metrics
from callcenter.web.passwords import hash_password, needs_rehash, verify_password

log = logging.getLogger("callcenter.web")
router = APIRouter(include_in_schema=False)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=console(request).settings.web_cookie_secure,
    )


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    if await current(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next=next)


def _login_page(
    request: Request, *, next: str, error: str | None = None, status: int = 200, email: str = ""
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    from callcenter.web.pages import _page

    response = _page(
        request,
        "login.html",
        None,
        status=status,
        login_token=token,
        next=safe_next(next),
        error=error,
        email=email,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=console(request).settings.web_cookie_secure,
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    c = console(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        log.warning("access refused", extra={"route": "/login", "reason": "login CSRF mismatch"})
        web_metrics(request).login_failed("csrf")
        return _login_page(
            request, next=next, error="The login form expired. Please try again.", status=403
        )
    email = email.strip().lower()
    client = _client(request)
    wait = await c.throttle.retry_after(email, client)
    if wait is not None:
        log.warning("access refused", extra={"route": "/login", "reason": "login rate limit"})
        web_metrics(request).login_failed("rate_limited")
        response = _login_page(
            request,
            next=next,
            email=email,
            error=f"Too many failed logins. Try again in {max(1, wait // 60)} minute(s).",
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    result = await authenticate(request, email, password)
    if result is None:
        return _login_page(
            request, next=next, email=email, error="Wrong e-mail or password.", status=401
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_session_cookie(request, response, result[0], result[1])
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def authenticate(request: Request, email: str, password: str) -> tuple[str, int, str] | None:
    """Check the password (throttled by the caller), record the attempt, open a session.
    Returns (cookie token, max age in seconds, CSRF token) or None."""
    c = console(request)
    client = _client(request)
    found = await c.users.credentials(email)
    ok = verify_password(password, found[1] if found else None)
    if not ok or found is None or not found[0].active:
        await c.throttle.record(email, client, ok=False)
        log.warning("login failed", extra={"route": "/login", "reason": "bad credentials"})
        web_metrics(request).login_failed("bad_credentials")
        return None
    user, stored = found
    await c.throttle.record(email, client, ok=True)
    if needs_rehash(stored):
        await c.users.set_password_hash(user.id, hash_password(password))
    session = await c.sessions.create(user.id)
    await c.audit.record(
        actor=user.email,
        user_id=user.id,
        action="user.login",
        target_type="user",
        target_id=user.id,
    )
    max_age = int((session.expires_at - utcnow()).total_seconds())
    return session.token, max_age, session.csrf_token


@router.post("/logout")
async def logout(request: Request, who: Principal = Depends(require(None))) -> Response:
    c = console(request)
    await c.sessions.end(who.token_hash)
    await c.audit.record(
        actor=who.user.email,
        user_id=who.user.id,
        action="user.logout",
        target_type="user",
        target_id=who.user.id,
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
