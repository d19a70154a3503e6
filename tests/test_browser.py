"""The real thing: `xid serve --demo` in a subprocess, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits

from tests.conftest import IN_CI
from xid_app.coords import celestial_wcs, pixel_scale_arcsec, pixel_to_sky
from xid_app.demo import DEMO_DIR
from xid_app.store.models import Classification, HostMark

CHROMIUM = os.environ.get("XID_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A served demo on a free port with its own data directory; yields (url, database url)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if IN_CI:
            pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run must install Debian's chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set XID_CHROMIUM)")
    data_dir = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {**os.environ, "XID_DATA_DIR": str(data_dir)}
    env.pop("XID_DATABASE_URL", None)
    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "xid_app.cli", "serve", "--demo", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/liveness", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("xid serve --demo did not start:\n" + (data_dir / "server.log").read_text())
            time.sleep(0.3)
    yield url, f"sqlite:///{data_dir / 'demo.sqlite'}"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def page(demo_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 820})
        page.goto(demo_server[0])
        yield page
        browser.close()


def _sign_in(page, name) -> str:
    """Sign in; return the first source shown."""
    from playwright.sync_api import expect

    page.get_by_placeholder("who is annotating?").fill(name)
    page.get_by_role("button", name="Start").click()
    title = page.locator(".xid-title h3")
    expect(title).not_to_have_text("Enter your name to start", timeout=20_000)
    return title.inner_text()


def _screen_point(page, px: float, py: float, shape: tuple[int, int]):
    """Screen position of background pixel (px, py): the canvas is the frame, ranges span the image."""
    box = page.locator(".bk-Canvas canvas, canvas").first.bounding_box()
    ny, nx = shape
    return box["x"] + (px + 0.5) / nx * box["width"], box["y"] + (1 - (py + 0.5) / ny) * box["height"]


def test_click_a_known_pixel_then_next_stores_its_sky_position(page, demo_server):
    from playwright.sync_api import expect

    assert _sign_in(page, "browser-alice") == "J151227+454026"  # unclassified sources first
    header = fits.getheader(DEMO_DIR / "first_wise/WISE_W1_J151227.2+454026.fits")
    wcs = celestial_wcs(header)
    px, py = 186.0, 182.0  # on the radio galaxy, in WISE W1 pixels
    page.mouse.click(*_screen_point(page, px, py, (header["NAXIS2"], header["NAXIS1"])))
    expect(page.locator(".xid-details")).to_contain_text("Hosts marked: 1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "annotate.png"))
    page.get_by_role("button", name="Next ▶").click()
    expect(page.locator(".xid-title h3")).not_to_have_text("J151227+454026", timeout=20_000)
    expect(page.locator(".xid-message")).to_contain_text("Saved your answer for J151227+454026")

    engine = sa.create_engine(demo_server[1])
    with engine.connect() as conn:
        marks = conn.execute(
            sa.select(HostMark.ra, HostMark.dec, HostMark.pixel_x, HostMark.pixel_y)
            .join(Classification).where(Classification.origin == "app")
        ).all()
    engine.dispose()
    assert len(marks) == 1
    ra, dec, sx, sy = marks[0]
    exp_ra, exp_dec = pixel_to_sky(wcs, px, py)
    offset_arcsec = np.hypot((ra - exp_ra) * np.cos(np.radians(dec)), dec - exp_dec) * 3600
    assert offset_arcsec < 0.5 * pixel_scale_arcsec(wcs)
    assert abs(sx - px) < 0.5 and abs(sy - py) < 0.5


def test_no_host_back_and_randomiser_buttons(page, demo_server):
    from playwright.sync_api import expect

    first = _sign_in(page, "browser-bob")
    title = page.locator(".xid-title h3")
    page.get_by_role("button", name="No host").click()
    expect(page.locator(".xid-message")).to_contain_text(f"Saved 'no host' for {first}")
    expect(title).not_to_have_text(first)
    page.get_by_role("button", name="◀ Back").click()
    expect(title).to_have_text(first)
    page.get_by_role("button", name="Randomiser").click()
    expect(title).not_to_have_text(first)
    expect(page.locator(".xid-progress")).to_contain_text("1 of 19 sources done")
