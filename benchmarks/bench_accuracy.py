"""How right each consensus method is, on every simulated crowd family and on real Radio Galaxy Zoo
subjects: accuracy = right / (items + extra hosts), a host right within 3", a no-host source right when
no host is given (as the issue that asked for this measures it). The baseline is plain DBSCAN keeping
each source's largest cluster (``dbscan-largest``; the ``dbscan`` method itself keeps every cluster) on
the same answers; every figure names its family, size and seed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from xid_app.accuracy import score_against, score_hosts
from xid_app.consensus import METHODS, Consensus, run_consensus
from xid_app.demo import DEMO_DIR
from xid_app.extract import annotations_from_frame
from xid_app.optical import OpticalCatalogue
from xid_app.simulate import FAMILIES, simulate_crowd

SEEDS = (101, 202)


def largest_only(consensus: Consensus) -> Consensus:
    """Each source's best-supported host alone."""
    keep = consensus.best_host
    return replace(consensus, host_source=consensus.host_source[keep], host_ra=consensus.host_ra[keep],
                   host_dec=consensus.host_dec[keep], host_votes=consensus.host_votes[keep],
                   host_scatter_arcsec=consensus.host_scatter_arcsec[keep])


def _results(ann) -> dict:
    """Every method's consensus, and the DBSCAN baseline."""
    results = {m: run_consensus(ann, m) for m in METHODS}
    results["dbscan-largest"] = largest_only(results["dbscan"])
    return results


def family_scores(n_sources: int, seeds=SEEDS) -> pd.DataFrame:
    """Accuracy of every method on every family: mean over ``seeds`` (rows: family; columns: method)."""
    rows = []
    for family, model in FAMILIES.items():
        for seed in seeds:
            ann, truth, _ = simulate_crowd(model, n_sources, seed=seed)
            for method, result in _results(ann).items():
                score = score_hosts(result, truth.host_source, truth.host_ra, truth.host_dec)
                rows.append(dict(family=family, seed=seed, method=method, accuracy=score.accuracy))
    return pd.DataFrame(rows).groupby(["family", "method"]).accuracy.mean().unstack()


def placed_on(consensus: Consensus, catalogue: OpticalCatalogue, radius_arcsec: float = 3.0) -> Consensus:
    """The hosts placed on their catalogue objects within ``radius_arcsec``, as ``xid export`` places them."""
    _, _, ra, dec = catalogue.place(consensus.host_ra, consensus.host_dec, radius_arcsec)
    return replace(consensus, host_ra=ra, host_dec=dec)


def rgz_scores(catalogue: bool = False) -> dict[str, float]:
    """Accuracy of every method on the 15 real RGZ subjects, against RGZ's published consensus hosts (which
    are AllWISE objects); with ``catalogue``, the hosts placed on the AllWISE objects near them first."""
    frame = pd.read_csv(DEMO_DIR / "annotations.csv")
    source_ids, _, ann = annotations_from_frame(frame)
    sources = pd.read_csv(DEMO_DIR / "rgz_sources.csv").set_index("source_id").loc[source_ids]
    ann = replace(ann, source_ra=sources.ra.to_numpy(float), source_dec=sources.dec.to_numpy(float))
    allwise = pd.read_csv(DEMO_DIR / "allwise_candidates.csv")
    index = OpticalCatalogue(allwise.allwise_id, allwise.ra, allwise.dec)
    return {m: score_against(DEMO_DIR / "consensus_hosts.csv", placed_on(result, index) if catalogue else result,
                             source_ids).accuracy
            for m, result in _results(ann).items()}


def run(quick: bool = False) -> list[dict]:
    table = family_scores(1000 if quick else 5000, SEEDS[:1] if quick else SEEDS)
    table.loc["rgz (real)"] = pd.Series(rgz_scores())
    table.loc["rgz (real), on AllWISE"] = pd.Series(rgz_scores(catalogue=True))
    rows = []
    for family, scores in table.iterrows():
        for method in METHODS:
            rows.append(dict(name=f"accuracy of {method} on {family}", value=float(scores[method]), unit="",
                             baseline=float(scores["dbscan-largest"]),
                             ratio=float(scores[method] / scores["dbscan-largest"]),
                             goal="baseline: plain DBSCAN, largest cluster, on the same answers"))
    print(table.round(3).to_string())
    return rows


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    run()
