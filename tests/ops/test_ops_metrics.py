"""The product's metrics: bounded labels, the relay from call processes to the worker's main
process (and what a killed call process leaves), and a real call's values.

The registry is the process's default one, shared by every test here, so each test reads
differences (`_delta`), never absolute values."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from callcenter.core.phases import Phase
from callcenter.core.state import CallState
from callcenter.observability import metrics, relay
from callcenter.observability.call_observer import (
    StateMetrics,
    call_ended,
    observe_call,
    watch_database,
)
from callcenter.telephony.sip import CallInfo
from callcenter.vocabulary import CallOutcome, TransferOutcome, VerificationStatus
from tests.fallbacks.support import emulator_settings, flow_responder, text_call
from tests.support.call_states import walk_to
from tests.support.emulators import OpenAIHTTPEmulator


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _delta(name: str, **labels: str) -> Callable[[], float]:
    before = value(name, **labels)
    return lambda: value(name, **labels) - before


def test_enum_labels_take_only_known_values() -> None:
    ended_other = _delta("callcenter_calls_ended_total", disposition="other")
    ended_resolved = _delta("callcenter_calls_ended_total", disposition="resolved")
    phases = _delta("callcenter_phase_transitions_total", from_phase="other", to_phase="billing")
    metrics.call_ended("Resolved", 12.0)
    metrics.call_ended("+14155550142", 3.0)  # never a label value
    metrics.phase_changed("teleport", "billing")
    assert ended_resolved() == 1
    assert ended_other() == 1
    assert phases() == 1
    assert value("callcenter_calls_ended_total", disposition="+14155550142") == 0.0


def test_free_labels_are_capped() -> None:
    own = metrics._Metrics(CollectorRegistry())  # its own registry: the cap is per process
    for i in range(metrics.FREE_LABEL_LIMIT + 10):
        own.apply("observe", "tool_latency_seconds", [f"made_up_tool_{i}", "ok"], 0.01, 1)
    own.apply("observe", "tool_latency_seconds", ["Robert'); DROP", "error"], 0.01, 1)
    tools = {
        s.labels["tool"]
        for m in own.registry.collect()
        if m.name == "callcenter_tool_latency_seconds"
        for s in m.samples
    }
    assert len(tools) == metrics.FREE_LABEL_LIMIT + 1
    assert "other" in tools
    assert not any("DROP" in t for t in tools)


def test_the_product_metrics_have_the_documented_names() -> None:
    names = {m.name for m in REGISTRY.collect() if m.name.startswith("callcenter_")}
    for expected in (
        "callcenter_calls_started",
        "callcenter_calls_ended",
        "callcenter_calls_active",
        "callcenter_call_duration_seconds",
        "callcenter_phase_transitions",
        "callcenter_verifications",
        "callcenter_transfer_attempts",
        "callcenter_time_to_human_seconds",
        "callcenter_callbacks_booked",
        "callcenter_provider_switches",
        "callcenter_turn_latency_seconds",
        "callcenter_llm_ttft_seconds",
        "callcenter_tts_ttfb_seconds",
        "callcenter_tool_latency_seconds",
        "callcenter_db_errors",
        "callcenter_journal_backlog",
    ):
        assert expected in names
    docs = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    for name in names:
        assert name in docs, f"{name} is not documented in docs/operations.md"


def test_label_sets_match_the_products_enums() -> None:
    assert set(metrics.PHASES) == {p.value for p in Phase}
    assert {o.value for o in CallOutcome} <= set(metrics.DISPOSITIONS)
    assert set(metrics.TRANSFER_OUTCOMES) == {o.value for o in TransferOutcome}
    assert set(metrics.VERIFICATION_RESULTS) == {v.value for v in VerificationStatus}


# -- the relay (call processes → the worker's main process) ---------------------------------


def _call_process(path: str, started: object, crash: bool) -> None:
    os.environ[relay.RELAY_ENV] = path
    metrics.call_started("sip")
    metrics.llm_ttft("openai", 0.42)
    metrics.phase_changed("greeting", "orders")
    if crash:
        started.set()  # type: ignore[attr-defined]
        time.sleep(60)  # killed here, mid-call
    metrics.call_ended("resolved", 30.0)


@pytest.fixture
def running_relay() -> Iterator[relay.MetricsRelay]:
    r = relay.start_relay(metrics.METRICS.apply)
    try:
        yield r
    finally:
        r.close()


def _wait(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_call_process_events_reach_the_main_process(running_relay: relay.MetricsRelay) -> None:
    ctx = mp.get_context("spawn")  # a fresh interpreter, as LiveKit's forkserver children
    started = _delta("callcenter_calls_started_total", transport="sip")
    ended = _delta("callcenter_calls_ended_total", disposition="resolved")
    ttft = _delta("callcenter_llm_ttft_seconds_sum", provider="openai")
    moves = _delta("callcenter_phase_transitions_total", from_phase="greeting", to_phase="orders")
    unused = ctx.Event()  # (kept referenced until the child has it)
    proc = ctx.Process(target=_call_process, args=(running_relay.path, unused, False))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    _wait(lambda: running_relay.received >= 5)
    assert (started(), ended(), moves()) == (1, 1, 1)
    assert ttft() == pytest.approx(0.42)
    assert metrics.METRICS.active_calls() == 0


def test_a_killed_call_process_counts_as_interrupted(running_relay: relay.MetricsRelay) -> None:
    ctx = mp.get_context("spawn")
    started_event = ctx.Event()
    interrupted = _delta("callcenter_calls_ended_total", disposition="interrupted")
    proc = ctx.Process(target=_call_process, args=(running_relay.path, started_event, True))
    proc.start()
    assert started_event.wait(60)
    _wait(lambda: running_relay.received >= 3)
    assert metrics.METRICS.active_calls() == 1
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert metrics.METRICS.active_calls() == 0  # the scrape drops the dead process's call
    assert interrupted() == 1
    assert metrics.METRICS.active_calls() == 0 and interrupted() == 1  # counted once


def test_without_a_relay_a_process_records_locally() -> None:
    assert relay.RELAY_ENV not in os.environ
    started = _delta("callcenter_calls_started_total", transport="console")
    metrics.call_started("console")
    assert started() == 1
    assert metrics.METRICS.active_calls() >= 1
    metrics.call_ended("resolved", 1.0)


# -- a real call's values ---------------------------------------------------------------------


async def test_a_calls_events_and_state_become_metrics(db_path: Path) -> None:
    """A text call through the product's call path (OpenAI emulator): verification, orders,
    a tool, the model's first token, then the end of the call."""
    async with OpenAIHTTPEmulator() as emu:
        emu.chat.responder = flow_responder("agent")
        settings = emulator_settings(f"sqlite+aiosqlite:///{db_path}", openai_url=emu.base_url)
        # a text call has no room (CallInfo.for_console: in_room=False): transport "console"
        started = _delta("callcenter_calls_started_total", transport="console")
        ended = _delta("callcenter_calls_ended_total", disposition="abandoned")
        to_orders = _delta(
            "callcenter_phase_transitions_total", from_phase="verification", to_phase="orders"
        )
        verified = _delta("callcenter_verifications_total", result="verified", factor="zip")
        lookups = _delta("callcenter_tool_latency_seconds_count", tool="lookup_order", result="ok")
        ttft = _delta("callcenter_llm_ttft_seconds_count", provider=emu.base_url.split("/")[2])
        async with text_call(settings) as call:
            observe_call(call.session, call.state, db=call.db)
            assert started() == 1
            await call.say("I want to check on my order")
            await call.say("my zip code is 94107")
            await call.say("order number 1001")
            record = await call.record()
        assert record["data"]["phases"][:3] == ["greeting", "verification", "orders"]
        assert to_orders() == 1
        assert verified() == 1
        assert lookups() == 1
        # one first-token time per reply, labelled with the provider that served it (the
        # plugin names a custom endpoint by its host:port)
        assert ttft() >= 3
        assert ended() == 1


