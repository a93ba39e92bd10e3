"""Every prompt file renders with the facts its agent supplies; a missing fact is an error."""

from __future__ import annotations

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
