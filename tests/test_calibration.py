"""Calibrated consensus levels (`xid_app.calibration`): fitted on one simulated family, checked on another."""

import numpy as np
import pytest
from scipy.special import expit

from tests.conftest import benchmark_module
from xid_app import calibration
from xid_app.consensus import run_consensus
from xid_app.simulate import FAMILIES, simulate_crowd


@pytest.fixture(scope="module")
def fitting():
    return benchmark_module("fit_calibration")


def test_levels_mean_what_they_say_on_a_family_they_were_not_fitted_on(fitting):
    """Fitted on "careless"; here "distracted", another seed: the calibrated levels' ECE is small and far
    below the plain vote share's."""
    ann, truth, _ = simulate_crowd(FAMILIES["distracted"], 2000, seed=5)
    consensus = run_consensus(ann)
    right, no_host = fitting.right_answers(consensus, truth)
    level = calibration.host_probability(consensus)
    ece = calibration.expected_calibration_error(level, right)
    assert ece <= 0.05 < calibration.expected_calibration_error(consensus.host_level, right)
    asked = consensus.n_classifications > 0
    assert calibration.expected_calibration_error(calibration.no_host_probability(consensus)[asked],
                                                  no_host[asked]) <= 0.05
    assert ((0 < level) & (level < 1)).all()


def test_methods_without_weights_keep_the_plain_share():
    ann, _, _ = simulate_crowd(FAMILIES["classic"], 200, seed=1)
    consensus = run_consensus(ann, "dbscan")
    np.testing.assert_array_equal(calibration.host_probability(consensus), consensus.host_level)


def test_fit_logistic_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(20000), rng.normal(size=20000)])
    y = rng.random(20000) < expit(x @ np.array([0.5, 2.0]))
    np.testing.assert_allclose(calibration.fit_logistic(x, y), [0.5, 2.0], atol=0.1)
    rows = calibration.reliability_table(expit(x @ np.array([0.5, 2.0])), y)
    assert sum(n for _, _, n, _, _ in rows) == 20000 and calibration.expected_calibration_error(
        expit(x @ np.array([0.5, 2.0])), y) < 0.02


def test_a_projects_gold_standard_corrects_levels_on_a_crowd_unlike_the_simulated_ones(fitting):
    """On a crowd truly split between two galaxies the fitted levels are too sure; with experts' answers on
    150 of 3,000 sources the levels of the other sources come right. Fewer than 50 gold sources: no
    correction."""
    from dataclasses import replace

    ann, truth, _ = simulate_crowd(FAMILIES["contested"], 3000, seed=31)
    gold_sources = np.random.default_rng(1).choice(ann.n_sources, 150, replace=False)
    corrected = run_consensus(replace(ann, gold=truth.expert_answers(gold_sources)))
    assert corrected.level_correction is not None
    right, _ = fitting.right_answers(corrected, truth)
    elsewhere = ~np.isin(corrected.host_source, gold_sources)
    as_fitted = calibration.host_probability(replace(corrected, level_correction=None))
    ece = calibration.expected_calibration_error
    assert ece(calibration.host_probability(corrected)[elsewhere], right[elsewhere]) <= 0.06 < ece(
        as_fitted[elsewhere], right[elsewhere])
    few = run_consensus(replace(ann, gold=truth.expert_answers(gold_sources[:40])))
    assert few.level_correction is None
