"""Array helpers the vectorised reducers share: runs of equal rows, equal-key pairs of two sorted arrays,
sort-based ``unique`` and stable orders, distinct pairs with their inverse, dense ranks and positions of
integer keys.

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


def packed_order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Non-negative integer ``keys`` sorted, with the row each came from (equal keys in row order): key and
    row packed into one integer (key above, row in the low bits) and sorted by numpy's vectorised sort,
    three times faster than a stable argsort at 20 million keys. None where the packed number would
    overflow."""
    n = len(keys)
    bits = max(n - 1, 1).bit_length()
    if n == 0 or (int(keys.max()) + 1) << bits >= 2**62:
        return None
    packed = np.sort((keys.astype(np.int64) << bits) | np.arange(n))
    return packed >> bits, packed & ((1 << bits) - 1)


def ascending(values: np.ndarray) -> bool:
    """Whether ``values`` never decrease."""
    return bool(np.all(values[1:] >= values[:-1]))


def stable_order(keys: np.ndarray) -> np.ndarray:
    """The rows of non-negative integer ``keys`` in key order, equal keys in row order (a stable argsort:
    none where already sorted, else :func:`packed_order` where it fits)."""
    if ascending(keys):
        return np.arange(len(keys))
    ordered = packed_order(keys)
    return ordered[1] if ordered is not None else np.argsort(keys, kind="stable")


def unique_pairs_inverse(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``(a, b)`` pairs of non-negative integers, sorted, and the index of each row's pair, by
    two stable sorts (by ``b``, then by ``a``: no packed key of both, which overflows at survey size)."""
    order = stable_order(b)
    order = order[stable_order(a[order])]
    a, b = a[order], b[order]
    starts = run_starts(a, b)
    first = np.zeros(len(a), dtype=bool)
    first[starts] = True
    inverse = np.empty(len(a), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return a[starts], b[starts], inverse


def positions(current: np.ndarray, pks: np.ndarray) -> np.ndarray:
    """Where each of ``pks`` is in ``current`` (distinct ids, any order); -1 where it is not."""
    if len(current) == 0 or len(pks) == 0:
        return np.full(len(pks), -1, dtype=np.int64)
    top = int(max(current.max(), pks.max())) + 1
    if top <= 4 * len(current) + 1_000_000:  # ids dense enough for a lookup table: no search at all
        table = np.full(top, -1, dtype=np.int64)
        table[current] = np.arange(len(current))
        return table[pks]
    by_id = np.argsort(current)
    where = np.minimum(np.searchsorted(current[by_id], pks), len(current) - 1)
    return np.where(current[by_id[where]] == pks, by_id[where], -1)


def index_of(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Where each of ``values`` is in ``keys`` (ascending, unique, holding every value): a subtraction when
    the keys are a run of consecutive integers, as primary keys usually are, else a binary search."""
    if len(keys) and keys[-1] - keys[0] == len(keys) - 1:
        return values - keys[0]
    return np.searchsorted(keys, values)


def dense_ranks(values: np.ndarray) -> np.ndarray:
    """Each non-negative integer's rank among the distinct values (``np.unique``'s inverse), in linear
    time: primary keys are small enough to index a table of them."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    if values.max() > 8 * len(values) + 1_000_000:  # sparse keys: the table would be mostly empty
        return np.unique(values, return_inverse=True)[1]
    present = np.zeros(int(values.max()) + 1, dtype=bool)
    present[values] = True
    return (np.cumsum(present) - 1)[values]
