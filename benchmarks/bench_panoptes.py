"""XID's consensus against Zooniverse's ``point_reducer_dbscan`` on the same synthetic clicks, in one run.

Panoptes reduces one subject per call (as its aggregation does); XID reduces every source in one pass.
Clicks are given to Panoptes as offsets in arcsec (1 "pixel" = 1″, so eps 5 = 5″). Goal: XID's default
≥ 50× faster at equal or better accuracy. Needs the ``bench`` extra (its own environment: Panoptes pins
older numpy/pandas): ``python -m venv .bench && .bench/bin/pip install -e '.[bench]'``.
"""

from __future__ import annotations

import time

import numpy as np

from xid_app.accuracy import score_hosts
from xid_app.consensus import Consensus, _counts, _offsets, run_consensus
from xid_app.coords import tangent_to_sky
from xid_app.simulate import synthetic_crowd


def _panoptes(ann, reducer) -> tuple[Consensus, float]:
    """Run Panoptes' reducer subject by subject; return its hosts as a Consensus and the seconds taken."""
    click_src, xi, eta = _offsets(ann)
    by_cls: dict[int, list[int]] = {}
    for i, k in enumerate(ann.click_cls):
        by_cls.setdefault(int(k), []).append(i)
    extracts = [[] for _ in range(ann.n_sources)]
    users = [[] for _ in range(ann.n_sources)]
    for k, s in enumerate(ann.cls_source):  # extraction is not timed: Panoptes does it earlier too
        clicks = by_cls.get(k, [])
        extracts[s].append({"frame0": {"T0_tool0_x": xi[clicks].tolist(), "T0_tool0_y": eta[clicks].tolist()}}
                           if clicks else {})
        users[s].append(int(ann.cls_user[k]))
    host_src, host_xi, host_eta, host_n = [], [], [], []
    t = time.perf_counter()
    for s in range(ann.n_sources):
        reduction = reducer(extracts[s], user_id=users[s], eps=5.0, min_samples=3)
        frame = reduction.get("frame0", {})
        for x, y, n in zip(frame.get("T0_tool0_clusters_x", []), frame.get("T0_tool0_clusters_y", []),
                           frame.get("T0_tool0_clusters_count", [])):
            host_src.append(s)
            host_xi.append(x)
            host_eta.append(y)
            host_n.append(n)
    seconds = time.perf_counter() - t
    host_src = np.asarray(host_src, int)
    ra, dec = tangent_to_sky(np.asarray(host_xi), np.asarray(host_eta), ann.source_ra[host_src],
                             ann.source_dec[host_src])
    n_classifications, n_no_host, _ = _counts(ann)
    return Consensus(n_classifications, n_no_host, host_src, ra, dec, np.asarray(host_n), np.zeros(len(host_src)),
                     "panoptes point_reducer_dbscan", {"eps": 5.0, "min_samples": 3}), seconds


def run(quick: bool = False) -> list[dict]:
    try:
        from panoptes_aggregation.reducers.point_reducer_dbscan import point_reducer_dbscan
    except ImportError:
        print("  skipped: panoptes_aggregation is not installed (pip install -e '.[bench]' in its own venv)")
        return []
    ann, truth, _ = synthetic_crowd(500 if quick else 3000, seed=11)
    panoptes, panoptes_s = _panoptes(ann, point_reducer_dbscan)
    rows = []
    for method in ("xid", "dbscan"):
        run_consensus(ann, method)  # warm caches
        t = time.perf_counter()
        result = run_consensus(ann, method)
        seconds = time.perf_counter() - t
        ours = score_hosts(result, truth.host_source, truth.host_ra, truth.host_dec)
        theirs = score_hosts(panoptes, truth.host_source, truth.host_ra, truth.host_dec)
        rows.append(dict(
            name=f"{method} on {ann.n_sources} sources vs Panoptes DBSCAN", value=ann.n_sources / seconds,
            unit="sources/s", baseline=ann.n_sources / panoptes_s, ratio=panoptes_s / seconds,
            goal=(f"≥ 50×; found/extra: {method} {ours.found}/{ours.extra}, "
                  f"Panoptes {theirs.found}/{theirs.extra} of {ours.n_reference}"),
        ))
    return rows
