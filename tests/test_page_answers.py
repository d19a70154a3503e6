"""The annotation page's answer naming, in-process (no browser, no server): an answer the browser made for
what it showed lands once, on that source, or not at all."""

import sqlalchemy as sa

from tests.conftest import logged_in
from xid_app.store.models import Classification
from xid_app.ui.annotate import AnnotationPage
from xid_app.ui.session import AnnotationSession


def _page(project, user: str) -> AnnotationPage:
    return AnnotationPage(logged_in(AnnotationSession(project), user, advance=False), ask_name=False)


def _browser_begins(page: AnnotationPage, answer_id: str) -> None:
    """What the page's JavaScript does when ``shown`` changes."""
    page.keys.answer_for = page.keys.shown
    page.keys.answer_id = answer_id


def _stored(project) -> list[tuple[str, int]]:
    with project.engine.connect() as conn:
        return conn.execute(sa.select(Classification.submission_id, Classification.source_pk)
                            .where(Classification.origin == "app").order_by(Classification.id)).all()


def test_an_answer_lands_once_on_the_source_it_was_made_for(demo_project):
    page = _page(demo_project, "page-user")
    first = page.session.current.source.pk
    _browser_begins(page, "a" * 32)
    page.press("no_host")
    page.press("no_host")  # a double click: the same id again
    assert _stored(demo_project) == [("a" * 32, first)]
    assert page.session.current.source.pk != first


def test_an_answer_meant_for_the_source_before_does_not_land_on_this_one(demo_project):
    """The browser asked to Skip, then answered the old source before the next one was drawn: its
    answer id was made for the old ``shown``, so the server refuses it instead of storing it here."""
    page = _page(demo_project, "hasty-user")
    _browser_begins(page, "b" * 32)
    page.press("skip")  # the browser has not yet heard of the new source
    skipped_to = page.session.current.source.pk
    page.press("no_host")
    assert _stored(demo_project) == []
    assert "the page changed before your answer arrived" in page.messages.html
    assert page.session.current.source.pk == skipped_to
    _browser_begins(page, "c" * 32)  # now it has: the answer lands
    page.press("no_host")
    assert _stored(demo_project) == [("c" * 32, skipped_to)]
