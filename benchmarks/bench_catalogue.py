"""Catalogue look-ups as the page makes them (snap a click to the nearest object, resolve a typed ID) on
10 million objects, against the same look-ups on 10,000 objects in the same run: "instant" means the
big catalogue costs about what the small one does.
"""

from __future__ import annotations

import time

import numpy as np

from xid_app.optical import OpticalCatalogue


def synthetic_catalogue(n: int, rng) -> OpticalCatalogue:
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return OpticalCatalogue(np.array([f"J{i:09d}" for i in range(n)], dtype=object), ra, dec)


def rates(index: OpticalCatalogue, rng, queries: int) -> tuple[float, float]:
    rows = rng.integers(0, len(index), queries)
    ra, dec = index.ra[rows] + 1.0 / 3600, index.dec[rows]
    index.get(index.ids[0])  # builds the ID table once, as the first typed ID does
    t = time.perf_counter()
    for r, d in zip(ra, dec):
        index.nearest(r, d, 3.0)
    nearest = queries / (time.perf_counter() - t)
    ids = index.ids[rows]
    t = time.perf_counter()
    for object_id in ids:
        index.get(object_id)
    return nearest, queries / (time.perf_counter() - t)


def run(quick: bool = False) -> list[dict]:
    rng = np.random.default_rng(0)
    big_n = 1_000_000 if quick else 10_000_000
    small = synthetic_catalogue(10_000, rng)
    t = time.perf_counter()
    big = synthetic_catalogue(big_n, rng)
    build = time.perf_counter() - t
    small_nearest, small_get = rates(small, rng, 5_000)
    big_nearest, big_get = rates(big, rng, 5_000)
    label = f"{big_n / 1e6:g}M objects"
    return [
        dict(name=f"nearest object within 3\", {label}", value=big_nearest, unit="lookups/s", baseline=small_nearest,
             ratio=big_nearest / small_nearest, goal="baseline: the same on 10,000 objects"),
        dict(name=f"typed ID resolved, {label}", value=big_get, unit="lookups/s", baseline=small_get,
             ratio=big_get / small_get, goal="baseline: the same on 10,000 objects"),
        dict(name=f"index built (IDs, tree), {label}", value=build, unit="s", baseline=build, ratio=1.0,
             goal="once per process, when the catalogue changes"),
    ]
