"""The association rules (:mod:`xid_app.association`): small cases worked by hand, and agreement with a
plain per-field loop of the same rule (the benchmark's baseline) on a simulated crowd."""

import numpy as np
import pytest

from tests.conftest import benchmark_module
from xid_app.association import MAX_COMPONENTS_PER_FIELD, Groupings, associate


@pytest.fixture(scope="module")
def bench():
    return benchmark_module("bench_association")


def groupings(answers: list[tuple[int, list[list[int]]]], n_fields: int) -> Groupings:
    """(field, groups of component indices) per answer."""
    field, member_answer, member_group, member_component = [], [], [], []
    for a, (f, groups) in enumerate(answers):
        field.append(f)
        for g, members in enumerate(groups):
            member_answer += [a] * len(members)
            member_group += [g] * len(members)
            member_component += members
    return Groupings(n_fields, np.array(field), np.array(member_answer, int), np.array(member_group, int),
                     np.array(member_component, int))


def sources(result, n):
    """The association as a set of frozensets of components."""
    return {frozenset(np.flatnonzero(result.source_of == s).tolist()) for s in range(result.n_sources)} - {frozenset()}


def test_lgz_takes_the_largest_set_more_than_two_thirds_include():
    # 4 answers: the double (0, 1) with the core 2 by three, the core alone by one
    g = groupings([(0, [[0, 1, 2]]), (0, [[0, 1, 2]]), (0, [[0, 1, 2]]), (0, [[2], [0], [1]])], 1)
    result = associate(g, 3, "lgz")
    assert sources(result, 3) == {frozenset({0, 1, 2})}
    assert result.assoc_qual[result.source_of[0]] == pytest.approx(0.75)


def test_lgz_finds_an_agreed_core_nobody_gave_alone():
    # nobody chose exactly {0, 1}, but every answer includes it
    g = groupings([(0, [[0, 1, 2]]), (0, [[0, 1, 3]]), (0, [[0, 1]])], 1)
    result = associate(g, 4, "lgz")
    assert frozenset({0, 1}) in sources(result, 4)
    assert result.assoc_qual[result.source_of[0]] == 1.0


def test_lgz_leaves_components_alone_without_a_two_thirds_majority():
    g = groupings([(0, [[0, 1]]), (0, [[0, 1]]), (0, [[0], [1]])], 1)
    result = associate(g, 2, "lgz")  # 2 of 3 is not more than 2/3
    assert sources(result, 2) == {frozenset({0}), frozenset({1})}
    assert associate(g, 2, "lgz", threshold=0.6).source_of.tolist() == [0, 0]
    assert sources(associate(g, 2, "plurality"), 2) == {frozenset({0, 1})}


def test_several_sources_in_one_field_and_the_same_source_in_overlapping_fields():
    # fields 0 and 1 are overlapping cutouts of the double (0, 1); field 1 also holds source (2)
    g = groupings([(0, [[0, 1]]), (0, [[0, 1]]), (1, [[0, 1], [2]]), (1, [[0, 1], [2]]), (1, [[0], [1, 2]])], 2)
    result = associate(g, 3, "plurality")
    assert sources(result, 3) == {frozenset({0, 1}), frozenset({2})}
    double = result.source_of[0]
    assert result.fields_of(double) == [0, 1]
    assert result.assoc_qual[double] == pytest.approx(4 / 5)  # pooled: 4 of the 5 answers of both fields
    assert result.n_answers[double] == 5


def test_a_component_claimed_by_two_fields_goes_to_the_better_agreed_source():
    # field 0 says (0, 1) unanimously; field 1 says (1, 2) by 2 of 3: component 1 stays with (0, 1)
    g = groupings([(0, [[0, 1]]), (0, [[0, 1]]), (1, [[1, 2]]), (1, [[1, 2]]), (1, [[2]])], 2)
    result = associate(g, 3, "plurality")
    assert sources(result, 3) == {frozenset({0, 1}), frozenset({2})}
    assert np.isnan(result.assoc_qual[result.source_of[2]])  # a component left alone: nobody chose that


def test_ungrouped_components_are_sources_of_their_own_and_nothing_is_lost():
    g = groupings([(0, [[0, 1]])], 1)
    result = associate(g, 5, "lgz")
    assert sorted(np.bincount(result.source_of).tolist()) == [1, 1, 1, 2]
    assert associate(groupings([], 0), 3).source_of.tolist() == [0, 1, 2]


def test_bad_methods_and_crowded_fields_are_refused_clearly():
    g = groupings([(0, [[0]])], 1)
    with pytest.raises(ValueError, match="unknown association method 'vote'"):
        associate(g, 1, "vote")
    with pytest.raises(ValueError, match="lgz takes threshold, not min_votes"):
        associate(g, 1, "lgz", min_votes=2)
    crowded = groupings([(0, [list(range(MAX_COMPONENTS_PER_FIELD + 1))])], 1)
    with pytest.raises(ValueError, match="more than 64 grouped components"):
        associate(crowded, MAX_COMPONENTS_PER_FIELD + 1)


@pytest.mark.parametrize("method", ["lgz", "plurality"])
def test_vectorised_rules_agree_with_a_plain_loop(bench, method):
    g, components, truth, _ = bench.synthetic_groupings(2_000, 7, seed=3)
    loop = bench.lgz_loop(g) if method == "lgz" else bench.plurality_loop(g)
    expected = {s for _, s, _ in loop}
    assert {s for _, s, _ in bench.groupby_loop(g, method)} == expected  # both baselines do the same
    result = associate(g, len(components.ids), method)
    # the loop works field by field; the association then reconciles fields (here no two fields share a
    # component), so the sets it keeps are the loop's sets exactly
    got = {frozenset(np.flatnonzero(result.source_of == s).tolist()) for s in range(result.n_sources)
           if np.isfinite(result.assoc_qual[s])}
    assert got == expected
    # and the simulated crowd is mostly right
    right = sum(frozenset(np.flatnonzero(truth == t).tolist()) in got for t in np.unique(truth))
    assert right / len(np.unique(truth)) > 0.9


def test_adjusted_rand_index_and_exact_agreement_between_annotators():
    from xid_app.agreement import adjusted_rand_index, association_agreement

    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 2, 2]) == 1.0  # the same split, other labels
    # by hand (Hubert & Arabie 1985): {ab}{cd} against {ab}{c}{d}: index 1, expected 2·1/6, max 1.5 → 4/7
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    g = groupings([(0, [[0, 1], [2]]), (0, [[2], [0, 1]]), (0, [[0], [1, 2]]), (1, [[3]])], 2)
    table = association_agreement(g)
    assert table.loc[0, "n_answers"] == 3
    assert table.loc[0, "exact_agreement"] == pytest.approx(1 / 3)  # one pair of three alike
    assert 0 < table.loc[0, "ari"] < 1 and np.isnan(table.loc[1, "exact_agreement"])  # one answer: no pair
