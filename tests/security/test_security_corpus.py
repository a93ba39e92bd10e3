"""The hostile-input corpus (`tests/security/corpus.py`) against the product.

`python -m tests.security.corpus` runs this file and prints the counts. Inputs known not to
hold are strict xfails naming why. Speech and model-text inputs run as whole hostile calls
through `start_call` (tests/security/calls.py); after all of them, `test_scan` reads every
stored row and every log line those calls produced for the seeded customers' PINs, ZIP
codes, account digits, e-mails and phone numbers, and for every input that must hold.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from callcenter.agents.billing import BillingAgent
from callcenter.agents.greeting import GreetingAgent
from callcenter.agents.orders import OrdersAgent
from callcenter.config import Settings
from callcenter.core.phases import Phase
from callcenter.data import Database, SupervisorStore
from callcenter.data.models import Order, Return, Ticket
from callcenter.escalation.cli import run_command
from tests.callpath.helpers import (
    MAYA,
    MAYA_PIN,
    UNKNOWN,
    FakeEscalation,
    make_settings,
    make_state,
    output_of,
    running_session,
)
from tests.security import corpus
from tests.security.calls import (
    ECHO,
    Plan,
    act,
    hostile_call,
    product_log_lines,
    scan,
    scan_lines,
)
from tests.security.hostile import Hostile, guesses, hostile_llm, turn
from tests.security.test_security_other_findings import _parse
from tests.support.db import open_test_database
from tests.support.scripted_llm import ScriptedLLM, call, reply, say

CLOSED = "mon 00:00-00:01"
"""Business hours nobody is ever inside: a transfer is refused and the call goes on."""


def _settings(path: Path, tmp: Path) -> Settings:
    return make_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{path}",
        CALLCENTER_BUSINESS_HOURS=CLOSED,
        CALLCENTER_JOURNAL_DIR=str(tmp / "journal"),
    )


# --------------------------------------------------------------------------- whole calls


@dataclass
class Run:
    """One hostile call's stored traces."""

    caller_lines: list[str] = field(default_factory=list)
    agent_lines: list[str] = field(default_factory=list)
    handoff_reasons: list[str] = field(default_factory=list)
    tickets: list[tuple[str, str, str | None]] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


_RUNS: dict[str, Run] = {}


def _run(key: str, plan: Plan, *, caller: str | None = MAYA) -> Run:
    """The hostile call for `key`, run once per test process (a fresh database each)."""
    if key not in _RUNS:
        _RUNS[key] = asyncio.run(_call(key, plan, caller))
    return _RUNS[key]


async def _call(key: str, plan: Plan, caller: str | None) -> Run:
    run = Run()
    with tempfile.TemporaryDirectory() as tmp:
        async with open_test_database("sqlite", Path(tmp)) as db:
            path = Path(str(db.engine.url.database))
            with product_log_lines() as lines:
                record = await hostile_call(
                    db, _settings(path, Path(tmp)), plan, caller=caller, call_id=f"hostile-{key}"
                )
            run.logs = list(lines)
            run.caller_lines = [str(t["text"]) for t in record.transcript if t["role"] == "caller"]
            run.agent_lines = [str(t["text"]) for t in record.transcript if t["role"] == "agent"]
            run.handoff_reasons = [
                str(h["reason"]) for h in record.data.get("handoffs", []) if h["to"] == "escalation"
            ]
            async with db.session() as s:
                rows = await s.execute(
                    sa.select(Ticket.reason, Ticket.summary, Ticket.preferred_time).order_by(
                        Ticket.id
                    )
                )
                run.tickets = [tuple(r) for r in rows]  # type: ignore[misc]
                run.returns = list(
                    (await s.scalars(sa.select(Return.reason).order_by(Return.id))).all()
                )
            run.leaks = await scan(db)
    return run


def _verify_first(intent: str = "route_to_orders") -> Plan:
    return [
        ("I have a question, my PIN is coming", act(intent)),
        (MAYA_PIN, act("check_pin", pin=MAYA_PIN)),
    ]


_SETUP: dict[str, Plan] = {
    "greeting": [],
    "verification": [("I have a question about my order", act("route_to_orders"))],
    "specialist": _verify_first(),
    "after_lock": [
        ("about my order", act("route_to_orders")),
        *[(p, act("check_pin", pin=p)) for p in ("1111", "2222", "3333")],
    ],
}


