"""Logins kept on the server: a browser's cookie names a login here, so that logging out (or an admin ending a
user's logins) ends it for every server process and every open page at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..auth import ActiveLogin
from .models import Login, User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def start_login(session: Session, *, user_pk: int, lifetime: timedelta) -> str:
    """Open a login for ``user_pk``; returns the random token for the browser's (signed) cookie."""
    token = secrets.token_urlsafe(32)
    now = _now()
    session.add(Login(token_sha256=_digest(token), user_pk=user_pk, created_at=now, expires_at=now + lifetime))
    session.flush()
    return token


def active_login(session: Session, token: str) -> ActiveLogin | None:
    """The login ``token`` names, if it has neither ended nor expired."""
    row = session.execute(
        select(Login.id, Login.user_pk, Login.expires_at, Login.ended_at, Login.token_sha256, User.name, User.role)
        .join(User, User.id == Login.user_pk).where(Login.token_sha256 == _digest(token))
    ).first()
    if row is None or row.ended_at is not None or _aware(row.expires_at) <= _now():
        return None
    return ActiveLogin(row.id, row.user_pk, row.name, row.role, row.token_sha256)


def login_is_active(session: Session, login_pk: int) -> bool:
    """Whether the login ``login_pk`` is still open (checked before every action of an open page)."""
    row = session.execute(select(Login.expires_at, Login.ended_at).where(Login.id == login_pk)).first()
    return row is not None and row.ended_at is None and _aware(row.expires_at) > _now()


def end_login(session: Session, token: str) -> bool:
    """End the login ``token`` names; ``False`` if there was none open."""
    result = session.execute(update(Login).where(Login.token_sha256 == _digest(token), Login.ended_at.is_(None))
                             .values(ended_at=_now()))
    return result.rowcount > 0


def end_logins_of(session: Session, *, user_pk: int) -> int:
    """End every open login of a user (password changed, or an admin's ``xid users logout``); how many."""
    result = session.execute(update(Login).where(Login.user_pk == user_pk, Login.ended_at.is_(None))
                             .values(ended_at=_now()))
    return result.rowcount
