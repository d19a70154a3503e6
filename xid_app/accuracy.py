"""Scoring consensus hosts against reference hosts (known truth, or a published consensus)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .consensus import Consensus
from .coords import tangent_offsets_arcsec


@dataclass(frozen=True)
class Score:
    """How consensus hosts compare with reference hosts.

    ``found``: reference hosts with a consensus host within the radius (each consensus host used once);
    ``missed``: reference hosts without; ``extra``: consensus hosts matching no reference host (errors);
    ``no_host_agreed`` / ``no_host_sources``: sources without a reference host that got none either.
    """

    found: int
    missed: int
    extra: int
    no_host_agreed: int
    no_host_sources: int

    @property
    def n_reference(self) -> int:
        return self.found + self.missed

    @property
    def completeness(self) -> float:
        return self.found / self.n_reference if self.n_reference else float("nan")

    @property
    def accuracy(self) -> float:
        """Right answers over items and extra hosts: a host found within the radius and a no-host source
        left without a host are right; every consensus host matching no reference host counts against."""
        n = self.n_reference + self.no_host_sources + self.extra
        return (self.found + self.no_host_agreed) / n if n else float("nan")

    @property
    def purity(self) -> float:
        n = self.found + self.extra
        return self.found / n if n else float("nan")


def score_hosts(consensus: Consensus, ref_source: np.ndarray, ref_ra: np.ndarray, ref_dec: np.ndarray, *,
                radius_arcsec: float = 3.0, sources: np.ndarray | None = None) -> Score:
    """Match consensus hosts to reference hosts source by source (optimal one-to-one within the radius).

    Parameters
    ----------
    consensus : Consensus
    ref_source, ref_ra, ref_dec : numpy.ndarray
        Reference hosts: source index and ICRS degrees.
    radius_arcsec : float
        A consensus host within this of a reference host found it.
    sources : numpy.ndarray, optional
        Indices of the sources to score (default: every source with a classification).
    """
    if sources is None:
        sources = np.flatnonzero(consensus.n_classifications > 0)
    found = extra = agreed = no_host_sources = 0
    ref_by_source = {s: np.flatnonzero(ref_source == s) for s in np.unique(ref_source)}
    mine_by_source = {s: np.flatnonzero(consensus.host_source == s) for s in np.unique(consensus.host_source)}
    empty = np.empty(0, dtype=int)
    for s in sources:
        ref, mine = ref_by_source.get(s, empty), mine_by_source.get(s, empty)
        if len(ref) == 0:
            no_host_sources += 1
            agreed += len(mine) == 0
            extra += len(mine)
            continue
        if len(mine):
            xi, eta = tangent_offsets_arcsec(consensus.host_ra[mine][None, :], consensus.host_dec[mine][None, :],
                                             ref_ra[ref][:, None], ref_dec[ref][:, None])
            distance = np.hypot(xi, eta)
            rows, cols = linear_sum_assignment(np.where(distance <= radius_arcsec, distance, 1e6))
            matched = int((distance[rows, cols] <= radius_arcsec).sum())
        else:
            matched = 0
        found += matched
        extra += len(mine) - matched
    n_ref = int(np.isin(ref_source, sources).sum())
    return Score(found, n_ref - found, extra, agreed, no_host_sources)


def score_against(reference, consensus: Consensus, source_ids, *, radius_arcsec: float = 3.0) -> Score:
    """Score a consensus against a CSV of reference hosts: ``source_id, host_ra, host_dec, has_host``
    (several rows for several hosts; ``has_host = 0`` for none), like RGZ's ``consensus_hosts.csv``.

    Raises
    ------
    ValueError
        If the file lacks one of those columns.
    """
    ref = pd.read_csv(reference)
    missing = {"source_id", "host_ra", "host_dec", "has_host"} - set(ref.columns)
    if missing:
        raise ValueError(f"{reference}: missing column(s) {', '.join(sorted(missing))}")
    index = {sid: i for i, sid in enumerate(source_ids)}
    ref = ref[ref.source_id.isin(index.keys())]
    hosts = ref[ref.has_host == 1]
    return score_hosts(consensus, hosts.source_id.map(index).to_numpy(int), hosts.host_ra.to_numpy(float),
                       hosts.host_dec.to_numpy(float), radius_arcsec=radius_arcsec,
                       sources=np.intersect1d(ref.source_id.map(index).to_numpy(int),
                                              np.flatnonzero(consensus.n_classifications > 0)))
