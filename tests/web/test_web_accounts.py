"""Locked accounts in the console: listed masked, unlocked by supervisors and admins with the
lockout store's own `unlock` (as `callcenter accounts unlock`), audited, refused to ops."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from callcenter.data import Database, SupervisorStore
from callcenter.data.audit_log import AuditLog
from callcenter.data.lockouts import AccountLockouts
from tests.web.conftest import Account, client_for, lock_account, login


async def _unlock_entries(db: Database) -> list[dict[str, object]]:
    entries = await AuditLog(db).recent(limit=50)
    return [
        {"actor": e.actor, "user_id": e.user_id, "target": e.target_id, **e.detail}
        for e in entries
        if e.action == "account.unlock"
    ]


async def test_a_supervisor_sees_the_lock_masked_and_unlocks_it(
    console_app: FastAPI, db: Database, accounts: dict[str, Account]
) -> None:
    customer = await lock_account(db, "ACC-100042")
    lockouts = AccountLockouts(db)
    async with client_for(console_app) as client:
        csrf = await login(client, accounts["supervisor"])
        page = await client.get("/accounts")
        assert page.status_code == 200
        assert f'id="account-{customer}"' in page.text
        assert "ACC-••••••" in page.text
        assert "100042" not in page.text and "0042" not in page.text  # last four is a factor
        assert 'href="/calls/call-locked"' in page.text  # the call that locked it
        assert 'href="/accounts"' in page.text  # in the navigation

        done = await client.post(
            f"/accounts/{customer}/unlock",
            data={"csrf_token": csrf, "note": "called back on +1 415 555 0142, file matches"},
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/accounts?ok=unlocked"
        after = await client.get(done.headers["location"])
        assert "Account unlocked" in after.text
        assert f'id="account-{customer}"' not in after.text

    assert await lockouts.active(customer) is None
    history = await _lock_history(db, customer)
    sup = await SupervisorStore(db).get(1)
    assert sup is not None
    assert history == f"{sup.name} (console)"
    [entry] = await _unlock_entries(db)
    assert entry["actor"] == accounts["supervisor"].email
    assert entry["user_id"] == accounts["supervisor"].id
    assert entry["target"] == str(customer)
    assert entry["account"] == "ACC-••••••"
    assert entry["failures"] == 2
    note = str(entry["note"])
    assert "file matches" in note and "555" not in note  # the number is redacted


async def _lock_history(db: Database, customer_id: int) -> str | None:
    import sqlalchemy as sa

    from callcenter.data.models import AccountLockout

    async with db.session() as s:
        return await s.scalar(
            sa.select(AccountLockout.unlocked_by).where(AccountLockout.customer_id == customer_id)
        )


async def test_an_admin_unlocks_by_account_number_through_the_api(
    console_app: FastAPI, db: Database, accounts: dict[str, Account]
) -> None:
    customer = await lock_account(db, "ACC-100077")
    async with client_for(console_app) as client:
        csrf = await login(client, accounts["admin"])
        headers = {"X-CSRF-Token": csrf}
        listed = (await client.get("/api/accounts/locked")).json()
        assert [(r["customer_id"], r["account"]) for r in listed] == [(customer, "ACC-••••••")]
        assert listed[0]["failures"] == 2 and listed[0]["last_call_id"] == "call-locked"

        done = await client.post(
            "/api/accounts/unlock", json={"account": "acc 100077"}, headers=headers
        )
        assert done.status_code == 200, done.text
        assert done.json() == {"customer_id": customer, "account": "ACC-••••••", "unlocked": True}
        assert (await client.get("/api/accounts/locked")).json() == []

        again = await client.post(f"/api/accounts/{customer}/unlock", headers=headers)
        assert again.status_code == 409
        assert again.json() == {"detail": "the account is not locked"}
        unknown = await client.post(
            "/api/accounts/unlock", json={"account": "ACC-999999"}, headers=headers
        )
        assert unknown.status_code == 404
        missing = await client.post("/api/accounts/999999/unlock", headers=headers)
        assert missing.status_code == 404
        extra = await client.post(
            "/api/accounts/unlock", json={"account": "ACC-100077", "pin": "1234"}, headers=headers
        )
        assert extra.status_code == 422
    [entry] = await _unlock_entries(db)  # only the unlock that happened is audited
    assert entry["actor"] == accounts["admin"].email
    assert "note" not in entry
    assert await _lock_history(db, customer) == f"console user #{accounts['admin'].id} (admin)"


async def test_a_page_unlock_of_an_account_not_locked_says_so(
    console_app: FastAPI, db: Database, accounts: dict[str, Account]
) -> None:
    async with client_for(console_app) as client:
        csrf = await login(client, accounts["supervisor"])
        response = await client.post(
            "/accounts/unlock", data={"csrf_token": csrf, "account": "ACC-100042"}
        )
        assert response.status_code == 409
        assert "not locked" in response.text
        response = await client.post(
            "/accounts/unlock", data={"csrf_token": csrf, "account": "no such thing"}
        )
        assert response.status_code == 409
        assert "No account with that number" in response.text
    assert await _unlock_entries(db) == []


async def test_ops_cannot_unlock_and_does_not_see_the_page(
    console_app: FastAPI, db: Database, accounts: dict[str, Account]
) -> None:
    customer = await lock_account(db, "ACC-100042")
    async with client_for(console_app) as client:
        csrf = await login(client, accounts["ops"])
        board = await client.get("/board")
        assert not re.search(r'href="/accounts"', board.text)
        refused = await client.post(
            f"/api/accounts/{customer}/unlock", headers={"X-CSRF-Token": csrf}
        )
        assert refused.status_code == 403
        form = await client.post(f"/accounts/{customer}/unlock", data={"csrf_token": csrf})
        assert form.status_code == 403
    assert await AccountLockouts(db).active(customer) is not None
    assert await _unlock_entries(db) == []


async def test_an_unlock_without_the_csrf_token_leaves_the_lock(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    customer = await lock_account(db, "ACC-100042")
    await login(client, accounts["supervisor"])
    assert (await client.post(f"/api/accounts/{customer}/unlock")).status_code == 403
    assert (await client.post(f"/accounts/{customer}/unlock", data={})).status_code == 403
    assert await AccountLockouts(db).active(customer) is not None


async def test_an_out_of_range_account_id_is_a_clear_4xx(
    console_app: FastAPI, db: Database, accounts: dict[str, Account]
) -> None:
    async with client_for(console_app) as client:
        csrf = await login(client, accounts["admin"])
        page = await client.post(f"/accounts/{2**63}/unlock", data={"csrf_token": csrf})
        api = await client.post(f"/api/accounts/{2**63}/unlock", headers={"X-CSRF-Token": csrf})
    assert page.status_code == 422 and api.status_code == 422
