"""The tool-schema cache (callcenter.framework.tool_schemas): same schemas as the framework builds,
built once per tool, safe against callers that edit what they get, and forgetful of tools
that no longer exist."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from livekit.agents import RunContext, function_tool, llm
from livekit.agents.llm import utils as llm_utils

from callcenter.agents.billing import BillingAgent
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.verification import VerifyCallerTask
from callcenter.agents.wrap_up import WrapUpAgent
from callcenter.framework import tool_schemas
from tests.callpath.helpers import FakeEscalation, make_settings, make_state


@pytest.fixture
def counting_builders(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Install the cache over counting wrappers of the framework's builders."""
    tool_schemas.uninstall()
    calls: dict[str, Any] = {name: 0 for name in tool_schemas._originals}
    calls["built"] = []
    for name, original in list(tool_schemas._originals.items()):

        def counted(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            calls[_name] += 1
            if _name == "build_strict_openai_schema":
                calls["built"].append(args[0].info.name)
            return _original(*args, **kw)

        monkeypatch.setitem(tool_schemas._originals, name, counted)
        monkeypatch.setattr(llm_utils, name, counted)
    assert tool_schemas.install() is True
    yield calls
    tool_schemas.uninstall()
    monkeypatch.undo()
    tool_schemas.install()


async def _all_agents(db: Any) -> list[llm.ToolContext]:
    state = await make_state(db, make_settings(), FakeEscalation(), verified=True)
    agents = [
        GreetingAgent(state),
        OrdersAgent(state),
        BillingAgent(state),
        WrapUpAgent(state),
        VerifyCallerTask(state),
    ]
    return [llm.ToolContext(a.tools) for a in agents]


async def test_cached_schemas_equal_the_frameworks_for_every_agent(db: Any) -> None:
    contexts = await _all_agents(db)
    tool_schemas.uninstall()
    try:
        expected_strict = [c.parse_function_tools("openai", strict=True) for c in contexts]
        expected_legacy = [c.parse_function_tools("openai", strict=False) for c in contexts]
    finally:
        assert tool_schemas.install() is True
    for _ in range(2):  # first call fills the cache, second one reads it
        assert [c.parse_function_tools("openai", strict=True) for c in contexts] == expected_strict
        assert [c.parse_function_tools("openai", strict=False) for c in contexts] == expected_legacy
    names = {s["function"]["name"] for schemas in expected_strict for s in schemas}
    assert {"route_to_orders", "lookup_order", "check_pin", "transfer_to_human"} <= names


async def test_each_tool_is_built_once_across_requests_and_agents(
    db: Any, counting_builders: dict[str, Any]
) -> None:
    state = await make_state(db, make_settings(), FakeEscalation(), verified=True)
    first = llm.ToolContext(OrdersAgent(state).tools)
    first.parse_function_tools("openai", strict=True)
    n_tools = len(first.function_tools)
    built = counting_builders["build_strict_openai_schema"]
    assert built == n_tools

    for _ in range(3):  # more requests to the same agent: nothing is rebuilt
        first.parse_function_tools("openai", strict=True)
    assert counting_builders["build_strict_openai_schema"] == built

    for _ in range(3):  # a new agent after each handoff: only its own end-call tool is new
        llm.ToolContext(OrdersAgent(state).tools).parse_function_tools("openai", strict=True)
    assert counting_builders["built"][built:] == ["end_call"] * 3


def test_a_caller_that_edits_a_schema_does_not_change_the_next_one() -> None:
    @function_tool
    async def look_up(ctx: RunContext, order_number: str) -> str:
        """Look up an order.

        Args:
            order_number: The order number the caller read out.
        """
        return order_number

    first = llm_utils.build_strict_openai_schema(look_up)
    first["function"]["parameters"]["properties"].clear()
    first["function"]["description"] = "edited"
    second = llm_utils.build_strict_openai_schema(look_up)
    assert second["function"]["description"].startswith("Look up an order.")
    assert "order_number" in second["function"]["parameters"]["properties"]


def test_bound_and_renamed_tools_get_their_own_entries() -> None:
    class Holder:
        @function_tool
        async def cancel(self, ctx: RunContext, order_number: str, reason: str = "") -> str:
            """Cancel an order."""
            return order_number

    bound = Holder().cancel
    unbound = Holder.__dict__["cancel"]
    bound_params = llm_utils.build_strict_openai_schema(bound)["function"]["parameters"]
    assert set(bound_params["properties"]) == {"order_number", "reason"}
    with pytest.raises(KeyError):  # `self` has no annotation: the framework's own error
        llm_utils.build_strict_openai_schema(unbound)

    renamed = function_tool(Holder.cancel, name="cancel_order", description="Cancel it.")
    schema = llm_utils.build_strict_openai_schema(renamed.__get__(Holder()))["function"]
    assert (schema["name"], schema["description"]) == ("cancel_order", "Cancel it.")
    assert llm_utils.build_strict_openai_schema(bound)["function"]["name"] == "cancel"


def test_tools_that_are_gone_leave_the_cache() -> None:
    def make_tool() -> Any:
        async def one_off(ctx: RunContext, note: str) -> str:
            """A tool made per call."""
            return note

        return function_tool(one_off)

    tool = make_tool()
    function = weakref.ref(tool._func)
    llm_utils.build_strict_openai_schema(tool)
    assert function() in tool_schemas._cache
    del tool
    gc.collect()
    assert function() is None  # the cache did not keep the agent's tool alive


def test_install_is_idempotent_and_leaves_a_changed_framework_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert tool_schemas.install() is True
    cached = llm_utils.build_strict_openai_schema
    assert tool_schemas.install() is True
    assert llm_utils.build_strict_openai_schema is cached

    tool_schemas.uninstall()

    def someone_elses(tool: Any) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(llm_utils, "build_strict_openai_schema", someone_elses)
    with caplog.at_level(logging.WARNING, logger="callcenter.framework.tool_schemas"):
        assert tool_schemas.install() is False
    assert llm_utils.build_strict_openai_schema is someone_elses
    assert "build_strict_openai_schema" in caplog.text
    assert getattr(llm_utils.function_arguments_to_pydantic_model, "_callcenter_cached", False)
    monkeypatch.undo()
    tool_schemas.uninstall()
    assert tool_schemas.install() is True
