"""Consensus v0 as a pure function over arrays: golden cases with known answers."""

import numpy as np
import pytest

from xid_app.consensus import METHODS, Annotations, run_consensus
from xid_app.coords import tangent_to_sky

RA0, DEC0 = 150.0, 10.0


def build(sources: list[list[list[tuple[float, float]]]]) -> Annotations:
    """sources → classifications → clicks as (east, north) arcsec offsets from the source; [] = no host."""
    cls_source, click_cls, xi, eta = [], [], [], []
    for s, classifications in enumerate(sources):
        for clicks in classifications:
            cls_source.append(s)
            for dx, dy in clicks:
                click_cls.append(len(cls_source) - 1)
                xi.append(dx)
                eta.append(dy)
    n = len(sources)
    src_ra, src_dec = np.full(n, RA0) + np.arange(n) * 0.1, np.full(n, DEC0)
    csrc = np.asarray(cls_source, int)[np.asarray(click_cls, int)] if click_cls else np.empty(0, int)
    ra, dec = tangent_to_sky(np.asarray(xi, float), np.asarray(eta, float), src_ra[csrc], src_dec[csrc])
    return Annotations(src_ra, src_dec, np.asarray(cls_source, int), np.asarray(click_cls, int), ra, dec)


def test_single_host_position_and_level():
    ann = build([[[(10, 0)], [(11, 1)], [(9, -1)], []]])
    c = run_consensus(ann)
    assert len(c.host_ra) == 1 and c.host_votes[0] == 3
    assert c.host_level[0] == pytest.approx(0.75) and c.no_host_fraction[0] == pytest.approx(0.25)
    ra, dec = tangent_to_sky(10, 0, RA0, DEC0)
    assert np.hypot((c.host_ra[0] - ra) * np.cos(np.radians(DEC0)), c.host_dec[0] - dec) * 3600 < 0.01
    assert c.host_scatter_arcsec[0] == pytest.approx(np.sqrt(4 / 3), rel=1e-3)


def test_mostly_no_host_gives_no_host():
    c = run_consensus(build([[[(10, 0)], [], [], [(30, 30)]]]))
    assert len(c.host_ra) == 0 and c.n_no_host[0] == 2


def test_two_hosts_marked_together_are_both_kept():
    both = [(-20, 0), (20, 0)]
    c = run_consensus(build([[both, both, both, [(-20, 1)]]]))
    assert len(c.host_ra) == 2 and sorted(c.host_votes) == [3, 4]


def test_weak_competing_answer_is_not_a_host():
    c = run_consensus(build([[[(0, 0)]] * 6 + [[(25, 0)]]]))
    assert len(c.host_ra) == 1 and c.host_votes[0] == 6


def test_double_click_by_one_user_counts_once():
    c = run_consensus(build([[[(0, 0), (0.5, 0)], [(30, 0)], [(30.2, 0)]]]))
    assert c.host_votes[0] == 2  # the two clicks at 30" beat one user's double click at 0"


def test_sources_are_independent_and_unclassified_ones_are_empty():
    ann = build([[[(0, 0)], [(0, 0)]], [], [[], []]])
    c = run_consensus(ann)
    assert c.n_classifications.tolist() == [2, 0, 2]
    assert c.host_source.tolist() == [0]
    assert np.isnan(c.no_host_fraction[1])


def test_clicks_of_neighbouring_sources_never_merge():
    # two sources 0.1° apart; their clicks at the midpoint would be within the link radius in RA alone
    ann = build([[[(180, 0)], [(180, 0)]], [[(-180, 0)], [(-180, 0)]]])
    c = run_consensus(ann)
    assert c.host_source.tolist() == [0, 1] and c.host_votes.tolist() == [2, 2]


def test_registry_declares_parameters_and_refuses_unknown_ones():
    assert {"link_radius_arcsec", "secondary_fraction", "min_secondary_votes"} <= set(METHODS["xid"].params)
    ann = build([[[(0, 0)]]])
    with pytest.raises(ValueError, match="unknown consensus method"):
        run_consensus(ann, "nope")
    with pytest.raises(ValueError, match="unknown parameter"):
        run_consensus(ann, bogus=1)


def test_empty_input():
    c = run_consensus(build([]))
    assert len(c.host_ra) == 0 and len(c.n_classifications) == 0


def _random_crowd(n_sources, per_source, seed=0) -> Annotations:
    rng = np.random.default_rng(seed)
    sources = []
    for _ in range(n_sources):
        host = rng.uniform(-20, 20, 2)
        classifications = []
        for _ in range(per_source):
            r = rng.random()
            if r < 0.2:
                classifications.append([])
            elif r < 0.3:
                classifications.append([tuple(rng.uniform(-40, 40, 2))])
            else:
                classifications.append([tuple(host + rng.normal(0, 1.5, 2))])
        sources.append(classifications)
    return build(sources)


