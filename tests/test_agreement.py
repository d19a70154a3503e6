"""Agreement statistics: checked against statsmodels and the krippendorff package on the same data."""

import krippendorff
import numpy as np
import pandas as pd
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


def test_per_annotator_gold_accuracy_and_reliability():
    """Gold-standard accuracy is judged against the expert's answers; the reliability column is the weight
    the consensus gave each annotator, and both rank careful annotators above random ones."""
    from dataclasses import replace

    ann, truth, kind = synthetic_crowd(400, seed=5, per_source=8)
    gold_src = np.arange(0, ann.n_sources, 4)
    ann = replace(ann, gold=truth.expert_answers(gold_src))
    consensus = run_consensus(ann)
    table = per_annotator(ann, consensus)
    seen = np.isin(ann.cls_source, gold_src)
    assert (table.gold_classifications.sort_index().to_numpy()
            == np.bincount(ann.cls_user[seen], minlength=len(kind))).all()
    by_kind = table.groupby(kind[table.index.to_numpy()])[["gold_accuracy", "reliability"]].mean()
    assert by_kind.loc["careful", "gold_accuracy"] > 0.8 > by_kind.loc["sloppy", "gold_accuracy"] \
        > 0.3 > by_kind.loc["random", "gold_accuracy"]
    assert by_kind.loc["careful", "reliability"] > by_kind.loc["sloppy", "reliability"] \
        > by_kind.loc["random", "reliability"]
    assert per_annotator(ann, run_consensus(ann, method="rgz")).reliability.isna().all()


def test_pairwise_per_source_and_summary(crowd):
    from xid_app.agreement import pairwise, per_source, summary

    ann, consensus, kind = crowd
    answers = answer_categories(ann, consensus)
    matrix = pairwise(answers, max_annotators=20)
    assert matrix.shape == (20, 20) and np.allclose(matrix.values, matrix.values.T, equal_nan=True)
    sources = per_source(ann, consensus)
    assert len(sources) == ann.n_sources and sources.agreement.between(0, 1).all()
    table = summary(answers, n_boot=100)
    assert set(table.statistic) == {"krippendorff_alpha", "fleiss_kappa"}
    assert (table.ci_low < table.value).all() and (table.value < table.ci_high).all()


def test_agreement_report_command_on_rgz(project, rgz, tmp_path):
    from click.testing import CliRunner

    from xid_app.cli import main

    project.ingest(rgz["sources"])
    project.import_annotations(rgz["annotations"])
    result = CliRunner().invoke(main, ["agreement", "--out", str(tmp_path / "rep"), "--bootstrap", "100",
                                       "--db", project.url])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "rep").iterdir()}
    assert names == {"summary.csv", "per_annotator.csv", "per_source.csv", "pairwise.csv",
                     "accuracy_by_annotators.csv", "report.html"}
    assert "stability" in pd.read_csv(tmp_path / "rep/per_source.csv").columns
    page = (tmp_path / "rep/report.html").read_text()
    import re

    assert "XID agreement report" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", page)  # BokehJS inline: opens offline

    summary = pd.read_csv(tmp_path / "rep/summary.csv")
    # RGZ subjects have 5 or 20 classifications: κ on the sources with at least the median number, cut to it
    assert summary.statistic.tolist() == ["krippendorff_alpha", "fleiss_kappa"]
    assert summary.answers_per_source.iloc[1] == 20 and summary.sources.tolist() == [15, 9]
    assert len(pd.read_csv(tmp_path / "rep/per_annotator.csv")) == 210


def test_stability_and_accuracy_grow_with_annotators(crowd):
    from xid_app.agreement import accuracy_by_annotators, stability

    ann, consensus, _ = crowd
    stable = stability(ann, n_boot=10)
    assert len(stable) == ann.n_sources and 0.8 < stable.mean() <= 1.0
    curve = accuracy_by_annotators(ann)
    assert curve.annotators.tolist() == list(range(1, 9))
    assert curve.agreement.iloc[-1] == 1.0  # all annotators: the reference itself
    assert curve.agreement.iloc[0] < curve.agreement.iloc[4] < curve.agreement.iloc[-1]


def test_notebook_use_from_an_interchange_dataframe(rgz):
    """The docs' notebook recipe: RGZ's interchange CSV → annotations → consensus → per-annotator table."""
    from xid_app.extract import annotations_from_frame

    source_ids, names, ann = annotations_from_frame(pd.read_csv(rgz["annotations"]))
    consensus = run_consensus(ann)
    assert len(source_ids) == 15 and len(names) == 210 and len(ann.cls_source) == 210
    assert len(ann.click_ra) == 247
    table = per_annotator(ann, consensus)
    assert len(table) == 210 and table.agreement.between(0, 1).all()


def test_fleiss_kappa_on_unequal_sources_uses_an_equal_random_subset():
    from xid_app.agreement import equal_raters

    counts = np.array([[5, 0], [3, 2], [10, 10], [20, 0], [1, 0]])
    table, m = equal_raters(counts, seed=1)
    assert m == 5 and table.shape == (4, 2) and (table.sum(axis=1) == 5).all()
    assert table[0].tolist() == [5, 0] and table[3].tolist() == [5, 0]  # unanimous stays unanimous
