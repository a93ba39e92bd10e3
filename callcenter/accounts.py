"""`AccountAccess` over the data layer: the call core's way to customers and accounts.

The core names what it needs as a Protocol (`core/ports.py`) and never imports the data
layer; this adapter is the one place the two meet. It is built once per call by
`callcenter.call` over the process's `Database`.
"""

from __future__ import annotations

from callcenter.core.ports import CallerMatch
from callcenter.data import AccountRepository, CustomerDirectory, Database
from callcenter.vocabulary import FactorKind


class DatabaseAccounts:
    """`AccountAccess`: caller lookup, factor checks and scoped repositories over `db`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._directory = CustomerDirectory(db)

    async def identify(self, caller_e164: str) -> CallerMatch | None:
        summary = await self._directory.find_by_phone(caller_e164)
        if summary is None:
            return None
        return CallerMatch(customer_id=summary.id, first_name=summary.first_name)

    async def check_factor(self, customer_id: int, kind: FactorKind, digits: str) -> bool:
        return await self._directory.check_factor(customer_id, kind, digits)

    def scoped(self, customer_id: int) -> AccountRepository:
        return AccountRepository(self._db, customer_id)
