"""Component association at survey size: the vectorised rules of :mod:`xid_app.association` against a
per-field Python loop of the same rule, in the same run; and the whole source catalogue after it (host
consensus per associated source, centroids, sizes, the table).

The crowd: each field holds one to three radio sources of one to four components; each annotator groups
the target's source right with probability 0.7, else splits it, merges a neighbour into it, or leaves a
component out. ``tests/test_association.py`` checks that both implementations agree.
"""

from __future__ import annotations

import time
from collections import Counter
from functools import partial

import numpy as np
import pandas as pd

from xid_app.association import Groupings, associate
from xid_app.components import ComponentRows
from xid_app.consensus import run_consensus
from xid_app.extract import SourceAnswers
from xid_app.source_catalogue import centroids, host_annotations, source_table


def synthetic_groupings(n_fields: int, per_field: int, seed: int = 0):
    """A crowd's component groups: returns (Groupings, ComponentRows, true source of each component,
    mark arrays (answer, group, ra, dec))."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3, 4], p=[0.45, 0.3, 0.15, 0.1], size=(n_fields, 3))
    n_sources = rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1], size=n_fields)
    sizes[np.arange(3)[None, :] >= n_sources[:, None]] = 0
    comp_field = np.repeat(np.repeat(np.arange(n_fields), 3), sizes.ravel())
    comp_source = np.repeat(np.arange(n_fields * 3), sizes.ravel())
    n_comp = len(comp_field)
    ra0 = rng.uniform(0, 360, n_fields)[comp_field]
    dec0 = rng.uniform(-60, 60, n_fields)[comp_field]
    ra = (ra0 + rng.normal(0, 20 / 3600, n_comp)) % 360
    dec = dec0 + rng.normal(0, 20 / 3600, n_comp)
    components = ComponentRows(np.array([f"C{i}" for i in range(n_comp)], dtype=object), ra, dec,
                               np.full(n_comp, np.nan), rng.uniform(1, 50, n_comp), rng.uniform(2, 20, n_comp),
                               np.full(n_comp, np.nan), np.full(n_comp, np.nan))
    starts = np.searchsorted(comp_field, np.arange(n_fields))
    ends = np.searchsorted(comp_field, np.arange(n_fields), side="right")

    answer_field, member_answer, member_group, member_component = [], [], [], []
    mark_answer, mark_group, mark_ra, mark_dec = [], [], [], []
    for f in range(n_fields):
        comps = np.arange(starts[f], ends[f])
        truth = [comps[comp_source[comps] == s] for s in np.unique(comp_source[comps])]
        for _ in range(per_field):
            a = len(answer_field)
            answer_field.append(f)
            groups = [list(g) for g in truth]
            r = rng.random()
            if r > 0.7 and len(groups[0]) > 1 and r < 0.8:
                groups = [groups[0][:1], groups[0][1:], *groups[1:]]  # split
            elif 0.8 <= r < 0.9 and len(groups) > 1:
                groups = [groups[0] + groups[1], *groups[2:]]  # merge a neighbour
            elif r >= 0.9 and len(groups[0]) > 1:
                groups[0] = groups[0][:-1]  # leave one out
            for g, members in enumerate(groups):
                member_answer += [a] * len(members)
                member_group += [g] * len(members)
                member_component += members
                if rng.random() < 0.85:
                    mark_answer.append(a)
                    mark_group.append(g)
                    mark_ra.append(ra[members[0]] + rng.normal(0, 1 / 3600))
                    mark_dec.append(dec[members[0]] + rng.normal(0, 1 / 3600))
    groupings = Groupings(n_fields, np.array(answer_field), np.array(member_answer), np.array(member_group),
                          np.array(member_component))
    marks = tuple(np.array(v) for v in (mark_answer, mark_group, mark_ra, mark_dec))
    return groupings, components, comp_source, marks


def lgz_loop(groupings: Groupings, threshold: float = 2 / 3) -> list[tuple[int, frozenset, int]]:
    """The LGZ rule, field by field in plain Python: (field, set, support) of each set taken."""
    return _loop(groupings, "lgz", threshold)


def plurality_loop(groupings: Groupings) -> list[tuple[int, frozenset, int]]:
    """RGZ's plurality rule, field by field in plain Python."""
    return _loop(groupings, "plurality", 0)


