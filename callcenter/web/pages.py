"""The console's HTML pages: login, live board, call history and call page, callback queue,
roster, webhook deliveries, audit log, screen-pop. Server-rendered; every form posts with
the session's CSRF token and redirects back (post/redirect/get), so the pages work with
JavaScript off, and `static/console.js` only adds live updates."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from callcenter.data.callback_queue import CallbackResolution, QueueError
from callcenter.data.models import CallOutcome, utcnow
from callcenter.data.webhook_deliveries import DeliveryStatus
from callcenter.staff import RosterError
from callcenter.web import board, history
from callcenter.web.auth import (
    SESSION_COOKIE,
    Permission,
    Principal,
    current,
    require,
)
from callcenter.web.context import console
from callcenter.web.ids import Id
from callcenter.web.operations import (
    NotFound,
    claim_callback,
    note_callback,
    open_screen_pop,
    resolve_callback,
    retry_delivery,
    update_supervisor,
    view_call,
)
from callcenter.web.views import callback_json, supervisor_json

log = logging.getLogger("callcenter.web")
router = APIRouter(include_in_schema=False)

NOTICES = {
    "claimed": "Callback claimed: the number is shown on the ticket.",
    "noted": "Note added.",
    "done": "Callback closed as done.",
    "unreachable": "Callback closed: caller unreachable.",
    "saved": "Supervisor saved.",
    "requeued": "Delivery queued again.",
    "unlocked": "Account unlocked: the caller can verify again on their next call.",
}


def _page(
    request: Request, template: str, who: Principal | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    c = console(request)
    notice = NOTICES.get(request.query_params.get("ok", ""))
    return c.templates.TemplateResponse(
        request,
        template,
        {"who": who, "notice": notice, "now": utcnow(), "P": Permission, **ctx},
        status_code=status,
    )


async def render_error(request: Request, status: int, message: str) -> Response:
    who = await current(request)
    titles = {403: "Not allowed", 404: "Not found", 422: "Invalid request", 429: "Too many tries"}
    return _page(
        request,
        "error.html",
        who,
        status=status,
        title=titles.get(status, "Something went wrong"),
        message=message,
    )


@router.get("/")
async def home(who: Principal = Depends(require(None))) -> Response:
    return RedirectResponse("/board", status_code=303)


# --------------------------------------------------------------------------- live board


@router.get("/board")
async def board_page(
    request: Request, who: Principal = Depends(require(Permission.BOARD))
) -> Response:
    state = await board.load(console(request))
    return _page(request, "board.html", who, board=state)


@router.get("/events")
async def events(
    request: Request,
    board_updates: bool = False,
    once: bool = False,
    who: Principal = Depends(require(None)),
) -> Response:
    """Server-sent events: `board` (the board's rows, when `board_updates`) and `pop`
    (a screen-pop card for this supervisor). `once`: send what there is now and close
    (for clients that poll instead of keeping a stream open). Read from the database
    every `board.POLL_S`, or on each Redis notice when configured (`live_feed.py`)."""
    c = console(request)
    if board_updates and not who.can(Permission.BOARD):
        board_updates = False

    async def stream() -> AsyncIterator[str]:
        version = -1
        pops_since = utcnow()
        last_check = asyncio.get_running_loop().time()
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            token = c.feed.token()  # before reading: a notice during the read is not lost
            now = asyncio.get_running_loop().time()
            if now - last_check > 30:  # the session may have expired or been ended
                last_check = now
                if await c.sessions.resolve(request.cookies.get(SESSION_COOKIE, "")) is None:
                    yield "event: logout\ndata: {}\n\n"
                    return
            if board_updates:
                latest = await c.live.latest_version()
                if latest != version:
                    version = latest
                    html = board.render_rows(c, await board.load(c))
                    yield _sse("board", html)
            if who.user.supervisor_id is not None:
                for pop in await c.live.screen_pops_for(who.user.supervisor_id, since=pops_since):
                    pops_since = max(pops_since, pop.created_at)
                    card = c.templates.get_template("_pop_card.html").render(pop=pop, who=who)
                    yield _sse("pop", card)
            yield ": keep-alive\n\n"
            if once:
                return
            await c.feed.wait(token, board.POLL_S)  # a Redis notice, or the poll interval

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n\n"


@router.get("/pop/{token}")
async def screen_pop_page(
    request: Request, token: str, who: Principal = Depends(require(Permission.BOARD))
) -> Response:
    c = console(request)
    try:
        pop = await open_screen_pop(c, who, token, request)
    except NotFound:
        return await render_error(request, 404, "No such screen-pop (it may have expired).")
    live = await c.live.get(pop.call_id)
    return _page(request, "pop.html", who, pop=pop, live=live)


@router.get("/live/{call_id}")
async def live_call_page(
    request: Request, call_id: str, who: Principal = Depends(require(Permission.BOARD))
) -> Response:
    c = console(request)
    live = await c.live.get(call_id[:128])
    if live is None or live.ended_at is not None:
        return RedirectResponse(f"/calls/{call_id[:128]}", status_code=303)
    return _page(request, "live_call.html", who, live=live, row=board.row(live, utcnow()))


# --------------------------------------------------------------------------- history


def _filter(request: Request) -> tuple[history.HistoryFilter, str | None]:
    c = console(request)
    try:
        return (
            history.parse_filter(
                dict(request.query_params),
                tz=c.tz,
                hash_key=c.caller_hash_key,
                region=c.settings.default_region,
            ),
            None,
        )
    except history.FilterError as exc:
        return history.HistoryFilter(), str(exc)


@router.get("/calls")
async def calls_page(
    request: Request, before: str | None = None, who: Principal = Depends(require(Permission.CALLS))
) -> Response:
    c = console(request)
    filt, error = _filter(request)
    if error is None and request.query_params.get("caller"):
        # Keep the number out of links, the address bar and history: search by its hash.
        params = {k: v for k, v in request.query_params.items() if k not in ("caller", "before")}
        params["caller_hash"] = filt.caller_hash or ""
        return RedirectResponse(f"/calls?{urlencode(params)}", status_code=303)
    rows: list[history.HistoryRow] = []
    cursor = None
    if error is None:
        try:
            cursor = history.parse_cursor(before)
        except history.FilterError as exc:
            error = str(exc)
    if error is None:
        rows = await history.search(c.db, filt, before=cursor, limit=history.PAGE_SIZE + 1)
    more = len(rows) > history.PAGE_SIZE
    rows = rows[: history.PAGE_SIZE]
    params = {k: v for k, v in request.query_params.items() if k != "before" and v}
    next_params = dict(params, before=history.cursor_of(rows[-1])) if more and rows else None
    return _page(
        request,
        "calls.html",
        who,
        rows=rows,
        error=error,
        params=params,
        next_params=next_params,
        first_page=cursor is None,
        transfer_outcomes=history.TRANSFER_OUTCOMES,
        outcomes=[o.value for o in CallOutcome],
    )


CSV_COLUMNS = (
    "call_id",
    "started_at",
    "ended_at",
    "duration_s",
    "caller",
    "outcome",
    "disposition",
    "verified",
    "intent",
    "transfer_outcome",
    "transferred_to",
    "summary",
    *history.METRIC_COLUMNS,
)


def _csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas (=, +, -, @ at the start of a text cell)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/calls.csv")
async def calls_csv(
    request: Request, who: Principal = Depends(require(Permission.CALLS))
) -> Response:
    c = console(request)
    filt, error = _filter(request)
    if error is not None:
        return await render_error(request, 422, error)
    await c.audit.record(
        actor=who.user.email,
        user_id=who.user.id,
        action="calls.export",
        target_type="calls",
        target_id="csv",
        detail={"filtered": filt.active, "by_caller": filt.caller_hash is not None},
    )

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        async for row in history.stream(c.db, filt):
            data = row.as_json()
            writer.writerow([_csv_cell(data[k]) for k in CSV_COLUMNS])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = utcnow().astimezone(c.tz).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calls-{stamp}.csv"'},
    )


@router.get("/calls/{call_id}")
async def call_page(
    request: Request, call_id: str, who: Principal = Depends(require(Permission.CALLS))
) -> Response:
    c = console(request)
    try:
        call = await view_call(c, who, call_id)
    except NotFound:
        return await render_error(request, 404, "No call with that id.")
    deliveries = await c.outbox.for_call(call_id) if who.can(Permission.WEBHOOKS) else []
    started = dt.datetime.fromisoformat(call["started_at"])
    return _page(request, "call.html", who, call=call, started=started, deliveries=deliveries)


# --------------------------------------------------------------------------- callbacks


@router.get("/callbacks")
async def callbacks_page(
    request: Request, who: Principal = Depends(require(Permission.CALLBACKS))
) -> Response:
    c = console(request)
    now = utcnow()
    items = [callback_json(i, now, viewer_id=who.user.id) for i in await c.callbacks.open_items()]
    closed = [
        callback_json(i, now, viewer_id=who.user.id) for i in await c.callbacks.recently_closed()
    ]
    overdue = sum(1 for i in items if i["overdue"])
    return _page(
        request,
        "callbacks.html",
        who,
        items=items,
        closed=closed,
        overdue=overdue,
        sla_hours=c.settings.callback_sla_hours,
        error=request.query_params.get("error_code"),
    )


def _back(anchor: str, ok: str) -> RedirectResponse:
    return RedirectResponse(f"/callbacks?ok={ok}#{anchor}", status_code=303)


async def _queue_action(request: Request, ticket_id: Id, action: Any, ok: str) -> Response:
    try:
        await action
    except QueueError as exc:
        return await render_error(request, 409, str(exc))
    return _back(f"ticket-{ticket_id}", ok)


@router.post("/callbacks/{ticket_id}/claim")
async def callback_claim(
    request: Request,
    ticket_id: Id,
    take_over: Annotated[str, Form()] = "",
    who: Principal = Depends(require(Permission.CALLBACKS)),
) -> Response:
    c = console(request)
    return await _queue_action(
        request, ticket_id, claim_callback(c, who, ticket_id, force=take_over == "1"), "claimed"
    )


@router.post("/callbacks/{ticket_id}/note")
async def callback_note(
    request: Request,
    ticket_id: Id,
    text: Annotated[str, Form(max_length=2000)] = "",
    who: Principal = Depends(require(Permission.CALLBACKS)),
) -> Response:
    c = console(request)
    return await _queue_action(request, ticket_id, note_callback(c, who, ticket_id, text), "noted")


@router.post("/callbacks/{ticket_id}/close")
async def callback_close(
    request: Request,
    ticket_id: Id,
    resolution: Annotated[CallbackResolution, Form()],
    who: Principal = Depends(require(Permission.CALLBACKS)),
) -> Response:
    c = console(request)
    return await _queue_action(
        request, ticket_id, resolve_callback(c, who, ticket_id, resolution), resolution.value
    )


# --------------------------------------------------------------------------- roster


async def _business_hours(request: Request) -> dict[str, str]:
    s = console(request).settings
    return {
        "hours": s.business_hours,
        "timezone": s.business_timezone,
        "holidays": ", ".join(h.strip() for h in s.business_holidays.split(",") if h.strip())
        or "none",
    }


@router.get("/roster")
async def roster_page(
    request: Request, who: Principal = Depends(require(Permission.ROSTER_VIEW))
) -> Response:
    c = console(request)
    now = utcnow()
    views = await c.supervisors.list()
    users = (
        {u.supervisor_id: u.email for u in await c.users.list() if u.supervisor_id}
        if who.can(Permission.USERS)
        else {}
    )
    rows = [
        dict(supervisor_json(v), on_duty=v.on_duty(now), user=users.get(v.id or 0)) for v in views
    ]
    return _page(request, "roster.html", who, rows=rows, business=await _business_hours(request))


@router.get("/roster/{supervisor_id}")
async def roster_edit_page(
    request: Request, supervisor_id: Id, who: Principal = Depends(require(Permission.ROSTER_EDIT))
) -> Response:
    view = await console(request).supervisors.get(supervisor_id)
    if view is None:
        return await render_error(request, 404, "No supervisor with that id.")
    return _page(request, "roster_edit.html", who, s=supervisor_json(view), form=None, error=None)


@router.post("/roster/{supervisor_id}")
async def roster_save(
    request: Request,
    supervisor_id: Id,
    name: Annotated[str, Form(max_length=200)],
    contact: Annotated[str, Form(max_length=255)],
    timezone: Annotated[str, Form(max_length=64)],
    hours: Annotated[str, Form(max_length=500)],
    priority: Annotated[str, Form(max_length=10)],
    transfer_mode: Annotated[str, Form(max_length=10)],
    skills: Annotated[list[str] | None, Form()] = None,
    active: Annotated[str, Form()] = "",
    who: Principal = Depends(require(Permission.ROSTER_EDIT)),
) -> Response:
    c = console(request)
    view = await c.supervisors.get(supervisor_id)
    if view is None:
        return await render_error(request, 404, "No supervisor with that id.")
    current_row = supervisor_json(view)
    form: dict[str, Any] = {
        "name": name,
        "contact": contact,
        "timezone": timezone,
        "hours": hours,
        "priority": priority,
        "transfer_mode": transfer_mode,
        "skills": skills or [],
        "active": active == "1",
    }
    changes: dict[str, Any] = {}
    for key in ("name", "contact", "timezone", "transfer_mode"):
        if form[key].strip() != str(current_row[key]):
            changes[key] = form[key].strip()
    if hours.strip() != current_row["hours"]:
        changes["working_hours"] = hours.strip()
    if priority.strip() != str(current_row["priority"]):
        changes["priority"] = priority.strip()
    if sorted(form["skills"]) != sorted(current_row["skills"]):
        changes["skills"] = form["skills"]
    if form["active"] != current_row["active"]:
        changes["active"] = form["active"]
    if changes:
        try:
            await update_supervisor(c, who, supervisor_id, changes)
        except (RosterError, ValueError) as exc:
            return _page(
                request,
                "roster_edit.html",
                who,
                s=current_row,
                form=form,
                error=str(exc),
                status=422,
            )
    return RedirectResponse(f"/roster?ok=saved#supervisor-{supervisor_id}", status_code=303)


# --------------------------------------------------------------------------- webhooks, audit


@router.get("/webhooks")
async def webhooks_page(
    request: Request, status: str = "", who: Principal = Depends(require(Permission.WEBHOOKS))
) -> Response:
    c = console(request)
    wanted = DeliveryStatus(status) if status in {s.value for s in DeliveryStatus} else None
    deliveries = await c.outbox.recent(status=wanted)
    return _page(
        request,
        "webhooks.html",
        who,
        deliveries=deliveries,
        wanted=wanted,
        urls=c.settings.webhook_url_list,
        statuses=list(DeliveryStatus),
    )


@router.post("/webhooks/{delivery_id}/retry")
async def webhook_retry(
    request: Request, delivery_id: Id, who: Principal = Depends(require(Permission.WEBHOOKS))
) -> Response:
    if not await retry_delivery(console(request), who, delivery_id):
        return await render_error(request, 409, "Only a dead delivery can be queued again.")
    return RedirectResponse("/webhooks?ok=requeued", status_code=303)


@router.get("/audit")
async def audit_page(
    request: Request, before: int | None = None, who: Principal = Depends(require(Permission.AUDIT))
) -> Response:
    entries = await console(request).audit.recent(limit=100, before_id=before)
    return _page(request, "audit.html", who, entries=entries, json=json)


@router.get("/users")
async def users_page(
    request: Request, who: Principal = Depends(require(Permission.USERS))
) -> Response:
    c = console(request)
    sups = {s.id: s.name for s in await c.supervisors.list()}
    return _page(request, "users.html", who, users=await c.users.list(), sups=sups)
