"""Passwords (argon2 hashes, never plain text) and users' roles."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .limits import USER_NAME

ROLES = ("annotator", "admin")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1000  # argon2 hashes anything, but a megabyte "password" is only an attack
_hasher = PasswordHasher()
_UNUSABLE = _hasher.hash(secrets.token_urlsafe(32))  # checked instead when there is no hash: same time


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; refuses passwords shorter than :data:`MIN_PASSWORD_LENGTH`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; a user without a hash cannot log in.

    Takes the same time whether or not there is a hash (an unknown or password-less user), so the time of
    a failed login does not tell which user names exist.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # still hashed below, for the same time
    try:
        return _hasher.verify(stored_hash or _UNUSABLE, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def valid_user_name(name: str) -> str:
    """The stripped name, or ``ValueError`` if it is empty, too long or holds control characters."""
    name = name.strip()
    if not name or len(name) > USER_NAME or not name.isprintable():
        raise ValueError(f"a user name has 1 to {USER_NAME} printable characters")
    return name


@dataclass(frozen=True)
class ActiveLogin:
    """A login that has not ended: who it is, and the hash that names it (never the token itself)."""

    pk: int
    user_pk: int
    user_name: str
    role: str
    token_sha256: str


class LoginEnded(PermissionError):
    """The login an action was made under has ended (logged out, expired, or ended by an admin)."""
