"""The annotation walk without a browser: queue, marks, submissions, Back and revisions."""

import numpy as np
import pytest
import sqlalchemy as sa

from tests.conftest import logged_in
from xid_app.coords import pixel_to_sky
from xid_app.project import Project
from xid_app.store.classifications import expert_queue, latest_answer
from xid_app.store.models import Classification, HostMark, Source
from xid_app.store.sources import set_gold
from xid_app.ui.errors import SessionError
from xid_app.ui.session import AnnotationSession


def stored(project):
    with project.engine.connect() as conn:
        app = conn.execute(
            sa.select(Classification.id, Classification.source_pk, Classification.no_host)
            .where(Classification.origin == "app").order_by(Classification.id)
        ).all()
        marks = conn.execute(
            sa.select(HostMark.classification_pk, HostMark.ra, HostMark.dec, HostMark.pixel_x, HostMark.pixel_y,
                      HostMark.layer_pk)
            .join(Classification).where(Classification.origin == "app")
        ).all()
    return app, marks


def test_must_log_in_first_and_cannot_sign_in_by_name_where_logins_exist(demo_project):
    s = AnnotationSession(demo_project)
    with pytest.raises(SessionError, match="log in or enter your name first"):
        s.advance()
    # the demo has users with passwords: the user comes from a login alone, never from a typed name
    for name in ("alice", "rgz-volunteer-made-up", "admin"):
        with pytest.raises(SessionError, match="needs a login"):
            s.sign_in(name)
    assert s.user_pk is None


def test_open_mode_signs_in_by_a_typed_name(tmp_path, settings):
    from xid_app.demo import DEMO_SOURCES
    from xid_app.project import Project

    project = Project(f"sqlite:///{tmp_path / 'open.sqlite'}", settings=settings)
    project.init()
    project.ingest(DEMO_SOURCES)
    s = AnnotationSession(project)
    with pytest.raises(SessionError, match="printable"):
        s.sign_in("   ")
    s.sign_in("ann")
    assert s.user_name == "ann" and s.current is not None


def test_logging_out_stops_an_open_session_at_its_next_action(demo_project):
    s = logged_in(AnnotationSession(demo_project), "leaver")
    s.click(170.0, 180.0)
    assert demo_project.end_logins("leaver") == 1  # `xid users logout leaver`, or the Log out button
    with pytest.raises(SessionError, match="logged out"):
        s.submit()
    with pytest.raises(SessionError, match="log in or enter your name"):
        s.advance()
    assert stored(demo_project) == ([], [])


def test_click_is_stored_as_sky_position_with_pixel_and_layer(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "ann")
    first = s.current
    assert first.source.source_id == "J151227+454026"  # unclassified sources come first
    s.click(170.0, 180.0)
    assert s.submit()
    (cid, source_pk, no_host), = stored(demo_project)[0]
    (_, ra, dec, px, py, layer_pk), = stored(demo_project)[1]
    assert source_pk == first.source.pk and not no_host
    assert (px, py, layer_pk) == (170.0, 180.0, first.background_layer_pk)
    exp_ra, exp_dec = pixel_to_sky(first.view.wcs, 170.0, 180.0)
    assert (ra, dec) == pytest.approx((float(exp_ra), float(exp_dec)), abs=1e-10)


def test_replayed_submission_lands_once(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "ann")
    s.click(100.0, 100.0)
    s.submit()
    s.loaded_answer = ()  # as if the page had lost track and sent the same submission again
    s.submit()
    assert len(stored(demo_project)[0]) == 1


def test_an_answer_id_reused_by_someone_else_is_refused_not_swallowed(demo_project):
    """A reused answer id is a replay only for the same user and source: another user's answer under it
    is refused (and can be given again under a new id), never silently dropped."""
    first = AnnotationSession(demo_project)
    logged_in(first, "ann")
    first.click(100.0, 100.0)
    first.submission_id = "chosen-by-a-browser"
    first.submit()
    other = AnnotationSession(demo_project)
    logged_in(other, "eve")
    other.show(first.current.source.pk)
    other.click(120.0, 90.0)
    other.submission_id = "chosen-by-a-browser"
    with pytest.raises(SessionError, match="already used for another answer"):
        other.submit()
    other.submission_id = "a-fresh-id"
    assert other.submit()


