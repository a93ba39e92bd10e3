"""Customers before verification: lookup by phone (through the product's one phone-number
normaliser) and verification factors (ZIP, last four, PIN)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from callcenter.data import CustomerDirectory, Database
from callcenter.data.models import Customer
from callcenter.data.security import digits_only, hash_pin, verify_pin
from callcenter.data.seed import DEMO_CUSTOMERS


async def test_find_by_phone_each_demo_number(db: Database) -> None:
    directory = CustomerDirectory(db)
    for demo in DEMO_CUSTOMERS:
        for phone in demo.phones:
            who = await directory.find_by_phone(phone)
            assert who is not None
            assert who.full_name == demo.full_name
            assert who.zip_code == demo.zip_code
            assert who.account_last4 == demo.last_four
            assert who.first_name == demo.full_name.split()[0]


async def test_find_by_phone_second_number_same_customer(db: Database) -> None:
    directory = CustomerDirectory(db)
    a = await directory.find_by_phone("+14155550142")
    b = await directory.find_by_phone("+14155550143")
    assert a is not None and b is not None and a == b
    assert a.full_name == "Maya Patel"


@pytest.mark.parametrize(
    "spoken", ["(415) 555-0142", "415.555.0142", "+1 415 555 0142", "tel:+14155550142"]
)
async def test_find_by_phone_normalises_format(db: Database, spoken: str) -> None:
    who = await CustomerDirectory(db).find_by_phone(spoken)
    assert who is not None and who.full_name == "Maya Patel"


async def test_find_by_phone_uses_the_telephony_normaliser(db: Database) -> None:
    """One rule for what a phone number is: `telephony.numbers` (valid, not just possible).
    A number the SIP layer would drop as invalid (area code 555) cannot match anyone."""
    directory = CustomerDirectory(db)
    assert await directory.find_by_phone("+1 555 000 0142") is None
    assert await directory.find_by_phone("+44 20 7946 0958") is None  # valid, unknown


async def test_find_by_phone_unknown_or_garbage(db: Database) -> None:
    directory = CustomerDirectory(db)
    assert await directory.find_by_phone("+14155559999") is None
    assert await directory.find_by_phone("not a number") is None
    assert await directory.find_by_phone("") is None


async def test_summary_has_no_secrets(db: Database, maya_id: int) -> None:
    summary = await CustomerDirectory(db).get_summary(maya_id)
    assert summary is not None
    assert not hasattr(summary, "pin_hash")
    assert summary.account_last4 == "0042"
    assert await CustomerDirectory(db).get_summary(999_999) is None


async def test_zip_factor(db: Database, maya_id: int) -> None:
    d = CustomerDirectory(db)
    assert await d.check_factor(maya_id, "zip", "94107")
    assert await d.check_factor(maya_id, "zip", " 9 4 1 0 7 ")
    assert await d.check_factor(maya_id, "zip", "94107-1234")
    assert not await d.check_factor(maya_id, "zip", "94108")
    assert not await d.check_factor(maya_id, "zip", "")
    assert not await d.check_factor(maya_id, "zip", "9410")


async def test_zip_with_leading_zero(db: Database, james_id: int) -> None:
    d = CustomerDirectory(db)
    assert await d.check_factor(james_id, "zip", "02139")
    assert not await d.check_factor(james_id, "zip", "2139")


async def test_last_four_factor(db: Database, maya_id: int) -> None:
    d = CustomerDirectory(db)
    assert await d.check_factor(maya_id, "last_four", "0042")
    assert await d.check_factor(maya_id, "last_four", "zero zero 4 2".replace("zero", "0"))
    assert await d.check_factor(maya_id, "last_four", "ACC-100042")
    assert not await d.check_factor(maya_id, "last_four", "42")
    assert not await d.check_factor(maya_id, "last_four", "0043")
    assert not await d.check_factor(maya_id, "last_four", "0077")  # Daniel's


async def test_pin_factor(db: Database, maya_id: int, james_id: int) -> None:
    d = CustomerDirectory(db)
    assert await d.check_factor(maya_id, "pin", "4421")
    assert await d.check_factor(maya_id, "pin", "44 21")
    assert not await d.check_factor(maya_id, "pin", "4422")
    assert not await d.check_factor(maya_id, "pin", "")
    assert not await d.check_factor(maya_id, "pin", "7788")  # Daniel's PIN
    assert await d.check_factor(james_id, "pin", "0007")
    assert not await d.check_factor(james_id, "pin", "7")


async def test_factors_for_unknown_customer_are_false(db: Database) -> None:
    d = CustomerDirectory(db)
    for kind, value in (("zip", "94107"), ("last_four", "0042"), ("pin", "4421")):
        assert not await d.check_factor(999_999, kind, value)  # type: ignore[arg-type]


async def test_pin_never_stored_plain(db: Database) -> None:
    async with db.session() as s:
        rows = (await s.execute(sa.select(Customer.account_number, Customer.pin_hash))).all()
    pins = {c.account_number: c.pin for c in DEMO_CUSTOMERS}
    salts = set()
    for account, stored in rows:
        assert stored.startswith("scrypt$")
        assert pins[account] not in stored.split("$")
        assert stored != pins[account]
        assert verify_pin(pins[account], stored)
        salts.add(stored.split("$")[4])
    assert len(salts) == len(rows), "each row has its own salt"


def test_hash_pin_random_salt_and_malformed() -> None:
    a, b = hash_pin("1234"), hash_pin("1234")
    assert a != b
    assert verify_pin("1234", a) and verify_pin("1234", b)
    assert not verify_pin("1234", "garbage")
    assert not verify_pin("1234", "bcrypt$1$2$3$00$00")


def test_digits_only() -> None:
    assert digits_only(" 4-4 2 1 ") == "4421"
    assert digits_only("٤٤٢١") == ""  # non-ASCII digits are not accepted
