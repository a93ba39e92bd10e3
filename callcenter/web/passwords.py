"""Console passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Hashes carry their own parameters, so raising them later only needs `needs_rehash` on the
next good login. Verification is constant-time inside argon2; an unknown user is checked
against a dummy hash so the response time does not tell which e-mails exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class WeakPasswordError(ValueError):
    """The password does not meet the minimum rules; the message says which."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"the password must have at most {MAX_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise WeakPasswordError("the password must not start or end with spaces")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored` (None: unknown user, still pays the cost)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