def test_click_on_a_mark_removes_it_and_off_image_is_refused(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "ann")
    s.click(100.0, 100.0)
    s.click(200.0, 50.0)
    s.click(100.4, 99.8, pick_radius_px=1.0)
    assert len(s.marks) == 1
    with pytest.raises(SessionError, match="click on the image"):
        s.click(-5.0, 10.0)


def test_next_queue_never_repeats_and_back_makes_a_revision(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "bob")
    shown = []
    while s.current is not None:
        shown.append(s.current.source.pk)
        s.click(20.0, 20.0)
        s.submit()
        s.advance()
    assert len(shown) == len(set(shown)) == 19
    s.back()
    assert s.current.source.pk == shown[-1] and len(s.marks) == 1  # my earlier answer is shown
    assert not s.submit()  # unchanged: no new revision
    s.marks.clear()
    assert s.submit(no_host=True)
    app, _ = stored(demo_project)
    revisions = [row for row in app if row.source_pk == shown[-1]]
    assert [r.no_host for r in revisions] == [False, True]  # history kept, latest last
    with demo_project.session() as session:
        assert latest_answer(session, user_pk=s.user_pk, source_pk=shown[-1]).no_host


def test_randomiser_picks_only_undone_sources(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "carol")
    done = s.current.source.pk
    s.submit(no_host=True)
    for _ in range(10):
        s.randomise()
        assert s.current.source.pk != done


def test_source_with_a_missing_image_shows_a_notice(demo_project, tmp_path):
    with demo_project.engine.begin() as conn:
        conn.execute(sa.text("UPDATE layers SET path = :p WHERE source_pk = 1 AND kind = 'optical'"),
                     {"p": str(tmp_path / "gone.fits")})
    s = AnnotationSession(demo_project)
    logged_in(s, "dave")
    assert s.current.source.pk == 1
    assert "cannot display layer WISE W1" in s.current.problems[0]
    assert s.current.view.background_band == "FIRST 1.4 GHz"  # the radio layer still shows


def _go_to(session, source_id):
    while session.current.source.source_id != source_id:
        session.skip()


def test_typed_ids_positions_and_snapping(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "typist")
    _go_to(s, "ARG000307k")
    mark = s.match("J100308.64+105048.6")  # an AllWISE ID of the demo catalogue
    assert mark.catalogue_id == "J100308.64+105048.6" and mark.ra == pytest.approx(150.786, abs=1e-5)
    mark = s.match("10:03:08.65 +10:50:48.7")  # sexagesimal, within the snap radius of that object
    assert mark.catalogue_id == "J100308.64+105048.6"
    with pytest.raises(SessionError, match="lies outside this field"):
        s.match("0 0")
    with pytest.raises(SessionError, match="not an ID of the catalogue"):
        s.match("J999")
    s.clear_marks()
    from xid_app.coords import sky_to_pixel

    x, y = sky_to_pixel(s.current.view.wcs, 150.786 + 1 / 3600, 10.846833)
    snapped = s.click(float(x), float(y))
    assert snapped.catalogue_id == "J100308.64+105048.6"
    assert snapped.click_ra == pytest.approx(150.786 + 1 / 3600 / np.cos(np.radians(10.85)), abs=2e-4)


