"""Agreement analysis: how far a catalogue can be trusted and whom to retrain. Pure functions returning
numbers and pandas DataFrames; usable from a notebook on :class:`~xid_app.consensus.Annotations`.

Answers are turned into nominal categories per classification — ``"no host"``, ``"host 1"`` (the source's
best consensus host), ``"host 2"``..., or ``"elsewhere"`` (a click matching no consensus host) — so that
chance-corrected statistics (Fleiss' κ, Krippendorff's α) apply. Where components are grouped into
sources, :func:`association_agreement` measures how alike annotators split them (exact agreement and the
adjusted Rand index).
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from .association import Groupings
from .consensus import Annotations, Consensus, agrees_with_answers, run_consensus, subset
from .coords import tangent_offsets_arcsec

NO_HOST, ELSEWHERE = "no host", "elsewhere"


def answer_categories(ann: Annotations, consensus: Consensus, *, radius_arcsec: float = 5.0) -> pd.DataFrame:
    """One row per classification: ``source`` (index), ``annotator`` (index) and ``category``.

    A classification that marked several hosts is categorised by the best-ranked consensus host it found.
    """
    n_cls = len(ann.cls_source)
    users = ann.cls_user if ann.cls_user is not None else np.arange(n_cls)
    rank = np.full(n_cls, np.iinfo(np.int64).max)
    clicked = np.zeros(n_cls, dtype=bool)
    clicked[ann.click_cls] = True
    host_rank = consensus.host_rank
    click_src = ann.cls_source[ann.click_cls]
    for h in range(len(consensus.host_source)):  # hosts are few per source; clicks vectorised per host
        on = np.flatnonzero(click_src == consensus.host_source[h])
        xi, eta = tangent_offsets_arcsec(ann.click_ra[on], ann.click_dec[on], consensus.host_ra[h],
                                         consensus.host_dec[h])
        near = on[np.hypot(xi, eta) <= radius_arcsec]
        np.minimum.at(rank, ann.click_cls[near], host_rank[h])
    category = np.where(~clicked, NO_HOST, ELSEWHERE).astype(object)
    found = rank < np.iinfo(np.int64).max
    category[found] = [f"host {r}" for r in rank[found]]
    return pd.DataFrame({"source": ann.cls_source, "annotator": users, "category": category})


def count_table(answers: pd.DataFrame) -> pd.DataFrame:
    """Sources × categories: how many classifications of each source fell in each category."""
    return pd.crosstab(answers["source"], answers["category"])


def fleiss_kappa(counts) -> float:
    """Fleiss' κ from an items × categories table of counts; every item needs the same number of raters."""
    table = np.asarray(counts, dtype=float)
    n_raters = table.sum(axis=1)
    if len(table) == 0 or not np.all(n_raters == n_raters[0]) or n_raters[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (≥ 2) of raters for every item; "
                         "use krippendorff_alpha for unequal numbers")
    n = n_raters[0]
    p_cat = table.sum(axis=0) / table.sum()
    p_item = ((table * table).sum(axis=1) - n) / (n * (n - 1))
    expected = (p_cat * p_cat).sum()
    return float((p_item.mean() - expected) / (1 - expected))


def krippendorff_alpha(counts) -> float:
    """Krippendorff's α for nominal data from an items × categories table of counts (any number of raters
    per item; items with fewer than two are ignored), through the coincidence matrix."""
    table = np.asarray(counts, dtype=float)
    m = table.sum(axis=1)
    table = table[m >= 2]
    m = m[m >= 2]
    if len(table) == 0:
        return float("nan")
    # coincidences o_ck = Σ_items n_c (n_k − [c = k]) / (m − 1)
    weighted = table / (m - 1)[:, None]
    coincidence = weighted.T @ table - np.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=0)
    n = n_c.sum()
    observed = coincidence.sum() - np.trace(coincidence)
    expected = (n * n - (n_c * n_c).sum()) / (n - 1)
    return float(1 - observed / expected) if expected > 0 else float("nan")


