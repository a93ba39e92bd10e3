"""Every livekit-agents detail the product relies on beyond (or at the edge of) the public
API, checked by name, so an upgrade that moves one fails here first with a clear message
instead of somewhere in a call.

Private internals, each used in exactly one module of `callcenter/framework/`:
- `realtime_chain`: the realtime fallback adapter's private session class and its `_swap`,
  `_adapter`, `_sessions` (exhaustion becomes a callback, not a dropped call);
- `tool_schemas`: the three schema builders it caches in `livekit.agents.llm.utils`, and a
  function tool's `_func` / `_instance` (the cache key);
- `silero_inline`: `silero.VADStream._loop`, set in `__init__` and read by `_main_task` only
  to run the model through `run_in_executor`;
- `session_tls`: `http_context._create_ssl_context`, cached per process, the context of the
  job's shared aiohttp session.

Names the product reads from public objects (a rename would silently break a feature):
- the fallback adapters' availability events and their instance field (`provider_switches`);
- `EndCallTool`'s tool name (`agents.shared_tools.END_CALL_TOOL_NAME`) and `GetDtmfTask`'s
  (`telephony.dtmf.KEYPAD_TASK_TOOL`), which the degraded mode answers;
- `Agent.realtime_llm_session` raising `RuntimeError` off a realtime model (`escalation.media`);
- a tool result that is a `ToolResult` subclass (`core.replies.ToolReply`) is accepted;
- the turn detector is asked with the chat context alone, never a `timeout` (`end_of_turn`).
"""

from __future__ import annotations

import dataclasses
import inspect

from livekit.agents import Agent, ToolResult, llm, stt, tts
from livekit.agents.beta.tools import EndCallTool
from livekit.agents.beta.workflows import GetDtmfTask
from livekit.agents.llm import realtime_fallback_adapter
from livekit.agents.llm import utils as llm_utils

from callcenter.agents.shared_tools import END_CALL_TOOL_NAME
from callcenter.behaviours.provider_switches import _EVENT_FIELD
from callcenter.core.replies import ToolReply
from callcenter.framework import tool_schemas
from callcenter.telephony.dtmf import KEYPAD_TASK_TOOL


def test_realtime_fallback_session_internals_used_by_the_greeting_chain() -> None:
    session_cls = getattr(realtime_fallback_adapter, "_FallbackRealtimeSession", None)
    assert session_cls is not None, "livekit-agents renamed _FallbackRealtimeSession"
    swap = getattr(session_cls, "_swap", None)
    assert swap is not None and inspect.iscoroutinefunction(swap), "_swap is gone"
    assert list(inspect.signature(swap).parameters) == ["self", "target_index", "was_speaking"]
    init = inspect.getsource(session_cls.__init__)
    assert "self._adapter = adapter" in init, "the session no longer keeps its adapter"
    adapter_init = inspect.getsource(llm.RealtimeModelFallbackAdapter.__init__)
    assert "self._sessions" in adapter_init, "the adapter no longer tracks its sessions"
    # A class attribute, not inspect.getsource(cls): that parses the module with `ast`, which
    # CPython 3.11 can fail ("AST constructor recursion depth mismatch") late in a long run.
    assert callable(session_cls.__dict__.get("_on_child_error")), "_on_child_error is gone"


def test_tool_schema_builders_and_function_tool_internals() -> None:
    for name in tool_schemas._BUILDERS:
        assert callable(getattr(llm_utils, name, None)), f"llm.utils.{name} is gone"

    @llm.function_tool
    async def probe(x: int) -> str:
        """Probe."""
        return str(x)

    assert getattr(probe, "_func", None) is not None, "FunctionTool._func is gone"
    assert hasattr(probe, "_instance"), "FunctionTool._instance is gone"


def test_availability_events_carry_the_instance_where_the_recorder_reads_it() -> None:
    events = {
        "llm": llm.fallback_adapter.AvailabilityChangedEvent,
        "stt": stt.fallback_adapter.AvailabilityChangedEvent,
        "tts": tts.fallback_adapter.AvailabilityChangedEvent,
        "realtime": realtime_fallback_adapter.RealtimeAvailabilityChangedEvent,
    }
    for kind, event in events.items():
        fields = {f.name for f in dataclasses.fields(event)}
        assert {_EVENT_FIELD[kind], "available"} <= fields, (kind, fields)


def test_end_call_tool_name() -> None:
    names = {tool.info.name for tool in EndCallTool().tools}
    assert names == {END_CALL_TOOL_NAME}


async def test_keypad_task_tool_name() -> None:
    task = GetDtmfTask(num_digits=4)
    assert KEYPAD_TASK_TOOL in {t.info.name for t in task.tools if hasattr(t, "info")}


def test_realtime_session_of_an_agent_off_a_realtime_model_raises_runtime_error() -> None:
    agent = Agent(instructions="x")
    try:
        agent.realtime_llm_session  # noqa: B018
    except RuntimeError:
        pass
    else:  # pragma: no cover - the contract changed
        raise AssertionError("Agent.realtime_llm_session no longer raises RuntimeError")


def test_a_tool_reply_is_a_tool_result_the_framework_unwraps() -> None:
    from livekit.agents.llm import FunctionCall
    from livekit.agents.llm.utils import make_function_call_output

    reply = ToolReply("You owe $5.00.", "Offer the invoices.")
    assert isinstance(reply, ToolResult)
    call = FunctionCall(call_id="c", name="get_balance", arguments="{}")
    out = make_function_call_output(fnc_call=call, output=reply, exception=None).fnc_call_out
    assert (out.output, out.is_error) == (reply.output, False)
    error = make_function_call_output(fnc_call=call, output=None, exception=reply.error())
    assert (error.fnc_call_out.output, error.fnc_call_out.is_error) == (reply.output, True)


def test_silero_streams_read_their_loop_only_to_run_the_model() -> None:
    from livekit.plugins import silero

    init = inspect.getsource(silero.VADStream.__init__)
    main = inspect.getsource(silero.VADStream._main_task)
    assert "self._loop = asyncio.get_event_loop()" in init
    assert main.count("self._loop.") == 1
    assert "self._loop.run_in_executor(None, self._model," in main


def test_the_framework_never_passes_a_timeout_to_the_turn_detector() -> None:
    """`end_of_turn.CallerTurnDetector` ignores the protocol's `timeout`: every call LiveKit
    makes to `predict_end_of_turn` passes the chat context alone. A release that starts
    passing one fails here, and the beat must then respect it."""
    import ast
    from pathlib import Path

    import livekit.agents

    calls = []
    for path in Path(livekit.agents.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "predict_end_of_turn"
            ):
                calls.append((path.name, len(node.args), [k.arg for k in node.keywords]))
    assert calls, "LiveKit no longer calls predict_end_of_turn: end_of_turn.py must follow"
    assert all(args == 1 and not keywords for _, args, keywords in calls), calls


async def test_the_session_tls_context_warmed_ahead_is_the_one_the_jobs_session_uses() -> None:
    from livekit.agents.utils import http_context

    from callcenter.framework.session_tls import warm_session_tls_context

    warmed = warm_session_tls_context()
    assert warm_session_tls_context() is warmed  # built once per process
    async with http_context.open():
        session = http_context.http_session()
        assert session.connector is not None
        assert session.connector._ssl is warmed  # aiohttp's TCPConnector keeps it there
