"""Bulk imports on SQLite and PostgreSQL: set-based writes stay idempotent on ``classification_id``, land
all or nothing, refuse bad rows as before, and give what the ORM path gave (revisions in file order,
component groups, users created once) — also on the path that drops and rebuilds indexes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from xid_app.store import bulk
from xid_app.tables import IngestError

HEADER = "classification_id,source_id,user,host_ra,host_dec,no_host\n"


@pytest.fixture
def sources(project, tmp_path):
    """Three sources, and the project they are in."""
    path = tmp_path / "sources.csv"
    path.write_text("source_id,ra,dec\nA,150.0,2.0\nB,150.1,2.1\nC,150.2,2.2\n")
    project.ingest(path, archives=())
    return project


def _counts(project) -> tuple[int, int, int]:
    with project.engine.connect() as conn:
        return tuple(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                     for t in ("classifications", "host_marks", "users"))


def _many(tmp_path, n: int, *, bad_line: int | None = None):
    """An interchange CSV of ``n`` classifications over the three sources (every fifth one "no host")."""
    rng = np.random.default_rng(3)
    rows = pd.DataFrame(dict(classification_id=[f"c{i}" for i in range(n)],
                             source_id=rng.choice(list("ABC"), n), user=[f"u{i % 7}" for i in range(n)],
                             host_ra=150 + rng.random(n) / 10, host_dec=2 + rng.random(n) / 10,
                             no_host=(np.arange(n) % 5 == 0).astype(int)))
    rows.loc[rows.no_host == 1, ["host_ra", "host_dec"]] = np.nan
    if bad_line is not None:
        rows.loc[bad_line - 2, "source_id"] = "NOT-A-SOURCE"
    path = tmp_path / "many.csv"
    rows.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("rebuild", [False, True], ids=["row-by-row indexes", "indexes rebuilt"])
def test_a_bulk_import_is_idempotent_and_complete(sources, tmp_path, monkeypatch, rebuild):
    if rebuild:  # also: stored ids found by one read of the whole table, not by index lookups
        monkeypatch.setattr(bulk, "BIG_LOAD_ROWS", 10)
        monkeypatch.setattr(bulk, "WHOLE_TABLE_LOOKUP", 10)
    path = _many(tmp_path, 300)
    first = sources.import_annotations(path)
    assert (first.classifications_added, first.clicks_added, first.rejected) == (300, 240, [])
    assert _counts(sources) == (300, 240, 7)
    again = sources.import_annotations(path)
    assert (again.classifications_added, again.already_stored) == (0, 300)
    assert _counts(sources) == (300, 240, 7)
    with sources.engine.connect() as conn:
        names = {r[0] for r in conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE tablename = "
                                                    "'classifications'"))} if conn.dialect.name == "postgresql" \
            else {r[1] for r in conn.execute(sa.text("PRAGMA index_list(classifications)"))}
    assert {"ix_classifications_user_source", "ix_classifications_source_user"} <= names  # rebuilt


def test_a_bulk_import_is_all_or_nothing(sources, tmp_path, monkeypatch):
    """A failure in the middle of the writes (here: the third chunk) leaves nothing behind."""
    monkeypatch.setattr(bulk, "CHUNK", 40)
    path = _many(tmp_path, 300)
    calls = []
    original = bulk._insert_sqlite if sources.engine.dialect.name == "sqlite" else bulk._copy_postgresql
    name = "_insert_sqlite" if sources.engine.dialect.name == "sqlite" else "_copy_postgresql"

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(bulk, name, failing)
    with pytest.raises(RuntimeError, match="disk full"):
        sources.import_annotations(path)
    assert _counts(sources) == (0, 0, 0)
    monkeypatch.setattr(bulk, name, original)
    assert sources.import_annotations(path).classifications_added == 300  # the same file, once fixed


def test_bad_rows_are_refused_by_line_and_the_rest_lands(sources, tmp_path):
    path = _many(tmp_path, 50, bad_line=7)
    report = sources.import_annotations(path)
    assert report.rejected == [(7, "unknown source_id 'NOT-A-SOURCE'")]
    assert report.classifications_added == 49


def test_revisions_groups_and_flags_keep_their_order(sources, tmp_path):
    """Two answers of one user to one source: the later line is the later revision; rows of one
    classification scattered through the file are one classification."""
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "r1,A,ann,150.0,2.0,0\nr2,A,ann,,,1\nr1,A,ann,150.001,2.0,0\nx,B,bob,150.1,2.1,0\n")
    report = sources.import_annotations(path)
    assert (report.classifications_added, report.clicks_added) == (3, 3)
    ids, ann, result = sources.consensus()
    with sources.engine.connect() as conn:
        order = conn.execute(sa.text("SELECT submission_id FROM classifications ORDER BY id")).scalars().all()
        marks = conn.execute(sa.text("SELECT c.submission_id, count(*) FROM host_marks m JOIN classifications c "
                                     "ON c.id = m.classification_pk GROUP BY c.submission_id")).all()
    assert order == ["r1", "r2", "x"] and dict(marks) == {"r1": 2, "x": 1}
    row = sources.host_catalogue().to_pandas().set_index("source_id").loc["A"]
    assert row.no_host_fraction == 1  # ann's latest answer (r2) says no host


def test_a_malformed_file_stores_nothing(sources, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('classification_id,source_id\n"open quote,A\n')
    with pytest.raises(IngestError):
        sources.import_annotations(path)
    assert _counts(sources) == (0, 0, 0)
