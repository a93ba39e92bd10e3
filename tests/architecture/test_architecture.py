"""The package's shape, checked from the source with `ast` (nothing is imported or run).

- No import loops between product modules (function-level and type-only imports count).
- Layers: a module imports only from lower layers, or from inside its own package. A new
  module must be given a layer in `LAYERS` before this test passes (decide where it sits).
- No product module over `MAX_LINES` lines.
- `CallState` has one door: outside `callcenter/core/state.py` nothing (product, tests or
  benchmarks) assigns the call's phase, outcome, verification or transfer fields, or
  appends to its histories; the state's own methods do.

`python -m tests.architecture` prints the layers and the package-level import graph.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
PACKAGE: Final = ROOT / "callcenter"
MAX_LINES: Final = 600

LAYERS: Final[tuple[tuple[str, ...], ...]] = (
    # words and small helpers every layer may use
    (
        "callcenter.vocabulary",
        "callcenter.constants",
        "callcenter.money",
        "callcenter.speech",
        "callcenter.spoken_numbers",
        "callcenter.redaction",
        "callcenter.prompts",
        "callcenter.framework",
        "callcenter.provider_clients",
    ),
    # reading a caller's words (amounts, identifiers, frustration); the curated policy answers
    ("callcenter.utterances", "callcenter.faq"),
    # turn-taking policy: is the caller done (read by DTMF, agents, the session's settings);
    # barge-in and filler behaviours the agents mix in
    ("callcenter.end_of_turn",),
    ("callcenter.barge_in", "callcenter.fillers"),
    ("callcenter.telephony",),
    ("callcenter.staff",),
    ("callcenter.business_hours",),
    ("callcenter.config",),
    # logs, metrics, traces, load: read the call state, never write it
    ("callcenter.observability",),
    # the call core: phases, state, ports; it never reaches the database (a port does)
    ("callcenter.core",),
    ("callcenter.data", "callcenter.provisioning"),
    # after a call (analysis, webhooks) and live call state for the console's board
    ("callcenter.live", "callcenter.postcall"),
    ("callcenter.accounts", "callcenter.agents", "callcenter.escalation"),
    ("callcenter.degraded",),
    ("callcenter.providers", "callcenter.turn_taking"),
    # what the forkserver does once for every call process (imports, caches, TLS)
    ("callcenter.preload",),
    ("callcenter.behaviours",),
    ("callcenter.call",),
    ("callcenter.console", "callcenter.worker", "callcenter.web"),
    ("callcenter.serve",),
    ("callcenter.cli",),
)
"""Bottom to top. Groups in one tuple are siblings: they never import each other."""

STATE_FIELDS: Final = frozenset(
    {
        "phase",
        "phase_history",
        "outcome",
        "transferred_to",
        "end_reason",
        "escalated_from",
        "intent",
        "transfer_attempts",
        "provider_switches",
        "verification",
    }
)
"""`CallState` fields only its methods write (plus everything under `.verification`)."""
HISTORIES: Final = frozenset({"phase_history", "transfer_attempts", "provider_switches"})
MUTATORS: Final = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "__setitem__", "sort", "reverse"}
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.relative_to(PACKAGE).parts
    }


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def import_graph() -> dict[str, set[str]]:
    """Module -> the product modules it imports (anywhere in the file)."""
    modules = product_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                if not target.startswith("callcenter"):
                    continue
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != name:
                    graph[name].add(resolved)
    return graph


def group_of(module: str) -> str:
    """`callcenter.agents.orders` -> `callcenter.agents`; top-level modules are their own."""
    return ".".join(module.split(".")[:2])


def layer_of(module: str) -> int | None:
    if module == "callcenter":
        return len(LAYERS)  # the package's own __init__: a docstring
    for index, groups in enumerate(LAYERS):
        if group_of(module) in groups:
            return index
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = itertools.count()

    def visit(node: str) -> None:
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# --------------------------------------------------------------------------- the graph


def test_the_scan_sees_the_package() -> None:
    graph = import_graph()
    assert "callcenter.core.state" in graph
    assert "callcenter.core.phases" in graph["callcenter.core.state"]
    assert "callcenter.agents.handoff" in graph["callcenter.agents.orders"]


def test_no_import_loops() -> None:
    assert _cycles(import_graph()) == []


def test_the_loop_finder_finds_loops() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in product_modules() if layer_of(m) is None)
    assert unplaced == [], "give these modules a layer in tests/architecture LAYERS"


def _upward(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        for target in targets:
            here, there = layer_of(module), layer_of(target)
            if here is None or there is None or group_of(module) == group_of(target):
                continue
            if there >= here:
                wrong.append(f"{module} -> {target}")
    return sorted(wrong)


def test_imports_only_go_down_or_stay_inside_a_package() -> None:
    assert _upward(import_graph()) == []


def test_an_upward_or_sideways_import_is_caught() -> None:
    graph = {
        "callcenter.core.state": {"callcenter.data.account"},  # the core reaching up
        "callcenter.agents.orders": {"callcenter.escalation.manager"},  # siblings
        "callcenter.telephony.dtmf": {"callcenter.degraded"},  # the old KEYPAD_PREFIX
        "callcenter.agents.base": {"callcenter.agents.handoff", "callcenter.core.state"},
    }
    assert _upward(graph) == [
        "callcenter.agents.orders -> callcenter.escalation.manager",
        "callcenter.core.state -> callcenter.data.account",
        "callcenter.telephony.dtmf -> callcenter.degraded",
    ]


def test_the_call_core_sits_under_the_agents_and_the_escalation() -> None:
    graph = import_graph()
    core = {m for m in graph if group_of(m) == "callcenter.core"}
    above = {"callcenter.agents", "callcenter.escalation", "callcenter.data"}
    assert not {group_of(t) for m in core for t in graph[m]} & above
    assert any(group_of(t) == "callcenter.core" for t in graph["callcenter.agents.orders"])
    assert any(group_of(t) == "callcenter.core" for t in graph["callcenter.escalation.manager"])


def test_no_product_module_is_over_the_size_limit() -> None:
    sizes = {m: len(p.read_text().splitlines()) for m, p in product_modules().items()}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}


# --------------------------------------------------------------------------- one door


def _stored_attributes(target: ast.expr) -> list[ast.Attribute]:
    """The attributes an assignment target writes into: `a.b = `, `a.b[i] = `, `a.b, c = `
    (not the attributes it only reads, such as a subscript's key)."""
    if isinstance(target, ast.Attribute):
        return [target]
    if isinstance(target, ast.Subscript | ast.Starred):
        return _stored_attributes(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [a for element in target.elts for a in _stored_attributes(element)]
    return []


def _state_writes(path: Path) -> list[str]:
    """Assignments to CallState-only fields (or `.verification.*`), and mutations of its
    histories, anywhere in `path`; `self.x = ...` on another class is not one."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in MUTATORS
                and isinstance(func.value, ast.Attribute)
                and func.value.attr in HISTORIES
            ):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(func)}(...)")
            if (
                isinstance(func, ast.Name)
                and func.id == "setattr"
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in STATE_FIELDS
            ):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
        for target in targets:
            for element in _stored_attributes(target):
                on_self = isinstance(element.value, ast.Name) and element.value.id == "self"
                under_verification = (
                    isinstance(element.value, ast.Attribute)
                    and element.value.attr == "verification"
                )
                if under_verification or (element.attr in STATE_FIELDS and not on_self):
                    found.append(f"{path.name}:{node.lineno} {ast.unparse(element)} =")
    return found


def _checked_files() -> list[Path]:
    files = [
        p
        for p in PACKAGE.rglob("*.py")
        # the data layer holds ORM rows (their `status`, `outcome` are columns) and imports
        # nothing of the call core, so it cannot hold a CallState
        if "data" not in p.relative_to(PACKAGE).parts[:1]
    ]
    files += list((ROOT / "tests").rglob("*.py")) + list((ROOT / "benchmarks").rglob("*.py"))
    return [p for p in files if p != PACKAGE / "core" / "state.py" and p != Path(__file__)]


def test_only_call_state_writes_the_call_state() -> None:
    writes = [w for path in _checked_files() for w in _state_writes(path)]
    assert writes == []


@pytest.mark.parametrize(
    "source",
    [
        "state.phase = Phase.ENDED",
        "ctx.userdata.outcome = CallOutcome.RESOLVED",
        "self.state.intent = None",
        "state.verification.status = VerificationStatus.VERIFIED",
        "state.verification.attempts += 1",
        "state.transfer_attempts.append(attempt)",
        "state.phase_history[-1] = change",
        "setattr(state, 'outcome', None)",
    ],
)
def test_the_one_door_check_catches_each_kind_of_write(source: str, tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source + "\n")
    assert _state_writes(probe), source


def test_the_one_door_check_leaves_other_objects_alone(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "self.outcome = outcome\nrow.status = 'open'\nitems.append(1)\ntable[agent.phase] = 1\n"
    )
    assert _state_writes(probe) == []


# --------------------------------------------------------------------------- the suite


def test_every_declared_marker_is_used_and_only_declared_ones_are() -> None:
    """pytest runs with --strict-markers (an undeclared marker is an error); this checks the
    other way: a marker declared in pyproject.toml is used by at least one test."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in config["addopts"]
    declared = {line.split(":", 1)[0].strip() for line in config["markers"]}
    source = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    unused = {m for m in declared if f"mark.{m}" not in source}
    assert unused == set()
