"""A hostile model for the scripted-LLM double: it calls whatever tool serves an attack,
with whatever arguments, whenever that tool is offered.

`Hostile(plan)` is one script step that decides per request: the first entry of `plan`
whose tool is offered is called (its arguments may come from an iterator, e.g. a list of
PIN guesses) on every caller turn; entries and read-backs are words only. It
is pushed many times into a `ScriptedLLM`, so a test drives a call for as many caller turns
as it likes without writing each step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.callpath.helpers import settle
from tests.support.scripted_llm import Call, Reply, Request, ScriptedLLM, call, say

Arguments = dict[str, Any] | Callable[[], dict[str, Any] | None]


@dataclass
class Hostile:
    """One decision per request; see the module docstring."""

    plan: list[tuple[str, Arguments]]
    """(tool, arguments) in order of preference; arguments may be a function returning
    the next arguments, or None when it has nothing left to try."""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, request: Request) -> Reply | Call:
        last = request.items[-1] if request.items else None
        if last is None or getattr(last, "role", None) != "user":
            # an agent's entry, or a tool's result read back: words only, so every attack
            # happens on a caller's turn (as a model answering the caller would)
            return say("(says something)")
        for tool, arguments in self.plan:
            if tool not in request.tool_names:
                continue
            args = arguments() if callable(arguments) else dict(arguments)
            if args is None:
                continue
            self.calls.append((tool, args))
            return call(tool, **args)
        return say("(says something)")


def guesses(values: list[str], argument: str) -> Callable[[], dict[str, Any] | None]:
    """Arguments that take the next guess each time, None once they are used up."""
    remaining: Iterator[str] = iter(values)

    def next_guess() -> dict[str, Any] | None:
        value = next(remaining, None)
        return None if value is None else {argument: value}

    return next_guess


async def turn(session: Any, text: str) -> None:
    """One caller turn, then wait until the agent is done with it (a task that completes in
    its `on_enter` ends the run early; the rest of the turn follows in the session)."""
    await session.run(user_input=text)
    await settle(session)


def hostile_llm(policy: Hostile, steps: int = 200) -> ScriptedLLM:
    """A scripted model that applies `policy` to each of its next `steps` requests."""
    return ScriptedLLM(*([policy] * steps))
