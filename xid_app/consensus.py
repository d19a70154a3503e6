"""Consensus hosts from many annotators' clicks: pure functions over flat arrays.

Zooniverse's aggregation splits *extract* (raw answers → flat data) from *reduce* (flat data → consensus).
Extraction happens at the edges (:mod:`xid_app.extract`, ``ingest.read_annotations``);
here are only reducers. Each reducer handles every source in one vectorised pass and is registered in
:data:`METHODS` with its parameters declared as data.

Why one module: the methods share the vote, candidate and ranking kernels between the data types and the
reducers, and reading the reducers side by side, over the same flat arrays, is how they are compared
(docs/consensus.md). A method family with kernels of its own gets a module of its own.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .answers import FLAGS
from .arrays import ascending, stable_order, unique, unique_pairs_inverse
from .coords import tangent_offsets_arcsec, tangent_to_sky


@dataclass(frozen=True)
class Annotations:
    """The answers to reduce, as flat arrays.

    One classification is one user's current answer for one source (earlier revisions are dropped before
    this point). A classification with no click said "no host".

    Attributes
    ----------
    source_ra, source_dec : numpy.ndarray
        ``(n_sources,)`` source positions, ICRS degrees.
    cls_source : numpy.ndarray
        ``(n_classifications,)`` index into the sources.
    click_cls : numpy.ndarray
        ``(n_clicks,)`` index into the classifications.
    click_ra, click_dec : numpy.ndarray
        ``(n_clicks,)`` host positions marked, ICRS degrees.
    cls_user : numpy.ndarray, optional
        ``(n_classifications,)`` index of each classification's annotator, for reliability weights;
        ``None``: every classification is its own annotator.
    gold : ExpertAnswers, optional
        Experts' answers on gold-standard sources: annotators' reliability is also measured against them.
    cls_flags : numpy.ndarray, optional
        ``(n_classifications, len(FLAGS))`` booleans: the flags each classification raised.
    """

    source_ra: np.ndarray
    source_dec: np.ndarray
    cls_source: np.ndarray
    click_cls: np.ndarray
    click_ra: np.ndarray
    click_dec: np.ndarray
    cls_user: np.ndarray | None = None
    gold: ExpertAnswers | None = None
    cls_flags: np.ndarray | None = None

    @property
    def n_sources(self) -> int:
        return len(self.source_ra)


@dataclass(frozen=True)
class Consensus:
    """Reduced answers: per-source counts and one entry per consensus host.

    Attributes
    ----------
    n_classifications, n_no_host : numpy.ndarray
        ``(n_sources,)`` classifications per source, and how many of them marked no host.
    host_source : numpy.ndarray
        ``(n_hosts,)`` index of each host's source; a source may have several hosts or none.
    host_ra, host_dec : numpy.ndarray
        Host positions, ICRS degrees.
    host_votes : numpy.ndarray
        Classifications that marked each host.
    host_scatter_arcsec : numpy.ndarray
        RMS distance of those clicks from the host position.
    method, params :
        The reducer and the parameters that made this.
    flag_counts : numpy.ndarray or None
        ``(n_sources, len(FLAGS))`` classifications that raised each flag (see :data:`FLAGS`).
    annotator_weight : numpy.ndarray or None
        Reliability weight of each annotator (indexed as ``Annotations.cls_user``) in the final votes, for
        methods that weigh annotators.
    host_support, no_host_support, rival_support : numpy.ndarray or None
        For methods that weigh annotators: the weighted share of each host's source's classifications that
        marked it ``(n_hosts,)``, that marked no host ``(n_sources,)``, and that marked the strongest
        position not kept as a host ``(n_sources,)`` — how close the race was.
    level_correction : tuple or None
        ``((a, b), (a, b))``: the project's own correction of the calibrated host and no-host levels,
        σ(a + b·logit(level)), fitted on its gold-standard sources (:mod:`xid_app.calibration`).
    further_host_pending : numpy.ndarray or None
        ``(n_sources,)`` True where a position not kept as a host was marked together with the best host
        (a further host too few have marked yet), for methods that look for further hosts.
    host_odds : numpy.ndarray or None
        ``(n_hosts,)`` log-odds of each host against the positions of its source that were not kept (their
        votes' evidence and the radio prior; large where nothing competed), for methods that weigh them.
    """

    n_classifications: np.ndarray
    n_no_host: np.ndarray
    host_source: np.ndarray
    host_ra: np.ndarray
    host_dec: np.ndarray
    host_votes: np.ndarray
    host_scatter_arcsec: np.ndarray
    method: str
    params: dict = field(default_factory=dict)
    flag_counts: np.ndarray | None = None
    annotator_weight: np.ndarray | None = None
    host_support: np.ndarray | None = None
    no_host_support: np.ndarray | None = None
    rival_support: np.ndarray | None = None
    host_odds: np.ndarray | None = None
    further_host_pending: np.ndarray | None = None
    level_correction: tuple | None = None

    @property
    def host_level(self) -> np.ndarray:
        """Consensus level of each host: its votes over its source's classifications."""
        return self.host_votes / np.maximum(self.n_classifications[self.host_source], 1)

    @property
    def host_rank(self) -> np.ndarray:
        """1 for each source's best-supported host, 2 for the next... (hosts are grouped by source, best first)."""
        return rank_within_runs(self.host_source)

    @property
    def best_host(self) -> np.ndarray:
        """Mask of each source's best-supported host."""
        return self.host_rank == 1

    @property
    def no_host_fraction(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n_classifications > 0, self.n_no_host / np.maximum(self.n_classifications, 1), np.nan)


@dataclass(frozen=True)
class ExpertAnswers:
    """Admins' final answers, which override consensus.

    Attributes
    ----------
    source : numpy.ndarray
        ``(n_answers,)`` source index of each answer (one answer per source).
    decided_by, decided_at : numpy.ndarray
        ``(n_answers,)`` who (user name) and when (ISO 8601, UTC).
    host_answer : numpy.ndarray
        ``(n_hosts,)`` index into the answers, sorted; an answer without hosts said "no host".
    host_ra, host_dec : numpy.ndarray
        ``(n_hosts,)`` ICRS degrees.
    """

    source: np.ndarray
    decided_by: np.ndarray
    decided_at: np.ndarray
    host_answer: np.ndarray
    host_ra: np.ndarray
    host_dec: np.ndarray

    def on(self, sources: np.ndarray) -> ExpertAnswers:
        """The answers on the given source indices only (e.g. the gold-standard sources)."""
        keep = np.isin(self.source, sources)
        renumber = np.cumsum(keep) - 1
        host_keep = keep[self.host_answer]
        return ExpertAnswers(self.source[keep], self.decided_by[keep], self.decided_at[keep],
                             renumber[self.host_answer[host_keep]], self.host_ra[host_keep], self.host_dec[host_keep])


def rank_within_runs(keys: np.ndarray) -> np.ndarray:
    """1, 2, 3... within each run of equal consecutive ``keys``."""
    if len(keys) == 0:
        return np.empty(0, np.int32)
    new_run = np.r_[True, keys[1:] != keys[:-1]]
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(keys)), 0))
    return (np.arange(len(keys)) - run_start + 1).astype(np.int32)


