"""`AccountAccess` over the data layer: the call core's way to customers and accounts.

The core names what it needs as a Protocol (`core/ports.py`) and never imports the data
layer; this adapter is the one place the two meet. It is built once per call by
`callcenter.call` over the process's `Database`, with the lockout policy from the settings.
Every database failure becomes `AccountsUnavailable`, which the call knows how to live with
(a person or a callback instead of account help); nothing here waits longer than
`timeout_s` for the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from callcenter.core.ports import AccountsUnavailable, AttemptResult, CallerMatch
from callcenter.data import (
    DATABASE_ERRORS,
    AccountLockouts,
    AccountRepository,
    AttemptOutcome,
    CustomerDirectory,
    CustomerSummary,
    Database,
)
from callcenter.vocabulary import FactorKind, IdentifierKind

T = TypeVar("T")


class DatabaseAccounts:
    """`AccountAccess`: caller lookup, factor checks, lockouts and scoped repositories."""

    def __init__(self, db: Database, lockouts: AccountLockouts, *, timeout_s: float = 5.0) -> None:
        self._db = db
        self._directory = CustomerDirectory(db)
        self._lockouts = lockouts
        self._timeout = timeout_s

    async def _ask(self, step: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(step, self._timeout)
        except DATABASE_ERRORS as exc:
            raise AccountsUnavailable(type(exc).__name__) from exc

    async def identify(self, caller_e164: str) -> CallerMatch | None:
        found = await self._ask(self._directory.find_by_phone(caller_e164))
        return _match(found, "caller_id")

    async def identify_by_account(self, said: str) -> CallerMatch | None:
        found = await self._ask(self._directory.find_by_account_number(said))
        return _match(found, "account_number")

    async def identify_by_order(self, said: str) -> CallerMatch | None:
        found = await self._ask(self._directory.find_by_order_number(said))
        return _match(found, "order_number")

    async def check_factor(self, customer_id: int, kind: FactorKind, digits: str) -> bool:
        return await self._ask(self._directory.check_factor(customer_id, kind, digits))

    async def locked(self, customer_id: int) -> bool:
        return await self._ask(self._lockouts.active(customer_id)) is not None

    async def record_attempt(
        self,
        customer_id: int | None,
        factor: str,
        result: AttemptResult,
        *,
        call_id: str,
        caller_e164: str | None,
    ) -> bool:
        lock = await self._ask(
            self._lockouts.record_attempt(
                customer_id=customer_id,
                factor=factor,
                outcome=AttemptOutcome(result),
                call_id=call_id,
                caller_e164=caller_e164,
            )
        )
        return lock is not None

    def scoped(self, customer_id: int) -> AccountRepository:
        return AccountRepository(self._db, customer_id)


def _match(found: CustomerSummary | None, how: IdentifierKind) -> CallerMatch | None:
    if found is None:
        return None
    return CallerMatch(
        customer_id=found.id,
        first_name=found.first_name,
        full_name=found.full_name,
        identified_by=how,
    )
