"""Data layer: SQLAlchemy 2 async over SQLite or PostgreSQL, Alembic migrations, repositories.

Open the database ONCE per process, at start-up, and pass it around::

    from callcenter.data import AccountRepository, CustomerDirectory, Database

    db = await Database.open(settings.database_url, migrate=True)  # start-up only
    # or, in a process that must not migrate (the schema is someone else's job):
    db = await Database.open(settings.database_url)  # SchemaNotCurrentError if behind

    # demo data is a separate, explicit step (this package never imports the seed):
    from callcenter.data.seed import seed_demo
    await seed_demo(db)                                # no-op unless the DB is empty

    # on a call:
    who = await CustomerDirectory(db).find_by_phone("+14155550142")
    account = AccountRepository(db, who.id)            # scoped to that customer only
    order = await account.get_order("1001")

    await db.close()                                   # at shutdown

``callcenter db upgrade`` runs the migrations from a shell (``--seed-demo`` adds the demo
data to an empty database). Nothing on a call's path migrates or seeds. ``open`` and
``seed_demo`` return with an empty pool, so a process may run them in a synchronous set-up
hook (LiveKit's ``setup_fnc``) with ``asyncio.run`` and use the database from the loop that
later runs the call.

Modules, by aggregate: ``database`` (engine, pool, reads) and ``migrate`` (Alembic),
``models`` / ``enums`` / ``columns`` (tables), ``views`` (read models), ``customers``
(pre-verification lookups), ``account`` (the scoped repository) over ``order_queries``
and ``billing_queries``, ``tickets``, ``call_records``, ``supervisors`` (the table of
:class:`callcenter.staff.Supervisor` values), ``lockouts`` (account lockouts and the
verification audit), ``journal`` (what a call could not write, replayed later), ``limits``
(column limits checked before a write), ``seed`` (demo data, imported on demand).
"""

from callcenter.data import (  # noqa: F401  (the console's tables, on Base.metadata: 0003)
    audit_log,
    call_analysis,
    callback_queue,
    live_calls,
    users,
    webhook_deliveries,
)
from callcenter.data.account import (
    RETURN_WINDOW,
    AccountRepository,
    InvalidRefundAmountError,
    InvoiceNotFoundError,
    RefundRequestError,
)
from callcenter.data.billing_queries import normalize_invoice_number
from callcenter.data.call_records import CallRecordStore
from callcenter.data.customers import CustomerDirectory, FactorKind
from callcenter.data.database import DATABASE_ERRORS, Database, SchemaNotCurrentError, mask_url
from callcenter.data.enums import (
    AttemptOutcome,
    InvoiceStatus,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
    TicketKind,
    TicketStatus,
)
from callcenter.data.journal import Journal, ReplayReport, journal_backlog
from callcenter.data.limits import FieldTooLong
from callcenter.data.lockouts import AccountLockouts, AttemptView, LockoutView
from callcenter.data.models import CallOutcome, TransferMode
from callcenter.data.order_queries import normalize_order_number
from callcenter.data.supervisors import SupervisorStore
from callcenter.data.tickets import TicketStore
from callcenter.data.views import (
    BalanceView,
    CallRecordView,
    CancelOutcome,
    CustomerSummary,
    InvoiceLineView,
    InvoiceView,
    OrderItemView,
    OrderView,
    PaymentView,
    ReturnOutcome,
    ReturnView,
    ShipmentView,
    TicketView,
)

__all__ = [
    "DATABASE_ERRORS",
    "RETURN_WINDOW",
    "AccountLockouts",
    "AccountRepository",
    "AttemptOutcome",
    "AttemptView",
    "BalanceView",
    "CallOutcome",
    "CallRecordStore",
    "CallRecordView",
    "CancelOutcome",
    "CustomerDirectory",
    "CustomerSummary",
    "Database",
    "FactorKind",
    "FieldTooLong",
    "InvalidRefundAmountError",
    "InvoiceLineView",
    "InvoiceNotFoundError",
    "InvoiceStatus",
    "InvoiceView",
    "Journal",
    "LockoutView",
    "OrderItemView",
    "OrderStatus",
    "OrderView",
    "PaymentMethod",
    "PaymentStatus",
    "PaymentView",
    "RefundRequestError",
    "ReplayReport",
    "ReturnOutcome",
    "ReturnStatus",
    "ReturnView",
    "SchemaNotCurrentError",
    "ShipmentStatus",
    "ShipmentView",
    "SupervisorStore",
    "TicketKind",
    "TicketStatus",
    "TicketStore",
    "TicketView",
    "TransferMode",
    "journal_backlog",
    "mask_url",
    "normalize_invoice_number",
    "normalize_order_number",
]