def _speech_run(place: str) -> Run:
    plan = [*_SETUP[place], *[(case.text, ECHO) for case in corpus.SPEECH]]
    return _run(f"speech-{place}", plan)


def _cases(items: Any, ident: Any) -> list[Any]:
    return [
        pytest.param(
            *item,
            id=ident(*item),
            marks=[pytest.mark.xfail(strict=True, reason=item[-1].open)] if item[-1].open else [],
        )
        for item in items
    ]


@pytest.mark.parametrize(
    ("place", "case"),
    _cases([(p, c) for p in corpus.PLACES for c in corpus.SPEECH], lambda p, c: f"{p}-{c.id}"),
)
def test_speech(place: str, case: corpus.Said) -> None:
    run = _speech_run(place)
    index = [c.id for c in corpus.SPEECH].index(case.id)
    said = run.caller_lines[len(_SETUP[place]) + index]
    echoed = [line for line in run.agent_lines if line.startswith("I heard you say:")]
    stored = said + " | " + (echoed[index] if index < len(echoed) else "")
    assert not [f for f in case.forms if f in stored], stored


def _model_run(field_name: str) -> Run:
    texts = [w.text for w in corpus.MODEL_TEXT]
    if field_name == "transfer_reason":
        plan: Plan = [(f"a person please ({i})", act("transfer_to_human", reason=t))
                      for i, t in enumerate(texts)]  # fmt: skip
    elif field_name == "callback_reason":
        plan = [(f"call me back ({i})", act("request_callback", reason=t, preferred_time="soon"))
                for i, t in enumerate(texts)]  # fmt: skip
    elif field_name == "callback_time":
        plan = [(f"call me back ({i})", act("request_callback", reason="x", preferred_time=t))
                for i, t in enumerate(texts)]  # fmt: skip
    elif field_name == "refund_reason":
        plan = [*_verify_first("route_to_billing")]
        plan += [(f"refund ({i})", act("request_refund", invoice_number="INV-2001", amount="1",
                                       reason=t)) for i, t in enumerate(texts)]  # fmt: skip
    else:
        raise AssertionError(field_name)
    return _run(f"model-{field_name}", plan)


def _return_run(index: int) -> Run:
    text = corpus.MODEL_TEXT[index].text
    plan = [*_verify_first(), ("return it", act("start_return", order_number="1003", reason=text))]
    return _run(f"model-return-{index}", plan)


@pytest.mark.parametrize(
    ("field_name", "written"),
    _cases([(f, w) for f in corpus.FIELDS for w in corpus.MODEL_TEXT], lambda f, w: f"{f}-{w.id}"),
)
def test_model(field_name: str, written: corpus.Written) -> None:
    index = list(corpus.MODEL_TEXT).index(written)
    if field_name == "return_reason":
        run = _return_run(index)
        [stored] = run.returns
        stored += str(run.tickets)
    else:
        run = _model_run(field_name)
        if field_name == "transfer_reason":
            stored = run.handoff_reasons[index]
        elif field_name == "refund_reason":
            stored = str(run.tickets[index])
        else:
            stored = str(run.tickets[index])
    assert not [f for f in written.forms if f in stored], stored


def test_scan() -> None:
    """Every stored row and every log line of all the hostile calls above: no seeded secret,
    no form of an input that holds."""
    for place in corpus.PLACES:
        _speech_run(place)
    for field_name in corpus.FIELDS:
        if field_name == "return_reason":
            for index in range(len(corpus.MODEL_TEXT)):
                _return_run(index)
        else:
            _model_run(field_name)
    held = [f for c in corpus.SPEECH if not c.open for f in c.forms]
    held += [f for w in corpus.MODEL_TEXT if not w.open for f in w.forms]
    leaks = [leak for run in _RUNS.values() for leak in run.leaks]
    for run in _RUNS.values():
        leaks += scan_lines(run.logs, extra=held)
    assert sum(len(run.logs) for run in _RUNS.values()) > 100, "the calls logged nothing?"
    assert leaks == []


# --------------------------------------------------------------------------- bypasses


