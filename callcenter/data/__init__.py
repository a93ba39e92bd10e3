"""Data layer: SQLAlchemy 2 async models, Alembic migrations, demo seed and repositories.

Typical wiring::

    from callcenter.data import AccountRepository, CustomerDirectory, Database

    db = await Database.open(settings.database_url)      # migrates + seeds on first run
    directory = CustomerDirectory(db)
    who = await directory.find_by_phone("+14155550142")
    ...after verification...
    account = AccountRepository(db, who.id)               # scoped to that customer only
    order = await account.get_order("1001")
"""

from callcenter.data.database import Database, mask_url
from callcenter.data.models import (
    CallOutcome,
    InvoiceStatus,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
    TicketKind,
    TicketStatus,
    TransferMode,
)
from callcenter.data.repository import (
    RETURN_WINDOW,
    AccountRepository,
    BalanceView,
    CallRecordStore,
    CallRecordView,
    CancelOutcome,
    CustomerDirectory,
    CustomerSummary,
    FactorKind,
    InvalidRefundAmountError,
    InvoiceLineView,
    InvoiceNotFoundError,
    InvoiceView,
    OrderItemView,
    OrderView,
    PaymentView,
    RefundRequestError,
    ReturnOutcome,
    ReturnView,
    ShipmentView,
    SupervisorStore,
    SupervisorValidationError,
    SupervisorView,
    TicketStore,
    TicketView,
    normalize_invoice_number,
    normalize_order_number,
    normalize_phone,
)
from callcenter.data.seed import (
    DEMO_CUSTOMERS,
    DEMO_REFERENCE_NOW,
    DEMO_SUPERVISORS,
    DemoCustomer,
    demo_data_text,
    seed_demo_data,
)

__all__ = [
    "DEMO_CUSTOMERS",
    "DEMO_REFERENCE_NOW",
    "DEMO_SUPERVISORS",
    "RETURN_WINDOW",
    "AccountRepository",
    "BalanceView",
    "CallOutcome",
    "CallRecordStore",
    "CallRecordView",
    "CancelOutcome",
    "CustomerDirectory",
    "CustomerSummary",
    "Database",
    "DemoCustomer",
    "FactorKind",
    "InvalidRefundAmountError",
    "InvoiceLineView",
    "InvoiceNotFoundError",
    "InvoiceStatus",
    "InvoiceView",
    "OrderItemView",
    "OrderStatus",
    "OrderView",
    "PaymentMethod",
    "PaymentStatus",
    "PaymentView",
    "RefundRequestError",
    "ReturnOutcome",
    "ReturnStatus",
    "ReturnView",
    "ShipmentStatus",
    "ShipmentView",
    "SupervisorStore",
    "SupervisorValidationError",
    "SupervisorView",
    "TicketKind",
    "TicketStatus",
    "TicketStore",
    "TicketView",
    "TransferMode",
    "demo_data_text",
    "mask_url",
    "normalize_invoice_number",
    "normalize_order_number",
    "normalize_phone",
    "seed_demo_data",
]