@dataclass(frozen=True)
class Param:
    """A reducer parameter declared as data."""

    default: float
    doc: str
    unit: str = ""


@dataclass(frozen=True)
class Method:
    """A registered consensus reducer. Its parameters' defaults live here only (the reducers take every
    parameter as a required keyword): call it through :func:`run_consensus`."""

    reduce: Callable[..., Consensus]
    params: dict[str, Param]
    doc: str

    def defaults(self) -> dict[str, float]:
        return {name: p.default for name, p in self.params.items()}


def _group_sum(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(labels, weights=values, minlength=n)


def _points(x: np.ndarray, y: np.ndarray, group: np.ndarray, radius: float) -> cKDTree:
    """A tree over points whose groups (sources) are pushed far apart along a third axis, so that one tree
    serves every source at once and no neighbourhood crosses from one source to another."""
    # an unbalanced, uncompacted tree builds in half the time and answers these small-radius queries as fast
    return cKDTree(np.column_stack([x, y, group * (10.0 * radius + 1.0)]), balanced_tree=False, compact_nodes=False)


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    graph = csr_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="weak")  # = undirected, without a copy
    return labels.astype(np.int64)  # int32 from scipy would overflow in the (cluster, classification) keys


def _friends_of_friends(x: np.ndarray, y: np.ndarray, group: np.ndarray, radius: float) -> np.ndarray:
    """Single-linkage clusters of points closer than ``radius`` within the same ``group``; labels 0..k-1."""
    if len(x) == 0:
        return np.empty(0, dtype=np.int64)
    return _components(len(x), _points(x, y, group, radius).query_pairs(radius, output_type="ndarray"))


def _dbscan(x: np.ndarray, y: np.ndarray, group: np.ndarray, eps: float, min_samples: int) -> np.ndarray:
    """DBSCAN labels (``-1`` for noise) within each group, in one pass (as scikit-learn's, same eps
    semantics: a core point has at least ``min_samples`` points, itself included, within ``eps``)."""
    n = len(x)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    pairs = _points(x, y, group, eps).query_pairs(eps, output_type="ndarray")
    neighbours = 1 + np.bincount(pairs.ravel(), minlength=n)
    core = neighbours >= min_samples
    core_pairs = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]
    labels = np.where(core, _components(n, core_pairs), -1)
    # border points join the cluster of a core neighbour
    for a, b in ((0, 1), (1, 0)):
        border = ~core[pairs[:, a]] & core[pairs[:, b]]
        labels[pairs[border, a]] = labels[pairs[border, b]]
    _, labels[labels >= 0] = np.unique(labels[labels >= 0], return_inverse=True)
    return labels


@dataclass(frozen=True)
class _Votes:
    """One vote per (cluster, classification): the mean of that classification's clicks in the cluster, so
    a double click cannot pull a host. Independent of annotator weights, so computed once."""

    n_cand: int
    cand: np.ndarray         # (n_votes,) cluster of each vote
    cls: np.ndarray          # (n_votes,) classification of each vote
    xi: np.ndarray           # (n_votes,) offsets east and north of the source, arcsec
    eta: np.ndarray
    source: np.ndarray       # (n_cand,) source of each cluster


