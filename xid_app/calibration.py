"""Consensus levels that mean what they say: of hosts exported at level 0.8, about 80% right.

A vote fraction is not a probability (hosts at a fraction of 0.5–0.6 are right far more often than half the
time). A logistic model maps what the consensus knows of each answer — the reliability-weighted share of
the source's classifications behind it, the plain vote share, how many classified it, the strongest rival's
share (how close the race was), and for a host whether it is a further host and how scattered its clicks
are — to the probability it is right. Its
coefficients are data, fitted by ``benchmarks/fit_calibration.py`` on the simulated family with the most
errors to learn from ("careless": 13% of its hosts wrong; "classic" has 0.4%, too few to fit), and checked
on the other families and the real RGZ subjects (docs/consensus.md: reliability table and ECE).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit

from .consensus import Consensus

# fitted by benchmarks/fit_calibration.py (family "careless", 3,000 sources, seeds 11 and 12)
HOST_COEFFICIENTS = (1.923, 0.7, -0.436, -0.05, 0.586, 0.67, 0.035, 0.401, -1.963)
NO_HOST_COEFFICIENTS = (-1.162, 2.071, 0.129, 0.743, 0.371)
_CLIP = 0.02  # shares are clipped to [0.02, 0.98] before the logit: one vote more or less is not infinite


def host_features(consensus: Consensus) -> np.ndarray:
    """``(n_hosts, 8)``: 1, logit of the weighted share, logit of the vote share, log of the number of
    classifications, further host (0/1), click scatter (arcsec, at most 5), the logit of the strongest
    rival's weighted share (a position not kept, or "no host"), and log σ(the host's log-odds against the
    positions not kept) — 0 when nothing competed, log ½ on an exact tie."""
    source = consensus.host_source
    n = consensus.n_classifications[source]
    votes = np.clip(consensus.host_votes / np.maximum(n, 1), _CLIP, 1 - _CLIP)
    weighted = np.clip(consensus.host_support, _CLIP, 1 - _CLIP)
    rival = np.clip(np.maximum(consensus.rival_support, consensus.no_host_support)[source], _CLIP, 1 - _CLIP)
    odds = log_expit(consensus.host_odds)
    # how well the clicks pin the position: the squared standard error of their mean, a scatter of 1.5"
    # assumed for the first vote (one click has no scatter of its own)
    pinned = np.log((consensus.host_scatter_arcsec ** 2 + 1.5 ** 2) / np.maximum(consensus.host_votes, 1))
    return np.column_stack([np.ones(len(n)), logit(weighted), logit(votes), np.log(np.maximum(n, 1)),
                            (consensus.host_rank > 1).astype(float), np.minimum(consensus.host_scatter_arcsec, 5.0),
                            logit(rival), odds, pinned])


def no_host_features(consensus: Consensus) -> np.ndarray:
    """``(n_sources, 5)``: 1, logit of the weighted share that said "no host", logit of the plain share, log
    of the number of classifications, logit of the strongest position's weighted share."""
    n = consensus.n_classifications
    plain = np.clip(consensus.n_no_host / np.maximum(n, 1), _CLIP, 1 - _CLIP)
    weighted = np.clip(consensus.no_host_support, _CLIP, 1 - _CLIP)
    rival = np.clip(consensus.rival_support, _CLIP, 1 - _CLIP)
    return np.column_stack([np.ones(len(n)), logit(weighted), logit(plain), np.log(np.maximum(n, 1)), logit(rival)])


def host_probability(consensus: Consensus) -> np.ndarray:
    """The probability each host is right; the plain vote share for methods that do not weigh annotators."""
    if consensus.host_support is None:
        return consensus.host_level
    return expit(host_features(consensus) @ np.asarray(HOST_COEFFICIENTS))


def no_host_probability(consensus: Consensus) -> np.ndarray:
    """The probability each source truly shows no host; the plain share for methods without weights."""
    if consensus.no_host_support is None:
        return consensus.no_host_fraction
    return expit(no_host_features(consensus) @ np.asarray(NO_HOST_COEFFICIENTS))


def fit_logistic(features: np.ndarray, right: np.ndarray, *, ridge: float = 1e-4) -> np.ndarray:
    """Coefficients of a logistic model of ``right`` (booleans) on ``features`` (first column 1), by
    maximum likelihood with a small ridge on the slopes."""
    y = np.asarray(right, float)

    def loss(b):
        p = np.clip(expit(features @ b), 1e-9, 1 - 1e-9)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + ridge * np.sum(b[1:] ** 2)

    return minimize(loss, np.zeros(features.shape[1]), method="BFGS").x


def reliability_table(probability: np.ndarray, right: np.ndarray, *, bins: int = 10) -> list[tuple]:
    """The reliability diagram as rows ``(low, high, n, mean predicted, fraction right)`` per bin."""
    probability, right = np.asarray(probability, float), np.asarray(right, float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges) - 1, 0, bins - 1)
    return [(edges[b], edges[b + 1], int((which == b).sum()), float(probability[which == b].mean()),
             float(right[which == b].mean())) for b in range(bins) if (which == b).any()]


def expected_calibration_error(probability: np.ndarray, right: np.ndarray, *, bins: int = 10) -> float:
    """Mean |predicted − observed| over the bins of :func:`reliability_table`, weighted by their counts."""
    rows = reliability_table(probability, right, bins=bins)
    total = sum(n for _, _, n, _, _ in rows)
    return sum(n * abs(p - r) for _, _, n, p, r in rows) / total if total else float("nan")
