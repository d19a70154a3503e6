"""Helpers for the browser tests: serve XID in a subprocess and drive Debian's Chromium with Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("XID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "test-password"


def require_chromium() -> None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if IN_CI:
            pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run must install Debian's chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set XID_CHROMIUM)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(args: list[str], data_dir: Path, env: dict | None = None):
    """Run ``xid serve ARGS`` on a free port until /liveness answers; yield its base URL."""
    port = free_port()
    full_env = {**os.environ, "XID_DATA_DIR": str(data_dir), **(env or {})}
    log_path = data_dir / f"server-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "xid_app.cli", "serve", *args, "--port", str(port)],
                                env=full_env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/liveness", timeout=1)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("xid serve did not start:\n" + log_path.read_text())
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def browser_page(width: int = 1100, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def log_in(page, url: str, name: str, password: str, path: str = "/") -> None:
    page.goto(url + path)
    page.wait_for_selector("input[name=username]", timeout=20_000)
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def log_out(page, url: str) -> None:
    """Log out as a user does from a page without the Log out button in view: the logout page's button."""
    page.goto(url + "/logout")
    page.get_by_role("button", name="Log out").click()
    page.locator(".xid-logged-out").wait_for(timeout=20_000)


def wait_for_source(page) -> str:
    """Wait until the page shows a source (or says none is left); return its title."""
    from playwright.sync_api import expect

    title = page.locator(".xid-title h3").first
    expect(title).not_to_have_text("Enter your name to start", timeout=30_000)
    # the keyboard listener is a component of its own: wait until the browser has rendered it
    page.locator(".xid-keys").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(200)
    close_guide(page)
    return title.inner_text()


def close_guide(page) -> None:
    """A first visit opens the guide over the page: close it, as a user does, with Escape."""
    guide = page.locator(".xid-guide").first
    page.wait_for_timeout(300)
    if guide.count() and guide.is_visible():
        page.keyboard.press("Escape")
        guide.wait_for(state="hidden", timeout=10_000)


def canvas_box(page) -> dict:
    return page.locator("canvas").first.bounding_box()


def screen_point(page, px: float, py: float, shape: tuple[int, int]) -> tuple[float, float]:
    """Screen position of background pixel (px, py) in the whole-field view (canvas = frame)."""
    box = canvas_box(page)
    ny, nx = shape
    side = max(nx, ny)
    x0, y0 = (nx - side) / 2 - 0.5, (ny - side) / 2 - 0.5
    return (box["x"] + (px - x0) / side * box["width"], box["y"] + (1 - (py - y0) / side) * box["height"])


def canvas_png(page):
    """The view's canvas as an RGB array (after letting Bokeh paint)."""
    import io

    import numpy as np
    from PIL import Image

    page.wait_for_timeout(400)
    return np.asarray(Image.open(io.BytesIO(page.locator("canvas").first.screenshot())).convert("RGB"), dtype=float)


def same_picture(a, b) -> bool:
    """Equal up to the antialiasing Chromium varies between repaints (mean difference < 1 of 255)."""
    return a.shape == b.shape and float(abs(a - b).mean()) < 1.0


def bokeh_model(page, name: str, expression: str):
    """Evaluate ``expression`` on the browser's Bokeh model named ``name`` (as ``m``): the client's real state."""
    return page.evaluate(
        """([name, expression]) => {
            for (const doc of Bokeh.documents) {
                const m = doc.get_model_by_name(name);
                if (m) return eval(expression);
            }
            return null;
        }""",
        [name, expression],
    )


def view_range(page) -> tuple[float, float, float, float]:
    return tuple(bokeh_model(page, "xid-view", "[m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end]"))


def title(page):
    """The source name the page shows."""
    return page.locator(".xid-title h3").first


def message(page):
    """The page's message bar."""
    return page.locator(".xid-message").first


def skip_to(page, source_id: str) -> None:
    """Press Skip until the page shows ``source_id``."""
    from playwright.sync_api import expect

    for _ in range(30):
        shown = title(page).inner_text()
        if shown == source_id:
            return
        page.get_by_role("button", name="Skip").click()
        expect(title(page)).not_to_have_text(shown)
    raise AssertionError(f"never reached {source_id}")


@contextmanager
def served_demo(data_dir: Path):
    """``xid serve --demo`` with its own data directory: (base url, Project on its database)."""
    from xid_app.config import Settings
    from xid_app.project import Project

    require_chromium()
    with served(["--demo"], data_dir, env={"XID_DATABASE_URL": ""}) as url:
        yield url, Project(f"sqlite:///{data_dir / 'demo.sqlite'}", settings=Settings(data_dir=data_dir))