async def _state(db: Database, settings: Settings, *, caller: str = MAYA, **kw: Any) -> Any:
    return await make_state(db, settings, kw.pop("escalation", FakeEscalation(succeed=False)),
                            caller=caller, **kw)  # fmt: skip


async def _drive(state: Any, policy: Hostile, turns: int, agent: Any = None) -> None:
    async with running_session(state, hostile_llm(policy), agent or GreetingAgent(state)) as s:
        for _ in range(turns):
            if state.ended:
                break
            await turn(s, "hello")


WRONG = ["1111", "2222", "3333", "5555", "6666", "7777", "8888", "9999"]


async def _reroute_after_lock(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)
    await _drive(state, Hostile([("check_pin", guesses([*WRONG[:5], MAYA_PIN], "pin")),
                                 ("route_to_orders", {})]), 12)  # fmt: skip
    assert not state.verified


async def _parallel(db: Database, settings: Settings, calls: list[Any]) -> None:
    state = await _state(db, settings)
    scripted = ScriptedLLM(say("Hi"), call("route_to_orders"), reply("", *calls),
                           *([say("(reads back)")] * 20))  # fmt: skip
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await turn(session, "my order")
    assert not state.verified and state.verification.attempts <= 3


async def _parallel_pins(db: Database, settings: Settings) -> None:
    await _parallel(db, settings, [call("check_pin", pin=p) for p in [*WRONG[:3], MAYA_PIN]])


async def _parallel_mixed(db: Database, settings: Settings) -> None:
    await _parallel(db, settings, [call("check_zip_code", zip_code="10001"),
                                   call("check_account_last_four", last_four="0077"),
                                   call("check_pin", pin="7788"),
                                   call("check_zip_code", zip_code="94107")])  # fmt: skip


async def _lockout_across_calls(db: Database, settings: Settings) -> None:
    pins = iter(WRONG)
    for _ in range(2):
        state = await _state(db, settings)
        await _drive(state, Hostile([("check_pin", lambda: {"pin": next(pins)}),
                                     ("route_to_orders", {})]), 5)  # fmt: skip
    last = await _state(db, settings)
    await _drive(last, Hostile([("check_pin", guesses([MAYA_PIN], "pin")),
                                ("route_to_orders", {})]), 3)  # fmt: skip
    assert not last.verified


async def _switch_identity(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)  # caller ID says Maya
    await _drive(state, Hostile([
        ("identify_by_account_number", guesses(["ACC-100077"], "account_number")),
        ("check_pin", guesses(["7788"], "pin")),  # Daniel's PIN
        ("route_to_orders", {}),
    ]), 4)  # fmt: skip
    assert not state.verified and state.caller.first_name == "Maya"


async def _factor_before_identification(db: Database, settings: Settings) -> None:
    state = await _state(db, settings, caller=UNKNOWN)
    await _drive(state, Hostile([("check_pin", guesses([MAYA_PIN] * 5, "pin")),
                                 ("route_to_orders", {})]), 6)  # fmt: skip
    assert not state.verified and state.caller is None


async def _enumerate_accounts(db: Database, settings: Settings) -> None:
    state = await _state(db, settings, caller=UNKNOWN)
    numbers = [f"ACC-1000{n:02d}" for n in range(90, 99)] + ["ACC-100042"]
    await _drive(state, Hostile([
        ("identify_by_account_number", guesses(numbers, "account_number")),
        ("route_to_orders", {}),
    ]), 12)  # fmt: skip
    assert state.caller is None and not state.can_verify


async def _stop_and_restart(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)
    plan = iter([("check_pin", {"pin": "1111"}), ("check_pin", {"pin": "2222"}),
                 ("stop_verifying", {}), ("route_to_orders", {}), ("check_pin", {"pin": "3333"}),
                 ("route_to_orders", {}), ("check_pin", {"pin": MAYA_PIN})])  # fmt: skip
    await _follow(state, plan, 12)
    assert not state.verified


