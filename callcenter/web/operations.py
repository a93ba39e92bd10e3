"""What console users do, each with its audit entry: the one implementation behind both a
page's form and the matching API route."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from callcenter.data.callback_queue import CallbackResolution, QueueError
from callcenter.data.live_calls import ScreenPopView
from callcenter.data.lockouts import LockoutView
from callcenter.data.models import utcnow
from callcenter.data.users import Role
from callcenter.redaction import redact
from callcenter.staff import RosterError
from callcenter.web.auth import Principal, Refused, refuse
from callcenter.web.context import Console
from callcenter.web.views import call_json


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


async def _audit(
    c: Console, who: Principal, action: str, target_type: str, target_id: Any, **detail: Any
) -> None:
    await c.audit.record(
        actor=who.user.email,
        user_id=who.user.id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
    )


async def view_call(c: Console, who: Principal, call_id: str) -> dict[str, Any]:
    """The call's full page data; audited as `call.view`."""
    if len(call_id) > 128:
        raise NotFound("call")
    record = await c.records.get(call_id)
    if record is None:
        raise NotFound("call")
    analysis = await c.analyses.get(record.id)
    await _audit(c, who, "call.view", "call", call_id)
    return call_json(record, analysis)


async def claim_callback(c: Console, who: Principal, ticket_id: int, *, force: bool) -> None:
    await c.callbacks.claim(ticket_id, who.user.id, force=force)
    await _audit(c, who, "callback.claim", "ticket", ticket_id, took_over=force, number_shown=True)


async def note_callback(c: Console, who: Principal, ticket_id: int, text: str) -> None:
    await c.callbacks.add_note(ticket_id, who.user.email, text)
    await _audit(c, who, "callback.note", "ticket", ticket_id)


async def resolve_callback(
    c: Console, who: Principal, ticket_id: int, resolution: CallbackResolution
) -> None:
    await c.callbacks.resolve(ticket_id, resolution, who.user.id)
    await _audit(c, who, "callback.close", "ticket", ticket_id, resolution=resolution.value)


async def update_supervisor(
    c: Console, who: Principal, supervisor_id: int, changes: dict[str, Any]
) -> Any:
    """Change some fields through `SupervisorStore.update`, which validates the merged
    supervisor with `staff.Supervisor.create` exactly as `callcenter supervisors update`
    does; `RosterError` names the field to fix and nothing is written when anything is
    invalid. The audit entry lists the fields whose stored value actually changed."""
    try:
        before = await c.supervisors.get(supervisor_id)
    except RosterError:
        before = None  # a stored row that no longer validates: the update may repair it
    try:
        after = await c.supervisors.update(supervisor_id, **changes)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, RosterError):
            raise
        raise RosterError(f"invalid value: {exc}") from None
    if after is None:
        raise NotFound("supervisor")
    old = before.as_row() if before is not None else {}
    new = after.as_row()
    changed = sorted(k for k in new if old.get(k) != new[k])
    await _audit(c, who, "supervisor.update", "supervisor", supervisor_id, fields=changed)
    return after


async def retry_delivery(c: Console, who: Principal, delivery_id: int) -> bool:
    ok = await c.outbox.retry(delivery_id)
    if ok:
        await _audit(c, who, "webhook.retry", "webhook_delivery", delivery_id)
    return ok


async def open_screen_pop(
    c: Console, who: Principal, token: str, request: Request
) -> ScreenPopView:
    """A screen-pop for its own supervisor (or ops/admin); anyone else gets 'not found'
    (a token proves nothing about whose it is) and the refusal is logged."""
    pop = await c.live.screen_pop(token)
    if pop is None:
        raise NotFound("screen-pop")
    if who.role is Role.SUPERVISOR and (
        who.user.supervisor_id is None or pop.supervisor_id != who.user.supervisor_id
    ):
        refuse(request, who, "screen-pop of another supervisor", 404)
        raise Refused("no such screen-pop", status=404)
    await _audit(c, who, "call.screen_pop", "call", pop.call_id)
    return pop


