"""Compute the plan: which creates, updates and deletes turn the live state into the files.

Resources are matched by (kind, name) among *managed* live resources only. Comparison is
field by field on LiveKit's own message types, flattened to dotted leaf paths
(`rule.dispatch_rule_individual.room_prefix`), ignoring what LiveKit sets itself (IDs,
timestamps). Lists of numbers, addresses and trunk IDs compare as sets.

Updates use the partial `update` form of the Update* requests (only the changed fields)
when every changed field exists in LiveKit's `SIP*Update` message. Some fields have no
partial form (e.g. a dispatch rule's `room_config` or `hide_phone_number`, a trunk's
`headers` or `krisp_enabled`); then the update is sent as `replace` with the whole
desired resource. The plan says which form each update uses.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict

from .model import (
    FINGERPRINT_KEY,
    MASK,
    OUTPUT_ONLY_FIELDS,
    Action,
    Change,
    Desired,
    FieldChange,
    Kind,
    Live,
    Plan,
    Problem,
    ProvisioningError,
    managed_metadata,
    parse_metadata,
)
from .validate import dispatch_conflicts, inbound_conflicts

NEW_ID_PREFIX = "<new:"
"""Placeholder trunk ID for a trunk that the same run will create: `<new:NAME>`."""

SET_LIKE = frozenset(
    {"numbers", "allowed_addresses", "allowed_numbers", "trunk_ids", "inbound_numbers"}
)

UPDATABLE: dict[Kind, frozenset[str]] = {
    Kind.INBOUND: frozenset(
        {
            "numbers",
            "allowed_addresses",
            "allowed_numbers",
            "auth_username",
            "auth_password",
            "name",
            "metadata",
            "media",
        }
    ),
    Kind.OUTBOUND: frozenset(
        {
            "address",
            "transport",
            "numbers",
            "auth_username",
            "auth_password",
            "name",
            "metadata",
            "media",
        }
    ),
    Kind.DISPATCH: frozenset({"trunk_ids", "rule", "name", "metadata", "attributes"}),
}
"""Top-level fields the client's `update_*_fields` methods (partial updates) can change."""


SERVER_FILLED: dict[Kind, frozenset[str]] = {kind: frozenset() for kind in Kind}
"""Top-level fields LiveKit may fill in by itself (a value live, none in the file).

Empty against the emulator. If a LiveKit version starts returning defaults for fields the
files leave out, `plan` would show them as a change on every run; list them here so that
"set live, unset in the file" is not treated as drift for those fields.
"""


def new_id(name: str) -> str:
    return f"{NEW_ID_PREFIX}{name}>"


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        # an empty sub-message is "unset": livekit-server fills `media: {}` into every
        # dispatch rule it creates (SIPDispatchRuleInfo.Upgrade), which a file never has
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else k, out)
    else:
        out[prefix] = value


def comparable(kind: Kind, info: Any) -> dict[str, Any]:
    """The resource as {dotted path: value}, secrets replaced by their fingerprint."""
    copy = type(info)()
    copy.CopyFrom(info)
    for name in (*OUTPUT_ONLY_FIELDS[kind], "metadata"):
        copy.ClearField(name)
    if kind is not Kind.DISPATCH:
        copy.ClearField("auth_password")
    flat: dict[str, Any] = {}
    _flatten(MessageToDict(copy, preserving_proto_field_name=True), "", flat)
    flat.pop("", None)
    for key in SET_LIKE & set(flat):
        if isinstance(flat[key], list):
            flat[key] = sorted(flat[key])
    meta = parse_metadata(info.metadata)
    if meta is None and info.metadata:
        meta = {"<raw>": info.metadata}
    for k, v in (meta or {}).items():
        if k == FINGERPRINT_KEY:
            flat["auth_password"] = v
        else:
            flat[f"metadata.{k}"] = v
    return flat


def _display(path: str, value: Any, id_names: dict[str, str]) -> Any:
    if path == "auth_password":
        return MASK if value else None
    if path == "trunk_ids" and isinstance(value, list):
        return [id_names.get(v, v) for v in value]
    return value


def field_changes(
    kind: Kind, old: Any | None, new: Any, id_names: dict[str, str]
) -> list[FieldChange]:
    """Leaf differences between two resources, display-safe (secrets masked)."""
    a = comparable(kind, old) if old is not None else {}
    b = comparable(kind, new)
    changes = []
    for path in sorted(set(a) | set(b)):
        if path not in b and path.split(".")[0] in SERVER_FILLED[kind]:
            continue
        if a.get(path) != b.get(path):
            old, new = _display(path, a.get(path), id_names), _display(path, b.get(path), id_names)
            if path == "auth_password" and old and new:
                new = f"{MASK} (changed)"  # both masked; say that it differs
            changes.append(FieldChange(path, old, new))
    return changes


def _top_fields(changes: list[FieldChange]) -> set[str]:
    tops = {c.path.split(".")[0] for c in changes}
    if "auth_password" in tops:
        tops.add("metadata")  # the fingerprint lives in metadata
    return tops


def update_mode(kind: Kind, desired: Any, tops: set[str]) -> str:
    """ "fields" when LiveKit's partial update can express the change, else "replace"."""
    if not tops <= UPDATABLE[kind]:
        return "replace"
    for top in tops:
        field = desired.DESCRIPTOR.fields_by_name[top]
        is_message = (
            field.message_type is not None and not field.message_type.GetOptions().map_entry
        )
        if is_message and not desired.HasField(top):
            return "replace"  # partial updates cannot clear a message field
        if top == "attributes" and not desired.attributes:
            return "replace"  # nor empty a map
    return "fields"


