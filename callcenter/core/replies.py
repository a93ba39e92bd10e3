"""A tool's answer, typed: what to tell the caller, and what the model should do next.

Tools used to return one sentence mixing both ("Order 1002 can be cancelled. Ask the caller:
should I cancel it?"), and the degraded mode guessed which sentences were for the caller with
regexes (one guess produced "You is now connected to..."). A `ToolReply` keeps them apart:

- `say`: facts written for the ear and addressed to the caller ("Your order 1002 ..."). The
  model may put them in its own words; the degraded mode reads them as they are.
- `do`: the next step for the model ("Ask whether to cancel it."). Never read out.

`render` is the one place the two become the text the model sees, and `parse` reads that text
back (the degraded mode sees tool outputs only as chat history). A `ToolReply` is the
framework's public `ToolResult`, so a tool returns it directly; `ToolReply.error()` makes the
`ToolError` for a failed step, rendered the same way.
"""

from __future__ import annotations

from typing import Final

from livekit.agents import ToolError, ToolResult

SAY: Final = "Say: "
DO: Final = "Then: "


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(say: str, do: str) -> str:
    """The text the model sees: a `Say:` line and a `Then:` line, either may be absent."""
    lines = []
    if say:
        lines.append(SAY + say)
    if do:
        lines.append(DO + do)
    return "\n".join(lines)


class ToolReply(ToolResult):
    """What a tool returns to the model; see the module docstring.

    `reply_required=False` asks the framework for no reply at all (the call is over).
    """

    say: str
    do: str

    def __init__(self, say: str = "", do: str = "", *, reply_required: bool = True) -> None:
        self.say = _one_line(say)
        self.do = _one_line(do)
        super().__init__(render(self.say, self.do), reply_required=reply_required)

    def error(self) -> ToolError:
        """The `ToolError` to raise for this reply (the step failed; the model is told why)."""
        return ToolError(render(self.say, self.do))

    def __repr__(self) -> str:
        return f"ToolReply(say={self.say!r}, do={self.do!r})"


def parse(text: str) -> ToolReply | None:
    """Read a rendered reply back; None when `text` is not one (framework-made outputs)."""
    say = do = ""
    for line in text.splitlines():
        if line.startswith(SAY):
            say = line.removeprefix(SAY)
        elif line.startswith(DO):
            do = line.removeprefix(DO)
        elif line.strip():
            return None
    if not (say or do):
        return None
    return ToolReply(say, do)