def bootstrap_interval(counts, statistic: Callable, *, n_boot: int = 1000, level: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(counts)`` over resampled items (sources), by
    :func:`scipy.stats.bootstrap`. A resample the statistic is undefined on makes the interval NaN rather
    than being dropped (which would narrow it)."""
    table = np.asarray(counts, dtype=float)

    def on_items(items: np.ndarray) -> float:
        try:
            return statistic(table[items.astype(int)])
        except ValueError:
            return float("nan")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)  # NaN says it
        result = stats.bootstrap((np.arange(len(table)),), on_items, vectorized=False, n_resamples=n_boot,
                                 confidence_level=level, method="percentile", random_state=seed)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def per_annotator(ann: Annotations, consensus: Consensus, *, radius_arcsec: float = 5.0) -> pd.DataFrame:
    """Per annotator (indexed as ``ann.cls_user``).

    Columns: ``classifications``; ``agreement`` with consensus (the best host found, or "no host" where the
    consensus has none); ``no_host_share`` and ``elsewhere_share`` of their answers; ``gold_classifications``
    and ``gold_accuracy``, judged against the experts' answers on gold-standard sources (``ann.gold``; NaN
    for annotators who saw none); ``reliability``, the weight the consensus gave them (NaN for methods that
    weigh everyone the same). Sorted least agreeing first, the annotators to look at.
    """
    answers = answer_categories(ann, consensus, radius_arcsec=radius_arcsec)
    has_host = np.zeros(ann.n_sources, dtype=bool)
    has_host[consensus.host_source] = True
    src_host = has_host[answers["source"].to_numpy()]
    agrees = np.where(src_host, answers["category"] == "host 1", answers["category"] == NO_HOST)
    on_gold = np.zeros(len(answers), dtype=bool)
    gold_agrees = np.zeros(len(answers), dtype=bool)
    if ann.gold is not None:
        on_gold, gold_agrees = agrees_with_answers(ann, ann.gold, radius_arcsec=radius_arcsec)
    frame = answers.assign(agrees=agrees, no_host=answers["category"] == NO_HOST,
                           elsewhere=answers["category"] == ELSEWHERE, on_gold=on_gold,
                           gold_agrees=np.where(on_gold, gold_agrees, np.nan))
    table = frame.groupby("annotator").agg(
        classifications=("source", "size"), agreement=("agrees", "mean"), no_host_share=("no_host", "mean"),
        elsewhere_share=("elsewhere", "mean"), gold_classifications=("on_gold", "sum"),
        gold_accuracy=("gold_agrees", "mean"))
    weight = consensus.annotator_weight
    table["reliability"] = (pd.Series(weight).reindex(table.index).to_numpy() if weight is not None
                            else np.nan)
    return table.sort_values(["agreement", "classifications"], ascending=[True, False])


def pairwise(answers: pd.DataFrame, *, max_annotators: int = 50) -> pd.DataFrame:
    """Annotators × annotators: the share of sources both classified on which their categories matched
    (NaN where they share none); the ``max_annotators`` most active annotators."""
    top = answers["annotator"].value_counts().index[:max_annotators]
    a = answers[answers["annotator"].isin(top)][["source", "annotator", "category"]]
    both = a.merge(a, on="source", suffixes=("", "_other"))
    both = both[both["annotator"] != both["annotator_other"]]
    both = both.assign(same=both["category"] == both["category_other"])
    table = both.groupby(["annotator", "annotator_other"])["same"].mean().unstack()
    return table.reindex(index=top, columns=top)


def per_source(ann: Annotations, consensus: Consensus, *, radius_arcsec: float = 5.0) -> pd.DataFrame:
    """Per source: classifications, agreement (share of the most common answer category), and the rms
    distance in arcsec of the clicks that found the best host from it."""
    answers = answer_categories(ann, consensus, radius_arcsec=radius_arcsec)
    counts = count_table(answers)
    frame = pd.DataFrame({"classifications": counts.sum(axis=1), "agreement": counts.max(axis=1) / counts.sum(axis=1),
                          "top_answer": counts.idxmax(axis=1)})
    best = consensus.best_host
    frame["host_scatter_arcsec"] = pd.Series(consensus.host_scatter_arcsec[best], index=consensus.host_source[best])
    return frame


def equal_raters(counts, *, seed: int = 0) -> tuple[np.ndarray, int]:
    """The table Fleiss' κ can be computed on when sources have different numbers of classifications: the
    sources with at least ``m`` of them (``m`` the median number, at least 2), each cut to ``m`` drawn at
    random without replacement. Returns the table and ``m``."""
    table = np.asarray(counts, dtype=np.int64)
    totals = table.sum(axis=1)
    m = max(int(np.median(totals)) if len(totals) else 0, 2)
    rows = table[totals >= m]
    rng = np.random.default_rng(seed)
    return np.array([rng.multivariate_hypergeometric(row, m) for row in rows]).reshape(-1, table.shape[1]), m


def summary(answers: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Chance-corrected agreement over all answers, with bootstrap intervals over sources: Krippendorff's α
    on every source with two or more classifications, and Fleiss' κ — on every source where all have the
    same number, else on :func:`equal_raters` (the row says how many answers a source it used)."""
    counts = count_table(answers).to_numpy()
    rows = []
    alpha_sources = int((counts.sum(axis=1) >= 2).sum())
    low, high = bootstrap_interval(counts, krippendorff_alpha, n_boot=n_boot, seed=seed)
    rows.append(dict(statistic="krippendorff_alpha", value=krippendorff_alpha(counts), ci_low=low, ci_high=high,
                     sources=alpha_sources, answers_per_source=np.nan))
    totals = counts.sum(axis=1)
    table, m = (counts, int(totals[0])) if len(totals) and np.all(totals == totals[0]) else equal_raters(counts, seed=seed)
    try:
        value = fleiss_kappa(table)
    except ValueError:
        return pd.DataFrame(rows)
    low, high = bootstrap_interval(table, fleiss_kappa, n_boot=n_boot, seed=seed)
    rows.append(dict(statistic="fleiss_kappa", value=value, ci_low=low, ci_high=high, sources=len(table),
                     answers_per_source=m))
    return pd.DataFrame(rows)


