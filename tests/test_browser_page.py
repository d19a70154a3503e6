"""What a new user met on the annotation page (issue 15), checked in Debian's Chromium on the served demo."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.browser import (
    ARTIFACTS,
    PASSWORD,
    bokeh_model,
    browser_page,
    canvas_png,
    log_in,
    message,
    served_demo,
    skip_to,
    title,
    view_range,
    wait_for_source,
)
from xid_app.ui.viewer import NO_DATA_COLOUR

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with served_demo(tmp_path_factory.mktemp("demo-page")) as running:
        yield running


@pytest.fixture
def page():
    with browser_page(1400, 900) as p:
        yield p


def start(page, demo, name: str) -> str:
    url, project = demo
    project.set_user(name, password=PASSWORD, role="annotator")
    log_in(page, url, name, PASSWORD)
    return wait_for_source(page)






def until(check, timeout_s: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} never held"
        time.sleep(0.1)


def sky_at_view_centre(page) -> tuple[float, float]:
    """RA, Dec (deg) at the centre of the view, from the local pixel → sky map the page was sent."""
    x0, x1, y0, y1 = view_range(page)
    w = bokeh_model(page, "xid-readout-wcs", "Object.fromEntries(Object.entries(m.data).map(([k, v]) => [k, v[0]]))")
    dx, dy = (x0 + x1) / 2 - w["x0"], (y0 + y1) / 2 - w["y0"]
    xi, eta = np.radians((w["a"] * dx + w["b"] * dy) / 3600), np.radians((w["c"] * dx + w["d"] * dy) / 3600)
    ra0, dec0 = np.radians(w["ra0"]), np.radians(w["dec0"])
    den = np.cos(dec0) - eta * np.sin(dec0)
    return (float(np.degrees(ra0 + np.arctan2(xi, den))),
            float(np.degrees(np.arctan2(np.sin(dec0) + eta * np.cos(dec0), np.hypot(xi, den)))))


def test_faint_sky_is_grey_and_only_blank_pixels_take_the_no_data_colour(demo, page):
    start(page, demo, "sky-grey")
    skip_to(page, "ARG000307k")  # a FIRST image with no blank pixel
    pixels = canvas_png(page)
    navy = np.array([int(NO_DATA_COLOUR[i:i + 2], 16) for i in (1, 3, 5)], float)
    share = float(np.mean(np.abs(pixels - navy).sum(axis=2) < 12))
    page.screenshot(path=str(ARTIFACTS / "faint-sky.png"))
    assert share < 0.001, f"{share:.1%} of the image in the no-data colour"


def test_rendered_subjects_are_not_covered_in_noise_contours(demo, page):
    from playwright.sync_api import expect

    start(page, demo, "render-user")
    skip_to(page, "ARG000180p")
    expect(page.locator(".xid-details")).to_contain_text("display noise")
    lines = bokeh_model(page, "xid-contours", "m.data_source.data.x.filter(v => Number.isNaN(v)).length + 1")
    page.screenshot(path=str(ARTIFACTS / "rendered-subject.png"))
    assert lines < 100  # ~1,000 noise contours before


def test_north_east_arrows_and_scale_bar_stay_in_view_when_zoomed(demo, page):
    start(page, demo, "arrows-user")

    def labels_inside() -> bool:
        x0, x1, y0, y1 = view_range(page)
        data = bokeh_model(page, "xid-orientation-labels", "[m.data_source.data.x, m.data_source.data.y, m.data_source.data.text]")
        return all(x0 < x < x1 and y0 < y < y1 for x, y in zip(data[0], data[1])) and data[2][:2] == ["N", "E"]

    full = view_range(page)
    page.get_by_role("button", name="Zoom in").click()
    until(lambda: view_range(page)[1] - view_range(page)[0] < 0.6 * (full[1] - full[0]), what="zoomed in")
    until(labels_inside, what="N, E and the scale bar inside the zoomed view")
    page.keyboard.press("+")
    until(lambda: view_range(page)[1] - view_range(page)[0] < 0.3 * (full[1] - full[0]), what="zoomed in by key")
    until(labels_inside, what="N, E and the scale bar inside the view zoomed by key")
    box = page.locator("canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
    page.mouse.wheel(0, -300)
    until(labels_inside, what="N, E and the scale bar inside the view zoomed by the wheel")
    page.screenshot(path=str(ARTIFACTS / "zoomed-orientation.png"))


def test_switching_the_image_layer_keeps_the_same_patch_of_sky(demo, page):
    from playwright.sync_api import expect

    start(page, demo, "layer-user")  # J151227+454026: WISE W1 over FIRST, different grids
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_timeout(500)
    before = sky_at_view_centre(page)
    width_before = np.diff(view_range(page)[:2])[0] * bokeh_model(page, "xid-readout-wcs", "Math.hypot(m.data.a[0], m.data.c[0])")
    layer = page.locator("select").filter(has_text="(optical)")
    radio = [o for o in layer.locator("option").all_inner_texts() if o.endswith("(radio)")][0]
    layer.select_option(radio)
    expect(page.locator(".xid-details")).to_contain_text(f"Image: {radio.removesuffix(' (radio)')}")
    page.wait_for_timeout(500)
    after = sky_at_view_centre(page)
    width_after = np.diff(view_range(page)[:2])[0] * bokeh_model(page, "xid-readout-wcs", "Math.hypot(m.data.a[0], m.data.c[0])")
    moved = np.hypot((after[0] - before[0]) * np.cos(np.radians(before[1])), after[1] - before[1]) * 3600
    assert moved < 3.0, f"the view's centre moved {moved:.1f}″"
    assert width_after == pytest.approx(width_before, rel=0.05)




def test_back_to_a_no_host_answer_shows_it_and_next_keeps_it(demo, page):
    from playwright.sync_api import expect

    first = start(page, demo, "back-user")
    page.get_by_role("button", name="No host").click()
    expect(title(page)).not_to_have_text(first)
    page.get_by_role("button", name="◀ Back").click()
    expect(title(page)).to_have_text(first)
    expect(message(page)).to_contain_text("your answer: no host")
    expect(page.locator(".xid-marks")).to_contain_text("no host")
    page.get_by_role("button", name="Next ▶").click()
    expect(message(page)).to_contain_text(f"Kept your answer for {first} (unchanged)")


def test_a_reload_mid_answer_brings_back_the_source_marks_flags_and_comment(demo, page):
    from playwright.sync_api import expect

    url, _ = demo
    first = start(page, demo, "reload-user")
    box = page.locator("canvas").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.45)
    expect(message(page)).to_contain_text("Marked")
    page.get_by_role("button", name="Blend").click()
    page.get_by_placeholder("Comment (optional)").fill("two galaxies, left one brighter")
    page.get_by_placeholder("Comment (optional)").blur()
    page.wait_for_timeout(800)
    page.reload()
    assert wait_for_source(page) == first
    expect(message(page)).to_contain_text("Brought back your unsaved answer")
    expect(page.locator(".xid-marks")).to_contain_text("1")
    expect(page.get_by_placeholder("Comment (optional)")).to_have_value("two galaxies, left one brighter")
    page.get_by_role("button", name="Next ▶").click()
    expect(message(page)).to_contain_text(f"Saved your answer for {first}")


def test_messages_say_what_happened(demo, page):
    import sqlalchemy as sa
    from astropy.coordinates import SkyCoord
    from playwright.sync_api import expect

    from xid_app.store.models import Source

    first = start(page, demo, "messages-user")
    with demo[1].engine.connect() as conn:  # whichever source the queue gave this user
        ra, dec = conn.execute(sa.select(Source.ra, Source.dec).where(Source.source_id == first)).one()
    away = SkyCoord(228.1, -36, unit="deg").separation(SkyCoord(ra, dec, unit="deg")).deg  # tens of degrees
    box = page.get_by_placeholder("Catalogue ID, or RA Dec")
    box.fill("228.1 -36")
    page.get_by_role("button", name="GO").click()
    expect(message(page)).to_contain_text(f"{away:.1f}° from the source")
    assert box.input_value() == "228.1 -36"  # kept while on this source, to be corrected
    page.keyboard.press("Escape")
    page.keyboard.press("s")  # skip by key
    expect(message(page)).to_contain_text(f"Skipped {first}")
    expect(box).to_have_value("")  # not carried onto the next source
    second = title(page).inner_text()
    page.keyboard.press("b")  # back by key
    expect(message(page)).to_contain_text(f"Back to {first}")
    page.get_by_role("button", name="Randomiser").click()
    expect(message(page)).to_contain_text("A random source")
    assert second


def test_controls_that_can_do_nothing_say_why(demo, page):
    from playwright.sync_api import expect

    start(page, demo, "silent-user")  # J151227+454026: fixed FITS cutouts, no catalogue objects there
    page.locator(".xid-catalogue-on input").check()
    expect(message(page)).to_contain_text("No catalogue objects in this field")
    page.get_by_role("button", name="Too zoomed in").click()
    expect(message(page)).to_contain_text("fixed cutouts")


def test_no_page_fetches_anything_from_outside_the_server(demo, page):
    url, project = demo
    project.set_user("offline-admin", password=PASSWORD, role="admin")
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    log_in(page, url, "offline-admin", PASSWORD)
    page.wait_for_timeout(3000)
    page.goto(url + "/admin")
    page.wait_for_timeout(3000)
    page.goto(url + "/logout")
    page.wait_for_timeout(1000)
    outside = {u for u in asked if not u.startswith((url, "data:", "blob:"))}
    assert asked and not outside, outside


def test_the_expert_queue_is_a_pane_of_its_own_with_the_crowds_comments_and_gold_ticked_before_saving(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    flagged = start(page, demo, "commenter")
    page.get_by_role("button", name="Artefact").click()
    page.get_by_placeholder("Comment (optional)").fill("a sidelobe of the bright source to the north")
    page.get_by_placeholder("Comment (optional)").blur()
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Next ▶").click()
    expect(message(page)).to_contain_text(f"Saved your answer for {flagged}")
    page.goto(url + "/logout")
    page.get_by_role("button", name="Log out").click()

    project.set_user("decider", password=PASSWORD, role="admin")
    log_in(page, url, "decider", PASSWORD, path="/admin")
    page.locator(".bk-tab").filter(has_text="Expert queue").click()
    expect(page.locator(".xid-queue-table")).to_contain_text(flagged)
    assert page.get_by_text("find the host galaxy").count() == 0  # not the whole annotation page again
    assert not page.get_by_role("button", name="Skip").is_visible()
    assert not page.get_by_role("button", name="Randomiser").is_visible()
    assert not page.locator("canvas").first.is_visible()  # no blank black canvas before a source is open
    page.locator("select").filter(has_text=flagged).select_option(flagged)
    page.get_by_role("button", name="Open").click()
    expect(title(page)).to_contain_text(flagged)
    expect(page.locator(".xid-crowd-notes")).to_contain_text("a sidelobe of the bright source to the north")
    page.locator(".xid-gold-on input").check()  # before any expert answer: remembered, not refused
    expect(message(page)).to_contain_text("becomes gold once you save your answer")
    page.screenshot(path=str(ARTIFACTS / "expert-queue.png"))
    page.get_by_role("button", name="No host").click()
    expect(message(page)).to_contain_text("now gold")
    row = next(q for q in project.expert_queue() if q.source_id == flagged)
    assert row.decided and row.is_gold


def test_a_first_visit_opens_the_guide_with_worked_examples_and_the_guide_button_opens_it_again(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    project.set_user("newcomer", password=PASSWORD, role="annotator")
    log_in(page, url, "newcomer", PASSWORD)
    guide = page.locator(".xid-guide").first
    expect(guide).to_be_visible(timeout=30_000)
    for example in ("A compact source", "A double", "Two sources in one field", "No visible host"):
        expect(guide).to_contain_text(example)
    images = page.locator(".xid-guide-example img")
    assert images.count() == 4
    assert all(page.evaluate("(img) => img.naturalWidth", images.nth(i).element_handle()) > 0 for i in range(4))
    page.screenshot(path=str(ARTIFACTS / "guide.png"))
    page.keyboard.press("Escape")
    expect(guide).to_be_hidden()
    page.get_by_role("button", name="Guide").click()
    expect(guide).to_be_visible()


def test_the_survey_map_shows_every_source_by_state_and_a_click_opens_one_in_the_expert_view(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    project.set_user("surveyor", password=PASSWORD, role="admin")
    log_in(page, url, "surveyor", PASSWORD, path="/admin")
    page.locator(".bk-tab").filter(has_text="Survey").click()
    page.get_by_role("button", name="Draw the survey map").click()
    expect(page.locator(".xid-survey-summary")).to_contain_text("19 sources", timeout=30_000)
    canvas = page.locator(".xid-survey-plots canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "survey-dashboard.png"))
    page.locator(".xid-survey-colour").get_by_text("Answer confidence").click()  # the same map by how sure
    expect(page.get_by_text("calibrated probability that the answer is right")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "survey-dashboard-confidence.png"))
    page.locator(".xid-survey-colour").get_by_text("State").click()
    expect(page.get_by_text("calibrated probability that the answer is right")).to_be_hidden(timeout=30_000)
    canvas = page.locator(".xid-survey-plots canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1000)
    box = canvas.bounding_box()
    assert box["width"] > 300
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the nearest source opens
    expect(page.locator(".xid-title h3").first).not_to_have_text("Choose a source from the queue", timeout=20_000)
    table = project.survey.table()
    assert set(table["state"].astype(str)) <= {"unseen", "in progress", "retired", "flagged", "decided"}


def test_at_1400_by_900_the_image_uses_the_room_and_everything_to_answer_is_in_view(demo, page):
    start(page, demo, "layout-user")
    page.wait_for_timeout(1000)
    box = page.locator("canvas").first.bounding_box()
    assert box["width"] >= 700 and box["height"] >= 700, box  # was a 600 px image
    assert box["y"] < 80, box  # no empty band above the image
    for name in ("Next ▶", "No host", "◀ Back", "Guide"):
        button = page.get_by_role("button", name=name).bounding_box()
        assert button["y"] + button["height"] <= 900, name  # above the fold
    help_text = page.locator(".xid-help").first.bounding_box()
    assert help_text["y"] + help_text["height"] <= 900