def test_one_pass_equals_source_by_source():
    ann = _random_crowd(200, 8)
    together = run_consensus(ann)
    for i in range(ann.n_sources):
        cls = np.flatnonzero(ann.cls_source == i)
        keep = np.isin(ann.click_cls, cls)
        alone = run_consensus(Annotations(
            ann.source_ra[i:i + 1], ann.source_dec[i:i + 1], np.zeros(len(cls), int),
            np.searchsorted(cls, ann.click_cls[keep]), ann.click_ra[keep], ann.click_dec[keep]))
        mine = together.host_source == i
        np.testing.assert_array_equal(together.host_votes[mine], alone.host_votes)
        np.testing.assert_allclose(together.host_ra[mine], alone.host_ra, atol=1e-9)


def test_large_inputs_do_not_overflow_index_keys():
    """(cluster, classification) keys exceed 2**31 here; int32 labels once wrapped negative."""
    ann = _random_crowd(12_000, 15, seed=3)
    c = run_consensus(ann)
    assert (c.host_votes > 0).all() and len(np.unique(c.host_source)) > 10_000


def test_dbscan_matches_scikit_learn_source_by_source():
    from sklearn.cluster import DBSCAN

    from xid_app.consensus import _dbscan, _offsets

    ann = _random_crowd(150, 12, seed=5)
    click_src, xi, eta = _offsets(ann)
    ours = _dbscan(xi, eta, click_src, 5.0, 3)
    for s in range(ann.n_sources):
        mine = click_src == s
        theirs = DBSCAN(eps=5.0, min_samples=3).fit(np.column_stack([xi[mine], eta[mine]])).labels_
        a, b = ours[mine], theirs
        assert ((a == -1) == (b == -1)).all()
        # same partition of the clustered points (label numbers differ)
        pairs_a = a[:, None] == a[None, :]
        pairs_b = b[:, None] == b[None, :]
        clustered = (a >= 0)[:, None] & (a >= 0)[None, :]
        # border points reachable from two clusters may go either way, as in scikit-learn
        assert (pairs_a == pairs_b)[clustered].mean() > 0.99


def test_xid_beats_rgz_and_dbscan_on_a_synthetic_crowd():
    from xid_app.accuracy import score_hosts
    from xid_app.simulate import synthetic_crowd

    ann, truth, _ = synthetic_crowd(800, seed=2)
    scores = {m: score_hosts(run_consensus(ann, m), truth.host_source, truth.host_ra, truth.host_dec)
              for m in ("xid", "rgz", "dbscan")}
    xid = scores["xid"]
    for other in ("rgz", "dbscan"):
        assert xid.found >= scores[other].found - 2
        assert xid.found - xid.extra > scores[other].found - scores[other].extra
    assert xid.no_host_agreed >= max(s.no_host_agreed for s in scores.values())


def test_reliability_weights_help_against_random_clickers():
    from xid_app.accuracy import score_hosts
    from xid_app.simulate import synthetic_crowd

    ann, truth, _ = synthetic_crowd(800, seed=4)
    weighted = score_hosts(run_consensus(ann, "xid"), truth.host_source, truth.host_ra, truth.host_dec)
    flat = score_hosts(run_consensus(ann, "xid", reliability_iterations=0), truth.host_source, truth.host_ra,
                       truth.host_dec)
    assert weighted.found - weighted.extra > flat.found - flat.extra


def test_competing_answers_are_not_second_hosts_but_co_marked_ones_are():
    # 4 mark A alone, 3 mark B alone (competing): one host. 4 mark A and B together: two hosts.
    competing = [[(-15, 0)]] * 4 + [[(15, 0)]] * 3
    together = [[(-15, 0), (15, 0)]] * 4
    c = run_consensus(build([competing, together]))
    assert np.bincount(c.host_source, minlength=2).tolist() == [1, 2]


def test_rgz_style_keeps_only_the_first_click():
    both = [(-20, 0), (20, 0)]
    c = run_consensus(build([[both, both, both]]), "rgz")
    assert len(c.host_ra) == 1