def _best_hosts(consensus: Consensus, n_sources: int) -> tuple[np.ndarray, np.ndarray]:
    """Each source's best host (NaN where none)."""
    ra, dec = np.full(n_sources, np.nan), np.full(n_sources, np.nan)
    first = consensus.best_host
    ra[consensus.host_source[first]] = consensus.host_ra[first]
    dec[consensus.host_source[first]] = consensus.host_dec[first]
    return ra, dec


def _same_answer(ra1, dec1, ra2, dec2, radius_arcsec: float) -> np.ndarray:
    both_none = np.isnan(ra1) & np.isnan(ra2)
    with np.errstate(invalid="ignore"):
        xi, eta = tangent_offsets_arcsec(ra2, dec2, ra1, dec1)
        near = np.hypot(xi, eta) <= radius_arcsec
    return both_none | near


def stability(ann: Annotations, *, method: str = "xid", share: float = 0.8, n_boot: int = 50,
              radius_arcsec: float = 3.0, seed: int = 0, **params) -> pd.Series:
    """Per source: how often the best host (or "no host") stays the same when only a random ``share`` of
    the annotators is kept, over ``n_boot`` draws."""
    full = run_consensus(ann, method, **params)
    ra0, dec0 = _best_hosts(full, ann.n_sources)
    users = ann.cls_user if ann.cls_user is not None else np.arange(len(ann.cls_source))
    n_users = int(users.max()) + 1 if len(users) else 0
    rng = np.random.default_rng(seed)
    same = np.zeros(ann.n_sources)
    seen = np.zeros(ann.n_sources)
    for _ in range(n_boot):
        kept_users = rng.random(n_users) < share
        part = subset(ann, kept_users[users])
        result = run_consensus(part, method, **params)
        ra, dec = _best_hosts(result, ann.n_sources)
        answered = result.n_classifications > 0
        same += answered & _same_answer(ra0, dec0, ra, dec, radius_arcsec)
        seen += answered
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(same / seen, name="stability")