def _state() -> CallState:
    state = CallState(call=CallInfo.for_console(caller_e164=None, call_id="m"), deps=None)  # type: ignore[arg-type]
    state.watch(StateMetrics(state))
    return state


def test_the_state_watcher_counts_each_change_once_as_it_happens() -> None:
    moves = _delta(
        "callcenter_phase_transitions_total", from_phase="greeting", to_phase="verification"
    )
    verified = _delta("callcenter_verifications_total", result="verified", factor="zip")
    state = _state()
    walk_to(state, Phase.ORDERS)  # greeting → verification (zip ok) → orders
    assert moves() == 1 and verified() == 1
    state.route_to(Phase.WRAP_UP, reason="done")
    assert moves() == 1 and verified() == 1  # nothing counted twice


def test_a_transfer_counts_its_attempts_and_time_to_a_human() -> None:
    no_answer = _delta("callcenter_transfer_attempts_total", mode="warm", outcome="no_answer")
    connected = _delta("callcenter_transfer_attempts_total", mode="warm", outcome="connected")
    humans = _delta("callcenter_time_to_human_seconds_count", mode="warm")
    to_human = _delta("callcenter_time_to_human_seconds_sum", mode="warm")
    switches = _delta("callcenter_provider_switches_total", kind="tts")
    state = walk_to(_state(), Phase.ORDERS)
    state.provider_switched("tts", "elevenlabs", "openai", reason="unavailable")
    state.begin_escalation(reason="caller asked")
    first = state.transfer_started("warm", "Alex")
    assert no_answer() == 0  # under way: not counted yet
    state.transfer_finished(first, TransferOutcome.NO_ANSWER, "rang out")
    second = state.transfer_started("warm", "Sam")
    state.transfer_finished(second, TransferOutcome.CONNECTED, "accepted")
    state.transferred("Sam")
    assert (no_answer(), connected(), humans(), switches()) == (1, 1, 1, 1)
    began = next(c.at for c in state.phase_history if c.to_phase is Phase.ESCALATION)
    assert to_human() == pytest.approx(state.transfer_attempts[-1].ended_at - began)


def test_a_locked_caller_and_a_callback_are_counted() -> None:
    locked = _delta("callcenter_verifications_total", result="locked", factor="none")
    unverified = _delta("callcenter_verifications_total", result="unverified", factor="none")
    callbacks = _delta("callcenter_callbacks_booked_total")
    duration = _delta("callcenter_call_duration_seconds_sum", disposition="callback")
    state = walk_to(_state(), Phase.VERIFICATION)
    for _ in range(3):
        state.factor_wrong()
    state.end_verification(reason="locked")
    state.callback_booked(7, "tomorrow morning")
    metrics.call_started("sip")
    call_ended(state, now=state.started_at + 42)
    assert (locked(), unverified(), callbacks()) == (1, 0, 1)
    assert duration() == pytest.approx(42)


async def test_database_errors_are_counted_by_kind(db_path: Path) -> None:
    import sqlalchemy as sa

    from callcenter.data import Database

    db = await Database.open(f"sqlite+aiosqlite:///{db_path}")
    errors = _delta("callcenter_db_errors_total", error="operational")
    try:
        watch_database(db)
        watch_database(db)  # once per engine
        with pytest.raises(sa.exc.OperationalError):
            async with db.transaction() as session:
                await session.execute(sa.text("SELECT * FROM no_such_table"))
    finally:
        await db.close()
    assert errors() == 1
