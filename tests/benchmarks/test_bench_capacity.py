"""The capacity benchmark's machinery: LLM request times assigned to turns as the in-process
responder assigned them, the profile summary, and one call with the emulators in their own
process (it completes and reports the product-only figures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.concurrency import run_level
from benchmarks.latency import Run, Turn, assign_llm_times
from benchmarks.profile_call import summarise


def test_llm_requests_go_to_the_turn_they_answer() -> None:
    run = Run(
        "x",
        [
            Turn(phrase="a", t_start=0.0, t_eos=2.0, t_audio=2.7),
            Turn(phrase="b", t_start=5.0, t_eos=7.0, t_audio=None),
        ],
    )
    # 1.2: before turn a's window; 1.6 and 2.1: turn a (the last one before its audio wins);
    # 2.9: after a's audio, before b's window (dropped); 6.6: turn b
    assign_llm_times(run, [2.1, 1.2, 1.6, 2.9, 6.6])
    assert (run.turns[0].t_llm, run.turns[1].t_llm) == (2.1, 6.6)


def test_the_profile_summary_groups_samples_by_component(tmp_path: Path) -> None:
    prof = tmp_path / "p.prof"
    loop = "main (x.py:1);_run_once (asyncio/base_events.py:1);Handle._run (asyncio/events.py:80)"
    prof.write_text(
        f"{loop};VADStream._main_task (silero/vad.py:424);OnnxModel.__call__ (silero/x.py:9) 6\n"
        f"{loop};AgentActivity.push_audio (agents/voice/agent_activity.py:1) 3\n"
        f"{loop};OrdersAgent.lookup (callcenter/agents/orders.py:5) 1\n"
    )
    text = summarise(prof)
    assert "10 samples on CPU" in text
    shares = {
        line[:45].strip(): line[45:].strip() for line in text.splitlines() if "%" in line[45:]
    }
    assert shares["Silero VAD (inference + executor hand-off)"] == "60.0%"
    assert shares["LiveKit agents: audio/voice plumbing"] == "30.0%"
    assert shares["our code (callcenter/)"] == "10.0%"


@pytest.mark.slow
def test_one_call_with_the_emulators_in_their_own_process() -> None:
    level = run_level(1, 2, separate=True)
    assert level["calls_ok"] == 1, level["errors"]
    assert level["missed_turns"] == 0
    assert level["cpu_per_call_pct_core"] > 0
    assert level["emulator_cpu_pct_core"] > 0


def test_the_largest_n_within_limits_names_smaller_levels_over_them() -> None:
    from benchmarks.concurrency import within_limits

    def level(n: int, p95: float, missed: int = 0, ok: int | None = None) -> dict[str, float]:
        return {"n": n, "overhead_p95_ms": p95, "missed_turns": missed, "calls_ok": ok or n}

    # the quiet lockstep run of 2026-11-30: a cold first level, then 12 and 16 within
    run = [level(8, 80.2), level(12, 26.6), level(16, 42.2), level(20, 152.9), level(24, 166.6)]
    assert within_limits(run) == (16, [8])
    assert within_limits([level(8, 14.5), level(12, 16.2)]) == (12, [])
    assert within_limits([level(8, 20.0, missed=1), level(12, 30.0, ok=11)]) == (0, [])
