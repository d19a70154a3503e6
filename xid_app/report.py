"""The agreement report: the tables of :mod:`xid_app.agreement` as CSV, and a static HTML page with plots
that opens offline (Bokeh with inline resources)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import Div, LinearColorMapper
from bokeh.palettes import Viridis256
from bokeh.plotting import figure
from bokeh.resources import INLINE

from . import agreement
from .consensus import Annotations, Consensus
from .limits import spreadsheet_safe


def histogram(values: pd.Series, title: str, x_label: str):
    counts, edges = np.histogram(values.dropna(), bins=20, range=(0, 1))
    fig = figure(title=title, width=520, height=260, x_axis_label=x_label, y_axis_label="count",
                 tools="", toolbar_location=None)
    fig.quad(top=counts, bottom=0, left=edges[:-1], right=edges[1:], fill_color="#4682b4", line_color="white")
    return fig


def _curve(table: pd.DataFrame):
    fig = figure(title="Same best host as with all annotators", width=520, height=260,
                 x_axis_label="annotators per source", y_axis_label="same best host", y_range=(0, 1.05),
                 tools="", toolbar_location=None)
    fig.line(table["annotators"], table["agreement"], line_width=2)
    fig.scatter(table["annotators"], table["agreement"], size=6)
    return fig


def annotator_plot(table: pd.DataFrame):
    """Each annotator's agreement with consensus against the weight consensus gave them (or their accuracy
    on gold-standard sources): the ones low on both are the ones to retrain."""
    y = "reliability" if table["reliability"].notna().any() else "gold_accuracy"
    fig = figure(title=f"Annotators: agreement with consensus and {y.replace('_', ' ')}", width=520, height=360,
                 x_axis_label="agreement with consensus", y_axis_label=y.replace("_", " "), x_range=(0, 1.02),
                 y_range=(0, 1.02), tools="hover", toolbar_location=None,
                 tooltips=[("annotator", "@name"), ("classifications", "@classifications")])
    fig.scatter("agreement", y, size=7, alpha=0.6, source=dict(
        name=[str(n) for n in table.index], agreement=table["agreement"].to_numpy(), **{y: table[y].to_numpy()},
        classifications=table["classifications"].to_numpy()))
    return fig


STATISTIC_NAMES = {"krippendorff_alpha": "Krippendorff's α", "fleiss_kappa": "Fleiss' κ"}
ANNOTATOR_COLUMNS = {"classifications": "answers", "agreement": "agrees with consensus",
                     "no_host_share": "says no host", "elsewhere_share": "marks elsewhere",
                     "gold_classifications": "gold sources", "gold_accuracy": "right on gold",
                     "reliability": "weight in consensus"}


def readable_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`xid_app.agreement.summary` as a person reads it: named statistics, a 95% interval, and how many
    sources (and answers a source) each was computed on."""
    return pd.DataFrame({
        "statistic": summary["statistic"].map(STATISTIC_NAMES),
        "value": summary["value"].map("{:.3f}".format),
        "95% interval": [f"{lo:.3f} – {hi:.3f}" for lo, hi in zip(summary["ci_low"], summary["ci_high"])],
        "sources": summary["sources"],
        "answers a source": summary["answers_per_source"].map(lambda m: "all" if pd.isna(m) else f"{m:.0f}"),
    })


def readable_annotators(table: pd.DataFrame, *, min_answers: int = 3) -> tuple[pd.DataFrame, int]:
    """:func:`xid_app.agreement.per_annotator` for people: annotators with at least ``min_answers``, least
    agreeing first, shares as percentages and "–" where a figure does not apply; and how many were left out."""
    kept = table[table["classifications"] >= min_answers].sort_values(["agreement", "classifications"],
                                                                       ascending=[True, False])
    shown = kept.rename(columns=ANNOTATOR_COLUMNS)
    for share in ("agrees with consensus", "says no host", "marks elsewhere", "right on gold"):
        shown[share] = shown[share].map(lambda v: "–" if pd.isna(v) else f"{100 * v:.0f}%")
    shown["weight in consensus"] = shown["weight in consensus"].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}")
    shown["gold sources"] = shown["gold sources"].astype(int)
    return shown.rename_axis("annotator").reset_index(), int(len(table) - len(kept))


