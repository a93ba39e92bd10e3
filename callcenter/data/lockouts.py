"""Account lockouts and the verification audit: what makes the attempt limit hold across calls.

Every verification attempt (a factor checked, an account or order number tried) is written
to ``verification_attempts`` with its outcome and the caller's number *masked*; the value
the caller said is never stored. When an account collects `failures` wrong factors within a
rolling `window` (counted from its last unlock), it is locked for phone verification in
``account_lockouts`` until a supervisor unlocks it::

    lockouts = AccountLockouts(db, failures=5, window=dt.timedelta(hours=24))
    await lockouts.active(customer_id)                  # LockoutView or None
    await lockouts.record_attempt(customer_id=..., factor="pin", outcome=AttemptOutcome.WRONG,
                                  call_id=..., caller_e164=...)   # the lock, if now locked
    await lockouts.unlock(customer_id, by="Alex Rivera")  # `callcenter accounts unlock`
    await lockouts.locked()                              # every active lock, oldest first

The web console's "unlock account" calls the same `unlock`, naming the console user.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.data.columns import utcnow
from callcenter.data.database import Database
from callcenter.data.enums import AttemptOutcome
from callcenter.data.limits import clip, require_fits
from callcenter.data.models import AccountLockout, Customer, VerificationAttempt
from callcenter.redaction import redact
from callcenter.telephony.numbers import mask

__all__ = ["AccountLockouts", "AttemptView", "LockoutView"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LockoutView:
    """An account lock (active while `unlocked_at` is None)."""

    id: int
    customer_id: int
    account_number: str
    locked_at: dt.datetime
    failures: int
    reason: str
    unlocked_at: dt.datetime | None = None
    unlocked_by: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One row of the verification audit."""

    at: dt.datetime
    call_id: str | None
    customer_id: int | None
    caller_masked: str | None
    factor: str
    outcome: AttemptOutcome


