"""Smoke test of `python -m benchmarks`: the quick data + provisioning sections (and, marked
slow, a two-utterance turn-taking run) complete and write their JSON. Benchmarks are
measurements, so nothing here asserts a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import data_queries, turns
from benchmarks.__main__ import main


async def test_data_section_tiny(tmp_path: Path) -> None:
    await data_queries.run(tmp_path, quick=True, n_orders=2_000, iterations=3)
    payload = json.loads((tmp_path / "data.json").read_text())
    assert payload["section"] == "data"
    assert {"n_orders", "iterations", "backends", "machine"} <= payload.keys()
    sqlite = payload["backends"]["sqlite"]
    assert set(sqlite["tools"]) == set(data_queries.TOOLS)
    for stats in sqlite["tools"].values():
        assert {"p50", "p99", "samples_ms"} <= stats.keys()
        assert len(stats["samples_ms"]) == 3
    pg = payload["backends"]["postgres"]
    assert "skipped" in pg or set(pg["tools"]) == set(data_queries.TOOLS)


def test_provisioning_section_via_cli(tmp_path: Path) -> None:
    assert main(["--quick", "--only", "provisioning", "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "provisioning.json").read_text())
    assert [s["step"] for s in payload["steps"]] == [
        "plan (empty project)",
        "apply (empty project)",
        "plan (converged)",
        "apply (converged, no-op)",
    ]
    assert payload["live_state"]["numbers"] == 100


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(SystemExit):
        main(["--only", "nope", "--out", str(tmp_path)])


async def test_console_section_tiny(tmp_path: Path) -> None:
    from benchmarks import console_pages

    await console_pages.run(tmp_path, n_calls=1_000, iterations=2, backends=("sqlite",))
    payload = json.loads((tmp_path / "console.json").read_text())
    pages = payload["backends"]["sqlite"]["pages"]
    assert {"live board", "history, newest", "call page", "callback queue (500)"} <= pages.keys()
    for stats in pages.values():
        assert len(stats["samples_ms"]) == 2 and stats["bytes"] > 0


@pytest.mark.slow
async def test_turns_section_tiny(tmp_path: Path) -> None:
    """Our session on a paused utterance and a control: both answered, one turn each."""
    await turns.run(tmp_path, sessions=("ours",), names=("s05", "sc04"))
    payload = json.loads((tmp_path / "turns.json").read_text())
    (ours,) = payload["results"]
    assert ours["label"] == "ours" and ours["utterances"] == 2 and ours["paused"] == 1
    assert ours["no_reply"] == [] and ours["cut_offs"] == 0
    assert [r["commits"] for r in ours["per_utterance"]] == [1, 1]
    assert {"first_audio_controls", "llm_per_paused", "cpu_pct_core"} <= ours.keys()
    assert len(payload["audio_model"]["rows"]) == 3  # s05's pause and end, sc04's end
