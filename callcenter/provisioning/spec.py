"""Load `dispatch_rules/*.json` into LiveKit's protobuf request types.

File kinds are told apart by file name, because inbound and outbound trunk files have the
same top-level shape (`{"trunk": {...}}`):

- `inbound-*.json`  -> `CreateSIPInboundTrunkRequest`  (`lk sip inbound create FILE`)
- `outbound-*.json` -> `CreateSIPOutboundTrunkRequest` (`lk sip outbound create FILE`)
- `dispatch-*.json` -> `CreateSIPDispatchRuleRequest`  (`lk sip dispatch create FILE`)

Any string may reference the environment as `${VAR}`; an unset or empty variable is an
error naming the variable and the field. Parsing uses `json_format.ParseDict` without
`ignore_unknown_fields`, so a misspelt field is an error, not a silently dropped value.

One deliberate difference from `lk`: a dispatch rule's `trunk_ids` hold trunk *names*
from the inbound files, resolved to live IDs at plan time.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from livekit import api

from .model import (
    OUTPUT_ONLY_FIELDS,
    RESERVED_METADATA_KEYS,
    Desired,
    Kind,
    Problem,
    ProvisioningError,
    parse_metadata,
)

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

PREFIXES: dict[str, Kind] = {
    "inbound-": Kind.INBOUND,
    "outbound-": Kind.OUTBOUND,
    "dispatch-": Kind.DISPATCH,
}
_REQUEST_TYPES: dict[Kind, type[Any]] = {
    Kind.INBOUND: api.CreateSIPInboundTrunkRequest,
    Kind.OUTBOUND: api.CreateSIPOutboundTrunkRequest,
    Kind.DISPATCH: api.CreateSIPDispatchRuleRequest,
}
_TOP_KEY: dict[Kind, str] = {
    Kind.INBOUND: "trunk",
    Kind.OUTBOUND: "trunk",
    Kind.DISPATCH: "dispatch_rule",
}
_TOP_KEY_ALIASES = {"trunk": {"trunk"}, "dispatch_rule": {"dispatch_rule", "dispatchRule"}}


def kind_for(path: Path) -> Kind | None:
    for prefix, kind in PREFIXES.items():
        if path.name.startswith(prefix):
            return kind
    return None


def substitute_env(
    value: Any, env: Mapping[str, str], path: str, problems: list[Problem], file: str
) -> Any:
    """Replace `${VAR}` in every string of a JSON value, recording missing variables."""
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            found = env.get(name, "")
            if not found:
                problems.append(
                    Problem(file, path, f"environment variable {name} is not set (or is empty)")
                )
            return found

        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [substitute_env(v, env, f"{path}[{i}]", problems, file) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {
            k: substitute_env(v, env, f"{path}.{k}" if path else k, problems, file)
            for k, v in value.items()
        }
    return value


def unknown_fields(data: Any, descriptor: Any, path: str) -> list[tuple[str, str]]:
    """(path, message) for every key that is not a field of the protobuf message.

    `ParseDict` would also reject these, but only the first one and without a JSON path;
    this walk names each one and suggests the closest real field.
    """
    found: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        field = descriptor.fields_by_name.get(key) or descriptor.fields_by_camelcase_name.get(key)
        where = f"{path}.{key}" if path else key
        if field is None:
            names = list(descriptor.fields_by_name)
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append((where, f"unknown field for {descriptor.full_name}{hint}"))
            continue
        sub = field.message_type
        if sub is None or sub.GetOptions().map_entry:
            continue
        if isinstance(value, list):
            for i, item in enumerate(value):
                found.extend(unknown_fields(item, sub, f"{where}[{i}]"))
        else:
            found.extend(unknown_fields(value, sub, where))
    return found


_AT = re.compile(r"^(?P<msg>.*) at (?:Create\w+Request)\.(?P<path>[\w.\[\]]+?)\.*$")


def _parse_error(err: json_format.ParseError, top: str) -> tuple[str, str]:
    """(field path, message) from protobuf's ParseError text."""
    text = str(err).splitlines()[0].strip()
    # Nested errors repeat "Failed to parse X field: "; keep the innermost message.
    text = re.sub(r"^(Failed to parse \w+ field: )+", "", text)
    m = _AT.match(text)
    if m:
        return m.group("path"), m.group("msg")
    return top, text


