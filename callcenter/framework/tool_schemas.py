"""Build each tool's schema once per process, not on every model request.

livekit-agents 1.8.9 rebuilds every function tool's pydantic argument model (from its
signature and docstring) and its OpenAI JSON schema each time it sends a chat request,
and rebuilds the model again each time a tool is called. Both depend only on the
function, its name and its description, so the work is identical every time; for the
orders agent's ten tools it cost 6.6-10 ms per request (0.2-0.6 ms cached; `python -m
benchmarks --only handoff` prints both), on the critical path of every turn in a
specialist phase and of the first reply after every handoff (BENCHMARKS.md, "Handoff").
`install()` puts a cache in front of the three builders in `livekit.agents.llm.utils`:

- `function_arguments_to_pydantic_model` (request schema and argument parsing);
- `build_strict_openai_schema` and `build_legacy_openai_schema` (the request's `tools`).

Keys hold the tool's underlying Python function weakly (tools made per agent, such as
closures, are dropped with it) plus what else the builder reads: whether the tool is
bound to an instance (a bound method's signature has no `self`), its name, its
description and the builder's options. Models are pydantic classes nobody mutates;
schemas are handed out as deep copies, so a caller that edits one cannot poison the
cache. If a later livekit-agents renames a builder, `install()` leaves it alone and logs
a warning: that cost comes back, behaviour does not change.
"""

from __future__ import annotations

import copy
import logging
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from livekit.agents.llm import utils as llm_utils

logger = logging.getLogger("callcenter.framework.tool_schemas")

_BUILDERS = (
    "function_arguments_to_pydantic_model",
    "build_strict_openai_schema",
    "build_legacy_openai_schema",
)
_originals: dict[str, Callable[..., Any]] = {
    name: getattr(llm_utils, name) for name in _BUILDERS if hasattr(llm_utils, name)
}
_cache: weakref.WeakKeyDictionary[Callable[..., Any], dict[Hashable, Any]] = (
    weakref.WeakKeyDictionary()
)


def _tool_key(tool: Callable[..., Any], extra: Hashable) -> tuple[Callable[..., Any], Hashable]:
    info = getattr(tool, "info", None)
    return getattr(tool, "_func", tool), (
        extra,
        getattr(tool, "_instance", None) is not None,
        getattr(tool, "__name__", None),
        getattr(info, "name", None),
        getattr(info, "description", None),
    )


def cached_build(name: str, tool: Callable[..., Any], **options: Any) -> Any:
    """`llm.utils.<name>(tool, **options)`, computed once per distinct tool and options."""
    build = _originals[name]
    try:
        underlying, key = _tool_key(tool, (name, tuple(sorted(options.items()))))
        per_function = _cache.get(underlying)
        if per_function is None:
            per_function = _cache[underlying] = {}
    except TypeError:  # unhashable option or a function that takes no weak reference
        return build(tool, **options)
    if key not in per_function:
        per_function[key] = build(tool, **options)
    value = per_function[key]
    return value if name == "function_arguments_to_pydantic_model" else copy.deepcopy(value)


def _cached(name: str) -> Callable[..., Any]:
    def builder(tool: Callable[..., Any], **options: Any) -> Any:
        return cached_build(name, tool, **options)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"Cached `livekit.agents.llm.utils.{name}` (see {__name__})."
    builder._callcenter_cached = True  # type: ignore[attr-defined]
    return builder


def install() -> bool:
    """Put the cache in front of the framework's builders (idempotent).

    Returns True when every builder is cached."""
    complete = True
    for name in _BUILDERS:
        current = getattr(llm_utils, name, None)
        if getattr(current, "_callcenter_cached", False):
            continue
        if current is None or current is not _originals.get(name):
            logger.warning(
                "livekit.agents.llm.utils.%s is not the function this cache was written for; "
                "it stays uncached (slower requests, same behaviour)",
                name,
            )
            complete = False
            continue
        setattr(llm_utils, name, _cached(name))
    return complete


def uninstall() -> None:
    """Restore the framework's own builders and forget what was cached (tests)."""
    for name, original in _originals.items():
        setattr(llm_utils, name, original)
    _cache.clear()
