"""When a source needs no more classifications: once its answer is settled to a target confidence.

A fixed count (Radio Galaxy Zoo retired at 20, or 5 for compact sources) spends as many answers on a
source every annotator agrees on as on one they dispute. XID retires a source once the calibrated
probability of its answer (:mod:`xid_app.calibration`: its best host's, or "no host"'s) reaches a target,
and after a floor of classifications; a source that has not settled by a cap is retired too, for the expert
queue. ``python benchmarks/run.py retirement`` measures the classifications it saves at equal accuracy.
"""

from __future__ import annotations

import numpy as np

from .calibration import host_probability, no_host_probability
from .consensus import Consensus


def answer_confidence(consensus: Consensus) -> np.ndarray:
    """``(n_sources,)`` the calibrated probability of each source's answer: its best host's if it has one,
    else that it shows no host (0 for a source nobody classified)."""
    n = consensus.n_classifications
    confidence = np.where(n > 0, no_host_probability(consensus), 0.0)
    best = consensus.best_host
    confidence[consensus.host_source[best]] = host_probability(consensus)[best]
    return confidence


def retired(consensus: Consensus, *, min_classifications: int = 3, confidence: float = 0.95,
            max_classifications: int = 20) -> np.ndarray:
    """Which sources need no more classifications: boolean ``(n_sources,)``.

    A source retires once it has ``min_classifications`` and its answer's calibrated probability
    (:func:`answer_confidence`) is at least ``confidence`` and no further host is pending (a position marked
    together with the best host by too few yet); or, settled or not, at ``max_classifications``
    (further answers would not settle it: it is for the expert queue).
    """
    n = consensus.n_classifications
    settled = answer_confidence(consensus) >= confidence
    if consensus.further_host_pending is not None:
        settled &= ~consensus.further_host_pending
    return ((n >= min_classifications) & settled) | (n >= max_classifications)
