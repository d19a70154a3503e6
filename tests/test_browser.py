"""The real thing: `xid serve --demo` in a subprocess, driven by Debian's Chromium through Playwright.

Every control and shortcut of the annotation page, login, roles, the admin page and gold feedback.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from astropy.table import Table

from tests.browser import (
    ARTIFACTS,
    PASSWORD,
    bokeh_model,
    browser_page,
    canvas_box,
    canvas_png,
    log_in,
    log_out,
    message,
    require_chromium,
    same_picture,
    screen_point,
    served,
    served_demo,
    skip_to,
    title,
    view_range,
    wait_for_source,
)
from xid_app.config import Settings
from xid_app.coords import celestial_wcs, pixel_scale_arcsec, pixel_to_sky
from xid_app.demo import DEMO_DIR
from xid_app.project import Project
from xid_app.store.models import Classification, HostMark, Source, User

pytestmark = pytest.mark.browser
WISE = DEMO_DIR / "first_wise/WISE_W1_J151227.2+454026.fits"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A served demo with its own data directory: (base url, Project on its database)."""
    with served_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


def new_user(project: Project, name: str, *, admin: bool = False) -> str:
    project.set_user(name, password=PASSWORD, role="admin" if admin else "annotator")
    return name


@pytest.fixture
def page():
    with browser_page() as p:
        yield p


def app_answers(project: Project, user: str):
    with project.engine.connect() as conn:
        return conn.execute(
            sa.select(Classification.id, Source.source_id, Classification.no_host, Classification.artefact,
                      Classification.comment, Classification.origin)
            .join(Source).join(User).where(User.name == user).order_by(Classification.id)
        ).all()


def marks_of(project: Project, classification_id: int):
    with project.engine.connect() as conn:
        return conn.execute(
            sa.select(HostMark.ra, HostMark.dec, HostMark.pixel_x, HostMark.pixel_y, HostMark.catalogue_id)
            .where(HostMark.classification_pk == classification_id)
        ).all()


def expect_range(page, check, timeout_s: float = 5.0):
    deadline = time.monotonic() + timeout_s
    while not check(view_range(page)):
        assert time.monotonic() < deadline, f"view range {view_range(page)} never passed the check"
        page.wait_for_timeout(100)


def expect_model(page, name, expression, value, timeout_s: float = 5.0):
    deadline = time.monotonic() + timeout_s
    while bokeh_model(page, name, expression) != value:
        assert time.monotonic() < deadline, f"{name}: {expression} stayed {bokeh_model(page, name, expression)!r}"
        page.wait_for_timeout(100)








# --- login and roles ------------------------------------------------------------------------------


def test_login_is_required_and_wrong_password_refused(demo, page):
    from playwright.sync_api import expect

    url, _ = demo
    page.goto(url + "/")
    expect(page.locator("input[name=username]")).to_be_visible(timeout=20_000)  # redirected to the login
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login.png"))
    log_in(page, url, "alice", "wrong-password")
    expect(page.locator(".error")).to_contain_text("Wrong user name or password")
    log_in(page, url, "alice", "alice-demo")
    wait_for_source(page)
    expect(page.locator(".xid-who")).to_contain_text("alice · annotator")


