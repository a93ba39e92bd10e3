"""`benchmarks.sip_capacity` offline: its arguments and how it counts failed calls and missed
turns (the real run needs livekit-server + livekit-sip and is a benchmark, not a test)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.sip_capacity import CallResult, cost, parse_args, report


def test_defaults_are_ten_calls_three_turns_dialled_at_once() -> None:
    args = parse_args([])
    assert (args.calls, args.turns, args.stagger) == (10, 3, 0.0)
    args = parse_args(["--calls", "4", "--turns", "2", "--stagger", "0.5"])
    assert (args.calls, args.turns, args.stagger) == (4, 2, 0.5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--calls", "0"], "at least 1"),
        (["--turns", "-2"], "at least 1"),
        (["--stagger", "-1"], "0 or more"),
        (["--stagger", "nan"], "0 or more"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err


def _turn(ms: float) -> dict[str, float]:
    return {"total": ms}


def test_report_counts_failures_by_reason_and_missed_turns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = [
        CallResult(0, turns=[_turn(900), _turn(1100)], greeting_ms=500),
        CallResult(1, failure="not answered", detail="no 200 OK", turns=[None, None]),
        CallResult(2, failure="dropped", turns=[_turn(1000), None], greeting_ms=700),
        CallResult(3, failure="no greeting heard", turns=[_turn(1200), _turn(1300)]),
    ]
    costs = {
        "cpu_pct_core_per_call": 5.0,
        "rss_mib_per_call": 200.0,
        "pss_mib_per_call": 90.0,
        "window_s": 10.0,
    }
    extra = {"load_before": (1.0, 1.0, 1.0), "load_after": (2.0, 2.0, 2.0)}
    payload = report(tmp_path, results, 4, 2, 0.0, costs, tmp_path, extra)

    assert payload["calls_ok"] == 1
    assert payload["failed"] == {"not answered": 1, "no greeting heard": 1, "dropped": 1}
    assert (payload["turns"], payload["missed_turns"]) == (8, 3)
    assert payload["caller_ear_ms"]["n"] == 5
    assert payload["caller_ear_ms"]["p50"] == 1100
    assert json.loads((tmp_path / "sip_capacity.json").read_text())["calls_ok"] == 1
    out = capsys.readouterr().out
    assert "call 01: not answered: no 200 OK" in out
    assert "call 02: dropped" in out


def test_cost_is_taken_while_every_answered_call_talked() -> None:
    a = CallResult(0, talk_start=10.0, talk_end=30.0)
    b = CallResult(1, talk_start=12.0, talk_end=28.0)
    unanswered = CallResult(2, failure="not answered")
    # (time, worker group CPU s, PSS MiB of busy job processes, their count)
    samples = [(11.0, 0.0, 0.0, 1), (12.0, 1.0, 200.0, 2), (20.0, 2.6, 220.0, 2), (29, 9, 0, 1)]
    got = cost(samples, [a, b, unanswered], rss=[150.0, 180.0])
    assert got["window_s"] == 8.0
    assert got["cpu_pct_core_per_call"] == pytest.approx(1.6 / 8.0 / 2 * 100)
    assert got["pss_mib_per_call"] == 110.0
    assert got["rss_mib_per_call"] == 180.0
    assert math.isnan(cost([], [unanswered], [])["cpu_pct_core_per_call"])
