"""Column limits, checked in code before a write, so SQLite and PostgreSQL behave the same.

SQLite ignores `VARCHAR(n)`; PostgreSQL refuses a longer value with an error that reached the
caller as "internal error". Every store now decides before it writes:

- `clip(column, value)`: free text a person or a model chose (a spoken callback time, a room
  name) is cut to the column with a trailing `…`; the rest of the write goes ahead.
- `require_fits(column, value)`: identifiers (a call id, a contact) that would be wrong if
  cut raise `FieldTooLong`, a `ValueError` naming the column and its limit.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FieldTooLong", "clip", "limit_of", "require_fits"]


class FieldTooLong(ValueError):
    """A value longer than its column allows; the message names the column and the limit."""


def limit_of(column: Any) -> int | None:
    """The `String(n)` length of an ORM column attribute (`Ticket.preferred_time`), or None."""
    return getattr(getattr(column, "type", None), "length", None)


def _name(column: Any) -> str:
    table = getattr(getattr(column, "class_", None), "__tablename__", "?")
    return f"{table}.{getattr(column, 'key', '?')}"


def clip(column: Any, value: str | None) -> str | None:
    """`value` cut to fit `column` (ending in `…` when cut); None stays None."""
    limit = limit_of(column)
    if value is None or limit is None or len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + "…"


def require_fits(column: Any, value: str | None) -> str | None:
    """`value` unchanged, or `FieldTooLong` when it does not fit `column`."""
    limit = limit_of(column)
    if value is not None and limit is not None and len(value) > limit:
        raise FieldTooLong(f"{_name(column)} takes at most {limit} characters, got {len(value)}")
    return value