def _votes(ann: Annotations, labels: np.ndarray, xi: np.ndarray, eta: np.ndarray) -> _Votes:
    """Collapse clicks with cluster ``labels`` (-1: ignored) to votes."""
    keep = labels >= 0
    labels, click_cls, xi, eta = labels[keep], ann.click_cls[keep], xi[keep], eta[keep]
    n_cand = int(labels.max()) + 1 if len(labels) else 0
    vote_cand, vote_cls, vote_of_click = unique_pairs_inverse(labels, click_cls)
    n_votes = len(vote_cand)
    n_in_vote = np.bincount(vote_of_click, minlength=n_votes)
    vote_xi = _group_sum(vote_of_click, xi, n_votes) / np.maximum(n_in_vote, 1)
    vote_eta = _group_sum(vote_of_click, eta, n_votes) / np.maximum(n_in_vote, 1)
    source = np.zeros(n_cand, dtype=np.int64)
    source[vote_cand] = ann.cls_source[vote_cls]
    return _Votes(n_cand, vote_cand, vote_cls, vote_xi, vote_eta, source)


def _clustered_votes_of(ann: Annotations, radius: float) -> _Votes:
    click_src, xi, eta = _offsets(ann)
    return _votes(ann, _friends_of_friends(xi, eta, click_src, radius), xi, eta)


_PARALLEL_CLICKS = 1_000_000  # from this many clicks the sources' clusters are found in parts, one per core


def _clustered_votes(ann: Annotations, radius: float) -> _Votes:
    """The votes of friends-of-friends clusters of radius ``radius`` (see :func:`_votes`).

    Each source's clusters are its own, so at survey size the sources are cut into one run per core and
    each run clustered in a thread of its own: the offsets' trigonometry, the tree and the sorts run
    outside the GIL (2 cores: 13 s -> 8 s at 16 million clicks). The votes and their numbering are those
    of one pass: the runs' clusters follow each other in source order."""
    parts = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    grouped = len(ann.click_cls) >= _PARALLEL_CLICKS and parts > 1 and ascending(ann.cls_source) \
        and ascending(ann.click_cls)
    if not grouped:
        return _clustered_votes_of(ann, radius)
    cls_cut = np.searchsorted(ann.cls_source, np.linspace(0, ann.n_sources, parts + 1)[1:-1].round().astype(int))
    cls_cut = np.r_[0, cls_cut, len(ann.cls_source)]
    click_cut = np.searchsorted(ann.click_cls, cls_cut)
    runs = [replace(ann, cls_source=ann.cls_source[c0:c1], click_cls=ann.click_cls[k0:k1] - c0,
                    click_ra=ann.click_ra[k0:k1], click_dec=ann.click_dec[k0:k1], cls_user=None, cls_flags=None)
            for c0, c1, k0, k1 in zip(cls_cut[:-1], cls_cut[1:], click_cut[:-1], click_cut[1:])]
    with ThreadPoolExecutor(parts) as pool:
        found = list(pool.map(lambda run: _clustered_votes_of(run, radius), runs))
    first_cand = np.cumsum([0] + [v.n_cand for v in found])
    return _Votes(int(first_cand[-1]),
                  np.concatenate([v.cand + first for v, first in zip(found, first_cand)]),
                  np.concatenate([v.cls + first for v, first in zip(found, cls_cut)]),
                  np.concatenate([v.xi for v in found]), np.concatenate([v.eta for v in found]),
                  np.concatenate([v.source for v in found]))


@dataclass(frozen=True)
class _Candidates:
    """Host candidates (clusters of clicks) of every source, weighed."""

    source: np.ndarray       # (n_cand,) source index
    xi: np.ndarray           # (n_cand,) weighted mean offset east of the source, arcsec
    eta: np.ndarray          # (n_cand,) north
    votes: np.ndarray        # (n_cand,) distinct classifications
    weight: np.ndarray       # (n_cand,) summed annotator weights of those classifications
    scatter: np.ndarray      # (n_cand,) rms distance of the votes from the position, arcsec
    vote_cand: np.ndarray    # (n_votes,) candidate of each (candidate, classification) vote
    vote_cls: np.ndarray     # (n_votes,) classification of each vote


def _candidates(votes: _Votes, cls_weight: np.ndarray, cls_precision: np.ndarray | None = None) -> _Candidates:
    """Weigh the votes: positions are means weighted by the annotators' weight (times their click
    precision, 1/scatter², where known), scatter is about them."""
    n = votes.n_cand
    w = cls_weight[votes.cls]
    weight = _group_sum(votes.cand, w, n)
    wp = w if cls_precision is None else w * cls_precision[votes.cls]
    total = _group_sum(votes.cand, wp, n)
    safe = np.where(total > 0, total, 1.0)
    c_xi = _group_sum(votes.cand, wp * votes.xi, n) / safe
    c_eta = _group_sum(votes.cand, wp * votes.eta, n) / safe
    d2 = (votes.xi - c_xi[votes.cand]) ** 2 + (votes.eta - c_eta[votes.cand]) ** 2
    count = np.bincount(votes.cand, minlength=n)
    scatter = np.sqrt(_group_sum(votes.cand, d2, n) / np.maximum(count, 1))
    return _Candidates(votes.source, c_xi, c_eta, count, weight, scatter, votes.cand, votes.cls)


def _best(source: np.ndarray, score: np.ndarray, tiebreak: np.ndarray, n_src: int):
    """Per source, the candidate with the highest score (ties: smallest ``tiebreak``, then the first).
    Returns a mask of the best ones and each source's best score (0 for a source with none)."""
    best_score = np.full(n_src, -np.inf)
    np.maximum.at(best_score, source, score)
    tied = score == best_score[source]
    least = np.full(n_src, np.inf)
    np.minimum.at(least, source[tied], tiebreak[tied])
    tied &= tiebreak == least[source]
    first = np.full(n_src, len(source))
    np.minimum.at(first, source[tied], np.flatnonzero(tied))
    is_best = np.zeros(len(source), dtype=bool)
    is_best[first[first < len(source)]] = True
    return is_best, np.where(np.isfinite(best_score), best_score, 0.0)


