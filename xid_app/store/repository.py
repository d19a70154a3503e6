"""Reading and writing XID's database. Keyword-only functions; bulk reads go through SQLAlchemy Core.

Each write runs in one transaction: an ingest or import either lands whole or not at all.
"""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timezone
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, case, func, insert, or_, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..auth import ROLES, check_password, hash_password, valid_user_name
from ..catalogue import CatalogueIndex
from ..consensus import FLAGS, Annotations, Consensus, ExpertAnswers
from ..coords import valid_sky_position
from ..ingest import AnnotationRows, CatalogueRows, IngestError, SourceRecord
from ..limits import CLASSIFICATION_ID, text_problem
from . import snapshot
from .logins import end_logins_of
from .models import (
    CatalogueObject,
    Classification,
    ConsensusHost,
    ConsensusRun,
    DatabaseIdentity,
    HostMark,
    Layer,
    Source,
    User,
)
from .snapshot import AnswerRows

SAME_POSITION_DEG = 0.1 / 3600  # re-ingesting a source within 0.1" of where it was is a no-op
CROWD = Classification.origin != "expert"  # annotators' answers, as opposed to admins' final answers


@dataclass
class IngestReport:
    added: int
    unchanged: int
    outside: int = 0  # sources left out: no mosaic tile covers them


def add_sources(session: Session, *, records: Sequence[SourceRecord], origin: str = "") -> IngestReport:
    """Store new sources and their layers; sources already stored at the same position are left alone.

    Raises
    ------
    IngestError
        If a source id is already stored at a different position (nothing is written).
    """
    ids = [r.source_id for r in records]
    existing: dict[str, tuple[float, float]] = {}
    for chunk in range(0, len(ids), 500):
        rows = session.execute(
            select(Source.source_id, Source.ra, Source.dec).where(Source.source_id.in_(ids[chunk:chunk + 500]))
        )
        existing.update({sid: (ra, dec) for sid, ra, dec in rows})
    problems = []
    new = []
    for r in records:
        if r.source_id not in existing:
            new.append(r)
            continue
        ra, dec = existing[r.source_id]
        if abs(ra - r.ra) * np.cos(np.radians(dec)) > SAME_POSITION_DEG or abs(dec - r.dec) > SAME_POSITION_DEG:
            problems.append(f"{r.source_id}: already stored at ra={ra}, dec={dec}; the table says ra={r.ra}, dec={r.dec}")
    if problems:
        raise IngestError(origin, problems)
    for r in new:
        source = Source(source_id=r.source_id, ra=r.ra, dec=r.dec)
        source.layers = [Layer(band=l.band, kind=l.kind, path=str(l.path), position=i, form=l.form,
                               field_arcsec=l.field_arcsec) for i, l in enumerate(r.layers)]
        session.add(source)
    session.flush()
    return IngestReport(added=len(new), unchanged=len(records) - len(new))


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


