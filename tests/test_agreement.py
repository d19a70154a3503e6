"""Agreement statistics: checked against statsmodels and the krippendorff package on the same data."""

import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from xid_app.agreement import (
    answer_categories,
    bootstrap_interval,
    count_table,
    fleiss_kappa,
    krippendorff_alpha,
    per_annotator,
)
from xid_app.consensus import run_consensus
from xid_app.simulate import synthetic_crowd


@pytest.fixture(scope="module")
def crowd():
    ann, truth, kind = synthetic_crowd(300, seed=8, per_source=8)
    return ann, run_consensus(ann), kind


def test_fleiss_kappa_matches_statsmodels(crowd):
    ann, consensus, _ = crowd
    counts = count_table(answer_categories(ann, consensus)).to_numpy()
    assert fleiss_kappa(counts) == pytest.approx(sm_fleiss_kappa(counts, method="fleiss"), abs=1e-12)


def test_krippendorff_alpha_matches_the_krippendorff_package(crowd):
    ann, consensus, _ = crowd
    answers = answer_categories(ann, consensus)
    # drop some answers so raters per source differ
    answers = answers[np.random.default_rng(1).random(len(answers)) > 0.2]
    counts = count_table(answers)
    value_counts = counts.to_numpy()
    assert krippendorff_alpha(value_counts) == pytest.approx(
        krippendorff.alpha(value_counts=value_counts, level_of_measurement="nominal"), abs=1e-9)


def test_fleiss_needs_equal_raters_and_bootstrap_brackets_the_value(crowd):
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[2, 1], [1, 1]])
    ann, consensus, _ = crowd
    counts = count_table(answer_categories(ann, consensus)).to_numpy()
    low, high = bootstrap_interval(counts, krippendorff_alpha, n_boot=200)
    assert low < krippendorff_alpha(counts) < high


def test_per_annotator_agreement_finds_the_random_clickers(crowd):
    ann, consensus, kind = crowd
    table = per_annotator(ann, consensus)
    random = table.loc[np.flatnonzero(kind == "random")].agreement.mean()
    careful = table.loc[np.flatnonzero(kind == "careful")].agreement.mean()
    assert careful > 0.85 > 0.5 > random
