"""The on-disk snapshot of raw answers: reruns read only what was added, and a snapshot that no longer
matches its database is never used."""

import numpy as np
import pandas as pd
import pytest

from xid_app.extract import latest_revisions
from xid_app.project import Project
from xid_app.store import columns, snapshot
from xid_app.store.columns import load_annotations, mark_rows
from xid_app.store.snapshot import snapshot_path


@pytest.fixture
def every_answer_snapshots(monkeypatch):
    monkeypatch.setattr(columns, "SNAPSHOT_EVERY", 1)


def _hosts(project: Project) -> np.ndarray:
    t = project.host_catalogue()
    return np.c_[np.ma.filled(t["host_ra"], np.nan), np.ma.filled(t["host_dec"], np.nan)]


def _split(rgz, tmp_path):
    """RGZ's classifications in two halves, as two interchange files."""
    frame = pd.read_csv(rgz["annotations"])
    ids = frame.classification_id.unique()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    frame[frame.classification_id.isin(ids[:100])].to_csv(first, index=False)
    frame[~frame.classification_id.isin(ids[:100])].to_csv(second, index=False)
    return first, second


def test_rerun_reads_the_snapshot_and_what_came_after(project, rgz, tmp_path, every_answer_snapshots):
    project.ingest(rgz["sources"])
    first, second = _split(rgz, tmp_path)
    project.import_annotations(first)
    project.host_catalogue()
    path = snapshot_path(project.settings.data_dir / "snapshots", project.url)
    watermark, _, rows = snapshot.load(path)
    assert len(rows) == 100
    project.import_annotations(second)
    with_snapshot = _hosts(project)
    assert len(snapshot.load(path)[2]) == 210
    path.unlink()
    np.testing.assert_array_equal(with_snapshot, _hosts(project))  # the same as from the database alone


def test_a_snapshot_of_another_database_is_not_used(rgz, tmp_path, settings, every_answer_snapshots):
    """Same URL, recreated with the same number of answers but moved clicks: the fingerprint differs."""
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    frame = pd.read_csv(rgz["annotations"])
    moved = tmp_path / "moved.csv"
    frame.assign(host_dec=frame.host_dec + 10 / 3600).to_csv(moved, index=False)
    hosts = []
    for annotations in (rgz["annotations"], moved):
        (tmp_path / "x.sqlite").unlink(missing_ok=True)
        from xid_app.store.db import engine_for

        engine_for.cache_clear()
        project = Project(url, settings=settings)
        project.init()
        project.ingest(rgz["sources"])
        project.import_annotations(annotations)
        hosts.append(_hosts(project))
        project.engine.dispose()
    dec_shift = np.nanmedian(hosts[1][:, 1] - hosts[0][:, 1]) * 3600
    assert dec_shift == pytest.approx(10, abs=0.01)


def test_an_unreadable_snapshot_is_rebuilt(project, rgz, every_answer_snapshots):
    project.ingest(rgz["sources"])
    project.import_annotations(rgz["annotations"])
    expected = _hosts(project)
    path = snapshot_path(project.settings.data_dir / "snapshots", project.url)
    path.write_bytes(b"<html>not a snapshot</html>")
    np.testing.assert_array_equal(expected, _hosts(project))
    assert len(snapshot.load(path)[2]) == 210


def test_an_answer_committed_while_the_answers_are_read_counts_once(project, rgz, tmp_path, monkeypatch,
                                                                    every_answer_snapshots):
    """The marks are read on a second connection, after the classifications' snapshot was taken: answers
    committed in between bring marks without their classifications. They must not be kept in the snapshot
    (they are read again with their classifications next time), nor counted twice."""
    project.ingest(rgz["sources"])
    first, second = _split(rgz, tmp_path)
    project.import_annotations(first)
    read_marks, committed = mark_rows, []

    def commit_then_read_marks(engine, after):
        if not committed:
            committed.append(project.import_annotations(second))
        return read_marks(engine, after)

    monkeypatch.setattr(columns, "mark_rows", commit_then_read_marks)
    project.host_catalogue()
    path = snapshot_path(project.settings.data_dir / "snapshots", project.url)
    watermark, _, rows = snapshot.load(path)
    assert committed and len(rows) == 100
    assert rows.mark_cls.max() <= watermark
    monkeypatch.setattr(columns, "mark_rows", read_marks)
    _, _, ann = load_annotations(project.engine, snapshot_file=path)
    assert len(ann.cls_source) == 210
    path.unlink()
    _, _, from_database = load_annotations(project.engine)
    np.testing.assert_array_equal(ann.click_cls, from_database.click_cls)
    np.testing.assert_array_equal(ann.click_ra, from_database.click_ra)


