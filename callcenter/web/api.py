"""The console's JSON API under `/api/`: the same data and actions as the pages, for
integrations. Log in with `POST /api/login` (it sets the session cookie and returns the
CSRF token to send as `X-CSRF-Token` on every POST/PATCH); the schema is at
`/api/openapi.json`. Every input is bounded and validated, so bad input is a 4xx that says
what is wrong, never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from callcenter.data.call_analysis import Disposition
from callcenter.data.callback_queue import CallbackResolution, QueueError
from callcenter.data.models import CallOutcome, utcnow
from callcenter.data.webhook_deliveries import DeliveryStatus
from callcenter.staff import RosterError
from callcenter.web import board, history
from callcenter.web.auth import SESSION_COOKIE, Permission, Principal, require
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

router = APIRouter(prefix="/api")

NO_NUL = r"^[^\x00]*$"
"""Text never carries NUL characters (PostgreSQL refuses them in text columns)."""
Text = Annotated[str, Field(max_length=2000, pattern=NO_NUL)]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    401: {"description": "No valid session (log in with POST /api/login)"},
    403: {"description": "Your role may not do this, or the CSRF token is missing"},
}


class Problem(BaseModel):
    detail: str


def problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def invalid(where: str, message: str) -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape (one schema for every 422): the field
    is the text before the first colon of `message` when there is one."""
    field, sep, _ = message.partition(":")
    loc = [where, field.strip()] if sep and " " not in field.strip() else [where]
    return JSONResponse(
        {"detail": [{"loc": loc, "msg": message, "type": "value_error"}]}, status_code=422
    )


# --------------------------------------------------------------------------- session


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email: str = Field(max_length=320, pattern=NO_NUL)
    password: str = Field(max_length=1024, pattern=NO_NUL)


class Me(BaseModel):
    id: int
    email: str
    role: Literal["supervisor", "ops", "admin"]
    supervisor_id: int | None
    permissions: list[str]
    csrf_token: str


def _me(who: Principal) -> Me:
    return Me(
        id=who.user.id,
        email=who.user.email,
        role=who.user.role.value,  # type: ignore[arg-type]
        supervisor_id=who.user.supervisor_id,
        permissions=[p.value for p in Permission if who.can(p)],
        csrf_token=who.csrf_token,
    )


@router.post(
    "/login",
    response_model=Me,
    responses={400: ERRORS[400], 401: {"model": Problem}, 429: {"model": Problem}},
    tags=["session"],
)
async def api_login(request: Request, body: LoginBody) -> Any:
    """Log in; sets the `cc_session` cookie. Rate-limited per e-mail and client address."""
    from callcenter.web.login import _client, _set_session_cookie, authenticate

    c = console(request)
    email = body.email.strip().lower()
    wait = await c.throttle.retry_after(email, _client(request))
    if wait is not None:
        from callcenter.web.metrics import web_metrics

        web_metrics(request).login_failed("rate_limited")
        response = problem(429, "too many failed logins; try again later")
        response.headers["Retry-After"] = str(wait)
        return response
    result = await authenticate(request, email, body.password)
    if result is None:
        return problem(401, "wrong e-mail or password")
    token, max_age, csrf = result
    info = await c.sessions.resolve(token)
    assert info is not None
    me = _me(Principal(user=info.user, csrf_token=csrf, token_hash=info.token_hash))
    response = JSONResponse(me.model_dump())
    _set_session_cookie(request, response, token, max_age)
    return response


@router.post("/logout", status_code=204, responses=ERRORS, tags=["session"])
async def api_logout(request: Request, who: Principal = Depends(require(None))) -> Response:
    await console(request).sessions.end(who.token_hash)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me, responses=ERRORS, tags=["session"])
async def api_me(who: Principal = Depends(require(None))) -> Me:
    return _me(who)


# --------------------------------------------------------------------------- calls


