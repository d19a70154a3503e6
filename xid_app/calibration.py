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

from dataclasses import replace

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit

from .consensus import Consensus, ExpertAnswers
from .coords import tangent_offsets_arcsec

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
    """The probability each host is right (with the project's own correction where it has one); the plain
    vote share for methods that do not weigh annotators."""
    if consensus.host_support is None:
        return consensus.host_level
    z = host_features(consensus) @ np.asarray(HOST_COEFFICIENTS)
    if consensus.level_correction is not None:
        (a, b), _ = consensus.level_correction
        z = a + b * z
    return expit(z)


def no_host_probability(consensus: Consensus) -> np.ndarray:
    """The probability each source truly shows no host (corrected as :func:`host_probability`); the plain
    share for methods without weights."""
    if consensus.no_host_support is None:
        return consensus.no_host_fraction
    z = no_host_features(consensus) @ np.asarray(NO_HOST_COEFFICIENTS)
    if consensus.level_correction is not None:
        _, (a, b) = consensus.level_correction
        z = a + b * z
    return expit(z)


GOLD_SOURCES_TO_CORRECT = 50  # fewer gold-standard sources say too little to correct the levels with


def corrected_by_gold(consensus: Consensus, gold: ExpertAnswers, *, radius_arcsec: float = 3.0) -> Consensus:
    """The consensus with its levels corrected on the project's own gold-standard sources.

    A crowd unlike the simulated ones the coefficients were fitted on (one truly split between two
    galaxies, say) gets levels that do not mean what they say; where experts answered at least
    :data:`GOLD_SOURCES_TO_CORRECT` sources the crowd also answered, a two-parameter (Platt) correction
    σ(a + b·logit(level)) is fitted to how often the crowd's answers there match the experts' (a host
    within ``radius_arcsec`` of one of theirs; "no host" where they saw none), shrunk towards no correction
    by a couple of answers' worth so a handful of gold sources cannot make it extreme.
    """
    on_gold = np.unique(gold.source[consensus.n_classifications[gold.source] > 0])  # the experts' sources the crowd answered
    if len(on_gold) < GOLD_SOURCES_TO_CORRECT:
        return replace(consensus, level_correction=None)
    expert_host = np.zeros(len(consensus.n_classifications), dtype=bool)
    expert_host[gold.source[gold.host_answer]] = True
    hosts = np.flatnonzero(np.isin(consensus.host_source, on_gold))
    right = _within(consensus.host_source[hosts], consensus.host_ra[hosts], consensus.host_dec[hosts],
                    gold.source[gold.host_answer], gold.host_ra, gold.host_dec, radius_arcsec)
    has_host = np.zeros(len(consensus.n_classifications), dtype=bool)
    has_host[consensus.host_source] = True
    empty = on_gold[~has_host[on_gold]]
    host_z = (host_features(consensus) @ np.asarray(HOST_COEFFICIENTS))[hosts]
    none_z = (no_host_features(consensus) @ np.asarray(NO_HOST_COEFFICIENTS))[empty]
    return replace(consensus, level_correction=(_platt(host_z, right), _platt(none_z, ~expert_host[empty])))


def _within(source, ra, dec, ref_source, ref_ra, ref_dec, radius_arcsec: float) -> np.ndarray:
    """Whether each position lies within ``radius_arcsec`` of a reference position of its source."""
    right = np.zeros(len(source), dtype=bool)
    for i in np.flatnonzero(np.isin(source, ref_source)):
        ref = ref_source == source[i]
        xi, eta = tangent_offsets_arcsec(ref_ra[ref], ref_dec[ref], ra[i], dec[i])
        right[i] = np.hypot(xi, eta).min() <= radius_arcsec
    return right


def _platt(z: np.ndarray, right: np.ndarray, *, prior_answers: float = 2.0) -> tuple[float, float]:
    """(a, b) of σ(a + b·z) fitted to ``right``, shrunk towards (0, 1) with ``prior_answers`` of weight."""
    if len(z) == 0:
        return 0.0, 1.0
    y = np.asarray(right, float)
    strength = prior_answers / len(z)

    def loss(ab):
        p = np.clip(expit(ab[0] + ab[1] * z), 1e-9, 1 - 1e-9)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + strength * (ab[0] ** 2 + (ab[1] - 1) ** 2)

    a, b = minimize(loss, np.array([0.0, 1.0]), method="BFGS").x
    return float(a), float(b)


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