def _loop(groupings: Groupings, rule: str, threshold: float) -> list[tuple[int, frozenset, int]]:
    """Hand-tuned: every answer bucketed by field in one pass over plain lists, then the rule per field."""
    answers_of: dict[int, dict[tuple[int, int], set]] = {}
    for a, g, c in zip(groupings.member_answer.tolist(), groupings.member_group.tolist(),
                       groupings.member_component.tolist()):
        answers_of.setdefault(int(groupings.answer_field[a]), {}).setdefault((a, g), set()).add(c)
    taken = []
    for field in sorted(answers_of):
        groups = [frozenset(s) for s in answers_of[field].values()]
        taken += _rule_on_field(field, groups, len({a for a, _ in answers_of[field]}), rule, threshold)
    return taken


def groupby_loop(groupings: Groupings, rule: str, threshold: float = 2 / 3) -> list[tuple[int, frozenset, int]]:
    """The same rule the way a notebook would: a pandas group per field, the rule run on each."""
    members = pd.DataFrame({"answer": groupings.member_answer, "group": groupings.member_group,
                            "component": groupings.member_component})
    members["field"] = groupings.answer_field[groupings.member_answer]
    taken = []
    for field, on in members.groupby("field"):
        groups = [frozenset(g) for _, g in on.groupby(["answer", "group"]).component]
        taken += _rule_on_field(field, groups, on.answer.nunique(), rule, threshold)
    return taken


def _rule_on_field(field: int, groups: list[frozenset], n: int, rule: str, threshold: float) -> list:
    exact = Counter(groups)
    if rule == "plurality":
        scored = [(count, len(s), s) for s, count in exact.items()]
    else:
        candidates = set(exact) | {a & b for a in exact for b in exact if a & b}
        scored = [(len(s), sum(k for g, k in exact.items() if s <= g), s) for s in candidates]
        scored = [(size, support, s) for size, support, s in scored if support > threshold * n]
    claimed: set = set()
    taken = []
    for first, second, s in sorted(scored, key=lambda t: (-t[0], -t[1], sum(1 << c for c in t[2]))):
        if not (s & claimed):
            claimed |= s
            taken.append((int(field), s, first if rule == "plurality" else second))
    return taken


def best_of(times: int, work) -> float:
    """The fastest of ``times`` runs (the first run of either side also pays for fresh memory pages)."""
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        work()
        spent.append(time.perf_counter() - start)
    return min(spent)


def run(quick: bool = False) -> list[dict]:
    n_fields, per_field = (10_000, 10) if quick else (100_000, 10)
    groupings, components, _, (mark_answer, mark_group, mark_ra, mark_dec) = synthetic_groupings(n_fields, per_field)
    n_answers = len(groupings.answer_field)
    rows = []
    for method, loop in (("lgz", lgz_loop), ("plurality", plurality_loop)):
        fast = best_of(2, partial(associate, groupings, len(components.ids), method))
        tight = best_of(2, partial(loop, groupings))
        notebook = best_of(1, partial(groupby_loop, groupings, method))
        for baseline, how in ((notebook, "a pandas group per field (the notebook way)"),
                              (tight, "a hand-tuned pure-Python loop (one bucketing pass, sets per field)")):
            rows.append(dict(name=f"association {method}: {n_fields:,} fields, {n_answers:,} answers, vs {how}",
                             value=fast, unit="s", baseline=baseline, ratio=baseline / fast,
                             goal="≥ 50× faster than a per-field Python loop of the same rule (ratio = loop / vectorised)"))

    start = time.perf_counter()
    result = associate(groupings, len(components.ids), "lgz")
    answers = SourceAnswers(groupings.answer_field, np.arange(n_answers), np.zeros((n_answers, 4), bool),
                            groupings.member_answer, groupings.member_group, groupings.member_component,
                            mark_answer, mark_group, mark_ra, mark_dec)
    ra, dec = centroids(components, result.source_of, result.n_sources)
    votes = host_annotations(answers, result, np.full(n_fields, -1), ra, dec)
    hosts = run_consensus(votes, "xid")
    sources, _ = source_table(components, result, hosts, association_method="lgz")
    whole = time.perf_counter() - start
    rows.append(dict(name=f"source catalogue (association + host consensus + table): {len(sources):,} sources",
                     value=whole, unit="s", baseline=rows[0]["value"], ratio=whole / rows[0]["value"],
                     goal="whole catalogue in seconds at 1 M answers (ratio: against the association alone)"))
    return rows
