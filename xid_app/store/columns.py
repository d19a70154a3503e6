"""Fast column reads of every answer for consensus and export: integer columns as one string per column,
marks read alongside in one snapshot, fingerprints of what was read.

The store module that hands numpy arrays rather than rows; the extract step (:mod:`xid_app.extract`) turns
them into :class:`~xid_app.consensus.Annotations`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from datetime import timezone
from itertools import chain, groupby
from pathlib import Path
from typing import Sequence

import numpy as np
from sqlalchemy import Connection, Engine, Text, case, cast, func, or_, select, true

from ..answers import FLAGS
from ..consensus import Annotations, ExpertAnswers
from ..extract import AnswerRows, annotations_from_rows
from . import snapshot
from .models import (
    CROWD,
    AnswerComponent,
    Classification,
    Component,
    DatabaseIdentity,
    HostMark,
    Layer,
    Source,
    User,
)


def read_columns(conn, statement, dtypes: Sequence) -> list[np.ndarray]:
    """A Core SELECT's rows as one numpy array per column (``dtypes``: numpy dtypes, ``object`` for text),
    fetched through the DBAPI cursor in chunks: SQLAlchemy's per-row processing costs more than the query
    on a million rows. (PostgreSQL's ``COPY ... TO STDOUT``, as CSV parsed by Arrow or binary, measured
    slower than psycopg's fetch on two million rows.)"""
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


def read_sorted_columns(conn, table, columns: Sequence, where, *, key, dtypes: Sequence | None = None
                        ) -> list[np.ndarray]:
    """Columns of the rows of ``table`` matching ``where`` (None: all), sorted by the column ``key`` (which
    must be unique, among ``columns`` and never NULL, as must the others), as numpy arrays of ``dtypes``
    (int64, float or object for text; default all int64).

    On SQLite each integer or text column comes back as one ``group_concat`` string per range of ``key``
    that numpy parses (integers) or ``str.split`` cuts (text, joined by the unit separator, a control
    character no stored identifier may hold): a million rows in a third of the time the DBAPI takes to
    build a million row tuples, a tenth for text. Floats, which SQLite would need printing to 17 digits
    to come back exact, are faster through :func:`read_columns`. PostgreSQL's ``string_agg`` does the same
    for every column, floats too (it prints the shortest exact text): the 4.1 M sources of a LoTSS-sized
    survey in 4.4 s instead of 9.5 s through the driver's rows. The columns of one aggregate are concatenated in
    the same row order, whatever that order is; the arrays are sorted by ``key`` here, so nothing depends
    on it."""
    where = true() if where is None else where
    dtypes = [np.dtype(d) for d in (dtypes or [np.int64] * len(columns))]
    if conn.dialect.name not in ("sqlite", "postgresql"):
        return read_columns(conn, select(*columns).where(where).order_by(key), dtypes)
    # PostgreSQL prints a float exactly (the shortest text that reads back as the same double); SQLite not
    floats = [i for i, dtype in enumerate(dtypes) if dtype.kind == "f"] if conn.dialect.name == "sqlite" else []
    concatenated = [i for i in range(len(columns)) if i not in floats]
    key_at = [c.key for c in columns].index(key.key)
    arrays = _concatenated_columns(conn, table, [columns[i] for i in concatenated],
                                   [dtypes[i] for i in concatenated], where, key)
    if arrays is None:  # a text holding the separator: read row by row
        return read_columns(conn, select(*columns).where(where).order_by(key), dtypes)
    by_column = dict(zip(concatenated, arrays))
    keys = by_column[key_at]
    if np.any(keys[1:] < keys[:-1]):
        order = np.argsort(keys, kind="stable")
        by_column = {i: a[order] for i, a in by_column.items()}
    if floats:
        by_column.update(zip(floats, read_columns(conn, select(*(columns[i] for i in floats)).where(where)
                                                  .order_by(key), [dtypes[i] for i in floats])))
    return [by_column[i] for i in range(len(columns))]


def _concatenated_columns(conn, table, columns: Sequence, dtypes: Sequence, where, key) -> list[np.ndarray] | None:
    """Integer and text columns (and on PostgreSQL floats) through one ``group_concat`` (``string_agg``)
    per column and range of ``key``, in the order the database scanned them; None when a text held the
    separator."""
    low, high = conn.execute(select(func.min(key), func.max(key))).one()  # over the whole table: from the index
    chunks = [[np.empty(0, dtype=dtype) for dtype in dtypes]]
    # PostgreSQL: one pass over the rows feeds every aggregate, so all see one order
    joined = (lambda column, separator: func.string_agg(cast(column, Text), separator)) \
        if conn.dialect.name == "postgresql" else func.group_concat
    aggregates = [joined(column, UNIT_SEPARATOR if dtype.kind == "O" else ",") for column, dtype in zip(columns, dtypes)]
    for start in range(low or 0, (high or -1) + 1, CONCAT_CHUNK):
        count, *texts = conn.execute(select(func.count(), *aggregates).select_from(table)
                                     .where(where, key >= start, key < start + CONCAT_CHUNK)).one()
        if count:
            chunk = [_parse_concatenated(text, dtype) for text, dtype in zip(texts, dtypes)]
            if any(len(c) != count for c in chunk):
                return None
            chunks.append(chunk)
    return [np.concatenate([chunk[i] for chunk in chunks]) for i in range(len(columns))]


def _parse_concatenated(text: str, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "O":
        return np.array(text.split(UNIT_SEPARATOR), dtype=object)
    return np.fromstring(text, dtype=dtype, sep=",")


CONCAT_CHUNK = 2_000_000  # ids per group_concat string: ~15 MB of text per numeric column
UNIT_SEPARATOR = "\x1f"  # joins text values: ingest refuses identifiers holding control characters


def _answer_rows(conn, after: int = 0) -> AnswerRows:
    """Crowd classifications with an id above ``after``, their flags and their marks.

    ``conn`` must hold one read snapshot (:func:`_one_snapshot`). The marks are read meanwhile on a
    second connection, begun after that snapshot was taken: a mark is committed with
    its classification, so none of theirs is missed; and SQLite builds the classification columns without
    holding the GIL while Python builds the mark rows."""
    with ThreadPoolExecutor(1) as pool:
        marks = pool.submit(mark_rows, conn.engine, after)
        newer = Classification.id > after
        cls_pk, cls_src_pk, cls_user_pk = read_sorted_columns(
            conn, Classification, (Classification.id, Classification.source_pk, Classification.user_pk),
            CROWD & newer, key=Classification.id)
        # flags are rare: read only the flagged answers, as one bit mask each
        flag_bits = sum(case((getattr(Classification, f), 1 << i), else_=0) for i, f in enumerate(FLAGS))
        flagged_pk, flagged_bits = read_columns(
            conn, select(Classification.id, flag_bits)
            .where(CROWD, newer, or_(*(getattr(Classification, f) for f in FLAGS))).order_by(Classification.id),
            (np.int64, np.int64))
        mark_cls, mark_ra, mark_dec = marks.result()
    return AnswerRows(cls_pk, cls_src_pk, cls_user_pk, flagged_pk, flagged_bits, mark_cls, mark_ra, mark_dec)


def mark_rows(engine: Engine, after: int) -> list[np.ndarray]:
    """Classification, RA and Dec of the marks of classifications above ``after``, in the order they were
    stored (a plain scan; load_annotations groups them by classification)."""
    with engine.connect() as conn:
        return read_columns(conn, select(HostMark.classification_pk, HostMark.ra, HostMark.dec)
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
    # crowd = every origin but "expert": two ranges of the origin index, which hold the ids, read in a
    # quarter of the time of a scan of the table for ``origin != 'expert'`` (20 M answers: 0.7 s, not 2.7 s)
    crowd = [conn.execute(select(func.count(), func.coalesce(func.sum(Classification.id), 0))
                          .where(side, Classification.id <= upto)).one()
             for side in (Classification.origin < "expert", Classification.origin > "expert")]
    marks = conn.execute(select(func.count(), func.coalesce(func.sum(HostMark.classification_pk), 0))
                         .where(HostMark.classification_pk <= upto)).one()
    return _fingerprint_of(conn, (sum(c for c, _ in crowd), sum(int(t) for _, t in crowd), *marks))


def _fingerprint_of(conn, counts_and_sums: Sequence[int]) -> np.ndarray:
    return np.array([conn.scalar(select(DatabaseIdentity.id)), *(str(int(v)) for v in counts_and_sums)])


def _rows_fingerprint(conn, rows: AnswerRows, upto: int) -> np.ndarray:
    """The fingerprint the rows just read give for ids up to ``upto`` (what :func:`_fingerprint` would
    read again from the database, without scanning it twice)."""
    cls = rows.cls_pk[rows.cls_pk <= upto]
    marks = rows.mark_cls[rows.mark_cls <= upto]
    return _fingerprint_of(conn, (len(cls), int(cls.sum()), len(marks), int(marks.sum())))


SNAPSHOT_EVERY = 20_000  # classifications added since the snapshot before it is rewritten


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
    if snapshot_file and len(later) >= SNAPSHOT_EVERY:
        top = int(rows.cls_pk.max())
        kept = rows.upto(top)  # marks of classifications committed after ours are read again next time
        snapshot.save(snapshot_file, top, _rows_fingerprint(conn, kept, top), kept)
    return rows


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
        src_pk, source_ids, source_ra, source_dec = read_sorted_columns(
            conn, Source, (Source.id, Source.source_id, Source.ra, Source.dec), None, key=Source.id,
            dtypes=(np.int64, object, float, float))
        rows = _current_answer_rows(conn, snapshot_file)
    return src_pk, source_ids, annotations_from_rows(rows, source_pks=src_pk, source_ra=source_ra,
                                                     source_dec=source_dec)


def load_expert_answers(engine: Engine, src_pk: np.ndarray | None = None) -> ExpertAnswers:
    """The latest expert answer of every source that has one, indexed like :func:`load_annotations`
    (``src_pk``: its source keys, if already read)."""
    latest = (select(func.max(Classification.id).label("id")).where(Classification.origin == "expert")
              .group_by(Classification.source_pk).subquery())
    with engine.connect() as conn:
        src_pk = source_pks(conn) if src_pk is None else src_pk
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
        decided_at=np.array([iso_utc(a[3]) for a in answers], dtype=str),
        host_answer=np.searchsorted(answer_pk, host_arr[:, 0].astype(np.int64)),
        host_ra=host_arr[:, 1],
        host_dec=host_arr[:, 2],
    )


def iso_utc(moment) -> str:
    if moment.tzinfo is None:  # SQLite returns naive datetimes; XID stores UTC
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def classification_rows(engine: Engine) -> dict[str, list]:
    """Every answer ever given, one row per mark, plus one row (no host) per radio source of the answer
    that has no host, or for an answer without marks; oldest first, as columns named as in
    :data:`xid_app.export.CLASSIFICATION_COLUMNS`."""
    latest = set(
        r[0] for r in _fetch(engine, select(func.max(Classification.id)).group_by(
            Classification.source_pk, Classification.user_pk, Classification.origin == "expert"))
    )
    groups: dict[int, dict[int, list[str]]] = {}
    for pk, number, component in _fetch(engine, select(
            AnswerComponent.classification_pk, AnswerComponent.group_number, Component.component_id)
            .join(Component, Component.id == AnswerComponent.component_pk)):
        groups.setdefault(pk, {}).setdefault(number, []).append(component)
    rows = _fetch(engine, (
        select(Classification.id, Classification.submission_id, Source.source_id, User.name, HostMark.ra,
               HostMark.dec, Classification.created_at, Classification.origin, Classification.artefact,
               Classification.blend, Classification.too_zoomed_in, Classification.unsure, Classification.comment,
               HostMark.catalogue_id, HostMark.click_ra, HostMark.click_dec, Layer.band, HostMark.pixel_x,
               HostMark.pixel_y, HostMark.group_number)
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
        "click_dec", "band", "pixel_x", "pixel_y", "components")}

    def emit(pk, sub, sid, user, ra, dec, at, origin, artefact, blend, tzi, unsure, comment, cat, cra, cdec, band,
             px, py, components):
        for name, value in (
            ("classification_id", sub), ("source_id", sid), ("user", user),
            ("host_ra", nan if ra is None else ra), ("host_dec", nan if dec is None else dec),
            ("no_host", int(ra is None)), ("created_at", iso_utc(at)), ("origin", origin),
            ("is_latest", int(pk in latest)), ("artefact", int(artefact)), ("blend", int(blend)),
            ("too_zoomed_in", int(tzi)), ("unsure", int(unsure)), ("comment", comment or ""),
            ("catalogue_id", cat or ""), ("click_ra", nan if cra is None else cra),
            ("click_dec", nan if cdec is None else cdec), ("band", band or ""),
            ("pixel_x", nan if px is None else px), ("pixel_y", nan if py is None else py),
            ("components", ";".join(sorted(components))),
        ):
            out[name].append(value)

    for pk, marks in groupby(rows, key=lambda row: row[0]):
        marks = list(marks)
        own = groups.get(pk, {})
        hosted = {m[-1] for m in marks if m[4] is not None}
        for *mark, number in marks:
            if mark[4] is not None:
                emit(*mark, own.get(number, ()))
        unhosted = [own[n] for n in sorted(own) if n not in hosted]
        if not hosted and not unhosted:
            unhosted = [()]
        blank = (*marks[0][:4], None, None, *marks[0][6:13], None, None, None, None, None, None)
        for components in unhosted:
            emit(*blank, components)
    return out


def _fetch(engine: Engine, statement) -> list:
    with engine.connect() as conn:
        return conn.execute(statement).all()


def source_pks(bind: Engine | Connection) -> np.ndarray:
    """Primary keys of every source, in the order :func:`load_annotations` indexes them."""
    with (bind.connect() if isinstance(bind, Engine) else nullcontext(bind)) as conn:
        return read_sorted_columns(conn, Source, (Source.id,), None, key=Source.id)[0]


def gold_sources(engine: Engine, src_pk: np.ndarray | None = None) -> np.ndarray:
    """Indices (as :func:`load_annotations` orders sources, ``src_pk`` if already read) of the
    gold-standard sources."""
    with engine.connect() as conn:
        gold = conn.scalars(select(Source.id).where(Source.is_gold)).all()
        return np.searchsorted(source_pks(conn) if src_pk is None else src_pk, gold)


def source_positions(engine: Engine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every source's primary key (ascending), RA and Dec."""
    with engine.connect() as conn:
        return tuple(read_sorted_columns(conn, Source, (Source.id, Source.ra, Source.dec), None, key=Source.id,
                                         dtypes=(np.int64, float, float)))
