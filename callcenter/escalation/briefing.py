"""The supervisor's briefing: what the briefing leg says before a warm transfer connects.

Rendered from `prompts/supervisor_briefing.md` with facts from the call state (who, whether
and how they were verified and with what assurance, what they want, what was done) and the
caller/agent turns so far (tool mechanics dropped, the last `HISTORY_TURNS` only).

The briefing model never receives a raw value: every turn, the transfer reason and the notes
go through the redaction layer first (PINs, ZIP codes, cards, phone numbers, e-mails are
gone before the text reaches the model; a prompt line alone is not a control).
"""

from __future__ import annotations

import contextlib
from typing import Any

from callcenter import prompts
from callcenter.core.state import CallState
from callcenter.redaction import redact
from callcenter.vocabulary import Assurance, VerificationStatus

HISTORY_TURNS = 30
"""Turns of the conversation the briefing model sees; older ones add tokens, not facts."""


def briefing_text(state: CallState, history: Any, *, reason: str, company: str) -> str:
    """The briefing leg's instructions. `history` is the session's `ChatContext` (or None)."""
    return prompts.render(
        "supervisor_briefing",
        caller_facing=False,
        company=company,
        caller_name=state.caller.first_name if state.caller else "not known",
        verification=verification_text(state),
        reason=redact(reason),
        intent=state.intent or "not established",
        actions=redact("; ".join(state.actions)) or "nothing yet",
        history=conversation_text(history) or "(no transcript)",
    )


def verification_text(state: CallState) -> str:
    """How far the caller's identity is established, in the supervisor's words."""
    v = state.verification
    if v.status is VerificationStatus.VERIFIED:
        how = " + ".join(v.factors) or "a factor"
        found = {"caller_id": "caller ID", "account_number": "account number"}.get(
            v.identified_by or "", "order number"
        )
        level = state.assurance
        note = (
            " (enough for cancellations, returns and refunds)"
            if level is Assurance.STRONG
            else (" (NOT enough for cancellations, returns or refunds)")
        )
        return f"verified, {level.value} assurance: {found} + {how}{note}"
    if v.status is VerificationStatus.ACCOUNT_LOCKED:
        return "NOT verified: the account is locked for phone verification after repeated failures"
    if v.status is VerificationStatus.LOCKED:
        return "NOT verified: failed verification too many times"
    if v.status is VerificationStatus.NO_MATCH:
        return "NOT verified: the number matches no customer"
    return "NOT verified"


def conversation_text(history: Any) -> str:
    """Caller/agent turns as `Caller: ...` / `Agent: ...` lines (tool mechanics dropped)."""
    if history is None:
        return ""
    lines = []
    with contextlib.suppress(Exception):
        for msg in history.messages():
            if msg.role not in ("user", "assistant") or not msg.text_content:
                continue
            text = redact(msg.text_content)  # the briefing model never gets a raw value
            lines.append(f"{'Caller' if msg.role == 'user' else 'Agent'}: {text}")
    return "\n".join(lines[-HISTORY_TURNS:])
