"""Schemathesis against the console's OpenAPI schema: no 500 on any input, and every answer
matches the schema. Runs against a real `callcenter web` process logged in as an admin (every
route reachable); login/logout are fuzzed from a separate, anonymous session so the admin
session survives the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from callcenter.data import TicketStore
from callcenter.data.users import Role
from callcenter.web.app import create_app
from tests.web.conftest import web_settings
from tests.web.live_server import PASSWORD, Site, serve

schema = schemathesis.openapi.from_dict(create_app(web_settings()).openapi())


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("fuzz")
    with serve(work, template_db, {"admin@example.com": (Role.ADMIN, None)}) as site:
        site.run(lambda db: TicketStore(db).create_callback("+14155550142", "fuzz target"))
        login = httpx.post(
            site.url + "/api/login", json={"email": "admin@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        yield {
            "site": site,
            "cookies": {"cc_session": login.cookies["cc_session"]},
            "headers": {"X-CSRF-Token": login.json()["csrf_token"]},
        }


FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.exclude(path_regex=r"^/api/log(in|out)$").parametrize()
@FUZZ
def test_no_server_error_and_schema_conformance(case: Any, admin: dict[str, Any]) -> None:
    site: Site = admin["site"]
    # every check but "positive data acceptance": a well-formed value can still be refused
    # with a 422 that says why (a range that ends before it starts, a number that is not one)
    case.call_and_validate(
        base_url=site.url,
        headers=admin["headers"],
        cookies=admin["cookies"],
        excluded_checks=[positive_data_acceptance],
    )


@schema.include(path_regex=r"^/api/log(in|out)$").parametrize()
@FUZZ
def test_login_and_logout_never_fail_on_bad_input(case: Any, admin: dict[str, Any]) -> None:
    site: Site = admin["site"]
    response = case.call(base_url=site.url)
    assert response.status_code < 500, response.text[:500]