def test_answers_read_in_many_pieces_are_the_same(project, rgz, monkeypatch):
    """On SQLite integer columns come back as group_concat strings, one per range of ids."""
    project.ingest(rgz["sources"])
    project.import_annotations(rgz["annotations"])
    _, _, whole = load_annotations(project.engine)
    monkeypatch.setattr(columns, "CONCAT_CHUNK", 7)
    _, _, pieces = load_annotations(project.engine)
    for name in ("cls_source", "cls_user", "click_cls", "click_ra", "click_dec", "cls_flags"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(pieces, name))
    assert len(whole.cls_source) == 210


def test_the_latest_revision_is_found_whatever_the_size_of_the_ids():
    cls_pk = np.arange(1, 9)
    user = np.array([1, 2, 1, 1, 2, 3, 3, 1])
    for src in (np.array([5, 5, 5, 6, 5, 6, 6, 5]), np.array([5, 5, 5, 6, 5, 6, 6, 5]) * 2**59):
        latest = latest_revisions(cls_pk, src, user)
        np.testing.assert_array_equal(cls_pk[latest], [4, 5, 7, 8])
        by_source = latest_revisions(cls_pk, src, user, by_source=True)
        np.testing.assert_array_equal(cls_pk[by_source], [8, 5, 4, 7])  # (source, user) order
    with pytest.raises(ValueError, match="ascending"):
        latest_revisions(cls_pk[::-1], src, user)


def test_positions_among_the_current_ids_by_table_and_by_search():
    from xid_app.arrays import positions as _positions

    current = np.array([7, 3, 12, 5])
    asked = np.array([3, 4, 12, 7, 99, 5])
    for scale in (1, 10**9):  # dense ids: a lookup table; sparse ones: a binary search
        np.testing.assert_array_equal(_positions(current * scale, asked * scale), [1, -1, 2, 0, -1, 3])
    assert len(_positions(current[:0], asked)) == 6 and (_positions(current[:0], asked) == -1).all()


def test_answers_come_grouped_by_source_with_their_clicks_and_flags(project, rgz):
    """The reducers' order: sources together; each click and flag still on its own classification."""
    project.ingest(rgz["sources"])
    project.import_annotations(rgz["annotations"])
    _, source_ids, ann = load_annotations(project.engine)
    assert np.all(np.diff(ann.cls_source) >= 0)
    assert np.all(np.diff(ann.click_cls) >= 0)
    frame = pd.read_csv(rgz["annotations"])
    clicked = frame[frame.no_host == 0]
    ours = sorted(zip(source_ids[ann.cls_source[ann.click_cls]], np.round(ann.click_ra, 6)))
    assert ours == sorted(zip(clicked.source_id, np.round(clicked.host_ra, 6)))


def test_sorted_columns_read_exactly_and_fall_back_for_a_text_holding_the_separator(project, rgz):
    """Text comes back cut at the unit separator, floats exactly; a text holding the separator (which
    ingest refuses, but an old database might hold) sends the read row by row, with the same result."""
    from sqlalchemy import select, update

    from xid_app.store.models import Source

    project.ingest(rgz["sources"])
    columns_read = (Source.id, Source.source_id, Source.ra, Source.dec)
    dtypes = (np.int64, object, float, float)
    rng = np.random.default_rng(8)
    with project.engine.begin() as conn:  # doubles to their last bit (PostgreSQL's come back as text)
        for pk in conn.execute(select(Source.id)).scalars().all():
            conn.execute(update(Source).where(Source.id == pk).values(ra=float(rng.uniform(0, 360)),
                                                                      dec=float(rng.uniform(-90, 90))))
    with project.engine.connect() as conn:
        rows = conn.execute(select(*columns_read).order_by(Source.id)).all()
        fast = columns.read_sorted_columns(conn, Source, columns_read, None, key=Source.id, dtypes=dtypes)
    assert [tuple(a[i] for a in fast) for i in range(len(rows))] == [tuple(r) for r in rows]
    with project.engine.begin() as conn:
        conn.execute(update(Source).where(Source.id == rows[3][0]).values(source_id="odd\x1fname"))
    with project.engine.connect() as conn:
        again = columns.read_sorted_columns(conn, Source, columns_read, None, key=Source.id, dtypes=dtypes)
    assert again[1][3] == "odd\x1fname" and len(again[1]) == len(rows)


def test_dense_ranks_and_indices_match_numpy():
    from xid_app.arrays import dense_ranks, index_of

    rng = np.random.default_rng(3)
    for values in (rng.integers(0, 50, 1000), rng.integers(0, 10**12, 1000), np.array([], dtype=np.int64)):
        np.testing.assert_array_equal(dense_ranks(values), np.unique(values, return_inverse=True)[1])
    for keys in (np.arange(7, 107), np.unique(rng.integers(0, 10**6, 100))):
        values = rng.choice(keys, 500)
        np.testing.assert_array_equal(index_of(keys, values), np.searchsorted(keys, values))
