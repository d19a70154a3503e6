"""Bulk writes: `xid import-annotations` of an interchange CSV on SQLite and PostgreSQL, and a Panoptes
export streamed.

Baseline in the same run: ``pandas.read_csv`` of the same file (what reading it costs at all), and each
database's own floor: the same rows written with no checks or lookups, indexes after. Goals
(issue 16): ≥ 100,000 classifications per second on both databases, within 10× of the baseline. The file
holds 1,000,000 classifications (RGZ-like: a fifth "no host", some with two hosts) over 20,000 sources by
3,000 annotators, imported into an empty database (the load rebuilds indexes after) and then again into
a database already holding them (every classification skipped: what a re-run costs). Also measured: an
import of 100,000 more into the database holding the million (indexes kept up row by row), and a
Panoptes export of 200,000 classifications with its JSON columns, streamed (peak memory of the process).
PostgreSQL runs where a server answers at ``XID_BENCH_POSTGRES`` (default the local test server).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import fresh_postgres  # noqa: E402


def write_interchange(path: Path, n: int, *, n_sources: int = 20_000, first: int = 0, seed: int = 1) -> int:
    """An interchange CSV of ``n`` classifications; returns its number of rows."""
    rng = np.random.default_rng(seed)
    clicks = rng.choice([0, 1, 1, 1, 2], n)  # 0: "no host" (one row, no position)
    rows = np.repeat(np.arange(n), np.maximum(clicks, 1))
    no_host = clicks[rows] == 0
    frame = pd.DataFrame(dict(
        classification_id=np.char.add("c", (rows + first).astype(str)),
        source_id=np.char.add("S", rng.integers(0, n_sources, n)[rows].astype(str)),
        user=np.char.add("user", rng.integers(0, 3000, n)[rows].astype(str)),
        host_ra=np.where(no_host, np.nan, 150 + rng.random(len(rows))),
        host_dec=np.where(no_host, np.nan, 2 + rng.random(len(rows))),
        no_host=no_host.astype(int)))
    frame.to_csv(path, index=False, float_format="%.6f")
    return len(frame)


def new_project(url: str, tmp: Path, n_sources: int):
    from sqlalchemy import insert

    from xid_app.config import Settings
    from xid_app.project import Project
    from xid_app.store.models import Source

    project = Project(url, settings=Settings(data_dir=tmp))
    project.init()
    now = datetime.now(timezone.utc)
    with project.engine.begin() as conn:
        conn.execute(insert(Source), [dict(source_id=f"S{i}", ra=150.5, dec=2.5, created_at=now)
                                      for i in range(n_sources)])
    return project


def sqlite_floor_s(tmp: Path, csv: Path) -> float:
    """What SQLite alone costs for the file: read_csv, then its classifications and marks inserted by
    ``executemany`` into XID's own tables with no checks and no lookups (keys given, foreign keys off),
    the indexes dropped before and built after, one commit. No import can be faster than this."""
    import sqlite3

    from xid_app.config import Settings
    from xid_app.project import Project

    path = tmp / "floor.sqlite"
    Project(f"sqlite:///{path}", settings=Settings(data_dir=tmp)).init()
    t = time.perf_counter()
    frame = pd.read_csv(csv)
    cls_pk = pd.factorize(frame.classification_id)[0] + 1
    first = np.r_[True, cls_pk[1:] != cls_pk[:-1]]
    classifications = frame[first]
    con = sqlite3.connect(path)
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                          "tbl_name IN ('classifications', 'host_marks')").fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    now = datetime.now(timezone.utc).isoformat(sep=" ")
    con.executemany(
        "INSERT INTO classifications (id, submission_id, source_pk, user_pk, created_at, no_host, artefact, "
        f"blend, too_zoomed_in, unsure, comment, origin) VALUES (?, ?, ?, ?, '{now}', ?, 0, 0, 0, 0, '', 'import')",
        zip(cls_pk[first].tolist(), classifications.classification_id.tolist(),
            (classifications.source_id.str[1:].astype(int) + 1).tolist(),
            (pd.factorize(classifications.user)[0] + 1).tolist(), classifications.no_host.tolist()))
    clicked = frame.no_host.to_numpy() == 0
    con.executemany("INSERT INTO host_marks (classification_pk, ra, dec, group_number) VALUES (?, ?, ?, 0)",
                    zip(cls_pk[clicked].tolist(), frame.host_ra[clicked].tolist(), frame.host_dec[clicked].tolist()))
    for _, sql in indexes:
        con.execute(sql)
    con.commit()
    assert con.execute("SELECT count(*) FROM host_marks").fetchone()[0] == int(clicked.sum())
    con.close()
    return time.perf_counter() - t


def postgres_floor_s(tmp: Path, csv: Path) -> float:
    """What PostgreSQL alone costs for the file, as :func:`sqlite_floor_s`: read_csv, then binary ``COPY``
    of the classifications and marks into XID's tables of a new database (keys given, no lookups), their
    indexes and foreign keys dropped before, the indexes built after (the keys not checked again), one
    commit."""
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateIndex, DropConstraint, DropIndex

    from xid_app.config import Settings
    from xid_app.project import Project
    from xid_app.store.models import Classification, HostMark

    with fresh_postgres() as url:
        Project(url, settings=Settings(data_dir=tmp)).init()
        engine = sa.create_engine(url)
        t = time.perf_counter()
        frame = pd.read_csv(csv)
        cls_pk = pd.factorize(frame.classification_id)[0] + 1
        first = np.r_[True, cls_pk[1:] != cls_pk[:-1]]
        classifications = frame[first]
        clicked = frame.no_host.to_numpy() == 0
        now = datetime.now(timezone.utc)
        tables = (Classification.__table__, HostMark.__table__)
        with engine.begin() as conn:
            for table in tables:
                for key in table.foreign_key_constraints:
                    conn.execute(DropConstraint(key))
                for index in table.indexes:
                    conn.execute(DropIndex(index))
            with conn.connection.dbapi_connection.cursor() as cursor:
                with cursor.copy("COPY classifications (id, submission_id, source_pk, user_pk, no_host, created_at, "
                                 "artefact, blend, too_zoomed_in, unsure, comment, origin) FROM STDIN (FORMAT BINARY)"
                                 ) as copy:
                    copy.set_types(["int4", "varchar", "int4", "int4", "bool", "timestamptz", "bool", "bool", "bool",
                                    "bool", "text", "varchar"])
                    for row in zip(cls_pk[first].tolist(), classifications.classification_id.tolist(),
                                   (classifications.source_id.str[1:].astype(int) + 1).tolist(),
                                   (pd.factorize(classifications.user)[0] + 1).tolist(),
                                   (classifications.no_host == 1).tolist()):
                        copy.write_row((*row, now, False, False, False, False, "", "import"))
                with cursor.copy("COPY host_marks (classification_pk, ra, dec, group_number) FROM STDIN "
                                 "(FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "float8", "float8", "int4"])
                    for row in zip(cls_pk[clicked].tolist(), frame.host_ra[clicked].tolist(),
                                   frame.host_dec[clicked].tolist()):
                        copy.write_row((*row, 0))
            for table in tables:
                for index in table.indexes:
                    conn.execute(CreateIndex(index))
            assert conn.scalar(sa.text("SELECT count(*) FROM host_marks")) == int(clicked.sum())
        seconds = time.perf_counter() - t
        engine.dispose()
    return seconds


def timed(f):
    t = time.perf_counter()
    result = f()
    return result, time.perf_counter() - t


def panoptes_peak_mb(n: int, tmp: Path) -> tuple[float, float, float]:
    """Import a Panoptes export of ``n`` classifications in a child process: (seconds, peak RSS MB of the
    import, peak RSS MB of the same process before it)."""
    script = tmp / "panoptes_child.py"
    script.write_text(PANOPTES_CHILD)
    out = subprocess.run([sys.executable, str(script), str(n), str(tmp)], capture_output=True, text=True,
                         check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


PANOPTES_CHILD = r'''
import json, resource, sys, time
from pathlib import Path
import numpy as np
n, tmp = int(sys.argv[1]), Path(sys.argv[2])
from xid_app.config import Settings
from xid_app.project import Project
from astropy.io import fits
from astropy.wcs import WCS
img = tmp / "subject.fits"
w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [150.0, 2.0]; w.wcs.crpix = [50.5, 50.5]
w.wcs.cdelt = [-1 / 3600, 1 / 3600]
fits.writeto(img, np.ones((100, 100), np.float32), w.to_header(), overwrite=True)
(tmp / "subjects.csv").write_text("source_id,ra,dec,optical_image\n" + "".join(
    f"P{i},150.0,2.0,subject.fits\n" for i in range(200)))
p = Project(f"sqlite:///{tmp / 'panoptes.sqlite'}", settings=Settings(data_dir=tmp)); p.init()
p.ingest(tmp / "subjects.csv")
rng = np.random.default_rng(5)
with open(tmp / "export.csv", "w") as f:
    f.write("classification_id,user_name,created_at,subject_ids,subject_data,annotations\n")
    for i in range(n):
        s = int(rng.integers(0, 200))
        subject = json.dumps({str(9000 + s): {"source_id": f"P{s}", "retired": None}}).replace('"', '""')
        clicks = [{"x": float(x), "y": float(y), "tool": 0} for x, y in rng.uniform(10, 90, (int(rng.integers(0, 3)), 2))]
        ann = json.dumps([{"task": "T0", "value": clicks}, {"task": "T1", "value": "Looks fine"}]).replace('"', '""')
        f.write(f'{i},volunteer{i % 5000},2016-01-01 00:00:00 UTC,{9000 + s},"{subject}","{ann}"\n')
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
report = p.import_panoptes(tmp / "export.csv")
seconds = time.perf_counter() - t
assert report.classifications_added == n, report
print(json.dumps([seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, before]))
'''


def _import_figures(name: str, project, csv: Path, more: Path, n: int) -> list[dict]:
    """The import into an empty database, the same file again, and a tenth more, each against
    ``pandas.read_csv`` of the file in the same run."""
    report, seconds = timed(lambda: project.import_annotations(csv))
    assert report.classifications_added == n, report
    _, read_s = timed(lambda: pd.read_csv(csv))
    rows = [dict(name=f"{name}: {n:,} classifications, empty database", value=n / seconds, unit="cls/s",
                 baseline=n / read_s, ratio=seconds / read_s,
                 goal="≥ 100,000 cls/s; ratio (time over read_csv's) ≤ 10")]
    floor_s = (sqlite_floor_s if name == "SQLite" else postgres_floor_s)(Path(project.settings.data_dir), csv)
    rows.append(dict(name=f"{name} alone: the same rows written with no checks, indexes after (the floor)",
                     value=n / floor_s, unit="cls/s", baseline=floor_s / read_s, ratio=seconds / floor_s,
                     goal="baseline: the floor over read_csv's time; ratio: the import over the floor"))
    report, seconds = timed(lambda: project.import_annotations(csv))
    assert report.already_stored == n
    rows.append(dict(name=f"{name}: the same file again (all skipped)", value=n / seconds, unit="cls/s",
                     baseline=n / read_s, ratio=seconds / read_s))
    report, seconds = timed(lambda: project.import_annotations(more))
    assert report.classifications_added == n // 10
    rows.append(dict(name=f"{name}: {n // 10:,} more into {n:,}", value=n / 10 / seconds, unit="cls/s",
                     baseline=n / read_s, ratio=seconds / (read_s / 10)))
    return rows


def run(quick: bool = False) -> list[dict]:
    n = 100_000 if quick else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = tmp / "annotations.csv"
        write_interchange(csv, n)
        more = tmp / "more.csv"
        write_interchange(more, n // 10, first=n, seed=2)
        for name in ("SQLite", "PostgreSQL"):
            with fresh_postgres() as pg:
                if name == "PostgreSQL" and pg is None:
                    print("  PostgreSQL: no server answers, skipped", flush=True)
                    continue
                project = new_project(pg if name == "PostgreSQL" else f"sqlite:///{tmp / 'import.sqlite'}", tmp,
                                      20_000)
                rows += _import_figures(name, project, csv, more, n)
                project.engine.dispose()
        seconds, peak, before = panoptes_peak_mb(20_000 if quick else 200_000, tmp)
        rows.append(dict(name=f"Panoptes export, {20_000 if quick else 200_000:,} classifications streamed",
                         value=(20_000 if quick else 200_000) / seconds, unit="cls/s", baseline=before,
                         ratio=peak / before, goal="peak memory (ratio to the process before) stays flat"))
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB peak")