def _ranked(source: np.ndarray, score: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Candidates sorted by source, best first (the order :func:`_best` ranks them in). Most sources have
    one candidate: only those of sources with several are sorted on their scores."""
    order = stable_order(source)
    if len(order) == 0:
        return order
    several = np.bincount(source, minlength=int(source.max()) + 1)[source[order]] > 1
    among = order[several]  # each source's candidates, sources in order: their slots keep that order
    order[several] = among[np.lexsort((tiebreak[among], -score[among], source[among]))]
    return order


def _offsets(ann: Annotations):
    click_src = ann.cls_source[ann.click_cls]
    xi, eta = tangent_offsets_arcsec(ann.click_ra, ann.click_dec, ann.source_ra[click_src], ann.source_dec[click_src])
    return click_src, xi, eta


def _counts(ann: Annotations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classifications per source, "no host" classifications per source, and which classifications are."""
    n_src, n_cls = ann.n_sources, len(ann.cls_source)
    no_host = np.bincount(ann.click_cls, minlength=n_cls) == 0
    return (np.bincount(ann.cls_source, minlength=n_src), np.bincount(ann.cls_source[no_host], minlength=n_src),
            no_host)


def _result(ann: Annotations, cand: _Candidates, kept: np.ndarray, method: str, params: dict,
            annotator_weight: np.ndarray | None = None, cls_weight: np.ndarray | None = None,
            score: np.ndarray | None = None, further_host_pending: np.ndarray | None = None) -> Consensus:
    n_classifications, n_no_host, _ = _counts(ann)
    src = cand.source[kept]
    ra, dec = tangent_to_sky(cand.xi[kept], cand.eta[kept], ann.source_ra[src], ann.source_dec[src])
    flag_counts = None
    if ann.cls_flags is not None:
        flag_counts = np.stack([np.bincount(ann.cls_source, weights=ann.cls_flags[:, i], minlength=ann.n_sources)
                                for i in range(len(FLAGS))], axis=1)
    return Consensus(n_classifications=n_classifications, n_no_host=n_no_host, host_source=src, host_ra=ra,
                     host_dec=dec, host_votes=cand.votes[kept], host_scatter_arcsec=cand.scatter[kept],
                     method=method, params=params, flag_counts=flag_counts, annotator_weight=annotator_weight,
                     host_odds=None if score is None else _odds_against_the_rest(cand.source, score, kept),
                     further_host_pending=further_host_pending,
                     **_supports(ann, cand, kept, cls_weight))


_NO_RIVAL_ODDS = 20.0  # log-odds of a host nothing competed with


def _odds_against_the_rest(source: np.ndarray, score: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Each kept candidate's score minus the log-sum-exp of the scores of its source's candidates not kept."""
    lost = np.ones(len(source), dtype=bool)
    lost[kept] = False
    n_src = int(source.max()) + 1 if len(source) else 0
    top = np.full(n_src, -np.inf)
    np.maximum.at(top, source[lost], score[lost])
    total = _group_sum(source[lost], np.exp(score[lost] - top[source[lost]]), n_src)
    with np.errstate(divide="ignore"):
        rest = top + np.log(total)
    odds = score[kept] - rest[source[kept]]
    return np.where(np.isfinite(odds), np.minimum(odds, _NO_RIVAL_ODDS), _NO_RIVAL_ODDS)


def _supports(ann: Annotations, cand: _Candidates, kept: np.ndarray, cls_weight: np.ndarray | None) -> dict:
    """The weighted shares behind each host and behind "no host" (see :class:`Consensus`)."""
    if cls_weight is None:
        return {}
    total = _group_sum(ann.cls_source, cls_weight, ann.n_sources)
    safe = np.where(total > 0, total, 1.0)
    _, _, no_host = _counts(ann)
    no_host_weight = _group_sum(ann.cls_source[no_host], cls_weight[no_host], ann.n_sources)
    weight = _group_sum(cand.vote_cand, cls_weight[cand.vote_cls], len(cand.source))
    rival = np.zeros(ann.n_sources)
    lost = np.ones(len(cand.source), dtype=bool)
    lost[kept] = False
    np.maximum.at(rival, cand.source[lost], weight[lost])
    return dict(host_support=weight[kept] / safe[cand.source[kept]], no_host_support=no_host_weight / safe,
                rival_support=rival / safe)


def agrees_with_answers(ann: Annotations, answers: ExpertAnswers, *, radius_arcsec: float = 5.0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Judge classifications against answers known to be right (experts' gold standard).

    Returns two ``(n_classifications,)`` masks: which classifications are on a source the answers cover,
    and which of those agree — "no host" where the expert saw none, or a click within ``radius_arcsec``
    of one of the expert's hosts.
    """
    n_cls = len(ann.cls_source)
    answered = np.zeros(ann.n_sources, dtype=bool)
    answered[answers.source] = True
    expert_host = np.zeros(ann.n_sources, dtype=bool)
    expert_host[answers.source[answers.host_answer]] = True
    on_answered = answered[ann.cls_source]
    clicked = np.bincount(ann.click_cls, minlength=n_cls) > 0
    agrees = on_answered & ~clicked & ~expert_host[ann.cls_source]
    if len(answers.host_answer) and len(ann.click_cls):
        hsrc = answers.source[answers.host_answer]
        hx, hy = tangent_offsets_arcsec(answers.host_ra, answers.host_dec, ann.source_ra[hsrc], ann.source_dec[hsrc])
        click_src, xi, eta = _offsets(ann)
        separation = 10.0 * radius_arcsec + 1.0
        distance, _ = _points(hx, hy, hsrc, radius_arcsec).query(
            np.column_stack([xi, eta, click_src * separation]), distance_upper_bound=radius_arcsec)
        agrees[ann.click_cls[np.isfinite(distance)]] = True
        agrees &= on_answered
    return on_answered, agrees


_WEIGHTS_CONVERGED = 1e-3  # reliability rounds stop once no annotator's weight moves more than this
_SCATTER_PSEUDO_VOTES = 2.0  # an annotator's click scatter starts at the prior, worth this many votes
_MODE_ITERATIONS = 5  # mean-shift steps from a cluster's mean to its densest point


def _click_precision(votes: _Votes, cand: _Candidates, keep: np.ndarray, users: np.ndarray, n_users: int,
                     prior_arcsec: float) -> np.ndarray:
    """Each annotator's click precision, 1/σ², from their votes' distances to the hosts kept (σ starts at
    ``prior_arcsec``, worth a couple of votes, so a new annotator is neither trusted nor doubted much)."""
    kept = keep[cand.vote_cand]
    on = cand.vote_cand[kept]
    d2 = (votes.xi[kept] - cand.xi[on]) ** 2 + (votes.eta[kept] - cand.eta[on]) ** 2
    user = users[cand.vote_cls[kept]]
    sigma2 = ((np.bincount(user, weights=d2, minlength=n_users) + _SCATTER_PSEUDO_VOTES * prior_arcsec ** 2)
              / (np.bincount(user, minlength=n_users) + _SCATTER_PSEUDO_VOTES))
    return 1.0 / sigma2


def _densest_points(votes: _Votes, cand: _Candidates, kept: np.ndarray, cls_weight: np.ndarray,
                    cls_precision: np.ndarray, radius: float) -> _Candidates:
    """Move each kept candidate from its mean to the densest point of its votes (mean shift with a Gaussian
    of ``radius`` widened by each vote's scatter): where a host and a nearby galaxy some picked instead
    linked into one cluster, the host's clicks, not their mean with the others, place it."""
    n = votes.n_cand
    on = np.flatnonzero(kept[votes.cand])
    group, vote_xi, vote_eta = votes.cand[on], votes.xi[on], votes.eta[on]
    w = cls_weight[votes.cls[on]]
    width2 = radius ** 2 + 1.0 / cls_precision[votes.cls[on]]
    xi, eta = cand.xi, cand.eta
    for _ in range(_MODE_ITERATIONS):
        d2 = (vote_xi - xi[group]) ** 2 + (vote_eta - eta[group]) ** 2
        k = w / width2 * np.exp(-0.5 * d2 / width2)
        total = _group_sum(group, k, n)
        ok = total > 0
        safe = np.where(ok, total, 1.0)
        xi = np.where(ok, _group_sum(group, k * vote_xi, n) / safe, xi)
        eta = np.where(ok, _group_sum(group, k * vote_eta, n) / safe, eta)
    return replace(cand, xi=xi, eta=eta)


def _evidence(cand: _Candidates, cls_weight: np.ndarray) -> np.ndarray:
    """Each candidate's evidence from its votes: each worth its annotator's log-odds of being right (a weight
    p counts log(2p / (1 − p)), at least 0: as good as a coin toss between two answers counts nothing)."""
    right = np.clip(cls_weight, 0.05, 0.95)
    vote_evidence = np.maximum(np.log(2 * right / (1 - right)), 0.0)
    return _group_sum(cand.vote_cand, vote_evidence[cand.vote_cls], len(cand.source))


_PRIOR_MIN_HOSTS = 30  # fewer hosts say too little about where hosts lie: no prior (a small project's own)


@dataclass(frozen=True)
class _OffsetPrior:
    """Where hosts lie from the radio position, against where any candidate lies: the log-odds a candidate's
    offset alone gives that it is the host.

    Hosts are a mixture: a share ``core`` in a 2-D Gaussian of variance ``core_width2`` (arcsec²) about the
    radio position, the rest spread like the candidates (``spread_width2``: hosts of other sources in the
    field, hosts far from a double's centre). Fitted by EM to the hosts of the current consensus, so each
    survey's own offsets set it; the log-odds stay between log(1 − core) and log(core·spread/core_width
    + 1 − core), so it moves a choice by a vote or two at most and never overrules a clear crowd.
    """

    core: float
    core_width2: float
    spread_width2: float

    @classmethod
    def fit(cls, host_offset2: np.ndarray, candidate_offset2: np.ndarray, iterations: int = 20) -> _OffsetPrior:
        """Fit to the hosts' and all candidates' squared offsets (arcsec²) from their radio positions."""
        spread = float(max(np.mean(candidate_offset2) / 2, 1.0)) if len(candidate_offset2) else 1.0
        if len(host_offset2) < _PRIOR_MIN_HOSTS:
            return cls(0.0, spread, spread)
        core, width2 = 0.5, float(np.clip(np.median(host_offset2) / (2 * np.log(2)), 0.25, spread))
        for _ in range(iterations):
            in_core = core / width2 * np.exp(-0.5 * host_offset2 / width2)
            spread_out = (1 - core) / spread * np.exp(-0.5 * host_offset2 / spread)
            share = in_core / np.maximum(in_core + spread_out, 1e-300)
            core = float(np.clip(share.mean(), 0.0, 0.99))
            width2 = float(np.clip(np.sum(share * host_offset2) / max(2 * share.sum(), 1e-9), 0.25, spread))
        return cls(core, width2, spread)

    def log_ratio(self, offset2: np.ndarray) -> np.ndarray:
        """log p(offset | host) − log p(offset | candidate), for squared offsets in arcsec²."""
        steeper = 0.5 * (1 / self.core_width2 - 1 / self.spread_width2)
        return np.log(self.core * self.spread_width2 / self.core_width2 * np.exp(-steeper * offset2) + 1 - self.core)


def reduce_xid(ann: Annotations, *, link_radius_arcsec: float, secondary_fraction: float,
               co_marked_fraction: float, min_secondary_votes: float, reliability_iterations: float,
               gold_weight: float, scatter_prior_arcsec: float, mode_radius_arcsec: float,
               radio_prior_strength: float) -> Consensus:
    """XID's consensus: clusters of clicks, votes weighted by each annotator's reliability.

    Clicks closer than ``link_radius_arcsec`` (transitively) form a host candidate; each classification
    counts once per candidate. The best candidate of a source is its host when its weighted votes beat
    the weighted "no host" answers. Another candidate is a host too — several radio sources in one
    field — only when it reaches ``secondary_fraction`` of the best candidate's weight, at least
    ``min_secondary_votes`` votes, and at least ``co_marked_fraction`` of its weight comes from
    classifications that marked the best host *together* with it: a position picked instead of the best
    host is a competing answer, not a second host.

    Annotators are weighted by how often their answers agree with the consensus, (agreed + 1) /
    (answered + 2), re-estimated up to ``reliability_iterations`` times (fewer once they settle), so careless or random clickers stop
    dragging hosts around. On gold-standard sources (``ann.gold``) an answer is judged against the
    expert's instead, and counts ``gold_weight`` times.

    Each annotator's click scatter is estimated alongside (from the hosts kept; it starts at
    ``scatter_prior_arcsec``), and a host's position weighs each vote by its annotator's precision; the
    position is then moved to the densest point of its votes (``mode_radius_arcsec``; 0: the mean), so that
    a nearby galaxy some picked instead does not pull it. Among a source's candidates the best is the one
    with the most evidence: each vote worth its annotator's log-odds of being right, plus
    ``radio_prior_strength`` times the log-odds the candidate's offset from the radio position (the
    source's position) gives, from how far the consensus hosts of all sources lie (:class:`_OffsetPrior`,
    fitted by EM alongside the weights): a near tie goes to the galaxy nearer the radio emission, a clear
    crowd is not overruled.
    """
    n_src, n_cls = ann.n_sources, len(ann.cls_source)
    _, _, no_host = _counts(ann)
    users = ann.cls_user if ann.cls_user is not None else np.arange(n_cls)
    n_users = int(users.max()) + 1 if n_cls else 0
    user_weight = np.ones(n_users)
    user_precision = np.full(n_users, 1.0 / scatter_prior_arcsec ** 2)
    votes = _clustered_votes(ann, link_radius_arcsec)
    on_gold = np.zeros(n_cls, dtype=bool)
    if ann.gold is not None:
        on_gold, gold_agrees = agrees_with_answers(ann, ann.gold, radius_arcsec=link_radius_arcsec)
    cls_count = np.where(on_gold, gold_weight, 1.0)
    for iteration in range(int(reliability_iterations) + 1):
        cls_weight = user_weight[users]
        cand = _candidates(votes, cls_weight, user_precision[users])
        no_host_weight = _group_sum(ann.cls_source[no_host], cls_weight[no_host], n_src)
        offset2 = cand.xi ** 2 + cand.eta ** 2
        if iteration == 0:
            is_best, _ = _best(cand.source, cand.weight, cand.scatter, n_src)
            prior = _OffsetPrior.fit(offset2[is_best], offset2)
        # the best candidate: the crowd's evidence for it (each vote worth its annotator's log-odds of being
        # right) plus the log-odds its offset from the radio position gives
        prior_odds = radio_prior_strength * prior.log_ratio(offset2)
        score = _evidence(cand, cls_weight) + prior_odds
        is_best, _ = _best(cand.source, score, cand.scatter, n_src)
        best_weight = np.zeros(n_src)
        best_weight[cand.source[is_best]] = cand.weight[is_best]
        # weight of each candidate's votes from classifications that also marked their source's best
        marked_best = np.zeros(n_cls, dtype=bool)
        marked_best[cand.vote_cls[is_best[cand.vote_cand]]] = True
        co_weight = _group_sum(cand.vote_cand, (cls_weight * marked_best)[cand.vote_cls], len(cand.source))
        has_host = best_weight > no_host_weight
        keep = has_host[cand.source] & (
            is_best
            | ((cand.weight >= secondary_fraction * best_weight[cand.source])
               & (cand.votes >= min_secondary_votes)
               & (co_weight >= co_marked_fraction * cand.weight))
        )
        if iteration == reliability_iterations:
            break
        prior = _OffsetPrior.fit(offset2[is_best & has_host[cand.source]], offset2)
        # a classification agrees if it marked a kept host, or said "no host" where there is none
        agrees = np.where(no_host, ~has_host[ann.cls_source], False)
        agrees[cand.vote_cls[keep[cand.vote_cand]]] = True
        if on_gold.any():
            agrees = np.where(on_gold, gold_agrees, agrees)
        agreed = np.bincount(users, weights=agrees * cls_count, minlength=n_users)
        answered = np.bincount(users, weights=cls_count, minlength=n_users)
        previous, user_weight = user_weight, (agreed + 1.0) / (answered + 2.0)
        previous_precision = user_precision
        user_precision = _click_precision(votes, cand, keep, users, n_users, scatter_prior_arcsec)
        if (np.abs(user_weight - previous).max(initial=0.0) < _WEIGHTS_CONVERGED
                and np.abs(np.log(user_precision / previous_precision)).max(initial=0.0) < _WEIGHTS_CONVERGED):
            user_weight, user_precision = previous, previous_precision  # the hosts above were chosen with these
            break
    kept = np.flatnonzero(keep)
    kept = kept[_ranked(cand.source[kept], score[kept], cand.scatter[kept])]
    if mode_radius_arcsec > 0:  # once the hosts are chosen: where exactly each one is
        kept_mask = np.zeros(len(cand.source), dtype=bool)
        kept_mask[kept] = True
        cand = _densest_points(votes, cand, kept_mask, user_weight[users], user_precision[users], mode_radius_arcsec)
    # the shares behind each answer, for its calibrated level, weigh each classification by its annotator's
    # agreement on *other* sources: judged by its own source, an annotator of one answer always looks right
    own = agrees * cls_count if reliability_iterations >= 1 else np.zeros(n_cls)
    others = (agreed[users] - own + 1.0) / (answered[users] - cls_count + 2.0) if reliability_iterations >= 1 \
        else np.full(n_cls, 0.5)
    pending = np.zeros(n_src, dtype=bool)
    pending[cand.source[~keep & (co_weight > 0)]] = True
    return _result(ann, cand, kept, "xid", annotator_weight=user_weight, cls_weight=others,
                   score=_evidence(cand, others) + prior_odds, further_host_pending=pending, params=dict(
        link_radius_arcsec=link_radius_arcsec, secondary_fraction=secondary_fraction,
        co_marked_fraction=co_marked_fraction, min_secondary_votes=min_secondary_votes,
        reliability_iterations=reliability_iterations, gold_weight=gold_weight,
        scatter_prior_arcsec=scatter_prior_arcsec, mode_radius_arcsec=mode_radius_arcsec,
        radio_prior_strength=radio_prior_strength))


def reduce_rgz(ann: Annotations, *, bandwidth_arcsec: float) -> Consensus:
    """Radio Galaxy Zoo style: one host per source at the densest point of the classifications' first clicks.

    As in RGZ's ``consensus.py``, only the first click of each classification counts (so a second host in
    the field is lost); the peak is the click with most others within ``bandwidth_arcsec`` (a stand-in
    for RGZ's ``gaussian_kde`` maximum), the host the mean of the clicks within the bandwidth of it; a
    source has a host when more classifications clicked than said "no host".
    """
    n_src, n_cls = ann.n_sources, len(ann.cls_source)
    _, n_no_host, _ = _counts(ann)
    first_click = np.unique(ann.click_cls, return_index=True)[1]
    click_src, xi, eta = _offsets(ann)
    fx, fy, fsrc = xi[first_click], eta[first_click], click_src[first_click]
    n = len(first_click)
    pairs = _points(fx, fy, fsrc, bandwidth_arcsec).query_pairs(bandwidth_arcsec, output_type="ndarray") \
        if n else np.empty((0, 2), dtype=np.int64)
    density = 1 + np.bincount(pairs.ravel(), minlength=n)
    is_best, _ = _best(fsrc, density.astype(float), np.arange(n), n_src)
    # label the peak click and its neighbours as the source's single candidate; the rest are ignored
    labels = np.full(n, -1)
    labels[is_best] = fsrc[is_best]
    for a, b in ((0, 1), (1, 0)):
        near_peak = is_best[pairs[:, b]]
        labels[pairs[near_peak, a]] = fsrc[pairs[near_peak, b]]
    click_labels = np.full(len(ann.click_cls), -1)
    click_labels[first_click] = labels
    _, click_labels[click_labels >= 0] = np.unique(click_labels[click_labels >= 0], return_inverse=True)
    cand = _candidates(_votes(ann, click_labels, xi, eta), np.ones(n_cls))
    clicked = np.bincount(ann.cls_source[unique(ann.click_cls)], minlength=n_src)
    kept = np.flatnonzero(clicked[cand.source] > n_no_host[cand.source])
    return _result(ann, cand, kept[np.argsort(cand.source[kept], kind="stable")], "rgz",
                   dict(bandwidth_arcsec=bandwidth_arcsec))


def reduce_dbscan(ann: Annotations, *, eps_arcsec: float, min_samples: float) -> Consensus:
    """Zooniverse Panoptes style (``point_reducer_dbscan``): every DBSCAN cluster of clicks is a host.

    ``eps_arcsec`` and ``min_samples`` as in scikit-learn's DBSCAN; no "no host" vote and no competing
    answers: a source has as many hosts as clusters, and none if no cluster forms.
    """
    _, xi, eta = _offsets(ann)
    click_src = ann.cls_source[ann.click_cls]
    labels = _dbscan(xi, eta, click_src, eps_arcsec, int(min_samples))
    cand = _candidates(_votes(ann, labels, xi, eta), np.ones(len(ann.cls_source)))
    order = _ranked(cand.source, cand.votes.astype(float), cand.scatter)
    return _result(ann, cand, order, "dbscan", dict(eps_arcsec=eps_arcsec, min_samples=min_samples))


def _doc(function) -> str:
    return " ".join(function.__doc__.split("\n\n")[0].split())


METHODS: dict[str, Method] = {
    "xid": Method(
        reduce=reduce_xid,
        doc=_doc(reduce_xid),
        params={
            "link_radius_arcsec": Param(5.0, "Clicks closer than this (transitively) mark the same host.", "arcsec"),
            "secondary_fraction": Param(0.5, "A further host needs at least this fraction of the best host's weight."),
            "co_marked_fraction": Param(
                0.5, "...and at least this fraction of its weight from classifications that also marked the best host."),
            "min_secondary_votes": Param(2, "...and at least this many votes."),
            "reliability_iterations": Param(3, "Most rounds of re-estimating annotator weights; stops early when they settle (0: all weigh the same)."),
            "gold_weight": Param(3, "An answer on a gold-standard source counts this many times in its annotator's weight."),
            # the first two chosen on the "classic" simulated family alone (docs/consensus.md), reported on the others
            "scatter_prior_arcsec": Param(1.5, "An annotator's click scatter before their answers show it.", "arcsec"),
            "mode_radius_arcsec": Param(2.0, "A host sits at the densest point of its clicks, found at this scale (0: their mean).", "arcsec"),
            "radio_prior_strength": Param(1.0, "Weight of the radio-position prior, whose shape is fitted to where the hosts lie (1: as the data says; 0: no prior)."),
        },
    ),
    "rgz": Method(
        reduce=reduce_rgz,
        doc=_doc(reduce_rgz),
        params={"bandwidth_arcsec": Param(3.0, "Radius around the densest first click that makes the host.", "arcsec")},
    ),
    "dbscan": Method(
        reduce=reduce_dbscan,
        doc=_doc(reduce_dbscan),
        params={
            "eps_arcsec": Param(5.0, "DBSCAN neighbourhood radius.", "arcsec"),
            "min_samples": Param(3, "DBSCAN: points (itself included) within eps that make a core point."),
        },
    ),
}


def run_consensus(ann: Annotations, method: str = "xid", **params: float) -> Consensus:
    """Reduce ``ann`` with the registered ``method``; unknown methods or parameters raise ``ValueError``."""
    if method not in METHODS:
        raise ValueError(f"unknown consensus method {method!r}; known: {', '.join(METHODS)}")
    spec = METHODS[method]
    unknown = set(params) - set(spec.params)
    if unknown:
        raise ValueError(f"unknown parameter(s) for {method!r}: {', '.join(sorted(unknown))}")
    result = spec.reduce(grouped_by_source(ann), **{**spec.defaults(), **params})
    if ann.gold is not None and result.host_support is not None:
        from .calibration import corrected_by_gold  # calibration is built on this module's types

        result = corrected_by_gold(result, ann.gold)
    return result


def grouped_by_source(ann: Annotations) -> Annotations:
    """The same annotations with each source's classifications together (in their order), and their clicks
    in that order.

    Why: the reducers gather by source, cluster and annotator; on classifications in the order they came
    (stored order: sources at random) each gather misses the cache. Grouped, the consensus of 20 million
    answers runs in two thirds of the time. Results do not change: nothing is kept per classification, and
    a source's clicks keep their order, so its candidates do too (ties go to the first). Answers read from
    the database come grouped already, each source's in the order of their annotators' keys
    (:func:`~xid_app.extract.annotations_from_rows`): there "the first" of a tie is the one by the
    annotator with the smallest key, not the earliest answer."""
    if ascending(ann.cls_source) and ascending(ann.click_cls):
        return ann
    order = stable_order(ann.cls_source)
    new_index = np.empty(len(order), dtype=np.int64)
    new_index[order] = np.arange(len(order))
    click_cls = new_index[ann.click_cls]
    clicks = stable_order(click_cls)
    return replace(
        ann,
        cls_source=ann.cls_source[order],
        click_cls=click_cls[clicks],
        click_ra=ann.click_ra[clicks],
        click_dec=ann.click_dec[clicks],
        cls_user=None if ann.cls_user is None else ann.cls_user[order],
        cls_flags=None if ann.cls_flags is None else ann.cls_flags[order],
    )


def subset(ann: Annotations, keep: np.ndarray) -> Annotations:
    """The annotations of the classifications where ``keep`` (boolean, per classification) is true; sources
    keep their indices (gold answers are kept)."""
    new_index = np.cumsum(keep) - 1
    clicks = keep[ann.click_cls]
    return replace(
        ann,
        cls_source=ann.cls_source[keep],
        click_cls=new_index[ann.click_cls[clicks]],
        click_ra=ann.click_ra[clicks],
        click_dec=ann.click_dec[clicks],
        cls_user=None if ann.cls_user is None else ann.cls_user[keep],
        cls_flags=None if ann.cls_flags is None else ann.cls_flags[keep],
    )
