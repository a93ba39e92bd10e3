"""PIN hashing and constant-time comparison helpers.

PINs are never stored: ``customers.pin_hash`` holds
``scrypt$<n>$<r>$<p>$<salt hex>$<digest hex>`` with a per-row random salt. Verification
re-derives the digest with the stored parameters and compares with
:func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Final

__all__ = ["digits_only", "hash_pin", "verify_pin"]

_SCHEME: Final = "scrypt"
_N: Final = 2**14
_R: Final = 8
_P: Final = 1
_DKLEN: Final = 32


def digits_only(value: str) -> str:
    """Keep only ASCII digits (``" 44-21 "`` -> ``"4421"``); speech-to-text adds noise."""
    return "".join(ch for ch in value if "0" <= ch <= "9")


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """Hash a PIN (digits only are kept) with scrypt and a per-row salt.

    ``salt`` is only for deterministic demo/test data; production callers omit it and get
    16 random bytes.
    """
    normalised = digits_only(pin)
    if not normalised:
        raise ValueError("PIN must contain digits")
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(normalised.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"{_SCHEME}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of ``pin`` against a :func:`hash_pin` string; False if malformed."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != _SCHEME:
            return False
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
        candidate = hashlib.scrypt(
            digits_only(pin).encode(),
            salt=salt,
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, expected)