def test_retirement_when_settled_or_at_the_cap():
    from xid_app.retirement import answer_confidence, retired

    rng = np.random.default_rng(1)
    settled = [[[tuple(rng.normal(0, 1.0, 2))]] * 6 for _ in range(40)]  # a survey's worth of clear answers
    agreed = [[(0, 0)]] * 5                      # 5 of 5 agree: retires
    split = [[(-6, 0)]] * 3 + [[(6, 0)]] * 2     # 3 against 2, either side of the radio position: not yet
    few = [[(0, 0)]] * 2                         # too few
    no_host = [[]] * 6                           # agreed on no host: retires
    many = [[(0, 0)]] * 11 + [[(30, 0)]] * 9     # 20 answers, no agreement: retires at the cap
    pending = [[(0, 0), (20, 0)]] + [[(0, 0)]] * 5   # one marked a second galaxy with the host: wait for more
    c = run_consensus(build([agreed, split, few, no_host, many, pending, *settled]))
    confidence = answer_confidence(c)
    assert confidence[1] < 0.98 < min(confidence[0], confidence[3])
    assert retired(c, min_classifications=3, confidence=0.98, max_classifications=20)[:6].tolist() == [
        True, False, False, True, True, False]


def test_gold_standard_answers_sharpen_annotator_weights():
    """Judged against an expert on 15% of sources, sloppy and random annotators lose weight, careful ones
    keep theirs, and the hosts of the other sources are found at least as well (four crowds, summed)."""
    from dataclasses import replace

    from xid_app.accuracy import score_hosts
    from xid_app.simulate import FAMILIES, simulate_crowd

    model = replace(FAMILIES["classic"], share=(0.4, 0.2, 0.4), annotators=300, per_source=6)
    right = {"without": 0, "with": 0}
    for seed in (3, 4, 5, 6):
        ann, truth, kind = simulate_crowd(model, 1000, seed=seed)
        gold = truth.expert_answers(np.random.default_rng(0).choice(ann.n_sources, 150, replace=False))
        others = np.setdiff1d(np.arange(ann.n_sources), gold.source)  # judged where the expert did not answer
        for name, crowd in (("without", ann), ("with", replace(ann, gold=gold))):
            c = run_consensus(crowd)
            score = score_hosts(c, truth.host_source, truth.host_ra, truth.host_dec, sources=others)
            right[name] += score.found - score.extra
            if name == "without":
                before = c.annotator_weight
        careful, careless = kind == "careful", kind != "careful"
        gap_before = before[careful].mean() - before[careless].mean()
        gap_after = c.annotator_weight[careful].mean() - c.annotator_weight[careless].mean()
        assert gap_after > gap_before
    assert right["with"] >= right["without"]


def _offset_arcsec(c, host, xi, eta):
    ra, dec = tangent_to_sky(xi, eta, RA0 + 0.1 * c.host_source[host], DEC0)
    return np.hypot((c.host_ra[host] - ra) * np.cos(np.radians(DEC0)), c.host_dec[host] - dec) * 3600


def test_the_radio_prior_breaks_a_near_tie_but_never_overrules_a_clear_crowd():
    # 60 sources whose crowds agree show where hosts lie: within ~2" of the radio position
    rng = np.random.default_rng(0)
    settled = [[[tuple(rng.normal(0, 1.5, 2))]] * 6 for _ in range(60)]
    near_tie = [[(9, 0)]] * 4 + [[(1, 0)]] * 4        # 4 on a galaxy 9" off, 4 at the radio position
    clear = [[(1, 0)]] * 3 + [[(15, 0)]] * 7           # 3 against 7: the crowd wins
    c = run_consensus(build([near_tie, clear, *settled]))
    assert _offset_arcsec(c, 0, 1, 0) < 0.5             # the tie goes to the galaxy nearer the radio emission
    assert _offset_arcsec(c, 1, 15, 0) < 0.5
    assert c.host_odds[0] > 0 and c.host_odds[1] > 0
    no_prior = run_consensus(build([near_tie, clear, *settled]), radio_prior_strength=0)
    assert _offset_arcsec(no_prior, 0, 9, 0) < 0.5      # without it the first-listed of the tied pair
    one_more = run_consensus(build([[[(1, 0)]] * 4 + [[(9, 0)]] * 6, *settled]))
    assert _offset_arcsec(one_more, 0, 9, 0) < 0.5      # two votes more is not a tie: the majority
    few = run_consensus(build([near_tie]))              # one source says nothing of where hosts lie: no prior
    assert _offset_arcsec(few, 0, 9, 0) < 0.5


def test_the_radio_prior_is_learnt_from_the_survey_and_lifts_a_crowd_pulled_by_bright_galaxies():
    from xid_app.accuracy import score_hosts
    from xid_app.simulate import FAMILIES, simulate_crowd

    ann, truth, _ = simulate_crowd(FAMILIES["bright"], 2000, seed=9)
    scores = {strength: score_hosts(run_consensus(ann, radio_prior_strength=strength), truth.host_source,
                                    truth.host_ra, truth.host_dec).accuracy for strength in (0, 1)}
    assert scores[1] > scores[0] + 0.01


