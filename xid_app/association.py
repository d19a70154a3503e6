"""Which radio components make up one source: consensus over the annotators' component groups.

An answer on a field holds *groups*: sets of components the annotator says belong to one radio source (each
with its host, or none). Per field, a rule picks the consensus sets; then sets from overlapping fields are
reconciled so that every component lies in one source. Each rule is a plain function over flat arrays, run
for all fields at once: a field's components are bits of a 64-bit mask, so a set is one integer and
"contains" is one ``&``. All of it is numpy (no pandas): the benchmark holds it against a per-field loop.

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
from typing import Callable, Sequence

import numpy as np

from .arrays import pairs, run_starts

MAX_COMPONENTS_PER_FIELD = 64  # a field's grouped components are the bits of one integer
ONE = np.uint64(1)


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
        (index into the survey's components). A component lies in at most one group of an answer. Rows
        sorted by answer and group (as the store reads them) save a sort.
    """

    n_fields: int
    answer_field: np.ndarray
    member_answer: np.ndarray
    member_group: np.ndarray
    member_component: np.ndarray


@dataclass(frozen=True)
class FieldGroups:
    """The distinct groups given on each field and the fields' own numbering of their components.

    ``field``, ``mask``, ``exact`` (D,): sorted by field, each distinct group's components as bits and the
    number of answers that gave exactly it. ``local_field``, ``local_component`` (L,): the components grouped
    on each field, sorted by field then component; ``local_bit`` is each one's bit (its rank in its field).
    ``n_answers`` (n_fields,): answers per field that grouped anything.
    """

    field: np.ndarray
    mask: np.ndarray
    exact: np.ndarray
    local_field: np.ndarray
    local_component: np.ndarray
    local_bit: np.ndarray
    n_answers: np.ndarray


def field_groups(groupings: Groupings) -> FieldGroups:
    """Number each field's grouped components and turn every group into a mask; count the distinct groups."""
    answer, group, component = groupings.member_answer, groupings.member_group, groupings.member_component
    field = groupings.answer_field[answer]
    # bits: rank of each component among the distinct ones of its field
    key = field.astype(np.int64) * (int(component.max()) + 1) + component
    order = np.argsort(key, kind="stable")
    distinct = run_starts(key[order])
    rank = np.zeros(len(key), np.int64)
    rank[distinct] = 1
    rank = np.cumsum(rank) - 1
    field_sorted = field[order]
    field_start = np.zeros(len(key), bool)
    field_start[run_starts(field_sorted)] = True
    base = np.maximum.accumulate(np.where(field_start, rank, 0))
    bit_sorted = rank - base
    if bit_sorted.max() >= MAX_COMPONENTS_PER_FIELD:
        worst = int(field_sorted[np.argmax(bit_sorted)])
        raise ValueError(f"field {worst} has more than {MAX_COMPONENTS_PER_FIELD} grouped components; "
                         "cut the survey into smaller fields")
    bit = np.empty(len(key), np.int64)
    bit[order] = bit_sorted
    # one mask per (answer, group): the bits are distinct within a group, so their sum is their OR
    group_key = answer.astype(np.int64) * (int(group.max()) + 1) + group
    by_group = np.arange(len(group_key)) if np.all(group_key[1:] >= group_key[:-1]) else np.argsort(group_key, kind="stable")
    starts = run_starts(group_key[by_group])
    mask = np.add.reduceat(np.left_shift(ONE, bit[by_group].astype(np.uint64)), starts)
    group_field = field[by_group][starts]
    group_answer = answer[by_group][starts]  # sorted
    answers = group_answer[run_starts(group_answer)]
    n_answers = np.bincount(groupings.answer_field[answers], minlength=groupings.n_fields)
    # distinct (field, mask), with how many answers gave each
    o = np.lexsort((mask, group_field))
    first = run_starts(group_field[o], mask[o])
    exact = np.diff(np.r_[first, len(o)])
    return FieldGroups(group_field[o][first], mask[o][first], exact, field_sorted[distinct],
                       component[order][distinct], bit_sorted[distinct], n_answers)


