"""Which radio components make up one source: consensus over the annotators' component groups.

An answer on a field holds *groups*: sets of components the annotator says belong to one radio source (each
with its host, or none). Per field, a rule picks the consensus sets; then sets from overlapping fields are
reconciled so that every component lies in one source. Each rule is a plain function over flat arrays, run
for all fields at once: a field's components are bits of a 64-bit mask, so a set is one integer and
"contains" is one ``&``.

Rules (:data:`METHODS`, parameters as data):

``lgz``
    LOFAR Galaxy Zoo (Williams et al. 2019): the largest set that more than ``threshold`` (2/3) of the
    field's answers include in one group; ``assoc_qual`` is that fraction. Candidates are the groups given
    and their pairwise intersections (a core both halves of a crowd agree on).
``plurality``
    Radio Galaxy Zoo (Banfield et al. 2015): the set chosen exactly most often; ``assoc_qual`` is its
    share of the field's answers.

Both repeat within a field (the next set may not share a component with one already taken), so a field
holding several sources yields several sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

MAX_COMPONENTS_PER_FIELD = 64  # a field's grouped components are the bits of one integer


@dataclass(frozen=True)
class Groupings:
    """Annotators' component groups, flat (the extract step makes these from stored answers).

    Parameters
    ----------
    n_fields : int
    answer_field : (A,) int
        Field of each answer (one answer per annotator and field: the latest).
    member_answer, member_group, member_component : (M,) int
        One row per grouped component: the answer, the group's number within that answer, the component
        (index into the survey's components). A component lies in at most one group of an answer.
    """

    n_fields: int
    answer_field: np.ndarray
    member_answer: np.ndarray
    member_group: np.ndarray
    member_component: np.ndarray

    def groups(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One row per group (``answer``, ``group``, ``field``, and ``mask``: its components as bits of the
        field's own numbering), and that numbering: one row per (``field``, ``component``) with its ``bit``."""
        members = pd.DataFrame({"answer": self.member_answer, "group": self.member_group,
                                "component": self.member_component})
        members["field"] = self.answer_field[self.member_answer]
        local = members[["field", "component"]].drop_duplicates().sort_values(["field", "component"])
        local["bit"] = local.groupby("field").cumcount()
        if len(local) and local.bit.max() >= MAX_COMPONENTS_PER_FIELD:
            worst = int(local.field[local.bit.idxmax()])
            raise ValueError(f"field {worst} has more than {MAX_COMPONENTS_PER_FIELD} grouped components; "
                             "cut the survey into smaller fields")
        members = members.merge(local, on=["field", "component"])
        members["mask"] = np.left_shift(np.uint64(1), members.bit.to_numpy(np.uint64))
        # a component is in one group of an answer at most, so the bits are distinct and their sum is their OR
        groups = members.groupby(["answer", "group"], sort=False).agg(field=("field", "first"), mask=("mask", "sum"))
        return groups.reset_index(), local


def _distinct(groups: pd.DataFrame) -> pd.DataFrame:
    """Distinct (field, mask) with the number of answers giving exactly that group."""
    return groups.groupby(["field", "mask"], sort=False).size().rename("exact").reset_index()


def _greedy(candidates: pd.DataFrame, order: list[str], keep: np.ndarray) -> pd.DataFrame:
    """Per field, take the best candidate (``order``: columns, best first, all descending), drop those it
    overlaps, and repeat; all fields at once, one round per set taken in the busiest field."""
    candidates = candidates[keep].sort_values(["field", *order], ascending=[True] + [False] * len(order))
    field = candidates.field.to_numpy()
    mask = candidates["mask"].to_numpy(np.uint64)
    alive = np.ones(len(candidates), bool)
    taken = np.zeros(len(candidates), bool)
    while alive.any():
        rows = np.flatnonzero(alive)
        first = rows[np.r_[True, field[rows][1:] != field[rows][:-1]]]  # the best alive candidate per field
        taken[first] = True
        claimed = np.zeros(field.max() + 1, np.uint64)
        claimed[field[first]] = mask[first]
        alive &= (mask & claimed[field]) == 0
    return candidates[taken]


def lgz(groups: pd.DataFrame, n_answers: np.ndarray, *, threshold: float = 2 / 3) -> pd.DataFrame:
    """The LGZ rule: per field, the largest set inside one group of more than ``threshold`` of the answers."""
    distinct = _distinct(groups)
    pairs = distinct.merge(distinct, on="field", suffixes=("", "_other"))
    pairs["mask"] = pairs["mask"].to_numpy(np.uint64) & pairs.mask_other.to_numpy(np.uint64)
    candidates = pd.concat([distinct[["field", "mask"]], pairs.loc[pairs["mask"] != 0, ["field", "mask"]]])
    candidates = candidates.drop_duplicates()
    inside = candidates.merge(distinct, on="field", suffixes=("", "_group"))
    cmask = inside["mask"].to_numpy(np.uint64)
    inside = inside[(cmask & inside.mask_group.to_numpy(np.uint64)) == cmask]
    support = inside.groupby(["field", "mask"], sort=False).exact.sum().rename("support").reset_index()
    support["size"] = _popcount(support["mask"].to_numpy(np.uint64))
    passes = support.support.to_numpy() > threshold * n_answers[support.field.to_numpy()]
    return _greedy(support, ["size", "support"], passes)


def plurality(groups: pd.DataFrame, n_answers: np.ndarray, *, min_votes: int = 1) -> pd.DataFrame:
    """The RGZ rule: per field, the set chosen exactly by the most answers (at least ``min_votes``)."""
    distinct = _distinct(groups).rename(columns={"exact": "support"})
    distinct["size"] = _popcount(distinct["mask"].to_numpy(np.uint64))
    return _greedy(distinct, ["support", "size"], distinct.support.to_numpy() >= min_votes)


METHODS: dict[str, tuple[Callable, dict]] = {
    "lgz": (lgz, {"threshold": 2 / 3}),
    "plurality": (plurality, {"min_votes": 1}),
}
DEFAULT_METHOD = "lgz"


def _popcount(mask: np.ndarray) -> np.ndarray:
    return np.unpackbits(mask.astype(np.uint64).view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


@dataclass(frozen=True)
class Association:
    """Radio sources made of components, over the whole survey.

    ``source_of`` (C,) gives each component's source (index into the source arrays); ``assoc_qual`` (N,)
    the fraction of answers agreeing on the source's set (NaN for a component nobody grouped),
    ``n_answers`` (N,) the answers behind it and ``fields`` the fields whose answers chose it (a list
    per source, empty for an ungrouped component).
    """

    source_of: np.ndarray
    assoc_qual: np.ndarray
    n_answers: np.ndarray
    fields: list[list[int]]

    @property
    def n_sources(self) -> int:
        return len(self.assoc_qual)


def associate(groupings: Groupings, n_components: int, method: str = DEFAULT_METHOD, **params) -> Association:
    """Run a rule on every field, then reconcile the fields into sources.

    Reconciling: the same set chosen in several fields (overlapping cutouts of one source) is one source,
    its ``assoc_qual`` the pooled fraction (all supporting answers over all answers of those fields). Sets
    that share only some components are taken best first (higher ``assoc_qual``, then more answers), as the
    LoTSS value-added catalogue prefers the better-agreed association (ties: more answers, then the larger
    set); a set overlapping one already taken
    is dropped whole, because a partial set is an association nobody chose. Every component left over is a
    source of its own.
    """
    if method not in METHODS:
        raise ValueError(f"unknown association method {method!r}; choose from {', '.join(METHODS)}")
    rule, defaults = METHODS[method]
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"{method} takes {', '.join(defaults) or 'no parameters'}, not {', '.join(sorted(unknown))}")
    source_of = np.full(n_components, -1, dtype=np.int64)
    if len(groupings.member_answer) == 0:
        return _singletons(source_of, [], [], [])
    groups, local = groupings.groups()
    n_answers = np.bincount(groups.drop_duplicates("answer").field.to_numpy(), minlength=groupings.n_fields)
    chosen = rule(groups, n_answers, **{**defaults, **params})
    chosen = chosen.reset_index(drop=True)
    sets = chosen.assign(set=np.arange(len(chosen)), n_answers=n_answers[chosen.field.to_numpy()])
    sets["qual"] = sets.support / np.maximum(sets.n_answers, 1)
    members = sets[["set", "field", "mask"]].merge(local, on="field")
    inside = (members["mask"].to_numpy(np.uint64) >> members.bit.to_numpy(np.uint64)) & np.uint64(1)
    members = members.loc[inside == 1, ["set", "component"]]

    # sets no other set touches (the usual case: fields that do not overlap) are sources as they stand
    contested = np.unique(members.set[members.component.duplicated(keep=False)].to_numpy())
    clear = np.setdiff1d(sets.set.to_numpy(), contested)
    rank = np.full(len(sets), -1)
    rank[clear] = np.arange(len(clear))
    clear_members = members[np.isin(members.set.to_numpy(), clear)]
    source_of[clear_members.component.to_numpy()] = rank[clear_members.set.to_numpy()]
    qual = list(sets.qual.to_numpy()[clear])
    answers = list(sets.n_answers.to_numpy()[clear])
    fields = [[int(f)] for f in sets.field.to_numpy()[clear]]

    # the rest, few: the same set from several fields is pooled; then best-agreed first, overlaps dropped
    disputed = members[np.isin(members.set.to_numpy(), contested)].sort_values(["set", "component"])
    components_of = {k: g.to_numpy() for k, g in disputed.groupby("set").component}
    by_set = sets.set_index("set")
    pooled: dict[tuple, list] = {}
    for k, components in components_of.items():
        entry = pooled.setdefault(tuple(components), [0, 0, []])
        entry[0] += int(by_set.support[k])
        entry[1] += int(by_set.n_answers[k])
        entry[2].append(int(by_set.field[k]))
    # equally agreed and equally answered: the larger association, then the lower component index (stable)
    best_first = sorted(pooled.items(), key=lambda kv: (-kv[1][0] / max(kv[1][1], 1), -kv[1][1], -len(kv[0]), kv[0]))
    for components, (support, n, in_fields) in best_first:
        components = np.asarray(components)
        if (source_of[components] >= 0).any():
            continue  # overlaps a better-agreed source
        source_of[components] = len(qual)
        qual.append(support / max(n, 1))
        answers.append(n)
        fields.append(sorted(set(in_fields)))
    return _singletons(source_of, qual, answers, fields)


def _singletons(source_of: np.ndarray, qual: list, answers: list, fields: list) -> Association:
    alone = np.flatnonzero(source_of < 0)
    source_of[alone] = len(qual) + np.arange(len(alone))
    return Association(source_of, np.r_[np.asarray(qual, float), np.full(len(alone), np.nan)],
                       np.r_[np.asarray(answers, int), np.zeros(len(alone), int)],
                       fields + [[] for _ in alone])