async def _follow(state: Any, plan: Any, turns: int) -> None:
    pending = list(plan)

    def step(request: Any) -> Any:
        last = request.items[-1] if request.items else None
        if getattr(last, "role", None) != "user" or not pending:
            return say("(words)")
        tool, args = pending[0]
        if tool not in request.tool_names:
            return call("route_to_orders") if "route_to_orders" in request.tool_names else say("x")
        pending.pop(0)
        return call(tool, **args)

    async with running_session(state, ScriptedLLM(*([step] * 80)), GreetingAgent(state)) as s:
        await turn(s, "my order")
        for _ in range(turns):
            if state.ended:
                break
            await turn(s, "hello")


async def _transfer_then_guess(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)
    plan = iter([("check_pin", {"pin": "1111"}), ("transfer_to_human", {"reason": "x"}),
                 ("check_pin", {"pin": "2222"}), ("check_pin", {"pin": "3333"}),
                 ("check_pin", {"pin": MAYA_PIN})])  # fmt: skip
    await _follow(state, plan, 8)
    assert not state.verified


async def _strong_needed(db: Database, settings: Settings, calls: list[Any]) -> Any:
    state = await make_state(db, settings, FakeEscalation(), verified=True, phase=Phase.ORDERS)
    scripted = ScriptedLLM(say("Hi"), *calls, *([say("(words)")] * 20))
    async with running_session(state, scripted, OrdersAgent(state)) as session:
        await session.run(user_input="cancel 1002")
        for _ in range(4):
            await turn(session, "hmm")
    async with db.session() as s:
        status = await s.scalar(sa.select(Order.status).where(Order.order_number == "1002"))
    return state, status


async def _step_up_skipped(db: Database, settings: Settings) -> None:
    _, status = await _strong_needed(db, settings, [call("cancel_order", order_number="1002",
                                                         confirmed=True)])  # fmt: skip
    assert status == "processing"


async def _step_up_same_factor(db: Database, settings: Settings) -> None:
    state, status = await _strong_needed(db, settings, [
        call("cancel_order", order_number="1002", confirmed=True),
        call("check_zip_code", zip_code="94107"),
    ])  # fmt: skip
    assert status == "processing" and state.assurance == "basic"


async def _step_up_wrong_pins(db: Database, settings: Settings) -> None:
    state, status = await _strong_needed(db, settings, [
        call("cancel_order", order_number="1002", confirmed=True),
        call("check_pin", pin="1111"), say("no"), call("check_pin", pin="2222"), say("no"),
        call("check_pin", pin="3333"),
    ])  # fmt: skip
    assert status == "processing" and not state.verified


async def _account_tool_unverified(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)
    scripted = ScriptedLLM(say("Hi"), call("lookup_order", order_number="1001"), say("?"))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        result = await session.run(user_input="order 1001")
        out = output_of(result.expect.next_event(), is_error=True)  # not even a call
    assert out.startswith("Unknown function: lookup_order") and "shipped" not in out


async def _handoff_not_offered(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)
    scripted = ScriptedLLM(say("Hi"), call("transfer_to_billing"), say("?"))
    async with running_session(state, scripted, GreetingAgent(state)) as session:
        await session.run(user_input="billing")
    assert state.phase is Phase.GREETING and not state.verified


async def _huge_pin(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)
    await _drive(state, Hostile([("check_pin", guesses(["4" * 1_000_000, "4421" * 50], "pin")),
                                 ("route_to_orders", {})]), 4)  # fmt: skip
    assert not state.verified and state.verification.attempts == 0


async def _fullwidth_pin(db: Database, settings: Settings) -> None:
    state = await _state(db, settings)
    await _drive(state, Hostile([("check_pin", guesses(["４４２１"], "pin")),
                                 ("route_to_orders", {})]), 3)  # fmt: skip
    assert not state.verified


BYPASS = {
    "reroute-after-lock": _reroute_after_lock,
    "parallel-pins": _parallel_pins,
    "parallel-mixed-factors": _parallel_mixed,
    "lockout-across-calls": _lockout_across_calls,
    "switch-identity-by-account": _switch_identity,
    "factor-before-identification": _factor_before_identification,
    "enumerate-accounts": _enumerate_accounts,
    "stop-and-restart": _stop_and_restart,
    "transfer-then-keep-guessing": _transfer_then_guess,
    "step-up-skipped-check": _step_up_skipped,
    "step-up-same-factor": _step_up_same_factor,
    "step-up-wrong-pins": _step_up_wrong_pins,
    "account-tool-unverified": _account_tool_unverified,
    "handoff-not-offered": _handoff_not_offered,
    "huge-pin": _huge_pin,
    "fullwidth-pin": _fullwidth_pin,
}
assert set(BYPASS) == set(corpus.BYPASSES)


