"""The console's ASGI app: `create_app(settings)` wires routes, errors and background work.

- Pages (`pages.py`) are server-rendered Jinja2; `static/console.js` adds live updates over
  server-sent events (no build step, nothing from a CDN: the console works offline).
- The JSON API (`api.py`) lives under `/api/`, with its OpenAPI schema at
  `/api/openapi.json` (behind login like everything else).
- Background work in each console process: the post-call pipeline (analysis + webhook
  queue) and the webhook deliverer, every second; both are safe with several processes.
- Metrics (`web/metrics.py`): every request by route template, on `app.state.web_metrics`,
  served by `callcenter web --metrics-port` on a port of its own (not on the app).
  With Redis configured, one listener for the workers' live notices (`web/live_feed.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from callcenter.config import Settings
from callcenter.data import Database
from callcenter.live.bus import live_bus
from callcenter.web.auth import SESSION_COOKIE, LoginRequired, Refused
from callcenter.web.context import WEB_DIR, Console
from callcenter.web.metrics import RequestMetrics, WebMetrics

log = logging.getLogger("callcenter.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def refresh_webhook_backlog(console: Console, metrics: WebMetrics) -> None:
    """Read the webhook deliveries waiting and dead-lettered into the metrics."""
    metrics.set_webhook_backlog(await console.outbox.counts())


async def _background(console: Console, metrics: WebMetrics) -> list[asyncio.Task[None]]:
    from callcenter.postcall.pipeline import PostCallPipeline
    from callcenter.postcall.webhooks import WebhookDeliverer, run_periodically

    settings = console.settings
    pipeline = PostCallPipeline(console.db, settings)
    tasks = [asyncio.create_task(run_periodically(pipeline.run_once, 1.0, "post-call analysis"))]

    async def sweep() -> None:  # ended calls leave the board's table after a day
        await console.live.sweep(older_than=dt.timedelta(days=1))

    tasks.append(asyncio.create_task(run_periodically(sweep, 300.0, "live board sweep")))

    async def backlog() -> None:
        await refresh_webhook_backlog(console, metrics)

    tasks.append(asyncio.create_task(run_periodically(backlog, 15.0, "webhook backlog metric")))
    if settings.webhook_secret is not None:
        deliverer = WebhookDeliverer(
            console.db,
            secret=settings.webhook_secret.get_secret_value().encode(),
            max_attempts=settings.webhook_max_attempts,
            backoff_s=settings.webhook_backoff_s,
            timeout_s=settings.webhook_timeout_s,
            on_outcome=metrics.webhook_attempted,
        )
        tasks.append(
            asyncio.create_task(run_periodically(deliverer.run_once, 1.0, "webhook delivery"))
        )
    return tasks


async def _open(settings: Settings) -> Database:
    """Migrate at start-up like the worker (a no-op at head); on the SQLite default also
    seed the demo data when the database is empty, as the worker and the console do."""
    database = await Database.open(settings.database_url, migrate=True)
    if settings.sqlite_path is not None:
        from callcenter.data.seed import seed_demo

        await seed_demo(database)
    return database


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    background: bool = True,
    metrics: WebMetrics | None = None,
) -> FastAPI:
    """The console app. With `db`, it uses that database (tests); otherwise it opens
    `settings.database_url` (migrating it, like the worker) for the app's lifetime. Its
    metrics are `metrics` or a registry of its own, on `app.state.web_metrics`."""
    web_metrics = metrics if metrics is not None else WebMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = db is None
        database = db or await _open(settings)
        console = Console.build(settings, database)
        app.state.console = console
        tasks = await _background(console, web_metrics) if background else []
        bus = live_bus(settings)
        if bus is not None:  # live notices from the workers (callcenter/live/bus.py)
            listen = bus.listen(console.feed.notice, console.feed.state)
            tasks.append(asyncio.create_task(listen, name="redis live notices"))
        log.info("console ready", extra={"database": database.url})
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if bus is not None:
                await bus.close()
            if own:
                await database.close()

    app = FastAPI(
        title="callcenter console API",
        version="1",
        description="Call history, callbacks, roster, live calls and webhook deliveries. "
        "Authenticate with POST /api/login (session cookie); send the returned csrf_token "
        "as X-CSRF-Token on every POST/PATCH.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web_metrics = web_metrics
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if getattr(request.state, "stale_cookie", False):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request) or request.url.path == "/events":
            response: Response = JSONResponse({"detail": "login required"}, status_code=401)
        else:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.method != "GET":
                target = "/"
            response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.reason}, status_code=exc.status)
        from callcenter.web.pages import render_error

        return await render_error(request, exc.status, exc.reason)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code == 405:
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        from callcenter.web.pages import render_error

        return await render_error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if _is_api(request):
            return JSONResponse({"detail": errors}, status_code=422)
        from callcenter.web.pages import render_error

        text = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors)
        return await render_error(request, 422, text or "invalid request")

    from callcenter.web import accounts, api, login, pages

    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(accounts.pages)
    app.include_router(api.router)
    app.include_router(accounts.api)

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        from callcenter.web.auth import current

        if await current(request) is None:
            raise LoginRequired()
        return JSONResponse(app.openapi())

    # outermost of our middleware: it sees every answer, the error pages' included
    app.add_middleware(RequestMetrics, metrics=web_metrics)
    return app
