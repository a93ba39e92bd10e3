"""The words every layer shares, defined once: how a call ended, how a transfer went,
what a caller wants, how they proved who they are.

This module imports nothing from the product, so anything may import it: the settings
(`TransferMode`), the data layer (the call record's `CallOutcome`, the supervisors'
`TransferMode`), the call core and the escalation. Values are stored in the database and
the call record's JSON: renaming one is a migration, adding one is a new CHECK value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

Intent = Literal["orders", "billing", "other"]
"""What the caller wants, as triaged by the greeting agent (and the roster skill needed)."""

FactorKind = Literal["zip", "last_four", "pin"]
"""A verification factor: the account's ZIP code, last four of the account number, PIN."""

FACTOR_DIGITS: Final[dict[FactorKind, int]] = {"zip": 5, "last_four": 4, "pin": 4}
"""How many digits each factor has (a shorter or longer answer is not an attempt)."""


class TransferMode(StrEnum):
    """How a supervisor is reached: briefed first (warm) or handed the call (cold, REFER)."""

    WARM = "warm"
    COLD = "cold"


AttemptMode = Literal["warm", "cold", "simulated"]
"""A transfer attempt as recorded: `simulated` when the call has no SIP leg (console)."""


class CallOutcome(StrEnum):
    """How a call ended, as stored on the call record (one enum for state and database).

    `ended`: closed by us for another reason (inactivity, maximum duration); the record's
    `end_reason` says which. `abandoned`: the caller hung up first. `interrupted`: the call's
    process died before it could close the record; the sweeper closed it (its `end_reason`
    says since when nothing was heard from the call).
    """

    RESOLVED = "resolved"
    TRANSFERRED = "transferred"
    CALLBACK = "callback"
    ABANDONED = "abandoned"
    FAILED = "failed"
    ENDED = "ended"
    INTERRUPTED = "interrupted"


class TransferOutcome(StrEnum):
    """How one transfer attempt went, from the caller's point of view."""

    CONNECTED = "connected"
    SIMULATED = "simulated"
    """No SIP leg exists (console or web call): nobody was dialled."""
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    FAILED = "failed"
    CALLER_HUNG_UP = "caller_hung_up"
    SUPERVISOR_HUNG_UP = "supervisor_hung_up"
    UNAVAILABLE = "unavailable"
    """Nobody on duty for the skill, or outside business hours."""


class VerificationStatus(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    LOCKED = "locked"
    """Too many wrong answers: no more attempts on this call."""
    NO_MATCH = "no_match"
    """The caller ID matches no customer (or is withheld) and the caller did not identify by
    account or order number: nothing to verify against."""
    ACCOUNT_LOCKED = "account_locked"
    """The account is locked for phone verification (too many failures across calls) until
    a supervisor unlocks it: no factor is checked."""


class Assurance(StrEnum):
    """How sure we are of who is calling: recorded on the call, told to the supervisor.

    `basic`: the caller ID matched and one knowledge factor (ZIP code or last four).
    `strong`: the PIN with a matching caller ID, or two different factors (what a caller
    ringing from an unknown number needs, after naming their account or an order). Caller
    ID alone is never a factor. Cancellations, returns and refund requests need `strong`.
    """

    NONE = "none"
    BASIC = "basic"
    STRONG = "strong"


IdentifierKind = Literal["caller_id", "account_number", "order_number"]
"""How the caller's account was found before the factors were asked."""


KEYPAD_PREFIX: Final = "(keypad)"
"""Keyed digits reach the model as a caller turn starting with this marker, "(keypad) 4421"
(`telephony.dtmf` writes it; the prompts, the degraded mode and turn-taking read it)."""

ProviderKind = Literal["llm", "stt", "tts", "realtime", "greeting_to_pipeline", "degraded"]
"""Which model chain switched provider (recorded on the call record)."""
