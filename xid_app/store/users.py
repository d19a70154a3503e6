"""Users and their roles: create, look up, check passwords, per-user statistics."""


from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..auth import ROLES, check_password, hash_password, valid_user_name
from .classifications import scanned
from .columns import iso_utc
from .logins import end_logins_of
from .models import (
    CROWD,
    Classification,
    Source,
    User,
)


def set_user(session: Session, *, name: str, password: str | None, role: str = "annotator") -> User:
    """Create a user or update their password and role."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    user = get_or_create_user(session, name=valid_user_name(name), role=role)
    user.role = role
    user.password_hash = hash_password(password) if password is not None else None
    session.flush()
    end_logins_of(session, user_pk=user.id)  # a new password (or role) ends the logins made with the old one
    return user


def authenticate(session: Session, *, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs, else ``None``; as slow for an unknown name as for a wrong password."""
    user = session.scalar(select(User).where(User.name == name.strip())) if len(name) <= 200 else None
    matches = check_password(user.password_hash if user is not None else None, password)
    return user if matches else None


def login_required(session: Session) -> bool:
    """Login is required as soon as any user has a password."""
    return session.scalar(select(func.count(User.id)).where(User.password_hash.is_not(None))) > 0


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def user_by_name(session: Session, *, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def get_or_create_user(session: Session, *, name: str, role: str = "annotator") -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=role)
        session.add(user)
        session.flush()
    return user


@dataclass(frozen=True)
class UserStats:
    name: str
    role: str
    classifications: int
    sources_done: int
    last_active: str
    gold_answered: int


def user_stats(session: Session) -> list[UserStats]:
    """Per-user progress for the admin page (crowd answers only): one scan of the answers grouped by
    user (see :func:`~xid_app.store.classifications.scanned`), the gold sources' answers from their index."""
    user = scanned(Classification.user_pk)
    answered = {pk: rest for pk, *rest in session.execute(
        select(user, func.count(Classification.id), func.count(func.distinct(Classification.source_pk)),
               func.max(Classification.created_at)).where(CROWD).group_by(user))}
    gold = dict(session.execute(
        select(Classification.user_pk, func.count(func.distinct(Classification.source_pk)))
        .where(CROWD, Classification.source_pk.in_(select(Source.id).where(Source.is_gold)))
        .group_by(Classification.user_pk)).all())
    stats = [UserStats(name, role, int(n), int(done), iso_utc(last) if last else "", int(gold.get(pk, 0)))
             for pk, name, role in session.execute(select(User.id, User.name, User.role))
             for n, done, last in [answered.get(pk, (0, 0, None))]]
    return sorted(stats, key=lambda s: (-s.classifications, s.name))


def annotator_names(engine: Engine) -> list[str]:
    """Names of the annotators, in the order ``Annotations.cls_user`` indexes them (sorted user id among
    those with a crowd answer)."""
    with engine.connect() as conn:
        return list(conn.scalars(
            select(User.name).where(User.id.in_(select(Classification.user_pk).where(CROWD))).order_by(User.id)))