class NotLocked(Exception):
    """The account exists but has no active lock (someone unlocked it already)."""


def masked_account(account_number: str) -> str:
    """An account number with every digit hidden: its last four digits are a verification
    factor, so not even part of them is shown (``ACC-100042`` -> ``ACC-••••••``)."""
    return "".join("•" if ch.isdigit() else ch for ch in account_number)


def _unlocked_by(who: Principal, supervisor_name: str | None) -> str:
    """What `account_lockouts.unlocked_by` records (as `callcenter accounts unlock --by`
    does): the roster name of a supervisor, else the console user's id and role. Never the
    e-mail: the store redacts e-mail addresses."""
    if supervisor_name:
        return f"{supervisor_name} (console)"
    return f"console user #{who.user.id} ({who.role.value})"


async def unlock_account(
    c: Console, who: Principal, customer_id: int, *, note: str = ""
) -> LockoutView:
    """Lift an account's phone-verification lock with `AccountLockouts.unlock`, the call
    behind `callcenter accounts unlock`; audited as `account.unlock` (the account masked,
    the note redacted). `NotFound` when there is no such account, `NotLocked` when it has
    no active lock. Returns the lock as it was."""
    lock = await c.lockouts.active(customer_id)
    if lock is None:
        if await c.lockouts.account_number(customer_id) is None:
            raise NotFound("account")
        raise NotLocked()
    name = None
    if who.user.supervisor_id is not None:
        sup = await c.supervisors.get(who.user.supervisor_id)
        name = sup.name if sup is not None else None
    if not await c.lockouts.unlock(customer_id, by=_unlocked_by(who, name)):
        raise NotLocked()  # unlocked by someone else a moment ago
    detail: dict[str, Any] = {
        "account": masked_account(lock.account_number),
        "failures": lock.failures,
        "locked_at": lock.locked_at.isoformat(),
    }
    text = redact(" ".join(note.split()))[:NOTE_LIMIT]
    if text:
        detail["note"] = text
    await _audit(c, who, "account.unlock", "account", customer_id, **detail)
    return lock


async def unlock_account_number(
    c: Console, who: Principal, account: str, *, note: str = ""
) -> LockoutView:
    """`unlock_account` for an account number as a caller reads it (`ACC-100042`,
    `100042`), found as `callcenter accounts unlock` finds it; `NotFound` when no account
    has that number."""
    customer_id = await c.lockouts.customer_for_account(account[:64])
    if customer_id is None:
        raise NotFound("account")
    return await unlock_account(c, who, customer_id, note=note)


async def locked_accounts(c: Console) -> list[dict[str, Any]]:
    """Every active lock, oldest first, as the page and the API show it: the account
    masked, the customer by id, the call of the last verification attempt (to read what
    happened before deciding)."""
    rows = []
    for lock in await c.lockouts.locked():
        last = await c.lockouts.attempts(lock.customer_id, limit=1)
        rows.append(
            {
                "customer_id": lock.customer_id,
                "account": masked_account(lock.account_number),
                "locked_at": lock.locked_at,
                "failures": lock.failures,
                "reason": lock.reason,
                "last_call_id": last[0].call_id if last else None,
            }
        )
    return rows


NOTE_LIMIT = 300
"""Characters of an unlock note kept in the audit entry (how the caller was confirmed)."""


def recent(since: dt.timedelta) -> dt.datetime:
    return utcnow() - since


__all__ = [
    "NotFound",
    "NotLocked",
    "QueueError",
    "RosterError",
    "claim_callback",
    "locked_accounts",
    "masked_account",
    "note_callback",
    "open_screen_pop",
    "resolve_callback",
    "retry_delivery",
    "unlock_account",
    "unlock_account_number",
    "update_supervisor",
    "view_call",
]
