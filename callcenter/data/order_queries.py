"""Order and shipment reads for :class:`~callcenter.data.AccountRepository`: one prebuilt
statement per tool (see :mod:`callcenter.data.account_queries` for why), and the folding of
their rows (one per order item) into :class:`~callcenter.data.OrderView` values.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from callcenter.data.account_queries import CUSTOMER_ID, ITEMS, NUMBER, ORDERS, SHIPMENTS, const
from callcenter.data.views import OrderItemView, OrderView, ShipmentView

__all__ = ["GET_ORDER", "GET_SHIPMENT", "normalize_order_number", "order_views", "recent_orders"]


def normalize_order_number(value: str) -> str:
    """``" #1001 "`` / ``"10-01"`` / ``"1 0 0 1"`` -> ``"1001"``; other ids are upper-cased."""
    text = value.strip().lstrip("#").strip()
    compact = "".join(text.split()).replace("-", "")
    if compact.isdigit():
        return compact
    return text.upper()


_SHIPMENT_COLS = (
    SHIPMENTS.c.carrier,
    SHIPMENTS.c.tracking_number,
    SHIPMENTS.c.status,
    SHIPMENTS.c.shipped_at,
    SHIPMENTS.c.estimated_delivery,
    SHIPMENTS.c.delivered_at,
    SHIPMENTS.c.last_location,
)
"""Columns in :class:`ShipmentView` field order."""


def _order_rows(orders: sa.FromClause) -> sa.Select[Any]:
    """One row per item of each order in ``orders`` (orders table or a limited subquery),
    each carrying the order's latest shipment (highest shipment id, as ``Order.shipments[-1]``).

    Columns: order (0-5), item id + fields (6-10; None when the order has no items),
    shipment id (11; None when not shipped) + :data:`_SHIPMENT_COLS` (12-18).
    """
    latest = SHIPMENTS.alias("latest")
    latest_id = (
        sa.select(sa.func.max(latest.c.id))
        .where(latest.c.order_id == orders.c.id)
        .correlate(orders)
        .scalar_subquery()
    )
    return (
        sa.select(
            orders.c.id,
            orders.c.order_number,
            orders.c.status,
            orders.c.placed_at,
            orders.c.total_cents,
            orders.c.currency,
            ITEMS.c.id,
            ITEMS.c.sku,
            ITEMS.c.description,
            ITEMS.c.quantity,
            ITEMS.c.unit_price_cents,
            SHIPMENTS.c.id,
            *_SHIPMENT_COLS,
        )
        .select_from(orders)
        .outerjoin(ITEMS, ITEMS.c.order_id == orders.c.id)
        .outerjoin(SHIPMENTS, SHIPMENTS.c.id == latest_id)
    )


GET_ORDER = (
    _order_rows(ORDERS)
    .where(ORDERS.c.customer_id == CUSTOMER_ID, ORDERS.c.order_number == NUMBER)
    .order_by(ITEMS.c.id)
)


@functools.cache
def recent_orders(limit: int) -> sa.Select[Any]:
    recent = (
        sa.select(ORDERS)
        .where(ORDERS.c.customer_id == CUSTOMER_ID)
        .order_by(ORDERS.c.placed_at.desc(), ORDERS.c.id.desc())
        .limit(const(limit))
        .subquery("recent")
    )
    return _order_rows(recent).order_by(recent.c.placed_at.desc(), recent.c.id.desc(), ITEMS.c.id)


GET_SHIPMENT = (
    sa.select(*_SHIPMENT_COLS)
    .join(ORDERS, ORDERS.c.id == SHIPMENTS.c.order_id)
    .where(ORDERS.c.customer_id == CUSTOMER_ID, ORDERS.c.order_number == NUMBER)
    .order_by(SHIPMENTS.c.id.desc())
    .limit(1)
)


def order_views(rows: Iterable[Sequence[Any]]) -> list[OrderView]:
    """Fold :func:`_order_rows` rows (grouped by order, items in id order) into views."""
    views = []
    for _, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        order_rows = list(group)
        head = order_rows[0]
        views.append(
            OrderView(
                order_number=head[1],
                status=head[2],
                placed_at=head[3],
                total_cents=head[4],
                currency=head[5],
                items=tuple(
                    OrderItemView(r[7], r[8], r[9], r[10]) for r in order_rows if r[6] is not None
                ),
                shipment=None if head[11] is None else ShipmentView(*head[12:19]),
            )
        )
    return views