def _greedy(field: np.ndarray, mask: np.ndarray, primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Per field, take the best candidate (higher ``primary``, then ``secondary``; then the set of the lowest
    components), drop those it overlaps, and repeat; all fields at once, one round per set taken in the
    busiest field. Returns the indices taken, sorted by field."""
    order = np.lexsort((mask, -secondary, -primary, field))
    field, mask = field[order], mask[order]
    alive = np.ones(len(order), bool)
    taken = np.zeros(len(order), bool)
    claimed = np.zeros(int(field.max(initial=-1)) + 1, np.uint64)
    while alive.any():
        rows = np.flatnonzero(alive)
        first = rows[run_starts(field[rows])]  # the best candidate still alive in each field
        taken[first] = True
        claimed[field[first]] = mask[first]
        alive &= (mask & claimed[field]) == 0
        claimed[field[first]] = 0
    return order[taken]


def _popcount(mask: np.ndarray) -> np.ndarray:
    return np.unpackbits(mask.astype(np.uint64).view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def lgz(groups: FieldGroups, *, threshold: float = 2 / 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The LGZ rule: per field, the largest set inside one group of more than ``threshold`` of the answers.
    Returns the sets taken: field, mask, supporting answers."""
    i, j = pairs(groups.field, groups.field)
    inter = groups.mask[i] & groups.mask[j]
    new = (i < j) & (inter != 0)
    field = np.r_[groups.field, groups.field[i[new]]]
    mask = np.r_[groups.mask, inter[new]]
    o = np.lexsort((mask, field))
    first = o[run_starts(field[o], mask[o])]
    field, mask = field[first], mask[first]
    c, g = pairs(field, groups.field)
    inside = (mask[c] & groups.mask[g]) == mask[c]
    support = np.bincount(c[inside], weights=groups.exact[g[inside]], minlength=len(field)).astype(np.int64)
    passes = support > threshold * groups.n_answers[field]
    field, mask, support = field[passes], mask[passes], support[passes]
    taken = _greedy(field, mask, _popcount(mask), support)
    return field[taken], mask[taken], support[taken]


def plurality(groups: FieldGroups, *, min_votes: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The RGZ rule: per field, the set chosen exactly by the most answers (at least ``min_votes``)."""
    keep = groups.exact >= min_votes
    field, mask, support = groups.field[keep], groups.mask[keep], groups.exact[keep]
    taken = _greedy(field, mask, support, _popcount(mask))
    return field[taken], mask[taken], support[taken]


METHODS: dict[str, tuple[Callable, dict]] = {
    "lgz": (lgz, {"threshold": 2 / 3}),
    "plurality": (plurality, {"min_votes": 1}),
}
DEFAULT_METHOD = "lgz"


@dataclass(frozen=True)
class Association:
    """Radio sources made of components, over the whole survey.

    ``source_of`` (C,) gives each component's source (index into the source arrays); ``assoc_qual`` (N,)
    the fraction of answers agreeing on the source's set (NaN for a component nobody grouped) and
    ``n_answers`` (N,) the answers behind it; ``link_source``, ``link_field`` pair each source with the
    fields whose answers chose it. Sources an expert decided come first.
    """

    source_of: np.ndarray
    assoc_qual: np.ndarray
    n_answers: np.ndarray
    link_source: np.ndarray
    link_field: np.ndarray
    n_decided: int = 0  # sources 0 .. n_decided - 1 are an expert's, as given

    @property
    def decided(self) -> np.ndarray:
        """Whether each source is an expert's decision rather than the crowd's."""
        return np.arange(self.n_sources) < self.n_decided

    @property
    def n_sources(self) -> int:
        return len(self.assoc_qual)

    def fields_of(self, source: int) -> list[int]:
        return sorted(self.link_field[self.link_source == source].tolist())


def associate(groupings: Groupings, n_components: int, method: str = DEFAULT_METHOD, *,
              decided: Sequence[np.ndarray] = (), **params) -> Association:
    """Run a rule on every field, then reconcile the fields into sources.

    ``decided``: sets of components (indices) an expert made sources of; they stand as given, and the
    crowd's sets that share a component with one are dropped.

    Reconciling: the same set chosen in several fields (overlapping cutouts of one source) is one source,
    its ``assoc_qual`` the pooled fraction (all supporting answers over all answers of those fields). Sets
    that share only some components are taken best first (higher ``assoc_qual``, then more answers), as the
    LoTSS value-added catalogue prefers the better-agreed association (ties: more answers, then the larger
    set); a set overlapping one already taken is dropped whole, because a partial set is an association
    nobody chose. Every component left over is a source of its own.
    """
    if method not in METHODS:
        raise ValueError(f"unknown association method {method!r}; choose from {', '.join(METHODS)}")
    rule, defaults = METHODS[method]
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"{method} takes {', '.join(defaults) or 'no parameters'}, not {', '.join(sorted(unknown))}")
    source_of = np.full(n_components, -1, dtype=np.int64)
    for number, members in enumerate(decided):
        source_of[np.asarray(members, int)] = number
    n_decided = len(decided)
    empty = np.empty(0, int)
    if len(groupings.member_answer) == 0:
        return _with_singletons(source_of, np.full(n_decided, np.nan), np.zeros(n_decided, int), empty, empty,
                                n_decided)
    groups = field_groups(groupings)
    field, mask, support = rule(groups, **{**defaults, **params})
    n_answers = groups.n_answers[field]

    # each set's components
    s, l = pairs(field, groups.local_field)
    inside = (mask[s] >> groups.local_bit[l].astype(np.uint64)) & ONE == ONE
    set_of, component = s[inside], groups.local_component[l[inside]]

    # sets no other set touches (the usual case: fields that do not overlap) are sources as they stand
    overruled = np.zeros(len(field), bool)  # by an expert
    overruled[set_of[source_of[component] >= 0]] = True
    contested = np.zeros(len(field), bool)
    contested[set_of[np.bincount(component, minlength=n_components)[component] > 1]] = True
    clear = np.flatnonzero(~contested & ~overruled)
    rank = np.full(len(field), -1)
    rank[clear] = n_decided + np.arange(len(clear))
    plain = rank[set_of] >= 0
    source_of[component[plain]] = rank[set_of[plain]]
    qual = [np.nan] * n_decided + list(support[clear] / np.maximum(n_answers[clear], 1))
    answers = [0] * n_decided + list(n_answers[clear])
    link_source, link_field = list(rank[clear]), list(field[clear])

    # the rest, few: the same set from several fields is pooled; then best-agreed first, overlaps dropped
    pooled: dict[tuple, list] = {}
    for k in np.flatnonzero(contested & ~overruled):
        members = tuple(np.sort(component[set_of == k]).tolist())
        entry = pooled.setdefault(members, [0, 0, []])
        entry[0] += int(support[k])
        entry[1] += int(n_answers[k])
        entry[2].append(int(field[k]))
    # equally agreed and equally answered: the larger association, then the lower components (stable)
    for members, (agree, n, in_fields) in sorted(pooled.items(), key=lambda kv: (
            -kv[1][0] / max(kv[1][1], 1), -kv[1][1], -len(kv[0]), kv[0])):
        members = np.asarray(members)
        if (source_of[members] >= 0).any():
            continue  # overlaps a better-agreed source
        source_of[members] = len(qual)
        link_source += [len(qual)] * len(set(in_fields))
        link_field += sorted(set(in_fields))
        qual.append(agree / max(n, 1))
        answers.append(n)
    return _with_singletons(source_of, np.asarray(qual, float), np.asarray(answers, int),
                            np.asarray(link_source, int), np.asarray(link_field, int), n_decided)


def _with_singletons(source_of: np.ndarray, qual: np.ndarray, answers: np.ndarray, link_source: np.ndarray,
                     link_field: np.ndarray, n_decided: int) -> Association:
    alone = np.flatnonzero(source_of < 0)
    source_of[alone] = len(qual) + np.arange(len(alone))
    return Association(source_of, np.r_[qual, np.full(len(alone), np.nan)], np.r_[answers, np.zeros(len(alone), int)],
                       link_source, link_field, n_decided)
