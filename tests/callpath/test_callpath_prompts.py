"""Every prompt file renders with the facts its agent supplies; a missing fact is an error."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from callcenter import prompts
from callcenter.agents.billing import BillingAgent
from callcenter.agents.catalog import CATALOG
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.agents.verification import VerifyCallerTask
from callcenter.agents.wrap_up import WrapUpAgent
from callcenter.core.phases import Phase
from callcenter.core.ports import CallDeps, CallerMatch
from callcenter.core.state import CallState
from callcenter.telephony.sip import CallInfo
from tests.callpath.helpers import FakeEscalation, make_settings
from tests.support.call_states import walk_to

AGENT_PROMPTS = {
    GreetingAgent: "greeting",
    OrdersAgent: "orders",
    BillingAgent: "billing",
    WrapUpAgent: "wrap_up",
    VerifyCallerTask: "verification",
}


def _state() -> CallState:
    settings = make_settings(CALLCENTER_COMPANY_NAME="Acme Parts", CALLCENTER_VERIFY_ATTEMPTS=4)
    return CallState(
        call=CallInfo.for_console(caller_e164=None, call_id="t"),
        deps=CallDeps(
            settings=settings,
            escalation=FakeEscalation(),
            accounts=None,  # type: ignore[arg-type]  # prompts read no account
            agents=CATALOG,
        ),
        caller=CallerMatch(customer_id=1, first_name="Maya"),
    )


def test_every_prompt_file_belongs_to_something() -> None:
    files = {p.stem for p in prompts.PROMPTS_DIR.glob("*.md")}
    assert files == {*AGENT_PROMPTS.values(), "_voice_rules", "supervisor_briefing"}


# async: an AgentTask needs a running event loop to be constructed
@pytest.mark.parametrize("agent_type", list(AGENT_PROMPTS), ids=lambda t: t.__name__)
async def test_agent_prompt_renders_with_its_facts(agent_type: type) -> None:
    agent = agent_type(_state())
    text = agent.instructions
    assert "{" not in text and "}" not in text, "an unfilled placeholder is left"
    assert "Acme Parts" in text  # the company comes from settings, via _voice_rules
    assert text.startswith(prompts.load("_voice_rules").split("{company}")[0])
    name = AGENT_PROMPTS[agent_type]
    first_line = prompts.load(name).splitlines()[0].split("{")[0]
    assert first_line in text


def test_specialists_address_the_matched_caller() -> None:
    state = _state()
    assert "Maya" in OrdersAgent(state).instructions
    assert "Maya" in BillingAgent(state).instructions


async def test_verification_prompt_states_the_configured_attempts() -> None:
    assert "4 attempts" in VerifyCallerTask(_state()).instructions


def test_greeting_context_differs_for_a_returning_caller() -> None:
    state = _state()
    first = GreetingAgent(state).instructions
    assert "Open with: thanks for calling Acme Parts" in first
    walk_to(state, Phase.GREETING, verified=True)  # a whole request done, then another
    again = GreetingAgent(state).instructions
    assert "back from another request" in again and "Open with" not in again


def test_supervisor_briefing_renders_without_voice_rules() -> None:
    facts = {name: f"<{name}>" for name in prompts.placeholders("supervisor_briefing")}
    text = prompts.render("supervisor_briefing", caller_facing=False, **facts)
    assert all(f"<{name}>" in text for name in facts)
    assert "How you speak" not in text


@pytest.mark.parametrize("name", ["orders", "billing", "greeting", "verification", "wrap_up"])
def test_missing_fact_raises_prompt_error(name: str) -> None:
    needed = prompts.placeholders(name) | prompts.placeholders("_voice_rules")
    facts = {k: "x" for k in needed}
    dropped = sorted(needed)[0]
    del facts[dropped]
    with pytest.raises(prompts.PromptError, match=dropped):
        prompts.render(name, **facts)


def test_unknown_prompt_raises_prompt_error() -> None:
    with pytest.raises(prompts.PromptError, match="not found"):
        prompts.render("no_such_prompt")


def _named_lines() -> set[str]:
    """Every `prompts.line/variants("key")` and degraded `_line("key")` the product names."""
    names: set[str] = set()
    for path in Path(prompts.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("line", "variants"):
                names.add(first.value)
            elif name == "_line" and path.name == "degraded.py":
                names.add(f"degraded.{first.value}")
    return names


def test_every_line_the_code_names_exists_and_every_line_is_used() -> None:
    named = _named_lines()
    assert named, "the scan found no line at all"
    assert named == set(prompts.all_lines())


@pytest.mark.parametrize("key", sorted(prompts.all_lines()))
def test_every_line_renders_with_its_facts(key: str) -> None:
    entry = prompts.all_lines()[key]
    texts = [entry] if isinstance(entry, str) else list(entry)
    for text in texts:
        facts = {f: f"<{f}>" for _, f, _, _ in string.Formatter().parse(text) if f}
        rendered = prompts.variants(key, **facts)
        assert all("{" not in r and "}" not in r for r in rendered)
        assert all(f"<{f}>" in " ".join(rendered) for f in facts)
    if facts:
        with pytest.raises(prompts.PromptError, match=sorted(facts)[0]):
            prompts.variants(key)


def test_an_unknown_line_is_an_error() -> None:
    with pytest.raises(prompts.PromptError, match="no line"):
        prompts.line("timers.no_such_line")
