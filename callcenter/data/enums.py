"""The statuses and kinds the account and ticket tables store (``StrEnum``, stored as their
values; see :func:`callcenter.data.columns.enum_column`). Adding a value needs a migration:
the CHECK constraint lists the allowed values."""

from __future__ import annotations

import enum

__all__ = [
    "AttemptOutcome",
    "InvoiceStatus",
    "OrderStatus",
    "PaymentMethod",
    "PaymentStatus",
    "ReturnStatus",
    "ShipmentStatus",
    "TicketKind",
    "TicketStatus",
]


class OrderStatus(enum.StrEnum):
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


class ShipmentStatus(enum.StrEnum):
    LABEL_CREATED = "label_created"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class ReturnStatus(enum.StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    OVERDUE = "overdue"


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    ACH = "ach"


class PaymentStatus(enum.StrEnum):
    COMPLETED = "completed"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"


class TicketKind(enum.StrEnum):
    REFUND_REQUEST = "refund_request"
    CALLBACK = "callback"
    RETURN = "return"
    OTHER = "other"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AttemptOutcome(enum.StrEnum):
    """One verification attempt in the audit table (``verification_attempts``)."""

    OK = "ok"
    WRONG = "wrong"
    """A factor that did not match (counts towards the account's lockout)."""
    NOT_FOUND = "not_found"
    """An account or order number that identified nobody."""
    REFUSED = "refused"
    """The account is locked: nothing was checked."""