def final_info(d: Desired, secret_key: str, trunk_ids: dict[str, str]) -> Any:
    """The resource exactly as it should exist: mark in metadata, trunk names resolved."""
    info = type(d.info)()
    info.CopyFrom(d.info)
    password = "" if d.kind is Kind.DISPATCH else d.info.auth_password
    info.metadata = managed_metadata(d.info.metadata, password, secret_key)
    if d.kind is Kind.DISPATCH:
        resolved = [trunk_ids.get(name, new_id(name)) for name in d.info.trunk_ids]
        del info.trunk_ids[:]
        info.trunk_ids.extend(resolved)
    return info


def compute_plan(desired: list[Desired], live: list[Live], secret_key: str, prune: bool) -> Plan:
    """The plan, or `ProvisioningError` when the live state makes it unsafe."""
    problems: list[Problem] = []
    managed: dict[tuple[Kind, str], Live] = {}
    unmanaged: dict[tuple[Kind, str], Live] = {}
    for item in live:
        key = (item.kind, item.name)
        if not item.managed:
            unmanaged.setdefault(key, item)
        elif key in managed:
            problems.append(
                Problem(
                    "live state",
                    item.kind.value,
                    f"two managed {item.kind.label}s are named {item.name!r} "
                    f"({managed[key].id}, {item.id}); delete one by hand",
                )
            )
        else:
            managed[key] = item
    for d in desired:
        if (d.kind, d.name) in unmanaged and (d.kind, d.name) not in managed:
            other = unmanaged[(d.kind, d.name)]
            problems.append(
                Problem(
                    d.file,
                    "name",
                    f"a {d.kind.label} named {d.name!r} already exists ({other.id}) but was not "
                    "created by setup_sip; rename one of them (it will not be adopted)",
                )
            )

    trunk_ids = {name: item.id for (kind, name), item in managed.items() if kind is Kind.INBOUND}
    id_names = {item.id: item.name for item in live if item.kind is Kind.INBOUND}
    id_names.update(
        {new_id(n): n for (k, n) in ((d.kind, d.name) for d in desired) if k is Kind.INBOUND}
    )

    changes: list[Change] = []
    finals: dict[tuple[Kind, str], Any] = {}
    kind_order = list(Kind)
    for d in sorted(desired, key=lambda d: (kind_order.index(d.kind), d.name)):
        final = final_info(d, secret_key, trunk_ids)
        finals[(d.kind, d.name)] = final
        current = managed.get((d.kind, d.name))
        if current is None:
            changes.append(
                Change(
                    Action.CREATE,
                    d.kind,
                    d.name,
                    file=d.file,
                    desired=d,
                    fields=field_changes(d.kind, None, final, id_names),
                )
            )
            continue
        diffs = field_changes(d.kind, current.info, final, id_names)
        if not diffs:
            changes.append(
                Change(
                    Action.UNCHANGED,
                    d.kind,
                    d.name,
                    file=d.file,
                    id=current.id,
                    desired=d,
                    live=current,
                )
            )
            continue
        changes.append(
            Change(
                Action.UPDATE,
                d.kind,
                d.name,
                file=d.file,
                id=current.id,
                fields=diffs,
                desired=d,
                live=current,
                update_mode=update_mode(d.kind, final, _top_fields(diffs)),
            )
        )

    wanted = {(d.kind, d.name) for d in desired}
    leftovers = [item for key, item in managed.items() if key not in wanted]
    if prune:
        for item in leftovers:
            changes.append(Change(Action.DELETE, item.kind, item.name, id=item.id, live=item))

    # Would LiveKit reject a create/update because of resources this tool does not manage
    # (or leftovers kept without --prune)? Say so now rather than half-way through apply.
    leftover_ids = {i.id for i in leftovers}
    kept = [i for i in live if not i.managed or (not prune and i.id in leftover_ids)]
    labels = {(d.kind, d.name): d.file for d in desired}
    live_names = {i.id: f"{i.name!r} ({i.id})" if i.name else i.id for i in live}
    for a, b, why in inbound_conflicts(
        [(f"file:{n}", finals[(k, n)]) for (k, n) in finals if k is Kind.INBOUND]
        + [(f"live:{i.id}", i.info) for i in kept if i.kind is Kind.INBOUND]
    ):
        if a.startswith("file:") != b.startswith("file:"):
            name = (a if a.startswith("file:") else b)[5:]
            other_id = (b if a.startswith("file:") else a)[5:]
            problems.append(
                Problem(
                    labels[(Kind.INBOUND, name)],
                    "trunk.numbers",
                    f"conflicts with live inbound trunk {live_names.get(other_id, other_id)} "
                    "that setup_sip does not manage "
                    f"(or a managed leftover; see --prune): {why}",
                )
            )
    for a, b, why in dispatch_conflicts(
        [(f"file:{n}", finals[(k, n)]) for (k, n) in finals if k is Kind.DISPATCH]
        + [(f"live:{i.id}", i.info) for i in kept if i.kind is Kind.DISPATCH]
    ):
        if a.startswith("file:") != b.startswith("file:"):
            name = (a if a.startswith("file:") else b)[5:]
            other_id = (b if a.startswith("file:") else a)[5:]
            problems.append(
                Problem(
                    labels[(Kind.DISPATCH, name)],
                    "dispatch_rule",
                    "matches the same calls as live dispatch rule "
                    f"{live_names.get(other_id, other_id)} that setup_sip does not manage (or a "
                    f"managed leftover; see --prune): {why}",
                )
            )
    if problems:
        raise ProvisioningError(problems)
    return Plan(changes, leftovers=[] if prune else leftovers, finals=finals)