def test_annotator_cannot_open_admin_page_or_download(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    log_in(page, url, new_user(project, "roles-ann"), PASSWORD)
    wait_for_source(page)
    page.goto(url + "/admin")
    expect(page.locator("body")).to_contain_text("This page is for admins", timeout=10_000)
    body = page.content()  # the page is drawn (the refusal is on it): nothing else of the admin's is
    assert "Catalogue .fits" not in body and "Expert queue" not in body
    assert page.get_by_text("Catalogue .fits").count() == 0
    page.screenshot(path=str(ARTIFACTS / "admin-refused.png"))
    page.get_by_role("link", name="Back to the annotation page").click()  # a way back, not a dead end
    wait_for_source(page)


# --- marking hosts --------------------------------------------------------------------------------


def test_click_a_known_pixel_then_next_stores_its_sky_position(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    user = new_user(project, "click-user")
    log_in(page, url, user, PASSWORD)
    wait_for_source(page)
    skip_to(page, "J151227+454026")  # earlier tests' annotators were handed the first sources
    first = "J151227+454026"
    header = fits.getheader(WISE)
    wcs = celestial_wcs(header)
    px, py = 186.0, 182.0  # on the radio galaxy, in WISE W1 pixels
    page.mouse.click(*screen_point(page, px, py, (header["NAXIS2"], header["NAXIS1"])))
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 1")
    page.mouse.move(*screen_point(page, px, py, (header["NAXIS2"], header["NAXIS1"])))
    exp_ra, exp_dec = pixel_to_sky(wcs, px, py)
    expect(page.locator(".xid-readout")).to_contain_text(f"RA {float(exp_ra):.3f}")
    page.screenshot(path=str(ARTIFACTS / "annotate.png"))
    page.get_by_role("button", name="Next ▶").click()
    expect(title(page)).not_to_have_text(first, timeout=20_000)
    expect(message(page)).to_contain_text(f"Saved your answer for {first}")

    (cid, source_id, no_host, *_), = app_answers(project, user)
    (ra, dec, sx, sy, _), = marks_of(project, cid)
    assert source_id == first and not no_host
    offset_arcsec = np.hypot((ra - exp_ra) * np.cos(np.radians(dec)), dec - exp_dec) * 3600
    assert offset_arcsec < 0.5 * pixel_scale_arcsec(wcs)
    assert abs(sx - px) < 0.5 and abs(sy - py) < 0.5


def test_click_on_a_mark_removes_it_and_clear_marks(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    log_in(page, url, new_user(project, "remove-user"), PASSWORD)
    wait_for_source(page)
    box = page.locator("canvas").first.bounding_box()
    point = (box["x"] + 200, box["y"] + 250)
    page.mouse.click(*point)
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 1")
    page.wait_for_timeout(500)  # two clicks within Bokeh's double-tap time are one double tap
    page.mouse.click(box["x"] + 400, box["y"] + 100)
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 2")
    page.wait_for_timeout(500)
    page.mouse.click(*point)
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 1")
    page.get_by_role("button", name="Clear marks").click()
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 0")


def test_typed_match_id_position_and_bad_input(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    user = new_user(project, "typing-user")
    log_in(page, url, user, PASSWORD)
    shown = wait_for_source(page)
    with project.engine.connect() as conn:
        ra, dec = conn.execute(sa.select(Source.ra, Source.dec).where(Source.source_id == shown)).one()
    box = page.get_by_placeholder("Catalogue ID, or RA Dec")
    image_before = canvas_box(page)
    box.fill("not a position")
    page.get_by_role("button", name="GO").click()
    expect(message(page)).to_contain_text("cannot read 'not a position' as a position")
    assert canvas_box(page) == image_before, "a message must not move the image under the pointer"
    box.fill("10:03:08.6 +10:50:48")  # an RGZ host far from this field
    page.get_by_role("button", name="GO").click()
    expect(message(page)).to_contain_text("lies outside this field")
    box.fill(f"{ra + 0.002:.5f} {dec:+.5f}")
    box.press("Enter")
    expect(message(page)).to_contain_text(f"Marked the typed position at RA {ra + 0.002:.5f}")
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 1")


def test_typed_catalogue_id_and_snapping_on_an_rgz_source(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    user = new_user(project, "snap-user")
    log_in(page, url, user, PASSWORD)
    wait_for_source(page)
    # go to ARG000307k, whose host J100308.64+105048.6 is in the demo's AllWISE catalogue
    skip_to(page, "ARG000307k")
    box = page.get_by_placeholder("Catalogue ID, or RA Dec")
    box.fill("J100308.64+105048.6")
    box.press("Enter")
    expect(page.locator(".xid-marks")).to_contain_text("J100308.64+105048.6")
    page.get_by_role("button", name="Clear marks").click()
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 0")
    # a click 1.5" from the catalogue object snaps to it; the raw click is kept
    header = fits.getheader(DEMO_DIR / "rgz_first/52af80ff7aa69f059a001478.fits")
    wcs = celestial_wcs(header)
    from xid_app.coords import sky_to_pixel

    x, y = sky_to_pixel(wcs, 150.786 + 1.5 / 3600, 10.846833)
    page.mouse.click(*screen_point(page, float(x), float(y), (100, 100)))
    expect(page.locator(".xid-marks")).to_contain_text("J100308.64+105048.6")
    page.get_by_role("button", name="Next ▶").click()
    expect(message(page)).to_contain_text("Saved your answer for ARG000307k")
    cid = app_answers(project, user)[-1][0]
    (_, _, _, _, catalogue_id), = marks_of(project, cid)
    assert catalogue_id == "J100308.64+105048.6"


# --- navigation -----------------------------------------------------------------------------------


def test_no_host_back_skip_and_randomiser_buttons(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    user = new_user(project, "nav-user")
    log_in(page, url, user, PASSWORD)
    first = wait_for_source(page)
    page.get_by_role("button", name="No host").click()
    expect(message(page)).to_contain_text(f"Saved 'no host' for {first}")
    expect(title(page)).not_to_have_text(first)
    second = title(page).inner_text()
    page.get_by_role("button", name="Skip").click()
    expect(message(page)).to_contain_text(f"Skipped {second}")
    page.get_by_role("button", name="◀ Back").click()
    expect(title(page)).to_have_text(second)
    page.get_by_role("button", name="◀ Back").click()
    expect(title(page)).to_have_text(first)
    page.get_by_role("button", name="Randomiser").click()
    expect(title(page)).not_to_have_text(first)
    expect(page.locator(".xid-progress")).to_contain_text("1 of 19 done by you")
    answers = app_answers(project, user)
    assert [(a.source_id, a.no_host) for a in answers] == [(first, True)]


def test_back_shows_my_answer_and_a_change_is_a_new_revision(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    user = new_user(project, "revise-user")
    log_in(page, url, user, PASSWORD)
    first = wait_for_source(page)
    box = page.locator("canvas").first.bounding_box()
    page.mouse.click(box["x"] + 300, box["y"] + 300)
    page.get_by_placeholder("Comment (optional)").fill("<b>not bold</b> <script>alert(1)</script>")
    page.get_by_role("button", name="Next ▶").click()
    expect(message(page)).to_contain_text(f"Saved your answer for {first}")
    page.get_by_role("button", name="◀ Back").click()
    expect(title(page)).to_have_text(first)
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 1")
    expect(page.get_by_placeholder("Comment (optional)")).to_have_value("<b>not bold</b> <script>alert(1)</script>")
    page.get_by_role("button", name="No host").click()
    expect(message(page)).to_contain_text(f"Saved 'no host' for {first}")
    answers = app_answers(project, user)
    assert [(a.source_id, a.no_host) for a in answers] == [(first, False), (first, True)]
    assert answers[0].comment == "<b>not bold</b> <script>alert(1)</script>"


# --- keyboard --------------------------------------------------------------------------------------


def test_keyboard_shortcuts(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    user = new_user(project, "keys-user")
    log_in(page, url, user, PASSWORD)
    first = wait_for_source(page)
    page.keyboard.press("?")
    expect(page.get_by_text("Save the answer and go to the next source")).to_be_visible()
    page.wait_for_timeout(500)  # the modal fades in
    page.screenshot(path=str(ARTIFACTS / "help.png"))
    page.keyboard.press("Escape")
    page.keyboard.press("1")  # artefact
    expect(page.get_by_role("button", name="Artefact")).to_have_class(re.compile("active"))
    full = view_range(page)
    page.keyboard.press("+")
    expect_range(page, lambda r: r[1] - r[0] == pytest.approx((full[1] - full[0]) / 2))
    page.keyboard.press("=")
    expect_range(page, lambda r: r[1] - r[0] == pytest.approx((full[1] - full[0]) / 4))
    page.keyboard.press("z")  # zoom back, one step at a time
    expect_range(page, lambda r: r[1] - r[0] == pytest.approx((full[1] - full[0]) / 2))
    page.keyboard.press("-")
    expect_range(page, lambda r: r[1] - r[0] == pytest.approx(full[1] - full[0]))
    page.keyboard.press("-")
    expect(message(page)).to_contain_text("beyond this cutout")
    page.keyboard.press("0")
    expect_range(page, lambda r: r == pytest.approx(full))
    page.keyboard.press("k")  # contours off and on again
    expect_model(page, "xid-contours", "m.visible", False)
    page.keyboard.press("k")
    expect_model(page, "xid-contours", "m.visible", True)
    page.keyboard.press("o")  # catalogue objects on
    expect(page.locator(".xid-catalogue-on input")).to_be_checked()
    page.keyboard.press("o")
    details = page.locator(".xid-details")
    image_line = "Image: " + page.locator(".xid-details .xid-band").first.inner_text()
    page.keyboard.press("l")  # next layer (the radio image as background), and back
    expect(details).not_to_contain_text(image_line)
    page.keyboard.press("l")
    expect(details).to_contain_text(image_line)
    page.keyboard.press("n")  # only a flag: saved as an answer
    expect(message(page)).to_contain_text(f"Saved your answer for {first}")
    expect(title(page)).not_to_have_text(first)
    second = title(page).inner_text()
    page.keyboard.press("s")
    expect(message(page)).to_contain_text(f"Skipped {second}")
    expect(title(page)).not_to_have_text(second)
    third = title(page).inner_text()
    page.keyboard.press("x")
    expect(message(page)).to_contain_text(f"Saved 'no host' for {third}")
    page.keyboard.press("b")
    expect(title(page)).to_have_text(third)
    page.keyboard.press("r")
    expect(title(page)).not_to_have_text(third)
    page.keyboard.press("i")
    page.keyboard.type("n")  # typed into the ID box, not taken as Next
    expect(page.get_by_placeholder("Catalogue ID, or RA Dec")).to_have_value("n")
    answers = app_answers(project, user)
    assert [(a.source_id, a.no_host, a.artefact) for a in answers] == [(first, False, True), (third, True, False)]


# --- image controls --------------------------------------------------------------------------------


def test_image_and_contour_controls(demo, page):
    from playwright.sync_api import expect

    url, project = demo
    log_in(page, url, new_user(project, "controls-user"), PASSWORD)
    wait_for_source(page)
    base = canvas_png(page)
    page.get_by_role("button", name="log", exact=True).click()
    log_stretch = canvas_png(page)
    assert not same_picture(log_stretch, base)
    page.get_by_role("button", name="auto", exact=True).click()
    assert same_picture(canvas_png(page), base)
    page.locator("select").filter(has_text="zscale").select_option("99.5%")
    assert not same_picture(canvas_png(page), base)
    page.locator("select").filter(has_text="zscale").select_option("auto")
    assert same_picture(canvas_png(page), base)
    n_points = bokeh_model(page, "xid-contours", "m.data_source.data.x.length")
    page.locator("select").filter(has_text="√2").select_option("2")
    expect(page.locator(".xid-details")).to_contain_text("from 4σ")
    page.wait_for_timeout(500)
    assert bokeh_model(page, "xid-contours", "m.data_source.data.x.length") < n_points  # fewer levels
    page.locator("select").filter(has_text="√2").select_option("√2")
    page.get_by_role("slider").first.focus()  # lowest contour: keyboard steps of 0.5σ
    page.keyboard.press("ArrowRight")
    expect(page.locator(".xid-details")).to_contain_text("from 4.5σ")
    page.locator(".xid-contours-on input").uncheck()
    expect_model(page, "xid-contours", "m.visible", False)
    page.locator(".xid-contours-on input").check()
    expect_model(page, "xid-contours", "m.visible", True)
    page.get_by_role("slider").nth(1).focus()  # opacity
    page.keyboard.press("ArrowLeft")
    expect_model(page, "xid-contours", "m.glyph.line_alpha.value", 0.85)
    page.locator("input[type=color]").first.fill("#ff8800")
    expect_model(page, "xid-contours", "m.glyph.line_color.value", "#ff8800")
    full = view_range(page)
    page.get_by_role("button", name="Zoom in").click()
    expect_range(page, lambda r: r[1] - r[0] == pytest.approx((full[1] - full[0]) / 2))
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    expect_range(page, lambda r: r[1] - r[0] == pytest.approx(2 * (full[1] - full[0])))
    page.get_by_role("button", name="Zoom back").click()
    expect_range(page, lambda r: r[1] - r[0] == pytest.approx(full[1] - full[0]))
    page.get_by_role("button", name="Reset").click()
    expect_range(page, lambda r: r == pytest.approx(full))
    layer = page.locator("select").filter(has_text="(optical)")
    radio = [o for o in layer.locator("option").all_inner_texts() if o.endswith("(radio)")][0]
    layer.select_option(radio)
    expect(page.locator(".xid-details")).to_contain_text(f"Image: {radio.removesuffix(' (radio)')}")
    page.screenshot(path=str(ARTIFACTS / "radio-background.png"))


# --- admin, expert answers, gold --------------------------------------------------------------------


def test_admin_expert_queue_override_gold_and_download(demo, page, tmp_path):
    from playwright.sync_api import expect

    url, project = demo
    # an annotator flags a source as a blend
    annotator = new_user(project, "flagger")
    log_in(page, url, annotator, PASSWORD)
    flagged = wait_for_source(page)
    page.get_by_role("button", name="Blend").click()
    page.get_by_role("button", name="Next ▶").click()
    expect(message(page)).to_contain_text(f"Saved your answer for {flagged}")

    # the admin sees it in the expert queue, marks the host, and makes it gold
    log_out(page, url)
    admin = new_user(project, "boss", admin=True)
    log_in(page, url, admin, PASSWORD, path="/admin")
    expect(page.locator(".xid-summary")).to_contain_text("flagged source(s) in the expert queue", timeout=30_000)
    page.locator(".bk-tab").filter(has_text="Expert queue").click()
    expect(page.locator(".xid-queue-table")).to_contain_text(flagged)
    page.locator("select").filter(has_text=flagged).select_option(flagged)
    page.get_by_role("button", name="Open").click()
    expect(title(page)).to_contain_text(flagged)
    box = page.locator("canvas").first.bounding_box()
    page.mouse.click(box["x"] + 310, box["y"] + 290)
    page.screenshot(path=str(ARTIFACTS / "admin-expert.png"), full_page=True)
    page.get_by_role("button", name="Next ▶").click()
    expect(message(page)).to_contain_text(f"Saved your answer for {flagged}")
    page.locator("select").filter(has_text=flagged).select_option(flagged)
    page.get_by_role("button", name="Open").click()
    page.locator(".xid-gold-on input").check()
    expect(message(page)).to_contain_text(f"{flagged} is now gold")

    # the expert answer overrides consensus in the export, with who and when
    table = project.host_catalogue()
    row = table[table["source_id"] == flagged]
    assert list(row["answer"]) == ["expert"] and list(row["decided_by"]) == ["boss"]
    assert row["decided_at"][0].startswith("20")

    # download from the admin page
    page.locator(".bk-tab").filter(has_text="Export").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Catalogue .fits").click()
    path = tmp_path / "hosts.fits"
    info.value.save_as(path)
    downloaded = Table.read(path)
    assert "expert" in [a.decode() if isinstance(a, bytes) else a for a in downloaded["answer"]]
    page.locator(".bk-tab").filter(has_text="Agreement").click()
    page.get_by_role("button", name="Compute agreement").click()
    expect(page.locator(".xid-agreement-summary")).to_contain_text("Krippendorff's α", timeout=20_000)
    expect(page.locator(".xid-agreement-summary")).to_contain_text("Fleiss' κ")
    expect(page.locator(".xid-agreement-note")).to_contain_text("with fewer are left out")
    page.screenshot(path=str(ARTIFACTS / "admin-agreement.png"), full_page=True)
    page.locator(".bk-tab").filter(has_text="Progress").click()
    expect(page.locator(".xid-user-table")).to_contain_text("flagger")
    page.screenshot(path=str(ARTIFACTS / "admin.png"))

    # an annotator meets the gold source and is told how the answer compares
    log_out(page, url)
    log_in(page, url, new_user(project, "gold-meeter"), PASSWORD)
    wait_for_source(page)
    skip_to(page, flagged)
    page.get_by_role("button", name="No host").click()
    expect(message(page)).to_contain_text("Gold check: the expert marked 1 host(s); you marked none.")
    expect(message(page)).to_contain_text("green diamond")  # shown on the image, not in words alone
    expect_model(page, "xid-expert-hosts", "m.data_source.data.x.length", 1)
    page.screenshot(path=str(ARTIFACTS / "gold-feedback.png"))
    page.get_by_role("button", name="Next ▶").click()
    expect(title(page)).not_to_have_text(flagged)


def test_lotss_sources_cut_from_the_mosaic_and_a_wider_field(tmp_path, page, shared_data):
    """A project on the real LoTSS tile: the page draws fields cut from the mosaic with their contours;
    flagging "too zoomed in" cuts a field twice as wide."""
    from playwright.sync_api import expect

    from xid_app.ingest import MosaicSurvey

    require_chromium()
    url_db = f"sqlite:///{tmp_path / 'lotss.sqlite'}"
    project = Project(url_db, settings=Settings(data_dir=tmp_path))
    project.init()
    project.ingest(shared_data / "lotss_dr1/catalog_shimwell_reduced.srl.fits", mosaics=[
        MosaicSurvey("radio", "LoTSS 144 MHz", str(shared_data / "lotss_dr1/P205+55-mosaic.fits"))])
    user = new_user(project, "lofar-user")
    with served([], tmp_path, env={"XID_DATABASE_URL": url_db}) as url:
        log_in(page, url, user, PASSWORD)
        first = wait_for_source(page)
        assert first.startswith("ILTJ")
        expect(message(page)).not_to_contain_text("cannot display")
        side = bokeh_model(page, "xid-image", "m.data_source.data.dw[0]")
        assert side == 121  # 180" at 1.5"/px
        assert bokeh_model(page, "xid-contours", "m.data_source.data.x.length") > 0
        page.screenshot(path=str(ARTIFACTS / "lotss.png"))
        page.keyboard.press("3")  # flag: too zoomed in
        expect(message(page)).to_contain_text("Showing a field 2× as wide, cut from the mosaic")
        expect_model(page, "xid-image", "m.data_source.data.dw[0]", 241)
        page.screenshot(path=str(ARTIFACTS / "lotss-wider.png"))
        page.get_by_role("button", name="Next ▶").click()
        expect(title(page)).not_to_have_text(first, timeout=20_000)
        expect_model(page, "xid-image", "m.data_source.data.dw[0]", 121)  # the next source: the stored field
        (_, source_id, *_), = app_answers(project, user)
        assert source_id == first


def test_a_double_clicked_next_stores_once_under_the_browsers_id_and_advances_once(demo, page):
    """Every answer is named in the browser; a double click on Next (two click events carrying the same
    answer id) stores one classification under that id and moves on by one source."""

    url, project = demo
    # a gold source (an earlier test may have made one) stays on screen after Next to show the expert's
    # host: here every source is an ordinary one, so that the double click is the only thing tested
    with project.engine.connect() as conn:
        gold = conn.scalars(sa.select(Source.id).where(Source.is_gold)).all()
    for pk in gold:
        project.set_gold(pk, False)
    try:
        _double_click_next(page, url, project)
    finally:
        for pk in gold:
            project.set_gold(pk, True)


def _double_click_next(page, url: str, project: Project) -> None:
    from playwright.sync_api import expect

    user = new_user(project, "double-clicker")
    log_in(page, url, user, PASSWORD)
    first = wait_for_source(page)
    answer_id = page.evaluate("""() => {
        for (const doc of Bokeh.documents)
            for (const m of doc.all_models) if (m.data && m.data.answer_id !== undefined) return m.data.answer_id;
        return null; }""")
    assert answer_id and re.fullmatch(r"[0-9a-f]{32}", answer_id)
    box = canvas_box(page)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".xid-marks")).to_contain_text("Hosts marked: 1")
    page.get_by_role("button", name="Next ▶").dblclick()
    expect(title(page)).not_to_have_text(first, timeout=20_000)
    second = title(page).inner_text()
    # a page's actions run in order: once a later zoom is drawn, a second advance would have been drawn too
    before = view_range(page)
    page.get_by_role("button", name="Zoom in").click()
    expect_model(page, "xid-view", "m.x_range.end < " + repr(before[1]), True)
    assert title(page).inner_text() == second
    with project.engine.connect() as conn:
        stored = conn.execute(sa.select(Classification.submission_id).join(User).where(User.name == user)).all()
    assert stored == [(answer_id,)]
