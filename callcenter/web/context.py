"""What every console request works with: settings, the database and the stores over it.

Built once per process by the app's lifespan (`Console.open`) and reached from a route as
`console(request)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates

from callcenter.config import Settings
from callcenter.data import CallRecordStore, Database, SupervisorStore, TicketStore
from callcenter.data.audit_log import AuditLog
from callcenter.data.call_analysis import CallAnalysisStore
from callcenter.data.callback_queue import CallbackQueue
from callcenter.data.live_calls import LiveCallStore
from callcenter.data.lockouts import AccountLockouts
from callcenter.data.users import LoginThrottle, SessionStore, UserStore
from callcenter.data.webhook_deliveries import WebhookOutbox
from callcenter.postcall.pipeline import caller_hash_key
from callcenter.web.live_feed import LiveFeed

WEB_DIR = Path(__file__).resolve().parent
LOGIN_WINDOW = dt.timedelta(minutes=15)


@dataclass
class Console:
    settings: Settings
    db: Database
    templates: Jinja2Templates
    tz: ZoneInfo
    caller_hash_key: bytes
    users: UserStore = field(init=False)
    sessions: SessionStore = field(init=False)
    throttle: LoginThrottle = field(init=False)
    audit: AuditLog = field(init=False)
    analyses: CallAnalysisStore = field(init=False)
    records: CallRecordStore = field(init=False)
    callbacks: CallbackQueue = field(init=False)
    tickets: TicketStore = field(init=False)
    outbox: WebhookOutbox = field(init=False)
    live: LiveCallStore = field(init=False)
    supervisors: SupervisorStore = field(init=False)
    feed: LiveFeed = field(init=False)
    """Wakes the event streams on Redis notices (`live_feed.py`)."""
    lockouts: AccountLockouts = field(init=False)
    """The same lockout policy the calls use (`callcenter accounts` too)."""

    def __post_init__(self) -> None:
        s, db = self.settings, self.db
        self.users = UserStore(db)
        self.sessions = SessionStore(
            db,
            idle=dt.timedelta(minutes=s.web_session_idle_minutes),
            lifetime=dt.timedelta(hours=s.web_session_hours),
        )
        self.throttle = LoginThrottle(db, limit=s.web_login_limit, window=LOGIN_WINDOW)
        self.audit = AuditLog(db)
        self.analyses = CallAnalysisStore(db)
        self.records = CallRecordStore(db)
        self.callbacks = CallbackQueue(db, sla=dt.timedelta(hours=s.callback_sla_hours))
        self.tickets = TicketStore(db)
        self.outbox = WebhookOutbox(db)
        self.live = LiveCallStore(db)
        self.supervisors = SupervisorStore(db, default_region=s.default_region)
        self.feed = LiveFeed()
        self.lockouts = AccountLockouts(
            db,
            failures=s.lockout_failures,
            window=dt.timedelta(hours=s.lockout_window_hours),
        )

    @classmethod
    def build(cls, settings: Settings, db: Database) -> Console:
        from callcenter.web.templating import make_templates

        tz = ZoneInfo(settings.business_timezone)
        return cls(
            settings=settings,
            db=db,
            templates=make_templates(tz),
            tz=tz,
            caller_hash_key=caller_hash_key(settings),
        )


def console(request: Request) -> Console:
    value = request.app.state.console
    assert isinstance(value, Console)
    return value
