"""Output for humans (text) and machines (`--json`). Nothing here prints a secret.

Trunk passwords only ever appear as `********`; `list` never shows them at all. Plans
reach stdout; progress and errors go to stderr so `--json` output stays parseable.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from .apply import ApplyResult
from .model import Action, Change, Kind, Live, Plan, Problem

_SIGN = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.UNCHANGED: "="}


def _v(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value)


def describe(change: Change) -> str:
    ident = f" {change.id}" if change.id else ""
    return f"{change.action.value} {change.kind.label} {change.name!r}{ident}"


def summary(plan: Plan) -> dict[str, int]:
    return {a.value: len(plan.of(a)) for a in Action}


def plan_text(plan: Plan, out: TextIO) -> None:
    for c in plan.changes:
        line = f"{_SIGN[c.action]} {describe(c)}"
        if c.file:
            line += f"  ({c.file})"
        if c.action is Action.UPDATE:
            line += "  [partial update]" if c.update_mode == "fields" else "  [full replace]"
        out.write(line + "\n")
        for f in c.fields:
            if c.action is Action.CREATE:
                out.write(f"      {f.path} = {_v(f.new)}\n")
            else:
                out.write(f"      {f.path}: {_v(f.old)} -> {_v(f.new)}\n")
    s = summary(plan)
    out.write(
        f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete, "
        f"{s['unchanged']} unchanged.\n"
    )
    if plan.leftovers:
        names = ", ".join(f"{i.kind.label} {i.name!r} {i.id}" for i in plan.leftovers)
        out.write(f"Not in the files (kept; --prune would delete): {names}\n")


def change_json(c: Change) -> dict[str, Any]:
    return {
        "action": c.action.value,
        "kind": c.kind.value,
        "name": c.name,
        "id": c.id,
        "file": c.file,
        "update_mode": c.update_mode,
        "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields],
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "summary": summary(plan),
        "changes": [change_json(c) for c in plan.changes],
        "leftovers": [{"kind": i.kind.value, "name": i.name, "id": i.id} for i in plan.leftovers],
    }


def result_json(result: ApplyResult) -> dict[str, Any]:
    failed = None
    if result.failed is not None:
        change, err = result.failed
        failed = {**change_json(change), "error": error_text(err)}
    return {
        "ok": result.ok,
        "applied": [{**change_json(c), "id": rid} for c, rid in result.applied],
        "failed": failed,
        "not_applied": [change_json(c) for c in result.not_applied],
    }


def result_text(result: ApplyResult, out: TextIO) -> None:
    if result.ok:
        out.write(f"Applied {len(result.applied)} change(s).\n")
    else:
        out.write(f"Apply FAILED after {len(result.applied)} change(s).\n")
    for c, rid in result.applied:
        out.write(f"  applied      {c.action.value} {c.kind.label} {c.name!r} -> {rid}\n")
    if result.failed is not None:
        c, err = result.failed
        out.write(f"  failed       {describe(c)}: {error_text(err)}\n")
    for c in result.not_applied:
        out.write(f"  not applied  {describe(c)}\n")


def error_text(err: BaseException) -> str:
    """One line for an API or transport error, with a hint for the common ones."""
    from livekit.api import TwirpError

    if isinstance(err, TwirpError):
        hints = {
            "unauthenticated": "check LIVEKIT_API_KEY / LIVEKIT_API_SECRET",
            "permission_denied": "the API key lacks the SIP admin grant",
            "invalid_argument": "LiveKit rejected the request",
            "already_exists": "a conflicting resource already exists",
            "not_found": "the resource no longer exists (changed by someone else?)",
        }
        code = err.code
        if code == "unknown" and err.status in (401, 403):
            # livekit-server answers a bad token with a bare HTTP 401, not a Twirp error body
            code = "unauthenticated" if err.status == 401 else "permission_denied"
        hint = hints.get(code, "")
        text = f"LiveKit API error {code} (HTTP {err.status})"
        text += f": {err.message}" if err.message else ""
        return f"{text} [{hint}]" if hint else text
    if isinstance(err, TimeoutError):
        return "timed out waiting for LiveKit"
    return f"cannot reach LiveKit at LIVEKIT_URL: {type(err).__name__}: {err}"


def problems_text(problems: list[Problem], out: TextIO) -> None:
    out.write(f"error: {len(problems)} problem(s); nothing was changed:\n")
    for p in problems:
        out.write(f"  {p}\n")


def _row(item: Live) -> list[str]:
    info = item.info
    if item.kind is Kind.DISPATCH:
        which = info.rule.WhichOneof("rule") or "-"
        rule = getattr(info.rule, which) if which != "-" else None
        prefix = getattr(rule, "room_prefix", "") or getattr(rule, "room_name", "")
        agents = ",".join(a.agent_name for a in info.room_config.agents) or "-"
        detail = f"{which.replace('dispatch_rule_', '')} prefix={prefix} agents={agents}"
        targets = ",".join(info.trunk_ids) or "(all trunks)"
    elif item.kind is Kind.OUTBOUND:
        detail = f"address={info.address}"
        targets = ",".join(info.numbers) or "-"
    else:
        detail = f"allowed_addresses={len(info.allowed_addresses)}"
        targets = ",".join(info.numbers) or "(any number)"
    return [item.kind.label, item.id, item.name, "yes" if item.managed else "no", targets, detail]


def list_text(live: list[Live], out: TextIO) -> None:
    header = ["KIND", "ID", "NAME", "MANAGED", "NUMBERS/TRUNKS", "DETAILS"]
    rows = [header] + [_row(i) for i in live]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header) - 1)]
    for r in rows:
        cells = [r[c].ljust(widths[c]) for c in range(len(widths))] + [r[-1]]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(f"{len(live)} resource(s), {sum(i.managed for i in live)} managed by setup_sip.\n")


def list_json(live: list[Live]) -> list[dict[str, Any]]:
    out = []
    for i in live:
        row = _row(i)
        out.append(
            {
                "kind": i.kind.value,
                "id": i.id,
                "name": i.name,
                "managed": i.managed,
                "targets": row[4],
                "details": row[5],
            }
        )
    return out
