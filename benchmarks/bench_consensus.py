"""Consensus: XID's one-pass vectorised reducer against the same reducer run source by source."""

from __future__ import annotations

import time

import numpy as np

from xid_app.consensus import Annotations, run_consensus
from xid_app.coords import tangent_to_sky


def synthetic_crowd(n_sources: int, per_source: int = 15, seed: int = 0) -> Annotations:
    """Sources with a host 0–20" from the centre; 80% of annotators click within ~1.5", 20% say no host."""
    rng = np.random.default_rng(seed)
    src_ra = rng.uniform(0, 360, n_sources)
    src_dec = np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, n_sources)))
    host = rng.uniform(-20, 20, (n_sources, 2))
    cls_source = np.repeat(np.arange(n_sources), per_source)
    clicks = rng.random(len(cls_source)) < 0.8
    click_cls = np.flatnonzero(clicks)
    s = cls_source[click_cls]
    xi = host[s, 0] + rng.normal(0, 1.5, len(s))
    eta = host[s, 1] + rng.normal(0, 1.5, len(s))
    ra, dec = tangent_to_sky(xi, eta, src_ra[s], src_dec[s])
    return Annotations(src_ra, src_dec, cls_source, click_cls, ra, dec)


def _subset(ann: Annotations, i: int) -> Annotations:
    cls = np.flatnonzero(ann.cls_source == i)
    keep = np.isin(ann.click_cls, cls)
    return Annotations(ann.source_ra[i:i + 1], ann.source_dec[i:i + 1], np.zeros(len(cls), int),
                       np.searchsorted(cls, ann.click_cls[keep]), ann.click_ra[keep], ann.click_dec[keep])


def run(quick: bool = False) -> list[dict]:
    n = 2_000 if quick else 20_000
    ann = synthetic_crowd(n)
    t = time.perf_counter()
    run_consensus(ann)
    vectorised = n / (time.perf_counter() - t)
    n_loop = min(n, 1_000)
    subsets = [_subset(ann, i) for i in range(n_loop)]
    t = time.perf_counter()
    for sub in subsets:
        run_consensus(sub)
    per_source = n_loop / (time.perf_counter() - t)
    return [dict(name=f"consensus xid, {n} sources, {len(ann.click_ra)} clicks", value=vectorised,
                 unit="sources/s", baseline=per_source, ratio=vectorised / per_source,
                 goal="baseline: the same reducer called once per source")]
