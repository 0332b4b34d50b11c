"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106)."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 12  # characters; NCSC guidance favours length over complexity rules


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"passwords must be at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def one_time_password() -> str:
    """A password to print once for a new account (about 120 bits)."""
    return secrets.token_urlsafe(15)


# Verifying against a dummy hash when the email is unknown keeps sign-in timing the same
# whether or not an account exists.
DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))