def _heatmap(matrix: pd.DataFrame):
    names = [str(n) for n in matrix.index]
    xs, ys = np.meshgrid(np.arange(len(names)), np.arange(len(names)))
    fig = figure(title="Pairwise agreement of the most active annotators", width=620, height=620,
                 x_range=names, y_range=names, tools="hover", toolbar_location=None,
                 tooltips=[("pair", "@a / @b"), ("agreement", "@v{0.00}")])
    fig.rect(x="a", y="b", width=1, height=1, source=dict(
        a=[names[i] for i in xs.ravel()], b=[names[j] for j in ys.ravel()], v=matrix.to_numpy().ravel()),
        fill_color={"field": "v", "transform": LinearColorMapper(palette=Viridis256, low=0, high=1,
                                                                   nan_color="#eeeeee")}, line_color=None)
    fig.xaxis.major_label_orientation = 1.2
    return fig


def _association(table: pd.DataFrame) -> tuple:
    """The component association: how alike annotators split each field's components."""
    exact = np.nanmean(table["exact_agreement"]) if table["exact_agreement"].notna().any() else np.nan
    ari = np.nanmean(table["ari"]) if table["ari"].notna().any() else np.nan
    text = (f"<h2>Component association</h2><p>{len(table)} fields with grouped components: on average "
            f"{exact:.3f} of the pairs of answers split a field's components exactly alike; mean adjusted Rand "
            f"index {ari:.3f} (1: alike, 0: no more alike than chance).</p>")
    return (Div(text=text), histogram(table["ari"].dropna(), "Fields: adjusted Rand index between annotators",
                                       "adjusted Rand index"))


def _cell(value):
    """A cell of a CSV report, safe to open in a spreadsheet (annotator names are user text)."""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def write_report(ann: Annotations, consensus: Consensus, source_ids, annotator_names, out: str | Path, *,
                 radius_arcsec: float = 5.0, n_boot: int = 1000, association: pd.DataFrame | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``summary.csv``, ``per_annotator.csv``, ``per_source.csv``, ``pairwise.csv`` and ``report.html``
    into ``out`` (with ``association``, :func:`~xid_app.agreement.association_agreement` indexed by source
    id, also ``association.csv`` and its section); returns the HTML path. ``progress`` hears of its stages
    (tables, bootstrap, page)."""
    step = progress or (lambda done, total: None)
    step(0, 3)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    answers = agreement.answer_categories(ann, consensus, radius_arcsec=radius_arcsec)
    names = np.asarray(annotator_names, dtype=object)
    tables = {
        "summary": agreement.summary(answers, n_boot=n_boot),
        "per_annotator": agreement.per_annotator(ann, consensus, radius_arcsec=radius_arcsec).rename(
            index=lambda i: names[i]),
        "per_source": agreement.per_source(ann, consensus, radius_arcsec=radius_arcsec).rename(
            index=lambda i: source_ids[i]),
        "pairwise": agreement.pairwise(answers).rename(index=lambda i: names[i], columns=lambda i: names[i]),
        "accuracy_by_annotators": agreement.accuracy_by_annotators(ann, method=consensus.method,
                                                                   **consensus.params),
    }
    step(1, 3)
    tables["per_source"]["stability"] = agreement.stability(
        ann, method=consensus.method, n_boot=20, **consensus.params).rename(index=lambda i: source_ids[i])
    step(2, 3)
    if association is not None:
        tables["association"] = association
    for name, table in tables.items():
        safe = table.rename(index=_cell, columns=_cell).map(_cell)
        safe.to_csv(out / f"{name}.csv", index=name not in ("summary", "accuracy_by_annotators"))
    page = column(
        Div(text="<h1>XID agreement report</h1>" + tables["summary"].to_html(index=False, float_format="%.3f")
            + f"<p>{len(answers)} classifications of {ann.n_sources} sources by "
              f"{answers['annotator'].nunique()} annotators; method {html.escape(consensus.method)}.</p>"),
        histogram(tables["per_annotator"]["agreement"], "Annotators: agreement with consensus", "agreement"),
        annotator_plot(tables["per_annotator"]),
        histogram(tables["per_source"]["agreement"], "Sources: share of the most common answer", "agreement"),
        _curve(tables["accuracy_by_annotators"]),
        _heatmap(tables["pairwise"]),
        *(_association(association) if association is not None and len(association) else ()),
    )
    path = out / "report.html"
    path.write_text(file_html(page, INLINE, "XID agreement report"))
    step(3, 3)
    return path
