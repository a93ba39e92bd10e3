"""Prompts live as Markdown files in `prompts/`, one per agent or task; the fixed sentences
the product says itself live in `prompts/lines.toml`.

`render("orders", company="...")` fills `{placeholders}` from facts computed in code.
A missing fact is an error (never a silently empty prompt), and `placeholders()` lets a
test check that every prompt renders with the facts its agent supplies.

`line("timers.still_there")` is one fixed caller-facing sentence (hold messages, the
inactivity prompt, the degraded mode's own words, the spoken part of fixed tool replies);
`variants("escalation.reassurance")` is a list of interchangeable ones. Wording changes
there, not in code; tests check that every line the code names exists and renders.
"""

from __future__ import annotations

import functools
import string
import tomllib
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
LINES_FILE = PROMPTS_DIR / "lines.toml"


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


@functools.cache
def all_lines() -> dict[str, str | tuple[str, ...]]:
    """Every entry of `prompts/lines.toml`, keyed `section.name` (cached)."""
    with LINES_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    flat: dict[str, str | tuple[str, ...]] = {}

    def walk(prefix: str, table: dict[str, Any]) -> None:
        for key, value in table.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            elif isinstance(value, list):
                flat[name] = tuple(" ".join(str(v).split()) for v in value)
            else:
                flat[name] = " ".join(str(value).split())

    walk("", data)
    return flat


def _entry(key: str) -> str | tuple[str, ...]:
    try:
        return all_lines()[key]
    except KeyError:
        raise PromptError(f"no line {key!r} in {LINES_FILE}") from None


def _fill(key: str, text: str, facts: dict[str, Any]) -> str:
    needed = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    missing = needed - facts.keys()
    if missing:
        raise PromptError(f"line {key!r} needs {sorted(missing)}")
    return text.format(**facts)


def line(key: str, **facts: Any) -> str:
    """One fixed sentence from `prompts/lines.toml`, with its `{facts}` filled in."""
    entry = _entry(key)
    if not isinstance(entry, str):
        raise PromptError(f"line {key!r} is a list: use variants()")
    return _fill(key, entry, facts)


def variants(key: str, **facts: Any) -> tuple[str, ...]:
    """Interchangeable sentences from `prompts/lines.toml` (a list entry)."""
    entry = _entry(key)
    if isinstance(entry, str):
        return (_fill(key, entry, facts),)
    return tuple(_fill(key, text, facts) for text in entry)
