"""Prompts live as Markdown files in `prompts/`, one per agent or task.

`render("orders", company="...")` fills `{placeholders}` from facts computed in code.
A missing fact is an error (never a silently empty prompt), and `placeholders()` lets a
test check that every prompt renders with the facts its agent supplies.
"""

from __future__ import annotations

import functools
import string
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptError(KeyError):
    """A prompt file is missing or a placeholder was not supplied."""


@functools.cache
def load(name: str) -> str:
    """The raw text of `prompts/<name>.md` (cached: prompt files do not change at run time)."""
    path = PROMPTS_DIR / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"prompt file not found: {path}") from None


def placeholders(name: str) -> set[str]:
    """The `{names}` a prompt expects."""
    return {field for _, field, _, _ in string.Formatter().parse(load(name)) if field}


def render(name: str, *, caller_facing: bool = True, **facts: Any) -> str:
    """Render `prompts/<name>.md`; raises `PromptError` on a missing fact.

    Caller-facing prompts are prefixed with `prompts/_voice_rules.md` (the persona and
    the rules every agent that talks to a caller follows).
    """
    needed = placeholders(name) | (placeholders("_voice_rules") if caller_facing else set())
    missing = needed - facts.keys()
    if missing:
        raise PromptError(f"prompt {name!r} needs {sorted(missing)}")
    body = load(name).format(**facts)
    if not caller_facing:
        return body
    return load("_voice_rules").format(**facts) + "\n\n" + body
