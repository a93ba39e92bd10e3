"""What console users do, each with its audit entry: the one implementation behind both a
page's form and the matching API route."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from callcenter.data.callback_queue import CallbackResolution, QueueError
from callcenter.data.live_calls import ScreenPopView
from callcenter.data.models import utcnow
from callcenter.data.users import Role
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


def recent(since: dt.timedelta) -> dt.datetime:
    return utcnow() - since


__all__ = [
    "NotFound",
    "QueueError",
    "RosterError",
    "claim_callback",
    "note_callback",
    "open_screen_pop",
    "resolve_callback",
    "retry_delivery",
    "update_supervisor",
    "view_call",
]
