"""Passwords (argon2 hashes, never plain text) and users' roles."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("annotator", "admin")
MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; refuses passwords shorter than :data:`MIN_PASSWORD_LENGTH`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; a user without a hash cannot log in."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def valid_user_name(name: str) -> str:
    """The stripped name, or ``ValueError`` if it is empty, too long or holds control characters."""
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise ValueError("a user name has 1 to 100 printable characters")
    return name
