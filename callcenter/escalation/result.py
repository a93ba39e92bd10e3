"""What one transfer attempt came to: the one result type of warm and cold transfers."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.vocabulary import TransferOutcome


@dataclass(frozen=True, slots=True)
class TransferResult:
    outcome: TransferOutcome
    detail: str = ""
    """Safe to record (no phone number, no caller data): SIP status, merge mode, error type."""
    identity: str | None = None
    """The supervisor's participant identity, when a warm transfer connected."""
