"""Which source comes next: the in-memory queue made from the last consensus, checked against what the
database says now (the user's own answers, sources added or deleted since)."""

import random

import numpy as np
import sqlalchemy as sa

from tests.conftest import logged_in
from xid_app.queue import candidates, make_queue, random_candidates
from xid_app.store.assignment import next_source
from xid_app.store.models import Source
from xid_app.store.users import user_by_name


def small_queue():
    pks = np.array([10, 11, 12, 13, 14, 15])
    answers = np.array([3, 0, 0, 5, 1, 0])
    gold = np.array([False, False, False, False, True, False])
    retired = np.array([False, False, False, True, False, False])
    return make_queue(pks, answers, gold, retired)


def test_fewest_answers_first_then_oldest_and_no_retired_source():
    q = small_queue()
    np.testing.assert_array_equal(q.order, [11, 12, 15, 14, 10])
    assert q.retired == {13} and q.classified == 3 and q.total == 6 and q.newest_pk == 15


def test_candidates_skip_the_excluded_and_put_gold_first_when_asked():
    q = small_queue()
    np.testing.assert_array_equal(candidates(q, {11, 15, 99}), [12, 14, 10])
    np.testing.assert_array_equal(candidates(q, set(), gold_first=True), [14])
    np.testing.assert_array_equal(candidates(q, {14}, gold_first=True), [11, 12, 15, 10])
    assert len(candidates(q, {10, 11, 12, 14, 15})) == 0
    picks = random_candidates(q, {11}, random.Random(1))
    assert sorted(picks.tolist()) == [10, 12, 14, 15]


def test_the_queue_gives_what_the_database_query_gives(demo_project):
    """With nothing changed since the queue was made, its order is the grouped SQL query's."""
    demo_project.assignment.queue(wait=True)
    demo_project.set_user("q-user", password=None)
    with demo_project.session() as session:
        user = user_by_name(session, name="q-user").id
        seen: set[int] = set()
        while True:
            expected = next_source(session, user_pk=user, exclude=seen)
            got = demo_project.assignment.next_source(user, exclude=seen, claim=False)
            assert got == expected
            if got is None:
                break
            seen.add(got)
    assert len(seen) == 19


def test_a_team_is_spread_over_the_queue(demo_project):
    demo_project.assignment.queue(wait=True)
    users = []
    for name in ("q-a", "q-b", "q-c"):
        demo_project.set_user(name, password=None)
        with demo_project.session() as session:
            users.append(user_by_name(session, name=name).id)
    handed = [demo_project.assignment.next_source(u) for u in users]
    assert len(set(handed)) == 3  # the queue is stale, yet nobody gets what another was just given


def test_what_changed_since_the_queue_is_seen_at_once(demo_project):
    """Answers, new sources and deleted sources count on the next Next, not after the queue's refresh."""
    from xid_app.ui.session import AnnotationSession

    demo_project.assignment.queue(wait=True)
    s = AnnotationSession(demo_project)
    logged_in(s, "q-walker")
    first = s.current.source.pk
    s.submit(no_host=True)
    s.seen.clear()  # only the database can tell now that it was answered
    s.advance()
    assert s.current.source.pk != first
    assert demo_project.assignment.progress(s.user_pk).done_by_user == 1

    with demo_project.session() as session, session.begin():
        session.add(Source(source_id="NEW-1", ra=150.0, dec=2.0))
    s.advance()
    assert s.current.source.source_id == "NEW-1"  # nobody has answered a new source yet
    assert demo_project.assignment.progress(s.user_pk).total == 20

    upcoming = demo_project.assignment.next_source(s.user_pk, exclude=s.seen, claim=False)
    with demo_project.session() as session, session.begin():
        session.execute(sa.delete(Source).where(Source.id == upcoming))
    s.advance()
    assert s.current is not None and s.current.source.pk != upcoming
