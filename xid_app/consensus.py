"""Consensus hosts from many annotators' clicks: pure functions over flat arrays.

Zooniverse's aggregation splits *extract* (raw answers → flat data) from *reduce* (flat data → consensus).
Extraction happens at the edges (``store.repository.load_annotations``, ``ingest.read_annotations``);
here are only reducers. Each reducer handles every source in one vectorised pass and is registered in
:data:`METHODS` with its parameters declared as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

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
    """

    source_ra: np.ndarray
    source_dec: np.ndarray
    cls_source: np.ndarray
    click_cls: np.ndarray
    click_ra: np.ndarray
    click_dec: np.ndarray

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

    @property
    def host_level(self) -> np.ndarray:
        """Consensus level of each host: its votes over its source's classifications."""
        return self.host_votes / np.maximum(self.n_classifications[self.host_source], 1)

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


@dataclass(frozen=True)
class Param:
    """A reducer parameter declared as data."""

    default: float
    doc: str
    unit: str = ""


@dataclass(frozen=True)
class Method:
    """A registered consensus reducer."""

    reduce: Callable[..., Consensus]
    params: dict[str, Param]
    doc: str

    def defaults(self) -> dict[str, float]:
        return {name: p.default for name, p in self.params.items()}


def _group_sum(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(labels, weights=values, minlength=n)


def _friends_of_friends(x: np.ndarray, y: np.ndarray, group: np.ndarray, radius: float) -> np.ndarray:
    """Single-linkage clusters of points closer than ``radius`` within the same ``group``; labels 0..k-1."""
    n = len(x)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    # Groups are pushed far apart along a third axis, so one tree clusters every source at once.
    separation = 10.0 * radius + 1.0
    tree = cKDTree(np.column_stack([x, y, group * separation]))
    pairs = tree.query_pairs(radius, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)  # int32 from scipy would overflow in the (cluster, classification) keys


def reduce_xid(ann: Annotations, *, link_radius_arcsec: float = 5.0, secondary_fraction: float = 0.5,
               min_secondary_votes: float = 2) -> Consensus:
    """XID's consensus v0: friends-of-friends clusters of clicks, counted once per classification.

    Clicks closer than ``link_radius_arcsec`` (transitively) form a host candidate. Its votes are the
    number of distinct classifications with a click in it; its position is the mean of those
    classifications' positions (each classification's clicks in the candidate averaged first, so one
    user cannot pull the host by clicking twice).

    The best candidate of a source is its host when it has more votes than "no host" answers. Further
    candidates are also hosts when they reach ``secondary_fraction`` of the best candidate's votes and at
    least ``min_secondary_votes`` — several radio sources in one field each have their own host.
    """
    n_src = ann.n_sources
    n_cls = len(ann.cls_source)
    n_classifications = np.bincount(ann.cls_source, minlength=n_src)
    clicks_per_cls = np.bincount(ann.click_cls, minlength=n_cls)
    n_no_host = np.bincount(ann.cls_source[clicks_per_cls == 0], minlength=n_src)

    click_src = ann.cls_source[ann.click_cls]
    xi, eta = tangent_offsets_arcsec(ann.click_ra, ann.click_dec, ann.source_ra[click_src], ann.source_dec[click_src])
    labels = _friends_of_friends(xi, eta, click_src, link_radius_arcsec)
    n_clusters = int(labels.max()) + 1 if len(labels) else 0

    # Collapse to one vote per (cluster, classification): mean of that classification's clicks.
    vote_key, vote_of_click = np.unique(labels * n_cls + ann.click_cls, return_inverse=True)
    n_in_vote = np.bincount(vote_of_click)
    vote_xi = _group_sum(vote_of_click, xi, len(vote_key)) / n_in_vote
    vote_eta = _group_sum(vote_of_click, eta, len(vote_key)) / n_in_vote
    vote_cluster = vote_key // n_cls

    votes = np.bincount(vote_cluster, minlength=n_clusters)
    c_xi = _group_sum(vote_cluster, vote_xi, n_clusters) / np.maximum(votes, 1)
    c_eta = _group_sum(vote_cluster, vote_eta, n_clusters) / np.maximum(votes, 1)
    d2 = (vote_xi - c_xi[vote_cluster]) ** 2 + (vote_eta - c_eta[vote_cluster]) ** 2
    scatter = np.sqrt(_group_sum(vote_cluster, d2, n_clusters) / np.maximum(votes, 1))
    c_src = np.zeros(n_clusters, dtype=np.int64)
    c_src[labels] = click_src

    # The best candidate per source: sort by source, then votes descending, then tighter scatter.
    order = np.lexsort((scatter, -votes, c_src))
    first = np.ones(n_clusters, dtype=bool)
    first[1:] = c_src[order][1:] != c_src[order][:-1]
    best_votes = np.zeros(n_src, dtype=np.int64)
    best_votes[c_src[order][first]] = votes[order][first]

    is_best = np.zeros(n_clusters, dtype=bool)
    is_best[order[first]] = True
    src_has_host = best_votes > n_no_host
    keep = src_has_host[c_src] & (
        is_best
        | ((votes >= secondary_fraction * best_votes[c_src]) & (votes >= min_secondary_votes))
    )
    kept = order[keep[order]]  # sorted by source, best first
    ra, dec = tangent_to_sky(c_xi[kept], c_eta[kept], ann.source_ra[c_src[kept]], ann.source_dec[c_src[kept]])
    return Consensus(
        n_classifications=n_classifications,
        n_no_host=n_no_host,
        host_source=c_src[kept],
        host_ra=ra,
        host_dec=dec,
        host_votes=votes[kept],
        host_scatter_arcsec=scatter[kept],
        method="xid",
        params=dict(link_radius_arcsec=link_radius_arcsec, secondary_fraction=secondary_fraction,
                    min_secondary_votes=min_secondary_votes),
    )


METHODS: dict[str, Method] = {
    "xid": Method(
        reduce=reduce_xid,
        doc=reduce_xid.__doc__.split("\n\n")[0].strip(),
        params={
            "link_radius_arcsec": Param(5.0, "Clicks closer than this (transitively) mark the same host.", "arcsec"),
            "secondary_fraction": Param(
                0.5, "A further host needs at least this fraction of the best host's votes."
            ),
            "min_secondary_votes": Param(2, "A further host needs at least this many votes."),
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
    return spec.reduce(ann, **{**spec.defaults(), **params})
