"""Choosing the next source and the progress line, per Next, on a project with a million answers.

Baseline in the same run: the database asked directly (every Next groups every classification to find
the least-answered source, and counts the team's sources), as XID did before the in-memory queue
(``xid_app.queue``). Goal: a Next's queue work well under the page's 150 ms budget at survey scale.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xid_app.config import Settings
from xid_app.project import Project
from xid_app.store.assignment import next_source, progress

sys.path.insert(0, str(Path(__file__).parent))
from bench_export_1m import fill  # noqa: E402  (the same million-click crowd)


def _per_next(step, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def run(quick: bool = False) -> list[dict]:
    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(f"sqlite:///{Path(tmp) / 'big.sqlite'}", settings=Settings(data_dir=tmp))
        project.init()
        clicks = fill(project, n)
        user = 7
        seen: set[int] = set()

        def from_database():
            with project.session() as session:
                seen.add(next_source(session, user_pk=user, exclude=seen))
                progress(session, user_pk=user)

        def from_queue():
            seen.add(project.assignment.next_source(user, exclude=seen))
            project.assignment.progress(user)

        baseline = _per_next(from_database, 5)
        t = time.perf_counter()
        project.assignment.queue(wait=True)
        built = time.perf_counter() - t
        seen.clear()
        value = _per_next(from_queue, 50)
        project.engine.dispose()
    return [dict(name=f"next source + progress per Next, {clicks} clicks", value=value * 1e3, unit="ms",
                 baseline=baseline * 1e3, ratio=baseline / value,
                 goal=f"≪ 150 ms; baseline: the database asked directly; the queue took {built:.1f} s to build "
                      "(in the background, every 30 s)")]
