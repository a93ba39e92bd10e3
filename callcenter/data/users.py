"""Console users, their login sessions and the login throttle (tables of migration 0003).

- ``web_users``: one row per person who logs in to ``callcenter web``. The password is an
  argon2id hash (:mod:`callcenter.web.passwords`); a ``supervisor`` user is linked to the
  roster row they answer transfers as, so their screen-pops reach them and nobody else.
- ``web_sessions``: server-side sessions. The cookie carries a random token; the table keeps
  only its SHA-256, so a leaked database cannot be replayed as a login. Each session has its
  own CSRF token, an idle expiry and an absolute expiry.
- ``web_login_attempts``: failed and successful logins keyed by SHA-256 of the e-mail and of
  the client address (never the clear values), read by the rate limit. In the database, not
  in memory, so every console process shares the same limit.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.data.columns import Base, UTCDateTime, utcnow
from callcenter.data.columns import enum_column as _enum
from callcenter.data.database import Database

__all__ = [
    "LoginAttempt",
    "LoginThrottle",
    "NewSession",
    "Role",
    "SessionInfo",
    "SessionStore",
    "UserExistsError",
    "UserStore",
    "UserView",
    "WebSession",
    "WebUser",
    "token_digest",
]


class Role(enum.StrEnum):
    """What a console user may do (see ``callcenter.web.auth.PERMISSIONS``)."""

    SUPERVISOR = "supervisor"
    OPS = "ops"
    ADMIN = "admin"


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    """Lower-cased; the login name."""
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "web_role"))
    supervisor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("supervisors.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    """SHA-256 hex of the cookie token (the token itself is never stored)."""
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("web_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    """Absolute expiry; the idle expiry is ``last_seen_at`` + the idle timeout."""


class LoginAttempt(Base):
    __tablename__ = "web_login_attempts"
    __table_args__ = (
        sa.Index("ix_web_login_attempts_email_hash_at", "email_hash", "at"),
        sa.Index("ix_web_login_attempts_client_hash_at", "client_hash", "at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    email_hash: Mapped[str] = mapped_column(sa.String(64))
    client_hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool] = mapped_column(sa.Boolean)


def token_digest(value: str) -> str:
    """SHA-256 hex of a token, e-mail or address: what the tables keep instead of it."""
    return hashlib.sha256(value.encode()).hexdigest()


class UserExistsError(ValueError):
    """A user with that e-mail already exists."""


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    email: str
    role: Role
    supervisor_id: int | None
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


def _user_view(u: WebUser) -> UserView:
    return UserView(
        id=u.id,
        email=u.email,
        role=u.role,
        supervisor_id=u.supervisor_id,
        active=u.active,
        created_at=u.created_at,
        last_login_at=u.last_login_at,
    )


class UserStore:
    """Create, find and list console users (``callcenter users``, the login page)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, email: str, password_hash: str, role: Role, supervisor_id: int | None
    ) -> UserView:
        """Insert a user; :class:`UserExistsError` when the e-mail is taken."""
        async with self._db.session() as s, s.begin():
            taken = await s.scalar(sa.select(WebUser.id).where(WebUser.email == email))
            if taken is not None:
                raise UserExistsError(f"a user with e-mail {email} already exists")
            user = WebUser(
                email=email,
                password_hash=password_hash,
                role=role,
                supervisor_id=supervisor_id,
                active=True,
                created_at=utcnow(),
            )
            s.add(user)
            await s.flush()
            return _user_view(user)

    async def credentials(self, email: str) -> tuple[UserView, str] | None:
        """The user and their password hash, for the login check; None if unknown."""
        async with self._db.session() as s:
            user = await s.scalar(sa.select(WebUser).where(WebUser.email == email))
            return (_user_view(user), user.password_hash) if user is not None else None

    async def get(self, user_id: int) -> UserView | None:
        async with self._db.session() as s:
            user = await s.get(WebUser, user_id)
            return _user_view(user) if user is not None else None

    async def list(self) -> list[UserView]:
        async with self._db.session() as s:
            rows = await s.scalars(sa.select(WebUser).order_by(WebUser.email))
            return [_user_view(u) for u in rows]

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replace a hash (argon2 parameters changed: rehash on the next good login)."""
        async with self._db.session() as s, s.begin():
            await s.execute(
                sa.update(WebUser).where(WebUser.id == user_id).values(password_hash=password_hash)
            )

    async def set_active(self, user_id: int, active: bool) -> bool:
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                sa.update(WebUser).where(WebUser.id == user_id).values(active=active)
            )
            if not active:
                await s.execute(sa.delete(WebSession).where(WebSession.user_id == user_id))
            return getattr(result, "rowcount", 0) == 1


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    """The cookie value: shown to the browser once, stored only as its digest."""
    csrf_token: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SessionInfo:
    user: UserView
    csrf_token: str
    token_hash: str
    expires_at: dt.datetime


class SessionStore:
    """Server-side sessions with an idle and an absolute expiry."""

    TOUCH_EVERY = dt.timedelta(seconds=60)
    """``last_seen_at`` is written at most this often (not on every request)."""

    def __init__(self, db: Database, *, idle: dt.timedelta, lifetime: dt.timedelta) -> None:
        self._db = db
        self.idle = idle
        self.lifetime = lifetime

    async def create(self, user_id: int, *, now: dt.datetime | None = None) -> NewSession:
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + self.lifetime
        async with self._db.session() as s, s.begin():
            s.add(
                WebSession(
                    token_hash=token_digest(token),
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                )
            )
            await s.execute(
                sa.update(WebUser).where(WebUser.id == user_id).values(last_login_at=now)
            )
            # Housekeeping: a login is rare enough to sweep the user's expired sessions here.
            await s.execute(
                sa.delete(WebSession).where(
                    WebSession.user_id == user_id, WebSession.expires_at < now
                )
            )
        return NewSession(token=token, csrf_token=csrf, expires_at=expires)

    async def resolve(self, token: str, *, now: dt.datetime | None = None) -> SessionInfo | None:
        """The live session behind a cookie token, or None (unknown, expired, inactive user)."""
        if not token or len(token) > 128:
            return None
        now = now or utcnow()
        digest = token_digest(token)
        async with self._db.session() as s:
            row = (
                await s.execute(
                    sa.select(WebSession, WebUser)
                    .join(WebUser, WebUser.id == WebSession.user_id)
                    .where(WebSession.token_hash == digest)
                )
            ).first()
            if row is None:
                return None
            session, user = row
            if (
                not user.active
                or session.expires_at <= now
                or session.last_seen_at + self.idle <= now
            ):
                await s.execute(sa.delete(WebSession).where(WebSession.token_hash == digest))
                await s.commit()
                return None
            if now - session.last_seen_at >= self.TOUCH_EVERY:
                session.last_seen_at = now
                await s.commit()
            return SessionInfo(
                user=_user_view(user),
                csrf_token=session.csrf_token,
                token_hash=digest,
                expires_at=session.expires_at,
            )

    async def end(self, token_hash: str) -> None:
        async with self._db.session() as s, s.begin():
            await s.execute(sa.delete(WebSession).where(WebSession.token_hash == token_hash))


class LoginThrottle:
    """At most ``limit`` failed logins per e-mail and per client address in ``window``."""

    def __init__(self, db: Database, *, limit: int, window: dt.timedelta) -> None:
        self._db = db
        self.limit = limit
        self.window = window

    async def retry_after(
        self, email: str, client: str, *, now: dt.datetime | None = None
    ) -> int | None:
        """Seconds until another try is allowed, or None when the login may proceed."""
        now = now or utcnow()
        since = now - self.window
        email_hash, client_hash = token_digest(email), token_digest(client)
        async with self._db.session() as s:
            for column, value in (
                (LoginAttempt.email_hash, email_hash),
                (LoginAttempt.client_hash, client_hash),
            ):
                times = list(
                    await s.scalars(
                        sa.select(LoginAttempt.at)
                        .where(column == value, LoginAttempt.at > since, LoginAttempt.ok.is_(False))
                        .order_by(LoginAttempt.at.desc())
                        .limit(self.limit)
                    )
                )
                if len(times) >= self.limit:
                    oldest = times[-1]
                    return max(1, int((oldest + self.window - now).total_seconds()) + 1)
        return None

    async def record(
        self, email: str, client: str, *, ok: bool, now: dt.datetime | None = None
    ) -> None:
        now = now or utcnow()
        async with self._db.session() as s, s.begin():
            s.add(
                LoginAttempt(
                    email_hash=token_digest(email),
                    client_hash=token_digest(client),
                    at=now,
                    ok=ok,
                )
            )
            if ok:  # a good login clears that e-mail's failures
                await s.execute(
                    sa.delete(LoginAttempt).where(
                        LoginAttempt.email_hash == token_digest(email),
                        LoginAttempt.ok.is_(False),
                    )
                )
            # Keep the table small: anything older than the window no longer counts.
            await s.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < now - self.window * 4))
