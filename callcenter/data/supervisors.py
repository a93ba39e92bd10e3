"""The supervisors table, read and written as validated `callcenter.staff.Supervisor` values.

There is one supervisor value, one validator (`Supervisor.create`) and one on-duty rule
(`Supervisor.on_duty`), all in :mod:`callcenter.staff`; this store only maps them to rows.
Who is on duty for a call is the escalation roster's question, asked of these values.

A row that no longer validates (edited by hand, or written before a rule tightened) is
skipped by :meth:`SupervisorStore.list` with a warning naming its id, so one bad row
cannot stop escalations; :meth:`SupervisorStore.update` merges changes over the stored
columns and validates the result, so such a row can be repaired in place.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from callcenter.data.database import Database
from callcenter.data.models import SupervisorRow, TransferMode
from callcenter.staff import RosterError, Supervisor

__all__ = ["SupervisorStore", "supervisor_row"]

log = logging.getLogger(__name__)

_FIELDS = frozenset(
    {
        "name",
        "contact",
        "skills",
        "timezone",
        "working_hours",
        "priority",
        "active",
        "transfer_mode",
    }
)
"""What `SupervisorStore.update` may change (the `Supervisor.create` arguments)."""


def _columns(supervisor: Supervisor) -> dict[str, Any]:
    columns: dict[str, Any] = supervisor.as_row()
    columns["transfer_mode"] = TransferMode(columns["transfer_mode"])
    return columns


def supervisor_row(supervisor: Supervisor) -> SupervisorRow:
    """A new ORM row for a validated value (its id, if any, is not copied)."""
    return SupervisorRow(**_columns(supervisor))


def _stored(row: SupervisorRow) -> dict[str, Any]:
    """The row's columns as `Supervisor.create` arguments."""
    return {
        "id": row.id,
        "name": row.name,
        "contact": row.contact,
        "skills": list(row.skills or []),
        "timezone": row.timezone,
        "working_hours": row.working_hours or {},
        "priority": row.priority,
        "active": row.active,
        "transfer_mode": row.transfer_mode,
    }


class SupervisorStore:
    """CRUD for transfer targets (the ``callcenter supervisors`` CLI and the roster).

    Args:
        db: the process's database.
        default_region: region for contacts given without a country code (``update``).
    """

    def __init__(self, db: Database, *, default_region: str = "US") -> None:
        self._db = db
        self._region = default_region

    def _value(self, row: SupervisorRow) -> Supervisor:
        return Supervisor.create(**_stored(row), default_region=self._region)

    async def list(
        self, *, active_only: bool = False, skill: str | None = None
    ) -> list[Supervisor]:
        """Supervisors by priority (lower first), then id; optionally only active ones, or
        only those listing ``skill``. Rows that do not validate are skipped and logged."""
        query = sa.select(SupervisorRow).order_by(SupervisorRow.priority, SupervisorRow.id)
        if active_only:
            query = query.where(SupervisorRow.active.is_(True))
        async with self._db.session() as s:
            rows = list(await s.scalars(query))
        values: list[Supervisor] = []
        for row in rows:
            try:
                values.append(self._value(row))
            except RosterError as exc:
                # The message may quote the value (a phone number): name the field only;
                # `callcenter supervisors update ID ...` shows the operator the detail.
                log.warning(
                    "skipping invalid supervisor row",
                    extra={"supervisor_id": row.id, "invalid_field": exc.field},
                )
        if skill is not None:
            values = [v for v in values if skill in v.skills]
        return values

    async def get(self, supervisor_id: int) -> Supervisor | None:
        """One supervisor, or None. Raises `RosterError` if the stored row does not validate
        (repair it with :meth:`update`)."""
        async with self._db.session() as s:
            row = await s.get(SupervisorRow, supervisor_id)
            return self._value(row) if row is not None else None

    async def _refuse_duplicate(self, s: Any, contact: str, *, other_than: int | None) -> None:
        """A second entry for the same contact (phone number or SIP URI) is a duplicate."""
        query = sa.select(SupervisorRow.id).where(SupervisorRow.contact == contact)
        if other_than is not None:
            query = query.where(SupervisorRow.id != other_than)
        existing = await s.scalar(query.limit(1))
        if existing is not None:
            error = RosterError(
                f"supervisor {existing} already has this contact: update that one instead "
                f"(callcenter supervisors update {existing} ...)"
            )
            error.field = "contact"
            raise error

    async def add(self, supervisor: Supervisor) -> Supervisor:
        """Insert a validated value (its ``id`` is ignored); returns it with the new id.
        Raises `RosterError` when another supervisor already has the same contact."""
        async with self._db.transaction() as s:
            await self._refuse_duplicate(s, supervisor.contact, other_than=None)
            row = supervisor_row(supervisor)
            s.add(row)
            await s.flush()
            added = self._value(row)
        log.info("supervisor added", extra={"supervisor_id": added.id})
        return added

    async def update(self, supervisor_id: int, **changes: Any) -> Supervisor | None:
        """Change some fields (``Supervisor.create`` arguments; ``working_hours`` may be the
        compact text form). The stored row merged with ``changes`` is validated as a whole;
        raises `RosterError` naming the field, or returns None if there is no such id."""
        unknown = set(changes) - _FIELDS
        if unknown:
            raise RosterError(f"unknown supervisor fields: {sorted(unknown)}")
        async with self._db.transaction() as s:
            row = await s.get(SupervisorRow, supervisor_id, with_for_update=True)
            if row is None:
                return None
            merged = Supervisor.create(**{**_stored(row), **changes}, default_region=self._region)
            await self._refuse_duplicate(s, merged.contact, other_than=supervisor_id)
            for key, value in _columns(merged).items():
                setattr(row, key, value)
            await s.flush()
            updated = self._value(row)
        log.info(
            "supervisor updated", extra={"supervisor_id": supervisor_id, "fields": sorted(changes)}
        )
        return updated

    async def remove(self, supervisor_id: int) -> bool:
        """Delete; False if it did not exist."""
        async with self._db.transaction() as s:
            result = await s.execute(
                sa.delete(SupervisorRow).where(SupervisorRow.id == supervisor_id)
            )
            removed = getattr(result, "rowcount", 0) == 1
        log.info("supervisor removed", extra={"supervisor_id": supervisor_id, "removed": removed})
        return removed
