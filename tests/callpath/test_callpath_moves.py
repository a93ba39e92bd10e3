"""The tool -> move graph (core/moves.py) against the transition table and the agents' code."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from callcenter import cli
from callcenter.agents.catalog import PHASE_AGENTS, phase_tools
from callcenter.core.moves import STAYING_TOOLS, TOOL_MOVES, Move, moves_from, render_mermaid
from callcenter.core.phases import Phase, check_transition


@pytest.mark.parametrize("move", TOOL_MOVES, ids=lambda m: f"{m.source}-{m.tool}")
def test_every_move_is_a_path_the_table_allows(move: Move) -> None:
    path = [move.source, *([move.via] if move.via else []), move.target]
    for before, after in itertools.pairwise(path):
        check_transition(before, after, verified=True)


@pytest.mark.parametrize("phase", sorted(phase_tools()), ids=str)
def test_every_moving_tool_is_offered_where_the_graph_says(phase: Phase) -> None:
    offered = phase_tools()[phase]
    moving_names = {m.tool for m in TOOL_MOVES}
    assert {m.tool for m in moves_from(phase)} == offered & moving_names
    assert offered >= STAYING_TOOLS


def _handoffs_in_code() -> set[tuple[Phase, str, Phase]]:
    """(agent's phase, tool, target) for every tool method that hands off in agents/*.py."""
    found: set[tuple[Phase, str, Phase]] = set()
    root = Path(__file__).resolve().parents[2] / "callcenter" / "agents"
    for path in root.glob("*.py"):
        for cls in ast.parse(path.read_text()).body:
            if not isinstance(cls, ast.ClassDef):
                continue
            phase = next(
                (
                    Phase[stmt.value.attr]
                    for stmt in cls.body
                    if isinstance(stmt, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "phase" for t in stmt.targets)
                    and isinstance(stmt.value, ast.Attribute)
                ),
                None,
            )
            if phase is None:
                continue
            for fn in cls.body:
                if not isinstance(fn, ast.AsyncFunctionDef) or fn.name.startswith("_"):
                    continue
                for call in ast.walk(fn):
                    if not isinstance(call, ast.Call):
                        continue
                    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                    if name not in ("handoff", "_route"):
                        continue
                    for arg in call.args:
                        if isinstance(arg, ast.Attribute) and getattr(arg.value, "id", "") == (
                            "Phase"
                        ):
                            found.add((phase, fn.name, Phase[arg.attr]))
    return found


def test_every_handoff_in_the_agents_code_is_a_row_of_the_graph() -> None:
    in_code = _handoffs_in_code()
    assert len(in_code) >= 7, "the scan found too few handoffs: is it still reading the code?"
    rows = {(m.source, m.tool, m.target) for m in TOOL_MOVES}
    assert in_code <= rows, in_code - rows
    agent_rows = {r for r in rows if r[2] in PHASE_AGENTS and r[0] in PHASE_AGENTS}
    assert agent_rows == in_code


def test_callcenter_graph_prints_every_move(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph"]) == 0
    out = capsys.readouterr().out
    for move in TOOL_MOVES:
        assert f"{move.tool}" in out and f"-> {move.target.value}" in out
    assert cli.main(["graph", "--mermaid"]) == 0
    assert capsys.readouterr().out.strip() == render_mermaid()
