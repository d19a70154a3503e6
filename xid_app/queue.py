"""Which source an annotator is shown next.

Ordering every source by how many annotators have answered it means grouping every classification: 0.6 s
per Next at a million answers. The order is instead worked out from the last consensus (which the server
refreshes in the background for retirement anyway) and kept in memory; each Next then only reads the
annotator's own done sources (an index range) and checks a few candidates against the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Collection

import numpy as np

CANDIDATES = 64  # candidates checked against the database per query


@dataclass(frozen=True)
class Queue:
    """Sources in the order annotators get them, as of one consensus run.

    Attributes
    ----------
    order : numpy.ndarray
        Source primary keys, fewest answers first, then oldest; retired sources left out.
    gold : numpy.ndarray
        ``(len(order),)`` whether each is a gold-standard source.
    retired : frozenset of int
        Primary keys of retired sources.
    classified : int
        Sources with at least one crowd answer.
    total : int
        Sources.
    newest_pk : int
        The largest source primary key known: sources ingested later are not in ``order``.
    """

    order: np.ndarray
    gold: np.ndarray
    retired: frozenset[int]
    classified: int
    total: int
    newest_pk: int


def make_queue(source_pks: np.ndarray, n_answers: np.ndarray, is_gold: np.ndarray,
               retired: np.ndarray) -> Queue:
    """Build the queue from per-source arrays (all ``(n_sources,)``): primary keys, current crowd
    answers, gold-standard and retired masks."""
    source_pks = np.asarray(source_pks, dtype=np.int64)
    by_need = np.lexsort((source_pks, n_answers))
    by_need = by_need[~retired[by_need]]
    return Queue(order=source_pks[by_need], gold=np.asarray(is_gold, bool)[by_need],
                 retired=frozenset(source_pks[retired].tolist()), classified=int(np.count_nonzero(n_answers)),
                 total=len(source_pks), newest_pk=int(source_pks.max(initial=0)))


def candidates(queue: Queue, excluded: Collection[int], *, gold_first: bool = False,
               limit: int = CANDIDATES) -> np.ndarray:
    """Up to ``limit`` source primary keys from the front of the queue that are not ``excluded``; with
    ``gold_first``, gold-standard sources ahead of the rest."""
    keep = _not_excluded(queue, excluded)
    if gold_first:
        gold = np.flatnonzero(keep & queue.gold)[:limit]
        if len(gold):
            return queue.order[gold]
    return queue.order[np.flatnonzero(keep)[:limit]]


def random_candidates(queue: Queue, excluded: Collection[int], rng: random.Random | None = None,
                      limit: int = CANDIDATES) -> np.ndarray:
    """Up to ``limit`` source primary keys drawn at random from those in the queue not ``excluded``."""
    pool = queue.order[_not_excluded(queue, excluded)]
    if len(pool) <= limit:
        return np.asarray((rng or random).sample(list(pool), len(pool)), dtype=np.int64)
    return pool[np.asarray((rng or random).sample(range(len(pool)), limit), dtype=np.int64)]


def _not_excluded(queue: Queue, excluded: Collection[int]) -> np.ndarray:
    """A mask over the queue's order: a look-up table by primary key, quicker than ``numpy.isin``."""
    order = queue.order
    if not len(excluded) or not len(order):
        return np.ones(len(order), dtype=bool)
    table = np.zeros(queue.newest_pk + 1, dtype=bool)
    pks = np.fromiter(excluded, dtype=np.int64, count=len(excluded))
    table[pks[(pks >= 0) & (pks < len(table))]] = True
    return ~table[order]
