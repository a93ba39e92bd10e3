"""Column types and the declarative base shared by every table (``models.py``).

- :class:`UTCDateTime`: timezone-aware UTC in and out on every backend (SQLite stores naive
  UTC text so text ordering is time ordering; PostgreSQL ``timestamptz``).
- :func:`enum_column`: a :class:`enum.StrEnum` stored as VARCHAR + named CHECK constraint
  (``native_enum=False``), so adding a value is a plain migration on SQLite and PostgreSQL.
- :data:`JSONType`: ``JSON``, ``JSONB`` on PostgreSQL.
- :class:`Base`: the constraint naming convention that keeps migrations portable.
- :data:`DESCENDING_INDEXES` / :func:`include_object`: indexes Alembic cannot compare on
  SQLite, maintained by hand in the migrations.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

__all__ = [
    "DESCENDING_INDEXES",
    "Base",
    "JSONType",
    "UTCDateTime",
    "enum_column",
    "include_object",
    "utcnow",
]


def utcnow() -> dt.datetime:
    """Current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` that always returns aware UTC datetimes.

    Naive datetimes are rejected on the way in (they are almost always a bug).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            # SQLite has no timezone type: store naive UTC so text ordering is time ordering.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

DESCENDING_INDEXES = frozenset(
    {
        "ix_orders_customer_id_placed_at",
        "ix_invoices_customer_id_issued_at",
        "ix_payments_customer_id_received_at",
    }
)
"""``(customer_id, <time> DESC)`` indexes. SQLite cannot reflect DESC index elements, so
Alembic autogenerate/check skips them (see ``migrations/env.py``); they are maintained by
hand in the migrations."""


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic ``include_object`` hook: skip :data:`DESCENDING_INDEXES` in autogenerate."""
    return not (type_ == "index" and name in DESCENDING_INDEXES)


def enum_column(cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """VARCHAR + named CHECK constraint storing the enum *values*."""
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Declarative base; constraint naming convention keeps migrations portable."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
