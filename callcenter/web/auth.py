"""Who may do what in the console, enforced on the server for every page and API route.

- Sessions: a random token in the `cc_session` cookie (HttpOnly, SameSite=Lax, Secure,
  Path=/), resolved against `web_sessions` (which keeps only its digest) on every request;
  idle and absolute expiry from settings. Secure cookies are accepted by browsers over plain
  http on localhost/127.0.0.1 (a "potentially trustworthy" origin), so development needs no
  TLS and no switch; `CALLCENTER_WEB_COOKIE_SECURE=false` exists only for a console reached
  over plain http on another host.
- CSRF: every state-changing request carries the session's token, as the `csrf_token` form
  field (pages) or the `X-CSRF-Token` header (API). The login form, before any session,
  uses a double-submit cookie (`cc_login`).
- Roles: `PERMISSIONS` maps each capability to the roles that have it; a route declares
  the capability with `Depends(require(...))`. A refusal answers 401 (no valid session) or
  403 (wrong role) and is logged with the route, the role and the user id, never an e-mail,
  a client address or a phone number.
"""

from __future__ import annotations

import enum
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from callcenter.data.users import Role, SessionInfo, UserView
from callcenter.web.context import console

log = logging.getLogger("callcenter.web.access")

SESSION_COOKIE = "cc_session"
LOGIN_COOKIE = "cc_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class Permission(enum.StrEnum):
    BOARD = "board"
    """The live board and live call pages."""
    CALLS = "calls"
    """Call history, call pages, CSV export."""
    CALLBACKS = "callbacks"
    """The callback queue: view, claim, note, close."""
    ROSTER_VIEW = "roster.view"
    ROSTER_EDIT = "roster.edit"
    WEBHOOKS = "webhooks"
    """The webhook delivery log; queue a dead delivery again."""
    ACCOUNTS = "accounts"
    """Accounts locked by failed phone verification: see them, unlock one."""
    AUDIT = "audit"
    USERS = "users"


_ALL = frozenset(Role)
_OPS = frozenset({Role.OPS, Role.ADMIN})
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.BOARD: _ALL,
    Permission.CALLS: _ALL,
    Permission.CALLBACKS: _ALL,
    Permission.ROSTER_VIEW: _ALL,
    Permission.ROSTER_EDIT: _OPS,
    Permission.WEBHOOKS: _OPS,
    # Unlocking lets a caller try verification again: a decision about a customer's
    # identity, made by the supervisors who take those callers (and admins), not by ops,
    # who run the roster and integrations.
    Permission.ACCOUNTS: frozenset({Role.SUPERVISOR, Role.ADMIN}),
    Permission.AUDIT: frozenset({Role.ADMIN}),
    Permission.USERS: frozenset({Role.ADMIN}),
}


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


class Refused(Exception):
    """A logged-in user without the right: 403 (or 404 when existence must not leak)."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Principal:
    """The logged-in user of this request."""

    user: UserView
    csrf_token: str
    token_hash: str

    @property
    def role(self) -> Role:
        return self.user.role

    def can(self, permission: Permission) -> bool:
        return self.user.role in PERMISSIONS[permission]


async def current(request: Request) -> Principal | None:
    """The request's principal (resolved once per request), or None."""
    if "principal" in request.state._state:
        cached = request.state.principal
        return cached if isinstance(cached, Principal) else None
    token = request.cookies.get(SESSION_COOKIE, "")
    info: SessionInfo | None = await console(request).sessions.resolve(token) if token else None
    principal = (
        Principal(user=info.user, csrf_token=info.csrf_token, token_hash=info.token_hash)
        if info is not None
        else None
    )
    request.state.principal = principal
    request.state.stale_cookie = bool(token) and principal is None
    return principal


def refuse(request: Request, principal: Principal | None, reason: str, status: int) -> None:
    """Log a refusal without PII (route template, method, role, user id)."""
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    log.warning(
        "access refused",
        extra={
            "route": route,
            "method": request.method,
            "status": status,
            "reason": reason,
            "role": principal.role.value if principal else None,
            "user_id": principal.user.id if principal else None,
        },
    )


async def _csrf_token_of(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def require(permission: Permission | None) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: a logged-in user with `permission` (None: any logged-in user); unsafe
    methods also need the CSRF token of their session."""

    async def dependency(request: Request) -> Principal:
        principal = await current(request)
        if principal is None:
            refuse(request, None, "no valid session", 401)
            raise LoginRequired()
        if permission is not None and not principal.can(permission):
            refuse(request, principal, f"role lacks {permission.value}", 403)
            raise Refused(f"your role ({principal.role.value}) cannot do this")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = await _csrf_token_of(request)
            if not sent or not hmac.compare_digest(sent, principal.csrf_token):
                refuse(request, principal, "missing or wrong CSRF token", 403)
                raise Refused("the form expired or came from another site: reload the page")
        return principal

    name = permission.value.replace(".", "_") if permission else "login"
    dependency.__name__ = f"require_{name}"
    return dependency


def safe_next(target: str | None) -> str:
    """Only same-site paths after login (never `//host` or `https://...`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