def test_a_host_sits_on_its_clicks_not_between_them_and_a_neighbour_some_picked():
    # 6 clicks on the host at 0", 3 on a galaxy 5" away: friends-of-friends links them into one cluster
    votes = [[(0.3 * np.cos(a), 0.3 * np.sin(a))] for a in range(6)] + [[(4.5, 0)], [(5, 0.3)], [(5.2, -0.2)]]
    moded = run_consensus(build([votes]))
    mean = run_consensus(build([votes]), mode_radius_arcsec=0, reliability_iterations=0)  # the plain mean
    assert _offset_arcsec(moded, 0, 0, 0) < 0.5 < _offset_arcsec(mean, 0, 0, 0)


def test_the_classifications_order_changes_nothing():
    """Stored order interleaves the sources' answers (each source's in its own order); the reducers group
    them by source first. (RGZ's method breaks ties by the first click, so a source's own order counts.)"""
    from dataclasses import replace

    from xid_app.consensus import grouped_by_source

    ann = _random_crowd(300, 9, seed=4)
    rng = np.random.default_rng(5)
    ann = replace(ann, cls_user=rng.integers(0, 40, len(ann.cls_source)),
                  cls_flags=rng.random((len(ann.cls_source), 4)) < 0.1)
    assert np.all(np.diff(ann.cls_source) >= 0)
    position = rng.permutation(len(ann.cls_source))
    new_position = position[np.lexsort((position, ann.cls_source))]  # each source's in their order
    old_of_new = np.argsort(new_position)
    clicks = np.argsort(new_position[ann.click_cls], kind="stable")
    shuffled = replace(ann, cls_source=ann.cls_source[old_of_new], cls_user=ann.cls_user[old_of_new],
                       cls_flags=ann.cls_flags[old_of_new], click_cls=new_position[ann.click_cls][clicks],
                       click_ra=ann.click_ra[clicks], click_dec=ann.click_dec[clicks])
    assert not np.all(np.diff(shuffled.cls_source) >= 0)
    assert np.all(np.diff(grouped_by_source(shuffled).cls_source) >= 0)
    for method in METHODS:
        a, b = run_consensus(ann, method), run_consensus(shuffled, method)
        np.testing.assert_array_equal(a.host_source, b.host_source)
        np.testing.assert_array_equal(a.host_votes, b.host_votes)
        np.testing.assert_allclose(a.host_ra, b.host_ra, rtol=0, atol=1e-10)
        np.testing.assert_allclose(a.host_dec, b.host_dec, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(a.flag_counts, b.flag_counts)


def test_stable_order_and_unique_pairs_match_numpy():
    from xid_app.arrays import stable_order, unique_pairs_inverse

    rng = np.random.default_rng(2)
    for n, high in ((1000, 30), (1000, 2**40), (1, 5), (0, 5)):
        a, b = rng.integers(0, high, n), rng.integers(0, 7, n)
        np.testing.assert_array_equal(stable_order(a), np.argsort(a, kind="stable"))
        first_a, first_b, inverse = unique_pairs_inverse(a, b)
        pairs, theirs = np.unique(np.column_stack([a, b]).reshape(-1, 2), axis=0, return_inverse=True)
        np.testing.assert_array_equal(first_a, pairs[:, 0])
        np.testing.assert_array_equal(first_b, pairs[:, 1])
        np.testing.assert_array_equal(inverse, theirs.ravel())


def test_clusters_found_in_parts_are_those_of_one_pass(monkeypatch):
    """At survey size the sources are clustered in runs, one per core; the result is the one pass's."""
    import xid_app.consensus as consensus

    ann = _random_crowd(500, 8, seed=6)
    one_pass = run_consensus(ann)
    monkeypatch.setattr(consensus, "_PARALLEL_CLICKS", 1)
    monkeypatch.setattr(consensus.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(consensus.os, "cpu_count", lambda: 3)
    # clicks not in classification order (as a CSV may hold them): grouped first, then cut
    from dataclasses import replace

    shuffled = np.random.default_rng(7).permutation(len(ann.click_cls))
    for case in (ann, replace(ann, click_cls=ann.click_cls[shuffled], click_ra=ann.click_ra[shuffled],
                              click_dec=ann.click_dec[shuffled])):
        in_parts = run_consensus(case)
        for name in ("host_source", "host_votes", "annotator_weight"):
            np.testing.assert_array_equal(getattr(in_parts, name), getattr(one_pass, name))
        for name in ("host_ra", "host_dec", "host_scatter_arcsec"):
            np.testing.assert_allclose(getattr(in_parts, name), getattr(one_pass, name), rtol=0, atol=1e-9)