class AccountLockouts:
    """The lockout policy over the audit table; see the module docstring."""

    def __init__(
        self,
        db: Database,
        *,
        failures: int = 5,
        window: dt.timedelta = dt.timedelta(hours=24),
    ) -> None:
        if failures < 1:
            raise ValueError("failures must be at least 1")
        self._db = db
        self.failures = failures
        self.window = window

    async def active(self, customer_id: int) -> LockoutView | None:
        """The account's active lock, or None."""
        async with self._db.session() as s:
            row = (
                await s.execute(
                    sa.select(AccountLockout, Customer.account_number)
                    .join(Customer, Customer.id == AccountLockout.customer_id)
                    .where(
                        AccountLockout.customer_id == customer_id,
                        AccountLockout.unlocked_at.is_(None),
                    )
                    .order_by(AccountLockout.locked_at)
                    .limit(1)
                )
            ).first()
        return _view(row[0], row[1]) if row is not None else None

    async def record_attempt(
        self,
        *,
        customer_id: int | None,
        factor: str,
        outcome: AttemptOutcome,
        call_id: str | None,
        caller_e164: str | None,
        now: dt.datetime | None = None,
    ) -> LockoutView | None:
        """Audit one attempt; for a wrong factor, lock the account when it reached the limit.

        Returns the account's active lock after this attempt (None when not locked)."""
        now = now or utcnow()
        async with self._db.transaction() as s:
            s.add(
                VerificationAttempt(
                    at=now,
                    call_id=require_fits(VerificationAttempt.call_id, call_id),
                    customer_id=customer_id,
                    caller_masked=mask(caller_e164) if caller_e164 else None,
                    factor=require_fits(VerificationAttempt.factor, factor),
                    outcome=outcome,
                )
            )
            await s.flush()
            if customer_id is None or outcome is not AttemptOutcome.WRONG:
                locked = None
            else:
                locked = await self._lock_if_due(s, customer_id, now)
        if locked is not None:
            log.warning(
                "account locked for phone verification",
                extra={"customer_id": customer_id, "failures": locked.failures},
            )
        return await self.active(customer_id) if customer_id is not None else None

    async def _lock_if_due(
        self, s: AsyncSession, customer_id: int, now: dt.datetime
    ) -> AccountLockout | None:
        existing = await s.scalar(
            sa.select(AccountLockout.id).where(
                AccountLockout.customer_id == customer_id, AccountLockout.unlocked_at.is_(None)
            )
        )
        if existing is not None:
            return None
        since = now - self.window
        last_unlock = await s.scalar(
            sa.select(sa.func.max(AccountLockout.unlocked_at)).where(
                AccountLockout.customer_id == customer_id
            )
        )
        if last_unlock is not None:
            last_unlock = _aware(last_unlock)
            since = max(since, last_unlock)
        failures = await s.scalar(
            sa.select(sa.func.count())
            .select_from(VerificationAttempt)
            .where(
                VerificationAttempt.customer_id == customer_id,
                VerificationAttempt.outcome == AttemptOutcome.WRONG,
                VerificationAttempt.at > since,
            )
        )
        if int(failures or 0) < self.failures:
            return None
        hours = self.window.total_seconds() / 3600
        lock = AccountLockout(
            customer_id=customer_id,
            locked_at=now,
            failures=int(failures or 0),
            reason=f"{failures} wrong verification answers within {hours:g} hours",
        )
        s.add(lock)
        await s.flush()
        return lock

    async def unlock(self, customer_id: int, *, by: str, now: dt.datetime | None = None) -> bool:
        """Lift the account's active lock; `by` names the supervisor (or console user).
        False when the account was not locked."""
        who = clip(AccountLockout.unlocked_by, redact(" ".join(by.split()))) or ""
        if not who:
            raise ValueError("say who unlocks the account (by=...)")
        async with self._db.transaction() as s:
            result = await s.execute(
                sa.update(AccountLockout)
                .where(
                    AccountLockout.customer_id == customer_id,
                    AccountLockout.unlocked_at.is_(None),
                )
                .values(unlocked_at=now or utcnow(), unlocked_by=who)
                .execution_options(synchronize_session=False)
            )
            unlocked = int(getattr(result, "rowcount", 0) or 0) > 0
        log.info("account unlock", extra={"customer_id": customer_id, "unlocked": unlocked})
        return unlocked

    async def locked(self) -> list[LockoutView]:
        """Every active lock, oldest first."""
        async with self._db.session() as s:
            rows = (
                await s.execute(
                    sa.select(AccountLockout, Customer.account_number)
                    .join(Customer, Customer.id == AccountLockout.customer_id)
                    .where(AccountLockout.unlocked_at.is_(None))
                    .order_by(AccountLockout.locked_at, AccountLockout.id)
                )
            ).all()
        return [_view(lock, number) for lock, number in rows]

    async def attempts(self, customer_id: int, *, limit: int = 20) -> list[AttemptView]:
        """The account's latest audited attempts, newest first."""
        async with self._db.session() as s:
            rows = await s.scalars(
                sa.select(VerificationAttempt)
                .where(VerificationAttempt.customer_id == customer_id)
                .order_by(VerificationAttempt.at.desc(), VerificationAttempt.id.desc())
                .limit(max(1, int(limit)))
            )
            return [
                AttemptView(r.at, r.call_id, r.customer_id, r.caller_masked, r.factor, r.outcome)
                for r in rows
            ]

    async def account_number(self, customer_id: int) -> str | None:
        """The account number of a customer id, or None when there is no such customer."""
        async with self._db.session() as s:
            return await s.scalar(
                sa.select(Customer.account_number).where(Customer.id == customer_id)
            )

    async def customer_for_account(self, account: str) -> int | None:
        """The customer id of an account number as a supervisor types it (`ACC-100042`,
        `acc100042`, `100042`), or None."""
        text = "".join(account.split()).upper()
        digits = "".join(c for c in text if c.isdigit())
        candidates = {text, digits, f"ACC-{digits}"} - {""}
        async with self._db.session() as s:
            return await s.scalar(
                sa.select(Customer.id).where(Customer.account_number.in_(candidates)).limit(1)
            )

    async def purge_attempts(self, *, older_than: dt.datetime) -> int:
        """Delete audit rows older than `older_than` (retention); returns how many."""
        async with self._db.transaction() as s:
            result = await s.execute(
                sa.delete(VerificationAttempt)
                .where(VerificationAttempt.at < older_than)
                .execution_options(synchronize_session=False)
            )
        return int(getattr(result, "rowcount", 0) or 0)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _view(lock: AccountLockout, account_number: str) -> LockoutView:
    return LockoutView(
        id=lock.id,
        customer_id=lock.customer_id,
        account_number=account_number,
        locked_at=lock.locked_at,
        failures=lock.failures,
        reason=lock.reason,
        unlocked_at=lock.unlocked_at,
        unlocked_by=lock.unlocked_by,
    )
