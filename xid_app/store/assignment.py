"""Which sources a user has left: the queries behind Next, Randomiser and the progress line."""


from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import (
    CROWD,
    Classification,
    Source,
)


def _undone_by(user_pk: int):
    done = select(Classification.source_pk).where(Classification.user_pk == user_pk,
                                                  CROWD)
    return Source.id.not_in(done)


def next_source(session: Session, *, user_pk: int, exclude: Iterable[int] = (), gold: bool = False) -> int | None:
    """The next source for a user: one they have not classified, least-classified first, then oldest.

    With ``gold=True`` an undone gold-standard source comes first, if there is one.
    """
    counts = (
        select(Classification.source_pk, func.count(func.distinct(Classification.user_pk)).label("n"))
        .where(CROWD)
        .group_by(Classification.source_pk)
        .subquery()
    )
    order = [func.coalesce(counts.c.n, 0), Source.id]
    if gold:
        order.insert(0, Source.is_gold.desc())
    query = (
        select(Source.id)
        .outerjoin(counts, counts.c.source_pk == Source.id)
        .where(_undone_by(user_pk))
        .order_by(*order)
        .limit(1)
    )
    exclude = list(exclude)
    if exclude:
        query = query.where(Source.id.not_in(exclude))
    return session.scalar(query)


def some_undone_source(session: Session, *, user_pk: int, exclude: Iterable[int] = (),
                       rng: random.Random | None = None) -> int | None:
    """A source the user has not classified and that is not ``exclude``-d: the first from a random place
    in the list on (else from its start). One index range read however many sources there are, for the
    moments before the queue is ready."""
    low, high = session.execute(select(func.min(Source.id), func.max(Source.id))).one()
    if low is None:
        return None
    start = (rng or random).randint(low, high)
    exclude = list(exclude)
    for where in (Source.id >= start, Source.id < start):
        query = select(Source.id).where(where, _undone_by(user_pk)).order_by(Source.id).limit(1)
        if exclude:
            query = query.where(Source.id.not_in(exclude))
        if (pk := session.scalar(query)) is not None:
            return pk
    return None


def done_sources(session: Session, *, user_pk: int) -> set[int]:
    """Sources the user has answered (crowd answers), read from the (user, source) index."""
    return set(session.scalars(select(Classification.source_pk).where(Classification.user_pk == user_pk, CROWD)
                               .distinct()))


def sources_after(session: Session, pk: int, *, user_pk: int, limit: int) -> list[int]:
    """Up to ``limit`` sources ingested after the one with primary key ``pk`` that the user has not
    answered, oldest first."""
    return list(session.scalars(select(Source.id).where(Source.id > pk, _undone_by(user_pk))
                                .order_by(Source.id).limit(limit)))


def count_sources_after(session: Session, pk: int) -> int:
    return session.scalar(select(func.count(Source.id)).where(Source.id > pk)) or 0


def count_done(session: Session, *, user_pk: int) -> int:
    """How many sources the user has answered (crowd answers)."""
    return session.scalar(select(func.count(func.distinct(Classification.source_pk)))
                          .where(Classification.user_pk == user_pk, CROWD)) or 0


@dataclass(frozen=True)
class Progress:
    done_by_user: int
    total: int
    classified_by_anyone: int


def progress(session: Session, *, user_pk: int | None) -> Progress:
    total = session.scalar(select(func.count(Source.id))) or 0
    anyone = session.scalar(select(func.count(func.distinct(Classification.source_pk))).where(CROWD)) or 0
    mine = count_done(session, user_pk=user_pk) if user_pk is not None else 0
    return Progress(done_by_user=mine, total=total, classified_by_anyone=anyone)
