"""Customers before verification: who might this caller be, and is a factor correct?

:class:`CustomerDirectory` is the only reader of PIN hashes; it answers yes or no and
never returns them. Phone numbers go through the product's one normaliser
(``telephony.numbers.try_e164``), so any notation of a stored number finds it. Unknown
customers cost the same scrypt work as wrong PINs (:data:`_DUMMY_PIN_HASH`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging

import sqlalchemy as sa

from callcenter.data.database import Database
from callcenter.data.models import Customer, CustomerPhone, Order
from callcenter.data.security import digits_only, verify_pin
from callcenter.data.views import CustomerSummary
from callcenter.telephony.numbers import try_e164
from callcenter.vocabulary import FactorKind  # shared words, defined once

__all__ = ["CustomerDirectory", "FactorKind"]

log = logging.getLogger(__name__)


# A syntactically valid hash of a random PIN, verified when the customer does not exist so
# that "unknown customer" and "wrong PIN" take about the same time.
_DUMMY_PIN_HASH = (
    "scrypt$16384$8$1$00000000000000000000000000000000$"
    "0000000000000000000000000000000000000000000000000000000000000000"
)


def _summary(c: Customer) -> CustomerSummary:
    digits = digits_only(c.account_number)
    return CustomerSummary(
        id=c.id,
        first_name=c.full_name.split()[0] if c.full_name.split() else c.full_name,
        full_name=c.full_name,
        zip_code=c.zip_code,
        account_last4=digits[-4:],
    )


class CustomerDirectory:
    """Pre-verification lookups: who might this caller be, and is a factor correct?"""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find_by_phone(self, e164: str) -> CustomerSummary | None:
        """Customer owning this phone number (any of their numbers), or None."""
        number = try_e164(e164)
        if number is None:
            return None
        async with self._db.session() as s:
            customer = await s.scalar(
                sa.select(Customer)
                .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                .where(CustomerPhone.e164 == number)
            )
            return _summary(customer) if customer is not None else None

    async def find_by_account_number(self, said: str) -> CustomerSummary | None:
        """The customer whose account number the caller read out (`ACC-100042`, "one zero
        zero zero four two": compared by its digits), or None. Not a factor: it only says
        which account the caller claims, before two factors are asked."""
        digits = digits_only(said or "")
        if not 4 <= len(digits) <= 20:
            return None
        async with self._db.session() as s:
            customer = await s.scalar(
                sa.select(Customer)
                .where(Customer.account_number.in_({digits, f"ACC-{digits}"}))
                .limit(1)
            )
            return _summary(customer) if customer is not None else None

    async def find_by_order_number(self, said: str) -> CustomerSummary | None:
        """The customer who placed the order the caller named, or None. Like an account
        number, an order number only names the account to verify against."""
        digits = digits_only(said or "")
        if not 3 <= len(digits) <= 12:
            return None
        async with self._db.session() as s:
            customer = await s.scalar(
                sa.select(Customer)
                .join(Order, Order.customer_id == Customer.id)
                .where(Order.order_number == digits)
                .limit(1)
            )
            return _summary(customer) if customer is not None else None

    async def get_summary(self, customer_id: int) -> CustomerSummary | None:
        async with self._db.session() as s:
            customer = await s.get(Customer, customer_id)
            return _summary(customer) if customer is not None else None

    async def check_factor(self, customer_id: int, kind: FactorKind, value: str) -> bool:
        """Check one verification factor; input is normalised to digits first.

        - ``zip``: 5-digit ZIP (ZIP+4 accepted if its first five digits match).
        - ``last_four``: the last four digits of the account number (the full account
          number's digits are also accepted).
        - ``pin``: compared via scrypt + :func:`hmac.compare_digest`.

        Unknown customers and empty input return False. Never logs the value.
        """
        if kind not in ("zip", "last_four", "pin"):
            raise ValueError(f"unknown verification factor {kind!r}")
        digits = digits_only(value or "")
        async with self._db.session() as s:
            row = (
                await s.execute(
                    sa.select(Customer.zip_code, Customer.account_number, Customer.pin_hash).where(
                        Customer.id == customer_id
                    )
                )
            ).one_or_none()
        if kind == "pin":
            # scrypt takes tens of milliseconds on purpose: off the call's event loop
            ok = await asyncio.to_thread(
                verify_pin, digits, row.pin_hash if row else _DUMMY_PIN_HASH
            )
            ok = ok and row is not None and bool(digits)
        elif row is None or not digits:
            ok = False
        elif kind == "zip":
            expected = digits_only(row.zip_code)
            candidate = digits[:5] if len(digits) == 9 else digits
            ok = hmac.compare_digest(candidate.encode(), expected.encode())
        else:
            account = digits_only(row.account_number)
            ok = hmac.compare_digest(digits.encode(), account[-4:].encode()) or (
                len(digits) > 4 and hmac.compare_digest(digits.encode(), account.encode())
            )
        log.info(
            "verification factor checked",
            extra={"customer_id": customer_id, "kind": kind, "ok": ok},
        )
        return ok