class CallRow(BaseModel):
    call_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_s: float | None
    caller: str
    outcome: str | None
    disposition: str | None
    verified: bool | None
    intent: str | None
    transfer_outcome: str | None
    transferred_to: str | None
    summary: str | None
    turns: int | None = Field(description="caller and agent turns")
    turn_latency_p50_ms: float | None
    turn_latency_p95_ms: float | None
    tool_calls: int | None
    llm_prompt_tokens: int | None
    llm_completion_tokens: int | None
    tts_characters: int | None
    stt_audio_s: float | None


class CallPage(BaseModel):
    calls: list[CallRow]
    next: str | None = Field(description="pass as `before` for the next page")


Q = Annotated[str | None, Query(max_length=64, pattern=NO_NUL)]


@router.get("/calls", response_model=CallPage, responses=ERRORS, tags=["calls"])
async def api_calls(
    request: Request,
    since: Q = None,
    until: Q = None,
    outcome: CallOutcome | None = None,
    disposition: Disposition | None = None,
    transfer: Annotated[
        str | None,
        Query(pattern="^(" + "|".join(("none", *history.TRANSFER_OUTCOMES)) + ")$"),
    ] = None,
    verified: Literal["yes", "no"] | None = None,
    caller: Annotated[str | None, Query(max_length=32, pattern=r"^[0-9+() .\-]*$")] = None,
    caller_hash: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-fA-F]*$")] = None,
    before: Annotated[str | None, Query(max_length=80, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = history.PAGE_SIZE,
    who: Principal = Depends(require(Permission.CALLS)),
) -> Any:
    """Call history, newest first. `caller` is a full number (matched on its hash); times
    without an offset are in the contact center's time zone."""
    c = console(request)
    params = {
        "since": since,
        "until": until,
        "outcome": outcome.value if outcome else None,
        "disposition": disposition.value if disposition else None,
        "transfer": transfer,
        "verified": verified,
        "caller": caller,
        "caller_hash": caller_hash,
    }
    try:
        filt = history.parse_filter(
            params, tz=c.tz, hash_key=c.caller_hash_key, region=c.settings.default_region
        )
        cursor = history.parse_cursor(before)
    except history.FilterError as exc:
        return invalid("query", str(exc))
    rows = await history.search(c.db, filt, before=cursor, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return CallPage(
        calls=[CallRow(**r.as_json()) for r in rows],
        next=history.cursor_of(rows[-1]) if more and rows else None,
    )


class CallDetail(BaseModel):
    call_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_s: float | None
    caller: str | None
    dialled: str | None
    customer_id: int | None
    outcome: str | None
    transferred_to: str | None
    intent: str | None
    verification: dict[str, Any] | None
    end_reason: str | None
    phases: list[str]
    actions: list[str]
    transfer_attempts: list[dict[str, Any]]
    provider_switches: list[dict[str, Any]]
    analysis: dict[str, Any] | None
    timeline: list[dict[str, Any]]
    transcript: list[dict[str, Any]]


CallId = Annotated[str, Path(max_length=128, pattern=r"^[^\x00/]+$")]


@router.get(
    "/calls/{call_id}",
    response_model=CallDetail,
    responses={**ERRORS, 404: {"model": Problem}},
    tags=["calls"],
)
async def api_call(
    request: Request, call_id: CallId, who: Principal = Depends(require(Permission.CALLS))
) -> Any:
    """One call: timeline, transfers, provider switches, redacted transcript, analysis.
    Audited (`call.view`)."""
    try:
        return await view_call(console(request), who, call_id)
    except NotFound:
        return problem(404, "no such call")


# --------------------------------------------------------------------------- live


class LiveBoard(BaseModel):
    active: int
    waiting_for_human: int
    per_phase: dict[str, int]
    calls: list[dict[str, Any]]
    version: int


@router.get("/live", response_model=LiveBoard, responses=ERRORS, tags=["live"])
async def api_live(request: Request, who: Principal = Depends(require(Permission.BOARD))) -> Any:
    state = await board.load(console(request))
    return LiveBoard(
        active=state.active,
        waiting_for_human=state.waiting_for_human,
        per_phase=dict(state.per_phase),
        calls=state.rows,
        version=state.version,
    )


class ScreenPopOut(BaseModel):
    token: str
    call_id: str
    supervisor_id: int | None
    created_at: dt.datetime
    briefing: dict[str, Any]
    page: str


@router.get(
    "/screen-pops/{token}",
    response_model=ScreenPopOut,
    responses={**ERRORS, 404: {"model": Problem}},
    tags=["live"],
)
async def api_screen_pop(
    request: Request,
    token: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    who: Principal = Depends(require(Permission.BOARD)),
) -> Any:
    """The briefing behind an `X-Callcenter-Call` token: only for the supervisor it was
    minted for (and ops/admin)."""
    try:
        pop = await open_screen_pop(console(request), who, token, request)
    except NotFound:
        return problem(404, "no such screen-pop")
    return ScreenPopOut(
        token=pop.token,
        call_id=pop.call_id,
        supervisor_id=pop.supervisor_id,
        created_at=pop.created_at,
        briefing=pop.briefing,
        page=f"/pop/{pop.token}",
    )


# --------------------------------------------------------------------------- callbacks


class Callback(BaseModel):
    ticket_id: int
    call_id: str | None
    customer_id: int | None
    caller: str | None
    phone: str | None = Field(description="in full only for the user who claimed it")
    reason: str
    summary: str
    preferred_time: str | None
    created_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    status: str
    claimed_by: str | None
    claimed_by_me: bool
    claimed_at: dt.datetime | None
    resolution: str | None
    resolved_at: dt.datetime | None
    notes: list[dict[str, Any]]


@router.get("/callbacks", response_model=list[Callback], responses=ERRORS, tags=["callbacks"])
async def api_callbacks(
    request: Request, who: Principal = Depends(require(Permission.CALLBACKS))
) -> Any:
    """Open callback tickets by due time."""
    now = utcnow()
    items = await console(request).callbacks.open_items()
    return [callback_json(i, now, viewer_id=who.user.id) for i in items]


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    take_over: bool = False


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: Text


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    resolution: CallbackResolution


CB_ERRORS = {**ERRORS, 404: {"model": Problem}, 409: {"model": Problem}}


async def _callback_result(request: Request, who: Principal, ticket_id: int, action: Any) -> Any:
    try:
        await action
    except QueueError as exc:
        status = 404 if str(exc).startswith("no callback ticket") else 409
        return problem(status, str(exc))
    item = await console(request).callbacks.get(ticket_id)
    assert item is not None
    return callback_json(item, utcnow(), viewer_id=who.user.id)


@router.post(
    "/callbacks/{ticket_id}/claim", response_model=Callback, responses=CB_ERRORS, tags=["callbacks"]
)
async def api_claim(
    request: Request,
    ticket_id: Id,
    body: Annotated[ClaimBody | None, Body()] = None,
    who: Principal = Depends(require(Permission.CALLBACKS)),
) -> Any:
    force = bool(body and body.take_over)
    c = console(request)
    return await _callback_result(
        request, who, ticket_id, claim_callback(c, who, ticket_id, force=force)
    )


@router.post(
    "/callbacks/{ticket_id}/notes", response_model=Callback, responses=CB_ERRORS, tags=["callbacks"]
)
async def api_note(
    request: Request,
    ticket_id: Id,
    body: NoteBody,
    who: Principal = Depends(require(Permission.CALLBACKS)),
) -> Any:
    c = console(request)
    return await _callback_result(
        request, who, ticket_id, note_callback(c, who, ticket_id, body.text)
    )


@router.post(
    "/callbacks/{ticket_id}/close", response_model=Callback, responses=CB_ERRORS, tags=["callbacks"]
)
async def api_close(
    request: Request,
    ticket_id: Id,
    body: CloseBody,
    who: Principal = Depends(require(Permission.CALLBACKS)),
) -> Any:
    c = console(request)
    return await _callback_result(
        request, who, ticket_id, resolve_callback(c, who, ticket_id, body.resolution)
    )


# --------------------------------------------------------------------------- roster


class SupervisorOut(BaseModel):
    id: int
    name: str
    contact: str
    skills: list[str]
    timezone: str
    working_hours: dict[str, list[list[str]]]
    hours: str
    priority: int
    active: bool
    transfer_mode: str


class SupervisorPatch(BaseModel):
    """Only the fields to change; validated like `callcenter supervisors update`."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    contact: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    skills: list[Literal["orders", "billing", "general"]] | None = Field(default=None, max_length=3)
    timezone: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    hours: str | None = Field(
        default=None, max_length=500, pattern=NO_NUL, description='e.g. "mon-fri 09:00-17:00"'
    )
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    active: bool | None = None
    transfer_mode: Literal["warm", "cold"] | None = None


@router.get("/supervisors", response_model=list[SupervisorOut], responses=ERRORS, tags=["roster"])
async def api_supervisors(
    request: Request, who: Principal = Depends(require(Permission.ROSTER_VIEW))
) -> Any:
    return [supervisor_json(v) for v in await console(request).supervisors.list()]


@router.patch(
    "/supervisors/{supervisor_id}",
    response_model=SupervisorOut,
    responses={**ERRORS, 404: {"model": Problem}},
    tags=["roster"],
)
async def api_update_supervisor(
    request: Request,
    supervisor_id: Id,
    body: SupervisorPatch,
    who: Principal = Depends(require(Permission.ROSTER_EDIT)),
) -> Any:
    """Change some fields of a supervisor (audited as `supervisor.update`)."""
    changes = body.model_dump(exclude_none=True)
    if "hours" in changes:
        changes["working_hours"] = changes.pop("hours")
    if not changes:
        return invalid("body", "nothing to change: send at least one field")
    try:
        view = await update_supervisor(console(request), who, supervisor_id, changes)
    except NotFound:
        return problem(404, "no such supervisor")
    except (RosterError, ValueError) as exc:
        return invalid("body", str(exc))
    return supervisor_json(view)


# --------------------------------------------------------------------------- webhooks, audit


class Delivery(BaseModel):
    id: int
    call_id: str
    event: str
    url: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


@router.get(
    "/webhooks/deliveries", response_model=list[Delivery], responses=ERRORS, tags=["webhooks"]
)
async def api_deliveries(
    request: Request,
    status: DeliveryStatus | None = None,
    who: Principal = Depends(require(Permission.WEBHOOKS)),
) -> Any:
    rows = await console(request).outbox.recent(status=status)
    return [
        Delivery(
            **{k: getattr(d, k) for k in Delivery.model_fields if k != "status"},
            status=d.status.value,
        )
        for d in rows
    ]


@router.post(
    "/webhooks/deliveries/{delivery_id}/retry",
    status_code=204,
    responses={**ERRORS, 409: {"model": Problem}},
    tags=["webhooks"],
)
async def api_retry(
    request: Request, delivery_id: Id, who: Principal = Depends(require(Permission.WEBHOOKS))
) -> Response:
    """Queue a dead delivery again."""
    if not await retry_delivery(console(request), who, delivery_id):
        return problem(409, "only a dead delivery can be queued again")
    return Response(status_code=204)


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    user_id: int | None
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]


@router.get("/audit", response_model=list[AuditOut], responses=ERRORS, tags=["audit"])
async def api_audit(
    request: Request,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    who: Principal = Depends(require(Permission.AUDIT)),
) -> Any:
    entries = await console(request).audit.recent(limit=limit, before_id=before)
    return [AuditOut(**{k: getattr(e, k) for k in AuditOut.model_fields}) for e in entries]
