"""Accounts locked by failed phone verification, in the console: the "Locked accounts" page
and its JSON API (`/api/accounts/...`).

Supervisors and admins (`Permission.ACCOUNTS`) see every active lock, with the account
number masked (its last four digits are a verification factor) and the call of the last
attempt, and unlock one: by its row, or by the account number the caller reads out. Both
go through `operations.unlock_account`, which calls `AccountLockouts.unlock`, the same
call as `callcenter accounts unlock`, and writes the `account.unlock` audit entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from callcenter.web.api import ERRORS, NO_NUL, Id, Problem, problem
from callcenter.web.auth import Permission, Principal, require
from callcenter.web.context import console
from callcenter.web.operations import (
    NotFound,
    NotLocked,
    locked_accounts,
    masked_account,
    unlock_account,
    unlock_account_number,
)
from callcenter.web.pages import _page

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api")


# --------------------------------------------------------------------------- pages


@pages.get("/accounts")
async def accounts_page(
    request: Request, who: Principal = Depends(require(Permission.ACCOUNTS))
) -> Response:
    c = console(request)
    return _page(
        request,
        "accounts.html",
        who,
        locks=await locked_accounts(c),
        failures=c.settings.lockout_failures,
        window_hours=c.settings.lockout_window_hours,
        error=None,
    )


async def _unlocked(request: Request, who: Principal, action: Any) -> Response:
    c = console(request)
    try:
        await action
    except NotFound:
        message = "No account with that number (give it in full, as ACC- and six digits)."
    except NotLocked:
        message = "That account is not locked (it may have been unlocked a moment ago)."
    else:
        return RedirectResponse("/accounts?ok=unlocked", status_code=303)
    return _page(
        request,
        "accounts.html",
        who,
        status=409,
        locks=await locked_accounts(c),
        failures=c.settings.lockout_failures,
        window_hours=c.settings.lockout_window_hours,
        error=message,
    )


@pages.post("/accounts/unlock")
async def account_unlock_by_number(
    request: Request,
    account: Annotated[str, Form(max_length=64)],
    note: Annotated[str, Form(max_length=1000)] = "",
    who: Principal = Depends(require(Permission.ACCOUNTS)),
) -> Response:
    """Unlock by the account number the caller reads out (as `callcenter accounts unlock`)."""
    c = console(request)
    return await _unlocked(request, who, unlock_account_number(c, who, account, note=note))


@pages.post("/accounts/{customer_id}/unlock")
async def account_unlock(
    request: Request,
    customer_id: Id,
    note: Annotated[str, Form(max_length=1000)] = "",
    who: Principal = Depends(require(Permission.ACCOUNTS)),
) -> Response:
    c = console(request)
    return await _unlocked(request, who, unlock_account(c, who, customer_id, note=note))


# --------------------------------------------------------------------------- API


class LockedAccount(BaseModel):
    customer_id: int
    account: str = Field(description="the account number with every digit hidden")
    locked_at: dt.datetime
    failures: int
    reason: str
    last_call_id: str | None = Field(description="the call of the last verification attempt")


class UnlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    note: str = Field(
        default="",
        max_length=1000,
        pattern=NO_NUL,
        description="how the caller was confirmed (kept, redacted, in the audit entry)",
    )


class UnlockByNumberBody(UnlockBody):
    account: str = Field(min_length=1, max_length=64, pattern=NO_NUL, description="e.g. ACC-100042")


class Unlocked(BaseModel):
    customer_id: int
    account: str
    unlocked: bool


UNLOCK_ERRORS = {**ERRORS, 404: {"model": Problem}, 409: {"model": Problem}}


@api.get(
    "/accounts/locked", response_model=list[LockedAccount], responses=ERRORS, tags=["accounts"]
)
async def api_locked_accounts(
    request: Request, who: Principal = Depends(require(Permission.ACCOUNTS))
) -> Any:
    """Accounts locked for phone verification, oldest lock first (supervisors, admins)."""
    return await locked_accounts(console(request))


async def _unlock_result(action: Any) -> Any:
    try:
        lock = await action
    except NotFound:
        return problem(404, "no such account")
    except NotLocked:
        return problem(409, "the account is not locked")
    return Unlocked(
        customer_id=lock.customer_id, account=masked_account(lock.account_number), unlocked=True
    )


@api.post(
    "/accounts/{customer_id}/unlock",
    response_model=Unlocked,
    responses=UNLOCK_ERRORS,
    tags=["accounts"],
)
async def api_unlock_account(
    request: Request,
    customer_id: Id,
    body: Annotated[UnlockBody | None, Body()] = None,
    who: Principal = Depends(require(Permission.ACCOUNTS)),
) -> Any:
    """Lift the account's phone-verification lock (as `callcenter accounts unlock`);
    audited as `account.unlock`."""
    note = body.note if body else ""
    return await _unlock_result(unlock_account(console(request), who, customer_id, note=note))


@api.post("/accounts/unlock", response_model=Unlocked, responses=UNLOCK_ERRORS, tags=["accounts"])
async def api_unlock_account_number(
    request: Request,
    body: UnlockByNumberBody,
    who: Principal = Depends(require(Permission.ACCOUNTS)),
) -> Any:
    """The same, by the account number the caller reads out."""
    c = console(request)
    return await _unlock_result(unlock_account_number(c, who, body.account, note=body.note))