@pytest.mark.parametrize("name", corpus.BYPASSES)
async def test_bypass(name: str, db: Database, settings: Settings) -> None:
    await BYPASS[name](db, settings)


# --------------------------------------------------------------------------- tool arguments

OTHERS = ("Daniel", "Okafor", "Sofia", "Ramirez", "10001", "60601", "UPS", "FedEx", "$")
"""What disclosing another customer's order or invoice would show (names, ZIPs, carriers,
amounts)."""


async def _tool(state: Any, agent: Any, tool: str, arguments: dict[str, Any]) -> str:
    scripted = ScriptedLLM(say("Hi"), call(tool, **arguments), say("(reads back)"),
                           *([say("(words)")] * 5))  # fmt: skip
    async with running_session(state, scripted, agent) as session:
        result = await session.run(user_input="(caller asks)")
        result.expect.skip_next()
        return str(result.expect.next_event().event().item.output)


async def _strong(db: Database, settings: Settings, tool: str) -> tuple[Any, Any]:
    billing = tool in ("explain_charge", "request_refund")
    state = await make_state(db, settings, FakeEscalation(), verified=True, factor="pin",
                             phase=Phase.BILLING if billing else Phase.ORDERS)  # fmt: skip
    return state, (BillingAgent(state) if billing else OrdersAgent(state))


@pytest.mark.parametrize(
    ("name", "tool", "arguments"), corpus.CROSS, ids=[c[0] for c in corpus.CROSS]
)
async def test_cross(name: str, tool: str, arguments: dict[str, Any], db: Database,
                     settings: Settings) -> None:  # fmt: skip
    state, agent = await _strong(db, settings, tool)
    output = await _tool(state, agent, tool, arguments)
    assert any(
        refusal in output for refusal in ("found on your account", "is not an", "no invoice")
    ), output
    assert not [o for o in OTHERS if o in output], output
    async with db.session() as s:
        statuses = dict((await s.execute(sa.select(Order.order_number, Order.status))).all())
        tickets = await s.scalar(sa.select(sa.func.count()).select_from(Ticket))
    assert statuses["3001"] == "processing" and tickets == 0


@pytest.mark.parametrize(("name", "tool", "arguments"), corpus.OVERSIZE,
                         ids=[c[0] for c in corpus.OVERSIZE])  # fmt: skip
async def test_oversize(name: str, tool: str, arguments: dict[str, Any], db: Database,
                        settings: Settings) -> None:  # fmt: skip
    state, agent = await _strong(db, settings, tool)
    output = await _tool(state, agent, tool, arguments)
    assert len(output) < 400, f"{len(output)} characters echoed"
    assert "4111" not in output and "4421" not in output
    async with db.session() as s:
        returns = await s.scalar(sa.select(sa.func.count()).select_from(Return))
        tickets = await s.scalar(sa.select(sa.func.count()).select_from(Ticket))
    assert (returns, tickets) == (1, 0)  # the seeded return only; nothing written


# --------------------------------------------------------------------------- the roster

_GOOD = {"name": "Alex Rivera", "contact": "+14155550100", "hours": "mon-fri 09:00-17:00"}


@pytest.mark.parametrize(("name", "change"), corpus.ROSTER, ids=[c[0] for c in corpus.ROSTER])
async def test_roster(name: str, change: dict[str, str], tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    values = {**_GOOD, **change}
    argv = ["add", "--name", values["name"], "--contact", values["contact"], "--skills",
            "general", "--timezone", "America/Los_Angeles", "--hours", values["hours"]]  # fmt: skip
    async with open_test_database("sqlite", tmp_path, seed=False) as db:
        store = SupervisorStore(db)
        args = _parse(*argv)
        code = await run_command(args.command_fn, args, store, io.StringIO())
        assert code == 2 and capsys.readouterr().err.startswith("error: ")
        assert await store.list() == []