@dataclass
class ImportReport:
    classifications_added: int = 0
    clicks_added: int = 0
    already_stored: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def import_annotations(session: Session, *, annotations: AnnotationRows,
                       progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Store interchange-format classifications. Idempotent: a ``classification_id`` already stored is
    skipped. Rows for unknown sources are added to the report's ``rejected`` list. ``progress`` is called
    with (classifications done, to do)."""
    rows = annotations.rows
    report = ImportReport(rejected=list(annotations.rejected))
    if rows.empty:
        return report
    source_pk = dict(session.execute(select(Source.source_id, Source.id)).all())
    known = rows.source_id.isin(source_pk.keys())
    report.rejected += [(line, f"unknown source_id {sid!r}") for line, sid in zip(rows.line[~known], rows.source_id[~known])]
    rows = rows[known]

    stored = set()
    ids = rows.classification_id.unique().tolist()
    for chunk in range(0, len(ids), 500):
        stored.update(session.scalars(
            select(Classification.submission_id).where(Classification.submission_id.in_(ids[chunk:chunk + 500]))
        ))
    report.already_stored = len(stored)
    rows = rows[~rows.classification_id.isin(stored)]

    user_pk = {name: get_or_create_user(session, name=name).id for name in rows.user.unique()}
    flag_columns = [f for f in FLAGS if f in rows.columns]
    located = "layer_pk" in rows.columns  # clicks made on a known layer (e.g. a Panoptes import)
    todo = rows.classification_id.nunique()
    for done, (cid, group) in enumerate(rows.groupby("classification_id", sort=False)):
        if progress is not None and done % 2000 == 0:
            session.flush()  # keep the unit of work small on big imports
            progress(done, todo)
        clicks = group[~group.no_host]
        first = group.iloc[0]
        classification = Classification(
            submission_id=cid, source_pk=source_pk[first.source_id], user_pk=user_pk[first.user],
            no_host=clicks.empty, origin="import", **{f: bool(first[f]) for f in flag_columns},
        )
        classification.hosts = [
            HostMark(ra=float(c.host_ra), dec=float(c.host_dec),
                     **(dict(layer_pk=int(c.layer_pk), pixel_x=float(c.pixel_x), pixel_y=float(c.pixel_y))
                        if located else {}))
            for c in clicks.itertuples(index=False)
        ]
        session.add(classification)
        report.classifications_added += 1
        report.clicks_added += len(clicks)
    session.flush()
    if progress is not None:
        progress(todo, todo)
    return report


@dataclass(frozen=True)
class Mark:
    """A host marked on the page: sky position plus the pixel and layer it was clicked on."""

    ra: float
    dec: float
    layer_pk: int | None = None
    pixel_x: float | None = None
    pixel_y: float | None = None
    catalogue_id: str | None = None
    click_ra: float | None = None  # where the click was, when the mark snapped to a catalogue object
    click_dec: float | None = None


MAX_COMMENT_LENGTH = 2000


def comment_problem(comment: str) -> str | None:
    """Why a comment cannot be stored, or ``None`` (PostgreSQL text holds no NUL character)."""
    if len(comment) > MAX_COMMENT_LENGTH:
        return f"a comment has at most {MAX_COMMENT_LENGTH} characters"
    if "\x00" in comment:
        return "a comment cannot hold NUL characters"
    return None


class InvalidSubmission(ValueError):
    """A submission that must not be stored (bad position, unknown source or user)."""


def save_classification(session: Session, *, submission_id: str, user_pk: int, source_pk: int,
                        marks: Sequence[Mark], no_host: bool = False, flags: Iterable[str] = (),
                        comment: str = "", origin: str = "app") -> int:
    """Store one answer exactly once; a replayed ``submission_id`` returns the stored classification's id.

    An answer marks hosts, or says "no host", or only raises flags (e.g. an artefact has no host).

    Raises
    ------
    InvalidSubmission
        If a mark's position is not a valid sky position, the answer is both "no host" and has marks, it is
        empty, a flag is unknown or the comment too long.
    """
    flags = set(flags)
    if problem := text_problem(submission_id, "answer id", CLASSIFICATION_ID):
        raise InvalidSubmission(problem)
    if no_host and marks:
        raise InvalidSubmission("an answer cannot both mark hosts and say there is no host")
    if not (no_host or marks or flags):
        raise InvalidSubmission("mark a host, choose 'No host', or raise a flag")
    if flags - set(FLAGS):
        raise InvalidSubmission(f"unknown flag(s): {', '.join(sorted(flags - set(FLAGS)))}")
    if (problem := comment_problem(comment)) is not None:
        raise InvalidSubmission(problem)
    bad = [m for m in marks if not valid_sky_position(m.ra, m.dec)]
    if bad:
        raise InvalidSubmission(f"invalid host position {bad[0].ra!r}, {bad[0].dec!r}")
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
                                     click_dec=m.click_dec) for m in marks]
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


def marks_of(classification: Classification) -> list[Mark]:
    return [Mark(h.ra, h.dec, h.layer_pk, h.pixel_x, h.pixel_y, h.catalogue_id, h.click_ra, h.click_dec)
            for h in classification.hosts]


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
    """Sources the crowd flagged as artefact, blend or too zoomed in: undecided first, most flagged first."""
    counts = (
        select(
            Classification.source_pk,
            func.count(Classification.id).label("n"),
            func.sum(case((Classification.artefact, 1), else_=0)).label("artefact"),
            func.sum(case((Classification.blend, 1), else_=0)).label("blend"),
            func.sum(case((Classification.too_zoomed_in, 1), else_=0)).label("too_zoomed_in"),
        )
        .where(CROWD)
        .group_by(Classification.source_pk)
        .subquery()
    )
    decided = select(Classification.source_pk).where(Classification.origin == "expert")
    flagged = counts.c.artefact + counts.c.blend + counts.c.too_zoomed_in
    rows = session.execute(
        select(Source.id, Source.source_id, counts.c.n, counts.c.artefact, counts.c.blend, counts.c.too_zoomed_in,
               Source.id.in_(decided), Source.is_gold)
        .join(counts, counts.c.source_pk == Source.id)
        .where(flagged > 0)
        .order_by(Source.id.in_(decided), flagged.desc(), Source.id)
    ).all()
    return [QueueRow(pk, sid, int(n), int(a), int(b), int(z), bool(decided), bool(gold))
            for pk, sid, n, a, b, z, decided, gold in rows]


def crowd_marks(session: Session, *, source_pk: int) -> list[tuple[float, float]]:
    """Every host position the crowd marked on a source (latest answer per annotator)."""
    latest = (
        select(func.max(Classification.id).label("id"))
        .where(Classification.source_pk == source_pk, CROWD)
        .group_by(Classification.user_pk)
        .subquery()
    )
    return [tuple(r) for r in session.execute(
        select(HostMark.ra, HostMark.dec).join(latest, latest.c.id == HostMark.classification_pk))]


@dataclass(frozen=True)
class UserStats:
    name: str
    role: str
    classifications: int
    sources_done: int
    last_active: str
    gold_answered: int


def user_stats(session: Session) -> list[UserStats]:
    """Per-user progress for the admin page (crowd answers only)."""
    rows = session.execute(
        select(User.name, User.role, func.count(Classification.id), func.count(func.distinct(Classification.source_pk)),
               func.max(Classification.created_at),
               func.count(func.distinct(case((Source.is_gold, Classification.source_pk)))))
        .outerjoin(Classification, (Classification.user_pk == User.id) & CROWD)
        .outerjoin(Source, Source.id == Classification.source_pk)
        .group_by(User.id, User.name, User.role)
        .order_by(func.count(Classification.id).desc(), User.name)
    ).all()
    return [UserStats(name, role, int(n), int(done), _iso_utc(last) if last else "", int(gold))
            for name, role, n, done, last, gold in rows]


def set_gold(session: Session, *, source_pk: int, gold: bool) -> None:
    session.get(Source, source_pk).is_gold = gold
    session.flush()


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


def random_source(session: Session, *, user_pk: int, exclude: Iterable[int] = (), rng: random.Random | None = None) -> int | None:
    """A random source the user has not classified."""
    query = select(Source.id).where(_undone_by(user_pk))
    exclude = list(exclude)
    if exclude:
        query = query.where(Source.id.not_in(exclude))
    ids = session.scalars(query).all()
    return (rng or random).choice(ids) if ids else None


def done_sources(session: Session, *, user_pk: int) -> set[int]:
    """Sources the user has answered (crowd answers), read from the (user, source) index."""
    return set(session.scalars(select(Classification.source_pk).where(Classification.user_pk == user_pk, CROWD)
                               .distinct()))


def existing_sources(session: Session, source_pks: Sequence[int]) -> set[int]:
    """Those of ``source_pks`` still in the database."""
    return set(session.scalars(select(Source.id).where(Source.id.in_([int(pk) for pk in source_pks]))))


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


def _columns(conn, statement, dtypes: Sequence) -> list[np.ndarray]:
    """A Core SELECT's rows as one numpy array per column (``dtypes``: numpy dtypes, ``object`` for text),
    fetched through the DBAPI cursor in chunks: SQLAlchemy's per-row processing costs more than the query
    on a million rows."""
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    numeric = all(np.dtype(dtype).kind in "iuf" for dtype in dtypes)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        chunks = []
        while rows := cursor.fetchmany(200_000):
            if numeric:  # one flat float array, split below: no Python list per column
                flat = np.fromiter(chain.from_iterable(rows), dtype=float, count=len(rows) * len(dtypes))
                chunks.append([flat[i::len(dtypes)].astype(dtype) for i, dtype in enumerate(dtypes)])
            else:
                chunks.append([np.asarray(column, dtype=dtype) for column, dtype in zip(zip(*rows), dtypes)])
    finally:
        cursor.close()
    return [np.concatenate([chunk[i] for chunk in chunks]) if chunks else np.empty(0, dtype=dtype)
            for i, dtype in enumerate(dtypes)]


def _integer_columns(conn, table, columns: Sequence, where, *, key) -> list[np.ndarray]:
    """Integer columns of the rows of ``table`` matching ``where`` (None: all), sorted by the column
    ``key`` (which must be unique and among ``columns``), as int64 arrays.

    On SQLite each column comes back as one ``group_concat`` string per range of ``key`` that numpy
    parses: a million rows in a third of the time the DBAPI takes to build a million row tuples. The
    columns of one aggregate are concatenated in the same row order, whatever that order is; the arrays
    are sorted by ``key`` here, so nothing depends on it."""
    where = true() if where is None else where
    if conn.dialect.name != "sqlite":
        return _columns(conn, select(*columns).where(where).order_by(key), [np.int64] * len(columns))
    low, high = conn.execute(select(func.min(key), func.max(key))).one()  # over the whole table: from the index
    chunks = [[np.empty(0, dtype=np.int64) for _ in columns]]
    for start in range(low or 0, (high or -1) + 1, _CONCAT_CHUNK):
        statement = select(*(func.group_concat(column) for column in columns)).select_from(table) \
            .where(where, key >= start, key < start + _CONCAT_CHUNK)
        texts = conn.execute(statement).one()
        if texts[0] is not None:
            chunks.append([np.fromstring(text, dtype=np.int64, sep=",") for text in texts])
    arrays = [np.concatenate([chunk[i] for chunk in chunks]) for i in range(len(columns))]
    keys = arrays[[c.key for c in columns].index(key.key)]
    if np.any(keys[1:] < keys[:-1]):
        order = np.argsort(keys, kind="stable")
        arrays = [a[order] for a in arrays]
    return arrays


_CONCAT_CHUNK = 2_000_000  # ids per group_concat string: ~15 MB of text per column


def _answer_rows(conn, after: int = 0) -> AnswerRows:
    """Crowd classifications with an id above ``after``, their flags and their marks.

    ``conn`` must hold one read snapshot (:func:`_one_snapshot`). The marks are read meanwhile on a
    second connection, begun after that snapshot was taken: a mark is committed with
    its classification, so none of theirs is missed; and SQLite builds the classification columns without
    holding the GIL while Python builds the mark rows."""
    with ThreadPoolExecutor(1) as pool:
        marks = pool.submit(_mark_rows, conn.engine, after)
        newer = Classification.id > after
        cls_pk, cls_src_pk, cls_user_pk = _integer_columns(
            conn, Classification, (Classification.id, Classification.source_pk, Classification.user_pk),
            CROWD & newer, key=Classification.id)
        # flags are rare: read only the flagged answers, as one bit mask each
        flag_bits = sum(case((getattr(Classification, f), 1 << i), else_=0) for i, f in enumerate(FLAGS))
        flagged_pk, flagged_bits = _columns(
            conn, select(Classification.id, flag_bits)
            .where(CROWD, newer, or_(*(getattr(Classification, f) for f in FLAGS))).order_by(Classification.id),
            (np.int64, np.int64))
        mark_cls, mark_ra, mark_dec = marks.result()
    return AnswerRows(cls_pk, cls_src_pk, cls_user_pk, flagged_pk, flagged_bits, mark_cls, mark_ra, mark_dec)


def _mark_rows(engine: Engine, after: int) -> list[np.ndarray]:
    """Classification, RA and Dec of the marks of classifications above ``after``, in the order they were
    stored (a plain scan; load_annotations groups them by classification)."""
    with engine.connect() as conn:
        return _columns(conn, select(HostMark.classification_pk, HostMark.ra, HostMark.dec)
                        .where(HostMark.classification_pk > after).order_by(HostMark.id), (np.int64, float, float))


@contextmanager
def _one_snapshot(conn):
    """The reads on a fresh ``conn`` inside see one state of the database, taken on entry: a read
    transaction on SQLite (pysqlite begins none for a SELECT), REPEATABLE READ on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        conn.execution_options(isolation_level="REPEATABLE READ")  # reset when the connection is returned
        conn.scalar(select(DatabaseIdentity.id))  # the snapshot is taken by the first read
        yield
        return
    raw = conn.connection.dbapi_connection
    raw.execute("BEGIN")
    try:
        conn.scalar(select(DatabaseIdentity.id))
        yield
    finally:
        raw.rollback()


def _fingerprint(conn, upto: int) -> np.ndarray:
    """What a snapshot of the answers up to id ``upto`` must still match: the database's identity, and
    counts and sums of the crowd classifications and of the marks up to there."""
    classifications = conn.execute(select(func.count(), func.coalesce(func.sum(Classification.id), 0))
                                   .where(CROWD, Classification.id <= upto)).one()
    marks = conn.execute(select(func.count(), func.coalesce(func.sum(HostMark.classification_pk), 0))
                         .where(HostMark.classification_pk <= upto)).one()
    return _fingerprint_of(conn, (*classifications, *marks))


def _fingerprint_of(conn, counts_and_sums: Sequence[int]) -> np.ndarray:
    return np.array([conn.scalar(select(DatabaseIdentity.id)), *(str(int(v)) for v in counts_and_sums)])


def _rows_fingerprint(conn, rows: AnswerRows, upto: int) -> np.ndarray:
    """The fingerprint the rows just read give for ids up to ``upto`` (what :func:`_fingerprint` would
    read again from the database, without scanning it twice)."""
    cls = rows.cls_pk[rows.cls_pk <= upto]
    marks = rows.mark_cls[rows.mark_cls <= upto]
    return _fingerprint_of(conn, (len(cls), int(cls.sum()), len(marks), int(marks.sum())))


_SNAPSHOT_EVERY = 20_000  # classifications added since the snapshot before it is rewritten


def _current_answer_rows(conn, snapshot_file: Path | None) -> AnswerRows:
    """Every raw crowd answer: from the snapshot plus what came after it, when the snapshot still matches
    the database; refreshing the snapshot when much has been added."""
    stored = snapshot.load(snapshot_file) if snapshot_file else None
    if stored is not None and np.array_equal(_fingerprint(conn, stored[0]), stored[1]):
        watermark, fingerprint, rows = stored
        later = _answer_rows(conn, after=watermark)
        rows = rows + later
    else:
        watermark, rows = 0, _answer_rows(conn)
        later = rows
    if snapshot_file and len(later) >= _SNAPSHOT_EVERY:
        top = int(rows.cls_pk.max())
        kept = rows.upto(top)  # marks of classifications committed after ours are read again next time
        snapshot.save(snapshot_file, top, _rows_fingerprint(conn, kept, top), kept)
    return rows


def _latest_revisions(cls_pk: np.ndarray, src_pk: np.ndarray, user_pk: np.ndarray) -> np.ndarray:
    """Indices of the latest revision of each (source, user) answer (the largest id among theirs), in id
    order. A stable sort of one combined key does it: ids are ascending, so each key's last is its latest."""
    if len(cls_pk) == 0:
        return np.empty(0, dtype=np.int64)
    if np.any(cls_pk[1:] <= cls_pk[:-1]):
        raise ValueError("classification ids must be unique and ascending")
    users = int(user_pk.max()) + 1
    if int(src_pk.max()) >= 2**62 // users:  # the combined key would overflow: sort on both instead
        order = np.lexsort((user_pk, src_pk))
        last = np.ones(len(order), dtype=bool)
        last[:-1] = (src_pk[order][1:] != src_pk[order][:-1]) | (user_pk[order][1:] != user_pk[order][:-1])
    else:
        key = src_pk * users + user_pk
        order = np.argsort(key, kind="stable")
        last = np.ones(len(order), dtype=bool)
        last[:-1] = key[order][1:] != key[order][:-1]
    return np.sort(order[last])


def load_annotations(engine: Engine, *, snapshot_file: Path | None = None
                     ) -> tuple[np.ndarray, np.ndarray, Annotations]:
    """Every source and the current answers (latest revision per user and source) as flat arrays.

    Read with SQLAlchemy Core into numpy; which revision is the latest is worked out in numpy too, which
    is far faster than a grouped sub-query on SQLite. With ``snapshot_file`` (see
    :mod:`xid_app.store.snapshot`) only answers added since the last snapshot are read from the database.

    Returns
    -------
    source_pks, source_ids : numpy.ndarray
        ``(n_sources,)`` primary keys and identifiers, in the order the arrays of ``Annotations`` index.
    annotations : xid_app.consensus.Annotations
    """
    with engine.connect() as conn, _one_snapshot(conn):
        src_pk, source_ids, source_ra, source_dec = _columns(
            conn, select(Source.id, Source.source_id, Source.ra, Source.dec).order_by(Source.id),
            (np.int64, object, float, float))
        rows = _current_answer_rows(conn, snapshot_file)
    cls_pk, cls_src_pk, cls_user_pk = rows.cls_pk, rows.cls_src_pk, rows.cls_user_pk
    flagged_pk, flagged_bits = rows.flagged_pk, rows.flagged_bits
    mark_cls, mark_ra, mark_dec = rows.mark_cls, rows.mark_ra, rows.mark_dec
    chosen = _latest_revisions(cls_pk, cls_src_pk, cls_user_pk)
    current, cur_src_pk, cur_user_pk = (a[chosen] for a in (cls_pk, cls_src_pk, cls_user_pk))
    cur_bits = np.zeros(len(current), dtype=np.int64)
    where = np.searchsorted(current, flagged_pk)
    hit = where < len(current)
    hit[hit] = current[where[hit]] == flagged_pk[hit]
    cur_bits[where[hit]] = flagged_bits[hit]
    # marks of current crowd classifications, in classification order
    position = np.searchsorted(current, mark_cls)
    position = np.minimum(position, max(len(current) - 1, 0))
    keep = (current[position] == mark_cls) if len(current) else np.zeros(len(mark_cls), bool)
    by_cls = np.argsort(position[keep], kind="stable")
    _, cls_user = np.unique(cur_user_pk, return_inverse=True)
    cur_flags = (cur_bits[:, None] >> np.arange(len(FLAGS))) & 1 == 1
    annotations = Annotations(
        source_ra=source_ra,
        source_dec=source_dec,
        cls_source=np.searchsorted(src_pk, cur_src_pk),
        click_cls=position[keep][by_cls],
        click_ra=mark_ra[keep][by_cls],
        click_dec=mark_dec[keep][by_cls],
        cls_user=cls_user,
        cls_flags=cur_flags,
    )
    return src_pk, source_ids, annotations


def annotator_names(engine: Engine) -> list[str]:
    """Names of the annotators, in the order ``Annotations.cls_user`` indexes them (sorted user id among
    those with a crowd answer)."""
    with engine.connect() as conn:
        return list(conn.scalars(
            select(User.name).where(User.id.in_(select(Classification.user_pk).where(CROWD))).order_by(User.id)))


def source_pks(bind: Engine | Connection) -> np.ndarray:
    """Primary keys of every source, in the order :func:`load_annotations` indexes them."""
    with (bind.connect() if isinstance(bind, Engine) else nullcontext(bind)) as conn:
        return _integer_columns(conn, Source, (Source.id,), None, key=Source.id)[0]


def add_catalogue_objects(session: Session, *, rows: CatalogueRows,
                          progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Store catalogue objects in bulk (chunks of 50,000); IDs already stored are left as they are."""
    dialect = session.get_bind().dialect.name
    insert_new = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(CatalogueObject) \
        .on_conflict_do_nothing(index_elements=["object_id"])
    n, chunk = len(rows.ids), 50_000
    properties = rows.properties if rows.properties is not None else np.full(n, None, dtype=object)
    conn = session.connection()
    before = conn.scalar(select(func.count(CatalogueObject.id)))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        conn.execute(insert_new, [
            dict(object_id=i, ra=r, dec=d, properties=p) for i, r, d, p in zip(
                rows.ids[start:stop].tolist(), rows.ra[start:stop].tolist(), rows.dec[start:stop].tolist(),
                properties[start:stop].tolist())])
        if progress is not None:
            progress(stop, n)
    added = conn.scalar(select(func.count(CatalogueObject.id))) - before
    return IngestReport(added=added, unchanged=n - added)


def catalogue_version(engine: Engine) -> int:
    """Changes whenever objects are added (they are never removed): the largest primary key, read from
    the index in no time however large the catalogue."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.max(CatalogueObject.id))) or 0)


def load_catalogue(engine: Engine) -> CatalogueIndex:
    with engine.connect() as conn:
        ids, ra, dec = _columns(conn, select(CatalogueObject.object_id, CatalogueObject.ra, CatalogueObject.dec)
                                .order_by(CatalogueObject.id), (object, float, float))
    return CatalogueIndex(ids, ra, dec)


def catalogue_properties(engine: Engine, object_id: str) -> dict:
    """The numbers (magnitudes...) kept with a catalogue object; empty if none or no such object."""
    with engine.connect() as conn:
        text = conn.scalar(select(CatalogueObject.properties).where(CatalogueObject.object_id == object_id))
    return {k: v for k, v in json.loads(text).items() if v is not None} if text else {}


def load_expert_answers(engine: Engine) -> ExpertAnswers:
    """The latest expert answer of every source that has one, indexed like :func:`load_annotations`."""
    latest = (select(func.max(Classification.id).label("id")).where(Classification.origin == "expert")
              .group_by(Classification.source_pk).subquery())
    with engine.connect() as conn:
        src_pk = source_pks(conn)
        answers = conn.execute(
            select(Classification.id, Classification.source_pk, User.name, Classification.created_at)
            .join(latest, latest.c.id == Classification.id)
            .join(User, User.id == Classification.user_pk)
            .order_by(Classification.id)
        ).all()
        hosts = conn.execute(
            select(HostMark.classification_pk, HostMark.ra, HostMark.dec)
            .join(latest, latest.c.id == HostMark.classification_pk)
            .order_by(HostMark.classification_pk, HostMark.id)
        ).all()
    answer_pk = np.array([a[0] for a in answers], dtype=np.int64)
    host_arr = np.array([tuple(h) for h in hosts], dtype=float).reshape(-1, 3)
    return ExpertAnswers(
        source=np.searchsorted(src_pk, np.array([a[1] for a in answers], dtype=np.int64)),
        decided_by=np.array([a[2] for a in answers], dtype=str),
        decided_at=np.array([_iso_utc(a[3]) for a in answers], dtype=str),
        host_answer=np.searchsorted(answer_pk, host_arr[:, 0].astype(np.int64)),
        host_ra=host_arr[:, 1],
        host_dec=host_arr[:, 2],
    )


def gold_sources(engine: Engine) -> np.ndarray:
    """Indices (as :func:`load_annotations` orders sources) of the gold-standard sources."""
    with engine.connect() as conn:
        return np.searchsorted(source_pks(conn), conn.scalars(select(Source.id).where(Source.is_gold)).all())


def _iso_utc(moment) -> str:
    if moment.tzinfo is None:  # SQLite returns naive datetimes; XID stores UTC
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def classification_rows(engine: Engine) -> dict[str, list]:
    """Every answer ever given, one row per mark (one row for an answer without marks), oldest first,
    as columns named as in :data:`xid_app.export.CLASSIFICATION_COLUMNS`."""
    latest = set(
        r[0] for r in _fetch(engine, select(func.max(Classification.id)).group_by(
            Classification.source_pk, Classification.user_pk, Classification.origin == "expert"))
    )
    rows = _fetch(engine, (
        select(Classification.id, Classification.submission_id, Source.source_id, User.name, HostMark.ra,
               HostMark.dec, Classification.created_at, Classification.origin, Classification.artefact,
               Classification.blend, Classification.too_zoomed_in, Classification.unsure, Classification.comment,
               HostMark.catalogue_id, HostMark.click_ra, HostMark.click_dec, Layer.band, HostMark.pixel_x,
               HostMark.pixel_y)
        .join(Source, Source.id == Classification.source_pk)
        .join(User, User.id == Classification.user_pk)
        .outerjoin(HostMark, HostMark.classification_pk == Classification.id)
        .outerjoin(Layer, Layer.id == HostMark.layer_pk)
        .order_by(Classification.id, HostMark.id)
    ))
    nan = float("nan")
    out: dict[str, list] = {name: [] for name in (
        "classification_id", "source_id", "user", "host_ra", "host_dec", "no_host", "created_at", "origin",
        "is_latest", "artefact", "blend", "too_zoomed_in", "unsure", "comment", "catalogue_id", "click_ra",
        "click_dec", "band", "pixel_x", "pixel_y")}
    for (pk, sub, sid, user, ra, dec, at, origin, artefact, blend, tzi, unsure, comment, cat, cra, cdec, band,
         px, py) in rows:
        for name, value in (
            ("classification_id", sub), ("source_id", sid), ("user", user),
            ("host_ra", nan if ra is None else ra), ("host_dec", nan if dec is None else dec),
            ("no_host", int(ra is None)), ("created_at", _iso_utc(at)), ("origin", origin),
            ("is_latest", int(pk in latest)), ("artefact", int(artefact)), ("blend", int(blend)),
            ("too_zoomed_in", int(tzi)), ("unsure", int(unsure)), ("comment", comment or ""),
            ("catalogue_id", cat or ""), ("click_ra", nan if cra is None else cra),
            ("click_dec", nan if cdec is None else cdec), ("band", band or ""),
            ("pixel_x", nan if px is None else px), ("pixel_y", nan if py is None else py),
        ):
            out[name].append(value)
    return out


def _fetch(engine: Engine, statement) -> list:
    with engine.connect() as conn:
        return conn.execute(statement).all()


def save_consensus_run(session: Session, *, result: Consensus, source_pks: np.ndarray, version: str) -> int:
    """Store a consensus result and its hosts; returns the run's id."""
    run = ConsensusRun(method=result.method, params=json.dumps(result.params, sort_keys=True), xid_version=version,
                       n_sources=int((result.n_classifications > 0).sum()), n_hosts=len(result.host_ra),
                       n_classifications=int(result.n_classifications.sum()))
    session.add(run)
    session.flush()
    hosts = [dict(run_pk=run.id, source_pk=int(source_pks[s]), ra=float(ra), dec=float(dec), votes=int(v),
                  level=float(level), scatter_arcsec=float(scatter))
             for s, ra, dec, v, level, scatter in zip(result.host_source, result.host_ra, result.host_dec,
                                                       result.host_votes, result.host_level,
                                                       result.host_scatter_arcsec)]
    for start in range(0, len(hosts), 10_000):
        session.execute(insert(ConsensusHost), hosts[start:start + 10_000])
    return run.id


def consensus_runs(session: Session) -> list[ConsensusRun]:
    return list(session.scalars(select(ConsensusRun).order_by(ConsensusRun.id)))
