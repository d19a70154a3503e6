"""Classifications saved by retiring on the calibrated confidence (``xid_app.retirement``) rather than at a
fixed count, at equal accuracy: every family's crowd answers each source 20 times (RGZ's count for
extended sources); the answers are replayed in the order given, the consensus recomputed on the first k
answers of every source for k = 1…20, and each source stopped where a rule retires it. Accuracy is scored
on the consensus each source had when it stopped. The baseline is the fixed count that reaches the same
accuracy (interpolated between counts): the ratio is the share of its classifications retiring on
confidence spends.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from xid_app.accuracy import Score, score_hosts
from xid_app.consensus import run_consensus, subset
from xid_app.retirement import retired
from xid_app.simulate import FAMILIES, simulate_crowd

PER_SOURCE = 20
TARGETS = (0.95, 0.98, 0.99)
MIN_CLASSIFICATIONS = 3
SEED = 303


def _stop_and_score(consensus_at, truth, rule) -> tuple[float, float]:
    """Mean classifications spent and accuracy when each source stops at the first k ``rule`` retires it."""
    n_src = len(consensus_at[PER_SOURCE].n_classifications)
    stop = np.full(n_src, PER_SOURCE)
    for k in range(PER_SOURCE, 0, -1):  # the first k wins: walk down, overwrite
        stop[rule(consensus_at[k], k)] = k
    total = Score(0, 0, 0, 0, 0)
    for k in np.unique(stop):
        part = score_hosts(consensus_at[k], truth.host_source, truth.host_ra, truth.host_dec,
                           sources=np.flatnonzero(stop == k))
        total = Score(*(a + b for a, b in zip(vars(total).values(), vars(part).values())))
    return float(stop.mean()), total.accuracy


def family_rows(family: str, n_sources: int) -> list[dict]:
    model = replace(FAMILIES[family], per_source=PER_SOURCE, annotators=max(FAMILIES[family].annotators, 60))
    ann, truth, _ = simulate_crowd(model, n_sources, seed=SEED)
    first = np.searchsorted(ann.cls_source, np.arange(ann.n_sources))  # answers are stored source by source
    position = np.arange(len(ann.cls_source)) - first[ann.cls_source]
    consensus_at = {k: run_consensus(subset(ann, position < k)) for k in range(1, PER_SOURCE + 1)}
    fixed = np.array([_stop_and_score(consensus_at, truth, lambda c, kk, k=k: np.full(len(c.n_classifications), kk >= k))[1]
                      for k in range(1, PER_SOURCE + 1)])
    best_fixed = np.maximum.accumulate(fixed)  # the fewest answers that reach an accuracy
    rows = []
    for target in TARGETS:
        cost, accuracy = _stop_and_score(consensus_at, truth, lambda c, k, t=target: retired(
            c, min_classifications=MIN_CLASSIFICATIONS, confidence=t, max_classifications=PER_SOURCE))
        same = float(np.interp(accuracy, best_fixed, np.arange(1, PER_SOURCE + 1))) \
            if accuracy <= best_fixed[-1] else float(PER_SOURCE)
        rows.append(dict(name=f"{family}: answers per source, retiring at {target}", value=cost, unit="answers",
                         baseline=same, ratio=cost / same,
                         goal=f"accuracy {accuracy:.3f}; a fixed count needs {same:.1f} for it "
                              f"(5: {fixed[4]:.3f}, 10: {fixed[9]:.3f}, 20: {fixed[-1]:.3f})"))
    return rows


def run(quick: bool = False) -> list[dict]:
    return [row for family in FAMILIES for row in family_rows(family, 300 if quick else 2000)]
