"""Fit the consensus levels' calibration (``xid_app.calibration``) on one simulated family and check it on
the others and on the real RGZ subjects: ``python benchmarks/fit_calibration.py [FAMILY ...]`` (default: careless and distracted).

Prints the coefficients to paste into ``xid_app/calibration.py`` and, per family, the expected calibration
error (ECE, 10 bins) of the plain vote share and of the calibrated level, for hosts and for "no host".
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.special import expit

from xid_app import calibration
from xid_app.consensus import Consensus, run_consensus, subset
from xid_app.coords import tangent_offsets_arcsec
from xid_app.demo import DEMO_DIR
from xid_app.extract import annotations_from_frame
from xid_app.simulate import FAMILIES, Truth, simulate_crowd

SEEDS = (11, 12)
N_SOURCES = 3000
FIT_ANSWERS = (3, 4, 5, 7, 10)


def right_answers(consensus: Consensus, truth: Truth, radius_arcsec: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Whether each host lies within ``radius_arcsec`` of a true host of its source, and whether each
    source truly has no host."""
    right = np.zeros(len(consensus.host_source), bool)
    for h, source in enumerate(consensus.host_source):
        true = np.flatnonzero(truth.host_source == source)
        if len(true):
            xi, eta = tangent_offsets_arcsec(truth.host_ra[true], truth.host_dec[true], consensus.host_ra[h],
                                             consensus.host_dec[h])
            right[h] = np.hypot(xi, eta).min() <= radius_arcsec
    no_host = np.bincount(truth.host_source, minlength=len(consensus.n_classifications)) == 0
    return right, no_host


def _parts(consensus: Consensus, truth: Truth) -> tuple:
    right, no_host = right_answers(consensus, truth)
    asked = consensus.n_classifications > 0
    return (calibration.host_features(consensus), right, calibration.no_host_features(consensus)[asked],
            no_host[asked], consensus.host_level, consensus.no_host_fraction[asked])


def _joined(parts: list[tuple]) -> tuple:
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(6))


def family_data(family: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Host features, host rightness, no-host features and truth, and the plain shares, over the seeds."""
    parts = []
    for seed in SEEDS:
        ann, truth, _ = simulate_crowd(FAMILIES[family], N_SOURCES, seed=seed)
        parts.append(_parts(run_consensus(ann), truth))
    return _joined(parts)


def fitting_data(family: str) -> tuple:
    """The same, for fitting: the family's crowd answering each source up to 20 times, its consensus taken
    after the first k answers of every source for several k — a level must mean the same after three
    answers as after twenty, or retiring on it (``xid_app.retirement``) stops too early."""
    parts = []
    for seed in SEEDS:
        model = replace(FAMILIES[family], per_source=20, annotators=max(FAMILIES[family].annotators, 60))
        ann, truth, _ = simulate_crowd(model, N_SOURCES // 2, seed=seed)
        first = np.searchsorted(ann.cls_source, np.arange(ann.n_sources))  # stored source by source
        position = np.arange(len(ann.cls_source)) - first[ann.cls_source]
        parts += [_parts(run_consensus(subset(ann, position < k)), truth) for k in FIT_ANSWERS]
    return _joined(parts)


def rgz_data():
    """The same for the real RGZ subjects, against RGZ's published consensus hosts."""
    frame = pd.read_csv(DEMO_DIR / "annotations.csv")
    source_ids, _, ann = annotations_from_frame(frame)
    sources = pd.read_csv(DEMO_DIR / "rgz_sources.csv").set_index("source_id").loc[source_ids]
    ann = replace(ann, source_ra=sources.ra.to_numpy(float), source_dec=sources.dec.to_numpy(float))
    ref = pd.read_csv(DEMO_DIR / "consensus_hosts.csv")
    index = {sid: i for i, sid in enumerate(source_ids)}
    hosts = ref[ref.has_host == 1]
    truth = Truth(hosts.source_id.map(index).to_numpy(int), hosts.host_ra.to_numpy(float), hosts.host_dec.to_numpy(float))
    consensus = run_consensus(ann)
    right, no_host = right_answers(consensus, truth)
    return (calibration.host_features(consensus), right, calibration.no_host_features(consensus), no_host,
            consensus.host_level, consensus.no_host_fraction)


def main(*fit_on: str) -> None:
    fit_on = fit_on or ("careless", "distracted")
    data = {family: family_data(family) for family in FAMILIES}
    data["rgz (real)"] = rgz_data()
    fit = _joined([fitting_data(family) for family in fit_on])
    host = calibration.fit_logistic(fit[0], fit[1])
    none = calibration.fit_logistic(fit[2], fit[3])
    print(f"fitted on {' + '.join(fit_on)}:\nHOST_COEFFICIENTS = {tuple(round(float(b), 3) for b in host)}\n"
          f"NO_HOST_COEFFICIENTS = {tuple(round(float(b), 3) for b in none)}\n")
    ece = calibration.expected_calibration_error
    print("family        hosts  right   ECE share  ECE calibrated | no-host sources  ECE share  ECE calibrated")
    for family, (hx, hy, nx, ny, share, none_share) in data.items():
        print(f"{family:12s} {len(hy):6d}  {hy.mean():.3f}   {ece(share, hy):.3f}      {ece(expit(hx @ host), hy):.3f}"
              f"          | {len(ny):6d}           {ece(none_share, ny):.3f}      {ece(expit(nx @ none), ny):.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
