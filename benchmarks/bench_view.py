"""The page's Next path on the demo data: composing a source's view, cold and from the cache."""

from __future__ import annotations

import tempfile
import time

import numpy as np

from xid_app.config import Settings
from xid_app.demo import prepare_demo


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        project = prepare_demo(Settings(data_dir=tmp))
        pks = list(range(1, 20))
        cold, warm = [], []
        for _ in range(1 if quick else 5):
            project.views.clear_cache()
            for pk in pks:
                t = time.perf_counter()
                project.views.view(pk)
                cold.append(time.perf_counter() - t)
            for pk in pks:
                t = time.perf_counter()
                project.views.view(pk)
                warm.append(time.perf_counter() - t)
        project.engine.dispose()
    cold_ms, warm_ms = np.median(cold) * 1e3, np.median(warm) * 1e3
    return [dict(name="view of a demo source, prefetched (cache hit)", value=warm_ms, unit="ms p50",
                 baseline=cold_ms, ratio=cold_ms / warm_ms,
                 goal="baseline: composed cold (FITS read, stretch, contours, WCS mapping)")]