def test_the_page_is_not_held_up_while_the_catalogue_loads(demo_project):
    """The server builds the catalogue index at start (seconds for ten million objects); meanwhile a
    click is stored unsnapped and a typed ID is asked for again, instead of the page waiting."""
    from xid_app.coords import sky_to_pixel

    s = AnnotationSession(demo_project)
    logged_in(s, "early-bird")
    _go_to(s, "ARG000307k")
    x, y = sky_to_pixel(s.current.view.wcs, 150.786 + 1 / 3600, 10.846833)
    with demo_project.building_optical_catalogue():  # as while the server builds it at start
        raw = s.click(float(x), float(y))
        with pytest.raises(SessionError, match="catalogue is still loading"):
            s.match("J100308.64+105048.6")
    assert raw.catalogue_id is None and raw.ra == pytest.approx(150.786 + 1 / 3600 / np.cos(np.radians(10.85)),
                                                                 abs=2e-4)
    assert s.match("J100308.64+105048.6").catalogue_id == "J100308.64+105048.6"


def test_flags_and_comment_are_an_answer(demo_project):
    s = AnnotationSession(demo_project)
    logged_in(s, "flagger")
    s.toggle_flag("artefact")
    s.set_comment("<i>double-lobed, core missing</i>")
    assert s.submit()
    with demo_project.session() as session:
        answer = latest_answer(session, user_pk=s.user_pk, source_pk=s.current.source.pk)
        assert answer.artefact and not answer.no_host and answer.comment == "<i>double-lobed, core missing</i>"
        assert [q.source_id for q in expert_queue(session)] == [s.current.source.source_id]
    with pytest.raises(SessionError, match="unknown flag"):
        s.toggle_flag("boring")


def test_expert_answer_overrides_consensus_and_gold_feedback(demo_project):
    crowd = AnnotationSession(demo_project)
    logged_in(crowd, "crowd")
    _go_to(crowd, "ARG000307k")
    source_pk = crowd.current.source.pk
    crowd.toggle_flag("blend")
    crowd.submit()

    expert = AnnotationSession(demo_project, expert=True)
    logged_in(expert, "admin", role="admin")
    expert.advance()  # the expert queue: the flagged source
    assert expert.current.source.pk == source_pk
    expert.match("J100308.64+105048.6")
    assert expert.submit()
    with demo_project.session() as session, session.begin():
        set_gold(session, source_pk=source_pk, gold=True)

    table = demo_project.host_catalogue()
    row = table[table["source_id"] == "ARG000307k"]
    assert list(row["answer"]) == ["expert"] and list(row["decided_by"]) == ["admin"]
    assert row["host_ra"][0] == pytest.approx(150.786, abs=1e-5)

    student = AnnotationSession(demo_project)
    logged_in(student, "student")
    _go_to(student, "ARG000307k")
    student.match("10:03:08.6 +10:50:48.5")
    student.submit()
    assert student.gold_feedback().startswith("Gold check: you found 1 of the expert's 1 host(s)")


def test_gold_sources_come_now_and_then(demo_project):
    with demo_project.session() as session, session.begin():
        gold_pk = session.scalar(sa.select(sa.func.max(Classification.source_pk)))
        set_gold(session, source_pk=gold_pk, gold=True)
    project = Project(demo_project.url, settings=demo_project.settings.model_copy(update=dict(gold_every=3)))
    s = AnnotationSession(project)
    logged_in(s, "learner")
    shown = [s.current.source.pk]
    for _ in range(3):
        s.skip()
        shown.append(s.current.source.pk)
    assert gold_pk in shown[:4]


def test_retired_sources_leave_the_queue(db_url, settings):
    from xid_app.demo import DEMO_ANNOTATIONS, DEMO_SOURCES
    from xid_app.project import Project

    project = Project(db_url, settings=settings)  # real retirement settings
    project.init()
    project.ingest(DEMO_SOURCES)
    project.import_annotations(DEMO_ANNOTATIONS)
    gone = project.assignment.retired_sources(wait=True)
    with project.session() as session:
        ids = dict(session.execute(sa.select(Source.id, Source.source_id)).all())
    assert {ids[pk] for pk in gone} >= {"ARG00030wk", "ARG00031w6"}  # 5 of 5 agree; 20 answers
    s = AnnotationSession(project)
    logged_in(s, "late-comer")
    shown = set()
    while s.current is not None:
        shown.add(s.current.source.pk)
        s.skip()
    assert shown.isdisjoint(gone) and len(shown) == 19 - len(gone)
