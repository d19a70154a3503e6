"""Radio components on the real page (Debian's Chromium through Playwright): ellipses drawn, the target
pre-selected, a double grouped and its host marked with the keyboard alone, several sources in one field,
and the LoTSS source list over its mosaic."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, bokeh_model, browser_page, log_in, require_chromium, served, wait_for_source
from xid_app.config import Settings
from xid_app.project import Project
from xid_app.ui.viewer import ACTIVE_COMPONENT_COLOUR, GROUPED_COMPONENT_COLOUR

pytestmark = pytest.mark.browser
PASSWORD = "test-password"
DOCS = Path(__file__).parents[1] / "docs" / "images"


@pytest.fixture
def page():
    with browser_page(width=1400, height=900) as p:
        yield p


@pytest.fixture(scope="module")
def rgz_served(tmp_path_factory, rgz):
    """The RGZ subjects with their FIRST components and RGZ's islands, served; one annotator."""
    require_chromium()
    data_dir = tmp_path_factory.mktemp("components")
    url_db = f"sqlite:///{data_dir / 'rgz.sqlite'}"
    project = Project(url_db, settings=Settings(data_dir=data_dir))
    project.init()
    project.ingest(rgz["sources"])
    for table in (rgz["first"], rgz["islands"]):
        project.radio_sources.ingest(table)
    project.set_user("radio", password=PASSWORD)
    with served([], data_dir, env={"XID_DATABASE_URL": url_db}) as url:
        yield url, project


def skip_to(page, source_id: str) -> None:
    from playwright.sync_api import expect

    title = page.locator(".xid-title h3").first
    for _ in range(30):
        shown = title.inner_text()
        if shown == source_id:
            return
        page.keyboard.press("s")
        expect(title).not_to_have_text(shown)
    raise AssertionError(f"never reached {source_id}")


def test_group_a_double_and_mark_its_host_with_the_keyboard_alone(rgz_served, page):
    """ARG00032pj: two FIRST lobes; RGZ's consensus host J100108.87+100503.4. Keys only: g adds the other
    lobe to the pre-selected one, i and a typed position mark the host, n saves."""
    from playwright.sync_api import expect

    url, project = rgz_served
    log_in(page, url, "radio", PASSWORD)
    wait_for_source(page)
    skip_to(page, "ARG00032pj")
    summary = page.locator(".xid-marks").first
    expect(summary).to_contain_text("Source 1 ◀ marking: 1 component(s) J100108.7+100505")  # the target
    assert bokeh_model(page, "xid-components", "m.data_source.data.x.length") >= 2
    page.keyboard.press("g")
    expect(summary).to_contain_text("2 component(s) J100108.7+100505, J100110.3+100459")
    page.keyboard.press("i")
    page.keyboard.type("10:01:08.87 +10:05:03.4")
    page.keyboard.press("Enter")
    expect(summary).to_contain_text("host 150.28696, +10.08428")
    page.mouse.click(5, 5)  # leave the text box, as a user does before the next key
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "rgz-double-grouped.png"))
    page.keyboard.press("n")
    expect(page.locator(".xid-message").first).to_contain_text("Saved your answer for ARG00032pj")

    stored = _latest_answer(project, "ARG00032pj")
    assert stored.groups == (("J100108.7+100505", "J100110.3+100459"),)
    (mark,) = stored.marks
    assert mark.group == 0 and abs(mark.ra - 150.286958) < 1e-5 and abs(mark.dec - 10.084278) < 1e-5


def test_two_sources_in_one_field_and_a_component_cannot_be_in_both(rgz_served, page):
    """ARG00031w6 holds two sources (RGZ: a triple and a double). a starts the second source; a component
    already in the first cannot join it."""
    from playwright.sync_api import expect

    url, project = rgz_served
    log_in(page, url, "radio", PASSWORD)
    wait_for_source(page)
    skip_to(page, "ARG00031w6")
    summary = page.locator(".xid-marks").first
    page.keyboard.press("g")
    page.keyboard.press("g")
    expect(summary).to_contain_text("Source 1 ◀ marking: 3 component(s)")
    page.keyboard.press("a")
    expect(summary).to_contain_text("Source 2 ◀ marking: 0 component(s)")
    page.keyboard.press("g")
    page.keyboard.press("g")
    expect(summary).to_contain_text("Source 2 ◀ marking: 2 component(s)")
    colours = bokeh_model(page, "xid-components", "m.data_source.data.colour")
    assert {ACTIVE_COMPONENT_COLOUR, GROUPED_COMPONENT_COLOUR} <= set(colours)
    page.screenshot(path=str(ARTIFACTS / "rgz-two-sources.png"))
    page.keyboard.press("x")  # no host for either: saved with both groups
    expect(page.locator(".xid-message").first).to_contain_text("Saved 'no host' for ARG00031w6")
    stored = _latest_answer(project, "ARG00031w6")
    assert [len(g) for g in stored.groups] == [3, 2] and not set(stored.groups[0]) & set(stored.groups[1])


def _latest_answer(project: Project, source_id: str):
    import sqlalchemy as sa

    from xid_app.store.models import Classification, Source

    with project.engine.connect() as conn:
        source_pk, user_pk = conn.execute(
            sa.select(Source.id, Classification.user_pk).join(Classification).where(Source.source_id == source_id)
            .order_by(Classification.id.desc()).limit(1)).one()
    return project.answer(source_pk, user_pk=user_pk)


def test_lotss_source_list_over_its_mosaic_draws_component_ellipses(tmp_path, page, shared_data):
    """The real LoTSS DR1 source list ingested as components over the P205+55 mosaic tile: each field
    shows the PyBDSF ellipses around it; a three-component source grouped (docs/images/lotss-components.png)."""
    from playwright.sync_api import expect

    from xid_app.ingest import MosaicSurvey

    require_chromium()
    url_db = f"sqlite:///{tmp_path / 'lotss.sqlite'}"
    project = Project(url_db, settings=Settings(data_dir=tmp_path))
    project.init()
    srl = shared_data / "lotss_dr1" / "catalog_shimwell_reduced.srl.fits"
    mosaic = MosaicSurvey("radio", "LoTSS 144 MHz", str(shared_data / "lotss_dr1" / "P205+55-mosaic.fits"))
    project.ingest(srl, mosaics=[mosaic])
    project.radio_sources.ingest(srl)
    project.set_user("lofar", password=PASSWORD)
    with served([], tmp_path, env={"XID_DATABASE_URL": url_db}) as url:
        log_in(page, url, "lofar", PASSWORD)
        wait_for_source(page)
        # three PyBDSF sources within 45" of each other: a central one and two lobes
        skip_to(page, "ILTJ134033.75+545434.4")
        summary = page.locator(".xid-marks").first
        expect(summary).to_contain_text("Source 1 ◀ marking: 1 component(s) ILTJ134033.75+545434.4")
        page.keyboard.press("g")
        page.keyboard.press("g")
        expect(summary).to_contain_text("3 component(s)")
        assert bokeh_model(page, "xid-components", "m.data_source.data.colour").count(ACTIVE_COMPONENT_COLOUR) == 3
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "lotss-components.png"))