def load_file(
    path: Path, display: str, env: Mapping[str, str]
) -> tuple[Desired | None, list[Problem]]:
    """Parse one file; returns the resource or the problems found in it."""
    problems: list[Problem] = []
    kind = kind_for(path)
    if kind is None:
        names = ", ".join(f"{p}*.json" for p in PREFIXES)
        return None, [Problem(display, "", f"unknown file kind: name it one of {names}")]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        return None, [Problem(display, "", f"cannot read: {e}")]
    except json.JSONDecodeError as e:
        return None, [Problem(display, "", f"invalid JSON at line {e.lineno}: {e.msg}")]
    if not isinstance(raw, dict):
        return None, [Problem(display, "", "top level must be a JSON object")]

    top = _TOP_KEY[kind]
    extra = sorted(set(raw) - _TOP_KEY_ALIASES[top])
    if extra:
        problems.append(
            Problem(display, extra[0], f"unexpected top-level field; put everything under {top!r}")
        )
    if not any(k in raw for k in _TOP_KEY_ALIASES[top]):
        problems.append(Problem(display, top, "missing"))
    if problems:
        return None, problems

    request = _REQUEST_TYPES[kind]()
    for where, message in unknown_fields(raw, request.DESCRIPTOR, ""):
        problems.append(Problem(display, where, message))
    if problems:
        return None, problems
    data = substitute_env(raw, env, "", problems, display)
    if problems:
        return None, problems
    try:
        json_format.ParseDict(data, request)
    except json_format.ParseError as e:
        where, message = _parse_error(e, top)
        return None, [Problem(display, where, message)]

    info = getattr(request, top)
    for name in OUTPUT_ONLY_FIELDS[kind]:
        field = info.DESCRIPTOR.fields_by_name[name]
        is_set = (
            info.HasField(name) if field.message_type is not None else bool(getattr(info, name))
        )
        if is_set:
            problems.append(Problem(display, f"{top}.{name}", "is set by LiveKit; remove it"))
    if not info.name:
        problems.append(
            Problem(display, f"{top}.name", "is required (rules match resources by name)")
        )
    if info.metadata:
        meta = parse_metadata(info.metadata)
        if meta is None:
            problems.append(Problem(display, f"{top}.metadata", "must be a JSON object string"))
        elif RESERVED_METADATA_KEYS & set(meta):
            keys = ", ".join(sorted(RESERVED_METADATA_KEYS & set(meta)))
            problems.append(
                Problem(display, f"{top}.metadata", f"keys reserved for setup_sip: {keys}")
            )
    if problems:
        return None, problems
    return Desired(kind=kind, name=info.name, file=display, info=info), []


def load_dir(rules_dir: Path, env: Mapping[str, str] | None = None) -> list[Desired]:
    """Load every `*.json` in `rules_dir`, raising `ProvisioningError` with all problems."""
    env = os.environ if env is None else env
    if not rules_dir.is_dir():
        raise ProvisioningError([Problem(str(rules_dir), "", "is not a directory")])
    files = sorted(rules_dir.glob("*.json"))
    if not files:
        raise ProvisioningError([Problem(str(rules_dir), "", "contains no *.json files")])
    desired: list[Desired] = []
    problems: list[Problem] = []
    for path in files:
        display = str(rules_dir / path.name)
        item, found = load_file(path, display, env)
        problems.extend(found)
        if item is not None:
            desired.append(item)
    if problems:
        raise ProvisioningError(problems)
    return desired
