"""Shared types for provisioning: resource kinds, the "managed" mark, plans and problems.

How "managed" is marked
-----------------------
LiveKit keeps a free-form `metadata` string on every trunk and dispatch rule. This tool
writes a JSON object there containing ``"managed_by": "callcenter-setup_sip"`` (plus any
metadata keys the file itself declares). A live resource is *managed* only if its metadata
parses as a JSON object carrying exactly that mark. Unmarked resources (made in the console,
by `lk`, or by another tool) are listed but never updated or deleted, and a file that
reuses the name of an unmarked resource is refused rather than silently adopted.

Trunk passwords
---------------
LiveKit may or may not return `auth_password` on list calls, so it is never compared
directly. Instead the mark carries ``"auth_fingerprint"``: an HMAC-SHA256 of the password
keyed with the project's API secret (anyone who can read it can already read the
password through the API, and nobody else can brute-force it). A changed password changes
the fingerprint, which shows up in the plan as ``auth_password: (changed)``. Rotating the
API secret changes every fingerprint once, which costs one harmless update per trunk.

Note that LiveKit copies a dispatch rule's metadata into the SIP participant's metadata,
so the agent will see this JSON object on the caller participant.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from livekit import api

MANAGED_BY_KEY = "managed_by"
MANAGED_BY = "callcenter-setup_sip"
"""Value of `metadata.managed_by` on every resource this tool created."""

FINGERPRINT_KEY = "auth_fingerprint"
RESERVED_METADATA_KEYS = frozenset({MANAGED_BY_KEY, FINGERPRINT_KEY})
MASK = "********"


class Kind(enum.Enum):
    """The three resource types, in the order they are created."""

    INBOUND = "inbound_trunk"
    OUTBOUND = "outbound_trunk"
    DISPATCH = "dispatch_rule"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


# Fields LiveKit sets itself; a file must not set them and diffs ignore them.
OUTPUT_ONLY_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.INBOUND: ("sip_trunk_id", "created_at", "updated_at"),
    Kind.OUTBOUND: ("sip_trunk_id", "created_at", "updated_at"),
    Kind.DISPATCH: ("sip_dispatch_rule_id", "created_at", "updated_at"),
}

InfoMessage = api.SIPInboundTrunkInfo | api.SIPOutboundTrunkInfo | api.SIPDispatchRuleInfo


@dataclass(frozen=True)
class Problem:
    """One validation failure, always naming the file and the JSON field."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class ProvisioningError(Exception):
    """Input or plan problems found before any mutating call (exit code 2)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Desired:
    """A resource as the files describe it.

    For dispatch rules `info.trunk_ids` holds trunk *names* until `diff` resolves them.
    `info.metadata` is the file's own metadata (a JSON object or empty), without the mark.
    """

    kind: Kind
    name: str
    file: str
    info: Any  # InfoMessage; `Any` keeps protobuf attribute access simple for mypy


@dataclass
class Live:
    """A resource as LiveKit reports it."""

    kind: Kind
    id: str
    name: str
    managed: bool
    info: Any  # InfoMessage


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


@dataclass
class FieldChange:
    """One leaf field that differs. Values are already display-safe (secrets masked)."""

    path: str
    old: Any
    new: Any


@dataclass
class Change:
    """One planned operation on one resource."""

    action: Action
    kind: Kind
    name: str
    file: str | None = None
    id: str | None = None
    fields: list[FieldChange] = field(default_factory=list)
    desired: Desired | None = None
    live: Live | None = None
    update_mode: str | None = None
    """For updates: "fields" (Update*Fields request, only what changed) or "replace"."""


@dataclass
class Plan:
    """The ordered changes, plus what the plan did not touch."""

    changes: list[Change]
    leftovers: list[Live] = field(default_factory=list)
    """Managed live resources missing from the files, kept because --prune was not given."""
    finals: dict[tuple[Kind, str], Any] = field(default_factory=dict)
    """Each desired resource exactly as it should exist (mark set, trunk IDs resolved)."""

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action is action]

    @property
    def mutations(self) -> list[Change]:
        return [c for c in self.changes if c.action is not Action.UNCHANGED]


def parse_metadata(raw: str) -> dict[str, Any] | None:
    """The metadata as a JSON object, or None when it is empty or not an object."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def is_managed(metadata: str) -> bool:
    meta = parse_metadata(metadata)
    return meta is not None and meta.get(MANAGED_BY_KEY) == MANAGED_BY


def fingerprint(secret_key: str, password: str) -> str:
    """HMAC of a trunk password, keyed with the API secret (see module docstring)."""
    digest = hmac.new(secret_key.encode(), password.encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def managed_metadata(file_metadata: str, password: str, secret_key: str) -> str:
    """The metadata string this tool writes: the file's object plus the mark."""
    meta: dict[str, Any] = dict(parse_metadata(file_metadata) or {})
    meta[MANAGED_BY_KEY] = MANAGED_BY
    if password:
        meta[FINGERPRINT_KEY] = fingerprint(secret_key, password)
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))
