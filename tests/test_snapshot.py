"""The on-disk snapshot of raw answers: reruns read only what was added, and a snapshot that no longer
matches its database is never used."""

import numpy as np
import pandas as pd
import pytest

from xid_app.project import Project
from xid_app.store import repository, snapshot
from xid_app.store.snapshot import snapshot_path


@pytest.fixture
def every_answer_snapshots(monkeypatch):
    monkeypatch.setattr(repository, "_SNAPSHOT_EVERY", 1)


def _hosts(project: Project) -> np.ndarray:
    t = project.catalogue()
    return np.c_[np.ma.filled(t["host_ra"], np.nan), np.ma.filled(t["host_dec"], np.nan)]


def _split(shared_data, tmp_path):
    """RGZ's classifications in two halves, as two interchange files."""
    frame = pd.read_csv(shared_data / "rgz_first/annotations.csv")
    ids = frame.classification_id.unique()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    frame[frame.classification_id.isin(ids[:100])].to_csv(first, index=False)
    frame[~frame.classification_id.isin(ids[:100])].to_csv(second, index=False)
    return first, second


def test_rerun_reads_the_snapshot_and_what_came_after(project, shared_data, tmp_path, every_answer_snapshots):
    project.ingest(shared_data / "rgz_first/sources.csv")
    first, second = _split(shared_data, tmp_path)
    project.import_annotations(first)
    project.catalogue()
    path = snapshot_path(project.settings.data_dir / "snapshots", project.url)
    watermark, _, rows = snapshot.load(path)
    assert len(rows) == 100
    project.import_annotations(second)
    with_snapshot = _hosts(project)
    assert len(snapshot.load(path)[2]) == 210
    path.unlink()
    np.testing.assert_array_equal(with_snapshot, _hosts(project))  # the same as from the database alone


def test_a_snapshot_of_another_database_is_not_used(shared_data, tmp_path, settings, every_answer_snapshots):
    """Same URL, recreated with the same number of answers but moved clicks: the fingerprint differs."""
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    frame = pd.read_csv(shared_data / "rgz_first/annotations.csv")
    moved = tmp_path / "moved.csv"
    frame.assign(host_dec=frame.host_dec + 10 / 3600).to_csv(moved, index=False)
    hosts = []
    for annotations in (shared_data / "rgz_first/annotations.csv", moved):
        (tmp_path / "x.sqlite").unlink(missing_ok=True)
        from xid_app.store.db import engine_for

        engine_for.cache_clear()
        project = Project(url, settings=settings)
        project.init()
        project.ingest(shared_data / "rgz_first/sources.csv")
        project.import_annotations(annotations)
        hosts.append(_hosts(project))
        project.engine.dispose()
    dec_shift = np.nanmedian(hosts[1][:, 1] - hosts[0][:, 1]) * 3600
    assert dec_shift == pytest.approx(10, abs=0.01)


def test_an_unreadable_snapshot_is_rebuilt(project, shared_data, every_answer_snapshots):
    project.ingest(shared_data / "rgz_first/sources.csv")
    project.import_annotations(shared_data / "rgz_first/annotations.csv")
    expected = _hosts(project)
    path = snapshot_path(project.settings.data_dir / "snapshots", project.url)
    path.write_bytes(b"<html>not a snapshot</html>")
    np.testing.assert_array_equal(expected, _hosts(project))
    assert len(snapshot.load(path)[2]) == 210