def accuracy_by_annotators(ann: Annotations, *, method: str = "xid", max_annotators: int | None = None,
                           reference: Consensus | None = None, radius_arcsec: float = 3.0, seed: int = 0,
                           **params) -> pd.DataFrame:
    """How the answer improves with the number of annotators per source: for k = 1, 2, ... keep k random
    classifications of each source and compare each source's best host (or "no host") with the
    ``reference`` (default: the consensus of all classifications). Use it to choose the retirement rule."""
    reference = reference or run_consensus(ann, method, **params)
    ra0, dec0 = _best_hosts(reference, ann.n_sources)
    rng = np.random.default_rng(seed)
    # a random order of classifications within each source: rank 0, 1, 2...
    order = np.lexsort((rng.random(len(ann.cls_source)), ann.cls_source))
    start = np.searchsorted(ann.cls_source[order], np.arange(ann.n_sources))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - start[ann.cls_source[order]]
    top = int(np.bincount(ann.cls_source).max()) if len(ann.cls_source) else 0
    rows = []
    for k in range(1, min(top, max_annotators or top) + 1):
        result = run_consensus(subset(ann, rank < k), method, **params)
        ra, dec = _best_hosts(result, ann.n_sources)
        full = np.bincount(ann.cls_source, minlength=ann.n_sources) >= k
        agree = _same_answer(ra0, dec0, ra, dec, radius_arcsec)[full]
        rows.append(dict(annotators=k, sources=int(full.sum()), agreement=float(agree.mean()) if full.any() else np.nan))
    return pd.DataFrame(rows)


# --- component association ---------------------------------------------------------------------------


def adjusted_rand_index(a, b) -> float:
    """The adjusted Rand index of two labellings of the same components (Hubert & Arabie 1985): 1 when they
    split the components alike, about 0 when no more alike than chance."""
    _, a = np.unique(np.asarray(a), return_inverse=True)
    _, b = np.unique(np.asarray(b), return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)

    def pairs(x):
        return (x * (x - 1) / 2).sum()

    both, rows, cols, total = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0)), pairs(np.array([len(a)]))
    expected = rows * cols / total if total else 0.0
    best = (rows + cols) / 2
    return 1.0 if best == expected else float((both - expected) / (best - expected))


def association_agreement(groupings: Groupings, *, max_fields: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per field: answers that grouped anything, the share of pairs of them that split the field's grouped
    components exactly alike (``exact_agreement``) and their mean adjusted Rand index (``ari``; on a seeded
    sample of at most ``max_fields`` fields, NaN elsewhere). A component an answer left out counts as a
    source of its own, as in the catalogue."""
    members = pd.DataFrame({"answer": groupings.member_answer, "group": groupings.member_group,
                            "component": groupings.member_component})
    members["field"] = groupings.answer_field[members.answer.to_numpy()]
    rows = []
    fields = members.field.unique()
    sampled = set(np.random.default_rng(seed).permutation(fields)[:max_fields].tolist())
    for field, on in members.groupby("field"):
        universe = np.sort(on.component.unique())
        labels = {}
        for answer, mine in on.groupby("answer"):
            label = -1 - np.arange(len(universe))  # left out: a source of its own
            label[np.searchsorted(universe, mine.component.to_numpy())] = mine.group.to_numpy()
            labels[answer] = label
        keys = [_canonical(lab) for lab in labels.values()]
        n = len(keys)
        counts = pd.Series(keys).value_counts().to_numpy() if n else np.empty(0)
        pairs = n * (n - 1) / 2
        exact = float((counts * (counts - 1) / 2).sum() / pairs) if pairs else np.nan
        ari = np.nan
        if pairs and field in sampled:
            values = list(labels.values())
            ari = float(np.mean([adjusted_rand_index(values[i], values[j])
                                 for i in range(n) for j in range(i + 1, n)]))
        rows.append((field, n, exact, ari))
    return pd.DataFrame(rows, columns=["field", "n_answers", "exact_agreement", "ari"]).set_index("field")


def _canonical(labels: np.ndarray) -> tuple:
    """A partition's labels renumbered by first appearance: equal for equal partitions."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return tuple(np.argsort(np.argsort(first))[inverse].tolist())
