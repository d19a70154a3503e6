"""Array helpers the vectorised reducers share: runs of equal rows, equal-key pairs of two sorted arrays,
and a sort-based ``unique``.

Why not ``np.unique``: from numpy 2.3 a plain ``np.unique`` (no ``return_*``) takes a hash-table path
that on this machine took 3.4 s for 2.8 million int64 keys, where sorting took 0.05 s
(``benchmarks/bench_association.py`` found it).
"""

from __future__ import annotations

import numpy as np


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """Indices where a run of equal rows begins, in arrays sorted on ``keys`` together."""
    change = np.zeros(len(keys[0]), bool)
    change[:1] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(change)


def unique(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (as ``np.unique``, by sorting)."""
    values = np.sort(values)
    return values[run_starts(values)]


def isin(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each value is in ``sorted_set`` (sorted, distinct): a binary search per value."""
    where = np.minimum(np.searchsorted(sorted_set, values), max(len(sorted_set) - 1, 0))
    return sorted_set[where] == values if len(sorted_set) else np.zeros(len(values), bool)


def pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(i, j)`` with ``left[i] == right[j]``, both arrays sorted: a join on equal keys."""
    lo = np.searchsorted(right, left, "left")
    counts = np.searchsorted(right, left, "right") - lo
    i = np.repeat(np.arange(len(left)), counts)
    j = lo[i] + np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)
    return i, j
