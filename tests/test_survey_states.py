"""Every source's state for the admin's survey map, on the real Radio Galaxy Zoo answers: from the queue's
consensus when there is one (no second consensus), else read afresh."""

import time

import numpy as np
import sqlalchemy as sa

from xid_app.answers import Mark
from xid_app.store.classifications import save_classification
from xid_app.store.models import Source
from xid_app.store.users import get_or_create_user, set_user
from xid_app.survey import STATES, source_states


def test_states_put_a_decision_before_a_flag_before_retirement():
    states = source_states(np.array([0, 3, 9, 2, 2]), np.array([False, False, True, True, False]),
                           np.array([False, False, False, True, True]), np.array([False, False, False, False, True]))
    assert [STATES[s] for s in states] == ["unseen", "in progress", "retired", "flagged", "decided"]


def test_flags_and_expert_answers_show_and_the_queues_consensus_is_reused(project, rgz, monkeypatch):
    project.ingest(rgz["sources"])
    project.import_annotations(rgz["annotations"])
    with project.session() as session, session.begin():
        src = {s.source_id: s.id for s in session.scalars(sa.select(Source))}
        ann = get_or_create_user(session, name="ann")
        boss = set_user(session, name="boss", password="boss-password", role="admin")
        save_classification(session, submission_id="f1", user_pk=ann.id, source_pk=src["ARG000307k"], marks=[],
                            flags={"artefact"})
        save_classification(session, submission_id="e1", user_pk=boss.id, source_pk=src["ARG00030wk"],
                            marks=[Mark(150.0, 10.0)], origin="expert")
    table = project.survey.table()
    state = dict(zip(table["source_id"], table["state"].astype(str)))
    assert state["ARG000307k"] == "flagged" and state["ARG00030wk"] == "decided"
    assert len(table) == len(src) and table.attrs["as_of"] <= time.time()
    assert (table["answers"] > 0).sum() == 15 and table["level"].notna().sum() == 15

    read = []
    monkeypatch.setattr(project.survey, "_answers", lambda: read.append(1) or project._answers())
    project.assignment.queue(wait=True)  # the queue's consensus is kept for the map
    assert project.survey.table()["state"].equals(table["state"]) and read == []
    assert project.survey.table(max_age_s=-1) is not None and read == [1]  # too old: read afresh
