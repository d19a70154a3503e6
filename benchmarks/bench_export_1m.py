"""One million clicks in SQLite → consensus → exported FITS catalogue, as `xid export` does it.

Baseline in the same run: reading just the clicks table into numpy with the DBAPI (the floor any export
must pay). Goal: the whole export in ≤ 3 s.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from xid_app.config import Settings
from xid_app.project import Project
from xid_app.simulate import synthetic_crowd
from xid_app.store.models import Classification, HostMark, Source, User


def fill(project: Project, n_clicks: int) -> int:
    """A database holding a synthetic crowd with about ``n_clicks`` clicks; returns the exact number."""
    per_source = 12
    ann, _, _ = synthetic_crowd(int(n_clicks / (per_source * 0.93)) + 1, annotators=400, per_source=per_source,
                                seed=7)
    now = datetime.now(timezone.utc)
    with project.engine.begin() as conn:
        conn.execute(insert(Source), [dict(id=i + 1, source_id=f"S{i:07d}", ra=float(r), dec=float(d), created_at=now)
                                      for i, (r, d) in enumerate(zip(ann.source_ra, ann.source_dec))])
        conn.execute(insert(User), [dict(id=u + 1, name=f"user{u}", role="annotator", created_at=now)
                                    for u in range(int(ann.cls_user.max()) + 1)])
        conn.execute(insert(Classification), [
            dict(id=k + 1, submission_id=uuid.uuid4().hex, source_pk=int(s) + 1, user_pk=int(u) + 1, created_at=now,
                 no_host=False, artefact=False, blend=False, too_zoomed_in=False, unsure=False, comment="",
                 origin="import")
            for k, (s, u) in enumerate(zip(ann.cls_source, ann.cls_user))])
        conn.execute(insert(HostMark), [dict(classification_pk=int(k) + 1, ra=float(r), dec=float(d))
                                        for k, r, d in zip(ann.click_cls, ann.click_ra, ann.click_dec)])
    return len(ann.click_ra)


def run(quick: bool = False) -> list[dict]:
    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.sqlite"
        project = Project(f"sqlite:///{path}", settings=Settings(data_dir=tmp))
        project.init()
        clicks = fill(project, n)

        t = time.perf_counter()
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT classification_pk, ra, dec FROM host_marks").fetchall()
            np.array(rows, dtype=float)
        raw = time.perf_counter() - t

        t = time.perf_counter()
        table = project.export(Path(tmp) / "hosts.fits")
        total = time.perf_counter() - t
        project.engine.dispose()
    return [dict(name=f"{clicks} clicks: SQLite → consensus → FITS ({len(table)} rows)", value=total, unit="s",
                 baseline=raw, ratio=total / raw, goal="≤ 3 s; baseline: reading the clicks table alone")]
