"""Stored consensus runs: method, parameters and the hosts found, for comparing methods."""


from __future__ import annotations

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..consensus import Consensus
from .models import (
    ConsensusHost,
    ConsensusRun,
)


def save_consensus_run(session: Session, *, result: Consensus, source_pks: np.ndarray, version: str) -> int:
    """Store a consensus result and its hosts; returns the run's id."""
    run = ConsensusRun(method=result.method, params=dict(sorted(result.params.items())), xid_version=version,
                       n_sources=int((result.n_classifications > 0).sum()), n_hosts=len(result.host_ra),
                       n_classifications=int(result.n_classifications.sum()))
    session.add(run)
    session.flush()
    hosts = [dict(run_pk=run.id, source_pk=int(source_pks[s]), ra=float(ra), dec=float(dec), votes=int(v),
                  level=float(level), scatter_arcsec=float(scatter))
             for s, ra, dec, v, level, scatter in zip(result.host_source, result.host_ra, result.host_dec,
                                                       result.host_votes, result.host_level,
                                                       result.host_scatter_arcsec)]
    for start in range(0, len(hosts), 10_000):
        session.execute(insert(ConsensusHost), hosts[start:start + 10_000])
    return run.id


def consensus_runs(session: Session) -> list[ConsensusRun]:
    return list(session.scalars(select(ConsensusRun).order_by(ConsensusRun.id)))
