"""The committed dispatch_rules/ parse, validate and dispatch the worker's agent."""

from __future__ import annotations

import re

from callcenter.constants import AGENT_NAME
from callcenter.provisioning.model import Kind
from callcenter.provisioning.spec import load_dir
from callcenter.provisioning.validate import validate
from tests.provisioning.helpers import EXAMPLE_ENV, RULES_DIR


def test_every_committed_file_parses_and_validates() -> None:
    desired = load_dir(RULES_DIR, EXAMPLE_ENV)
    assert validate(desired) == []
    assert {p.name for p in RULES_DIR.glob("*.json")} == {
        d.file.rsplit("/", 1)[-1] for d in desired
    }
    kinds = [d.kind for d in desired]
    assert kinds.count(Kind.INBOUND) >= 1
    assert kinds.count(Kind.OUTBOUND) >= 1
    assert kinds.count(Kind.DISPATCH) >= 1


def test_dispatch_rule_puts_each_caller_in_own_room_with_our_agent() -> None:
    rules = [d for d in load_dir(RULES_DIR, EXAMPLE_ENV) if d.kind is Kind.DISPATCH]
    for rule in rules:
        assert rule.info.rule.WhichOneof("rule") == "dispatch_rule_individual"
        assert rule.info.rule.dispatch_rule_individual.room_prefix
        assert [a.agent_name for a in rule.info.room_config.agents] == [AGENT_NAME]


def test_no_secret_or_number_is_committed() -> None:
    """Passwords, numbers and carrier addresses come from ${VAR}, never literals."""
    for path in RULES_DIR.glob("*.json"):
        text = path.read_text()
        assert not re.search(r"\+\d{6,}", text), path
        for field in ("auth_password", "auth_username", "address"):
            for value in re.findall(rf'"{field}"\s*:\s*"([^"]*)"', text):
                assert value.startswith("${"), (path, field)


def test_every_referenced_variable_is_documented() -> None:
    readme = (RULES_DIR / "README.md").read_text()
    referenced = set()
    for path in RULES_DIR.glob("*.json"):
        referenced |= set(re.findall(r"\$\{([A-Z0-9_]+)\}", path.read_text()))
    assert referenced == set(EXAMPLE_ENV)
    for name in referenced:
        assert name in readme, name
