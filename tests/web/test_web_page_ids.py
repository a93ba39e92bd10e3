"""Page routes that take a database id refuse one out of range with a 422, never a 500.

A number past the database's integer (2**63 on SQLite, 2**31 on PostgreSQL's `integer`)
reached the query before and broke it inside the driver; the API's `Id` bound now guards
every page route with an id too.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.web.conftest import Account, client_for, login

HUGE = 2**63

ROSTER_FORM = {
    "name": "Alex Rivera",
    "contact": "+14155550100",
    "timezone": "America/Los_Angeles",
    "hours": "mon-fri 08:00-18:00",
    "priority": "1",
    "transfer_mode": "warm",
}
"""A complete, valid roster form: the only thing wrong in the request is the id."""

POSTS = (
    (f"/callbacks/{HUGE}/claim", "ticket_id", {}),
    (f"/callbacks/{HUGE}/note", "ticket_id", {"text": "called back"}),
    (f"/callbacks/{HUGE}/close", "ticket_id", {"resolution": "done"}),
    (f"/roster/{HUGE}", "supervisor_id", ROSTER_FORM),
    (f"/webhooks/{HUGE}/retry", "delivery_id", {}),
)


@pytest.mark.parametrize(("path", "field", "form"), POSTS)
async def test_an_out_of_range_id_in_a_form_post_is_a_422(
    console_app: FastAPI,
    accounts: dict[str, Account],
    path: str,
    field: str,
    form: dict[str, str],
) -> None:
    async with client_for(console_app) as client:
        csrf = await login(client, accounts["admin"])
        response = await client.post(path, data={"csrf_token": csrf, **form})
    assert response.status_code == 422, response.text
    assert f"{field}: Input should be less than or equal to" in response.text  # the id, no field


async def test_an_out_of_range_supervisor_page_is_a_422(
    console_app: FastAPI, accounts: dict[str, Account]
) -> None:
    async with client_for(console_app) as client:
        await login(client, accounts["admin"])
        response = await client.get(f"/roster/{HUGE}")
    assert response.status_code == 422, response.text
    assert "supervisor_id: Input should be less than or equal to" in response.text
