"""Answers (classifications) in the database: one page answer stored exactly once, interchange imports, a user's latest answer, expert answers and the expert queue."""


from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..answers import FLAGS, InvalidSubmission, Mark, StoredAnswer, check_answer
from ..interchange import AnnotationRows
from .bulk import CHUNK, LOOKUP_CHUNK, bulk_load, insert_rows, lock_for_writing, primary_keys
from .models import (
    CROWD,
    AnswerComponent,
    Classification,
    Component,
    HostMark,
    Source,
    User,
    utcnow,
)


@dataclass
class ImportReport:
    classifications_added: int = 0
    clicks_added: int = 0
    already_stored: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        """Count in the report of another part of the same import."""
        self.classifications_added += other.classifications_added
        self.clicks_added += other.clicks_added
        self.already_stored += other.already_stored
        self.rejected += other.rejected


def import_annotations(session: Session, *, annotations: AnnotationRows,
                       progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Store interchange-format classifications, set-based (see :mod:`xid_app.store.bulk`), in the
    session's transaction: all land or none. Idempotent: a ``classification_id`` already stored is skipped.
    Rows for unknown sources or components are added to the report's ``rejected`` list. ``progress`` is
    called with (classifications done, to do)."""
    rows = annotations.rows
    report = ImportReport(rejected=list(annotations.rejected))
    if rows.empty:
        return report
    lock_for_writing(session, [User.__table__, Classification.__table__, HostMark.__table__,
                               AnswerComponent.__table__])
    source_pk = primary_keys(session, Source.source_id, rows.source_id.to_numpy())
    known = source_pk >= 0
    report.rejected += [(line, f"unknown source_id {sid!r}") for line, sid in zip(rows.line[~known], rows.source_id[~known])]
    rows = rows[known].assign(source_pk=source_pk[known])
    component_pk, rows = _known_components(session, rows, report)
    stored = primary_keys(session, Classification.submission_id, rows.classification_id.to_numpy()) >= 0
    report.already_stored = rows.classification_id[stored].nunique()
    rows = rows[~stored]
    if rows.empty:
        return report
    user_names = rows.user.unique()
    user_pk = primary_keys(session, User.name, user_names)
    if (new := user_pk < 0).any():
        user_pk[new] = insert_rows(session, User.__table__, dict(
            name=user_names[new], role="annotator", created_at=utcnow()), ids=True)

    # one row per classification, in order of first appearance; each classification's rows together
    code, cids = pd.factorize(rows.classification_id)
    rows = rows.assign(code=code, user_pk=user_pk[pd.Index(user_names).get_indexer(rows.user)]) \
        .iloc[np.argsort(code, kind="stable")]
    code = rows.code.to_numpy()
    first = rows[~rows.code.duplicated()]
    clicked = ~rows.no_host.to_numpy()
    no_host = np.bincount(code[clicked], minlength=len(cids)) == 0
    rows = rows.assign(group=_group_numbers(rows))
    flags = {f: first[f].to_numpy(bool) if f in first.columns else False for f in FLAGS}
    classifications = dict(submission_id=np.asarray(cids, dtype=object), source_pk=first.source_pk.to_numpy(),
                           user_pk=first.user_pk.to_numpy(), no_host=no_host, **flags)
    todo = len(cids)
    bounds = np.searchsorted(code, np.arange(0, todo + CHUNK, CHUNK).clip(max=todo))
    with bulk_load(session, {Classification.__table__: todo, HostMark.__table__: int(clicked.sum())}):
        for start, (row_lo, row_hi) in zip(range(0, todo, CHUNK), zip(bounds[:-1], bounds[1:])):
            stop = min(start + CHUNK, todo)
            chunk = {k: v if np.isscalar(v) else v[start:stop] for k, v in classifications.items()}
            report.clicks_added += _insert_classifications(session, chunk, rows.iloc[row_lo:row_hi], start,
                                                           component_pk)
            report.classifications_added += stop - start
            if progress is not None:
                progress(stop, todo)
    return report


def _insert_classifications(session: Session, classifications: dict, rows: pd.DataFrame, first_code: int,
                            component_pk: dict[str, int]) -> int:
    """Insert classifications (columns as arrays), and the marks and component groups of their ``rows``
    (``code``: the classification's index, from ``first_code``); returns the number of marks."""
    pks = insert_rows(session, Classification.__table__, dict(
        classifications, created_at=utcnow(), comment="", origin="import"), ids=True)
    marks = rows[~rows.no_host]
    located = "layer_pk" in rows.columns  # clicks made on a known layer (e.g. a Panoptes import)
    insert_rows(session, HostMark.__table__, dict(
        classification_pk=pks[marks.code.to_numpy() - first_code], ra=marks.host_ra.to_numpy(float),
        dec=marks.host_dec.to_numpy(float), group_number=marks.group.to_numpy(),
        **(dict(layer_pk=_nullable(marks.layer_pk), pixel_x=marks.pixel_x.to_numpy(float),
                pixel_y=marks.pixel_y.to_numpy(float)) if located else {})))
    groups = rows.loc[rows.components != "", ["code", "components", "group"]].drop_duplicates(["code", "group"])
    if len(groups):
        members = groups.assign(component=groups.components.str.split(";")).explode("component")
        insert_rows(session, AnswerComponent.__table__, dict(
            classification_pk=pks[members.code.to_numpy() - first_code],
            component_pk=members.component.map(component_pk).to_numpy(np.int64),
            group_number=members.group.to_numpy()))
    return len(marks)


def _group_numbers(rows: pd.DataFrame) -> np.ndarray:
    """Each row's radio source within its classification: the components it names, numbered from 0 in
    order of first appearance (rows naming none are one source too)."""
    if not (rows.components != "").any():  # no components named (most imports): one source each
        return np.zeros(len(rows), dtype=np.int64)
    pairs = rows[["code", "components"]].drop_duplicates()
    pairs = pairs.assign(group=pairs.groupby("code").cumcount())
    return rows[["code", "components"]].merge(pairs, on=["code", "components"], how="left").group.to_numpy()


def _nullable(values: pd.Series) -> list:
    """Integers with NULL for missing values (a Panoptes "no host" row has no layer)."""
    return [None if pd.isna(v) else int(v) for v in values.tolist()]


def _known_components(session: Session, rows: pd.DataFrame, report: ImportReport):
    """The primary key of every component the rows name, and the rows without unknown components (those
    go to the report's ``rejected``)."""
    if "components" not in rows.columns:
        rows = rows.assign(components="")
    named = rows.components[rows.components != ""].str.split(";").explode().unique()
    pks = primary_keys(session, Component.component_id, named)
    pk = dict(zip(named[pks >= 0].tolist(), pks[pks >= 0].tolist()))
    if len(pk) == len(named):
        return pk, rows
    unknown = rows.components.str.split(";").map(lambda ids: next((c for c in ids if c and c not in pk), None))
    bad = unknown.notna()
    report.rejected += [(line, f"unknown component {c!r} (ingest components first: xid ingest-components)")
                        for line, c in zip(rows.line[bad], unknown[bad])]
    partial = rows.classification_id.isin(rows.classification_id[bad]) & ~bad  # whole or not at all
    report.rejected += [(line, "another row of the same classification names an unknown component")
                        for line in rows.line[partial]]
    return pk, rows[~(bad | partial)]


def save_classification(session: Session, *, submission_id: str, user_pk: int, source_pk: int,
                        marks: Sequence[Mark], no_host: bool = False, flags: Iterable[str] = (),
                        comment: str = "", origin: str = "app", groups: Sequence[Sequence[str]] = ()) -> int:
    """Store one answer exactly once; a replayed ``submission_id`` returns the stored classification's id.

    Raises
    ------
    InvalidSubmission
        As :func:`xid_app.answers.check_answer`, if a component is unknown, or if the id is already used for
        another user's or source's answer.
    """
    flags = set(flags)
    check_answer(submission_id=submission_id, marks=marks, no_host=no_host, flags=flags, comment=comment,
                 groups=groups)

    def replayed() -> int | None:
        """The stored answer with this id; refused if it is someone else's, or another source's (a reused
        id must not silently swallow a different answer)."""
        row = session.execute(select(Classification.id, Classification.user_pk, Classification.source_pk)
                              .where(Classification.submission_id == submission_id)).first()
        if row is not None and (row.user_pk, row.source_pk) != (user_pk, source_pk):
            raise InvalidSubmission("this answer's id is already used for another answer; answer again")
        return None if row is None else row.id

    if (existing := replayed()) is not None:
        return existing
    classification = Classification(submission_id=submission_id, user_pk=user_pk, source_pk=source_pk,
                                    no_host=no_host, comment=comment, origin=origin,
                                    **{flag: flag in flags for flag in FLAGS})
    classification.hosts = [HostMark(ra=m.ra, dec=m.dec, layer_pk=m.layer_pk, pixel_x=m.pixel_x,
                                     pixel_y=m.pixel_y, catalogue_id=m.catalogue_id, click_ra=m.click_ra,
                                     click_dec=m.click_dec, group_number=m.group) for m in marks]
    classification.grouped = [AnswerComponent(component_pk=pk, group_number=number)
                              for number, pks in enumerate(component_pks(session, groups)) for pk in pks]
    try:
        with session.begin_nested():
            session.add(classification)
            session.flush()
    except IntegrityError:
        # Another request stored the same submission between our check and our insert.
        if (existing := replayed()) is None:
            raise
        return existing
    return classification.id


def stored_answer(classification: Classification | None) -> StoredAnswer | None:
    """A classification row as the domain's :class:`~xid_app.answers.StoredAnswer` (``None`` stays ``None``)."""
    if classification is None:
        return None
    marks = tuple(Mark(h.ra, h.dec, h.layer_pk, h.pixel_x, h.pixel_y, h.catalogue_id, h.click_ra, h.click_dec,
                       h.group_number) for h in classification.hosts)
    # a host may belong to a source without components (an imported row with none named): it counts too
    numbers = [g.group_number for g in classification.grouped]
    numbers += [m.group for m in marks] if numbers else []
    groups: list[list[str]] = [[] for _ in range(1 + max(numbers, default=-1))]
    for g in classification.grouped:
        groups[g.group_number].append(g.component.component_id)
    return StoredAnswer(marks, classification.no_host, frozenset(f for f in FLAGS if getattr(classification, f)),
                        classification.comment, tuple(tuple(sorted(g)) for g in groups))


def component_pks(session: Session, groups: Sequence[Sequence[str]]) -> list[list[int]]:
    """The primary keys of each group's components.

    Raises
    ------
    InvalidSubmission
        If a component ID is not stored.
    """
    wanted = sorted({c for group in groups for c in group})
    pk = dict(session.execute(select(Component.component_id, Component.id).where(Component.component_id.in_(wanted)))
              .all()) if wanted else {}
    if unknown := [c for c in wanted if c not in pk]:
        raise InvalidSubmission(f"unknown component(s): {', '.join(unknown[:5])[:300]}")
    return [[pk[c] for c in group] for group in groups]


def latest_answer(session: Session, *, user_pk: int, source_pk: int, origin: str | None = None) -> Classification | None:
    """The user's current answer for a source (the latest revision), with its marks."""
    query = select(Classification).where(Classification.user_pk == user_pk, Classification.source_pk == source_pk)
    if origin is not None:
        query = query.where(Classification.origin == origin)
    return session.scalar(query.order_by(Classification.id.desc()).limit(1))


def expert_answer(session: Session, *, source_pk: int) -> Classification | None:
    """An admin's final answer for a source (the latest), or ``None``."""
    return session.scalar(
        select(Classification)
        .where(Classification.source_pk == source_pk, Classification.origin == "expert")
        .order_by(Classification.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class QueueRow:
    source_pk: int
    source_id: str
    n_classifications: int
    n_artefact: int
    n_blend: int
    n_too_zoomed_in: int
    decided: bool
    is_gold: bool


def expert_queue(session: Session) -> list[QueueRow]:
    """Sources the crowd flagged as artefact, blend or too zoomed in: undecided first, most flagged first.

    The flagged answers are found first (one scan of the table, grouping only them), then the answers of
    those sources counted from the source index: grouping every answer took a minute at 20 million."""
    flag_sums = [func.sum(case((getattr(Classification, f), 1), else_=0)) for f in ("artefact", "blend",
                                                                                    "too_zoomed_in")]
    source = scanned(Classification.source_pk)
    flagged = {pk: counts for pk, *counts in session.execute(
        select(source, *flag_sums).where(CROWD, or_(Classification.artefact, Classification.blend,
                                                    Classification.too_zoomed_in)).group_by(source))}
    if not flagged:
        return []
    pks = sorted(flagged)
    answers, sources = {}, {}
    for start in range(0, len(pks), LOOKUP_CHUNK):
        chunk = pks[start:start + LOOKUP_CHUNK]
        answers.update(session.execute(select(Classification.source_pk, func.count(Classification.id))
                                       .where(CROWD, Classification.source_pk.in_(chunk))
                                       .group_by(Classification.source_pk)).all())
        sources.update((pk, (sid, gold)) for pk, sid, gold in session.execute(
            select(Source.id, Source.source_id, Source.is_gold).where(Source.id.in_(chunk))))
    decided = set(session.scalars(select(Classification.source_pk).where(Classification.origin == "expert")))
    rows = [QueueRow(pk, sources[pk][0], int(answers[pk]), *(int(c) for c in flagged[pk]), pk in decided,
                     bool(sources[pk][1])) for pk in pks if pk in sources]
    return sorted(rows, key=lambda r: (r.decided, -(r.n_artefact + r.n_blend + r.n_too_zoomed_in), r.source_pk))


def scanned(column):
    """``column`` as an expression (``column + 0``) to group by: SQLite then reads the table straight
    through, instead of walking an index in the group's order and fetching every row from the table at
    random (1.5 s instead of 45 s at 20 million answers); PostgreSQL plans it as it would the column."""
    return column + 0


@dataclass(frozen=True)
class CrowdAnswers:
    """What the crowd answered on one source (latest answer per annotator), for the expert."""

    marks: list[tuple[float, float]]  # every host position marked (RA, Dec)
    comments: list[tuple[str, str]]  # (annotator, comment) where one was written


def crowd_answers(session: Session, *, source_pk: int) -> CrowdAnswers:
    """The crowd's current marks and comments on a source."""
    latest = (
        select(func.max(Classification.id).label("id"))
        .where(Classification.source_pk == source_pk, CROWD)
        .group_by(Classification.user_pk)
        .subquery()
    )
    marks = [tuple(r) for r in session.execute(
        select(HostMark.ra, HostMark.dec).join(latest, latest.c.id == HostMark.classification_pk))]
    comments = [tuple(r) for r in session.execute(
        select(User.name, Classification.comment).join(latest, latest.c.id == Classification.id)
        .join(User, User.id == Classification.user_pk).where(Classification.comment != "")
        .order_by(Classification.id))]
    return CrowdAnswers(marks, comments)
