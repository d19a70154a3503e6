"""The admin's survey map on a survey-sized database, as the admin sees it in the browser:
``python docs/make_survey_map.py WORK`` writes ``docs/images/survey-map-4m.png``.

``WORK`` is a folder of ``benchmarks/bench_survey.py``'s files (``XID_BENCH_SURVEY_DIR``: ``sources.csv``,
``tiles/``, ``answers-0.csv``): the 4.1 million sources are ingested with the first 5 million answers into
``WORK/map.sqlite`` (kept for another run; any XID database of that survey put there is used as it is),
``xid serve`` runs on it, and Debian's Chromium, driven by
Playwright, logs in as an admin and draws the map at 1400×900. Prints how long the admin waited for it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from xid_app.config import Settings
from xid_app.ingest import MosaicSurvey
from xid_app.project import Project

OUT = Path(__file__).parent / "images" / "survey-map-4m.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ADMIN, PASSWORD = "surveyor", "survey-map-password"


def database(work: Path) -> str:
    url = f"sqlite:///{work / 'map.sqlite'}"
    if not (work / "map.sqlite").exists():
        project = Project(url, settings=Settings(data_dir=work / "map-data"))
        project.init()
        project.ingest(work / "sources.csv",
                       mosaics=[MosaicSurvey("radio", "LoTSS 144 MHz", str(work / "tiles" / "*.fits"))])
        project.import_annotations(work / "answers-0.csv")
    Project(url, settings=Settings(data_dir=work / "map-data")).set_user(ADMIN, password=PASSWORD, role="admin")
    return url


def main(work: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = database(work)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XID_DATABASE_URL": url, "XID_DATA_DIR": str(work / "map-data")}
    server = subprocess.Popen([sys.executable, "-m", "xid_app.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/liveness", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(base + "/admin")
            page.fill("input[name=username]", ADMIN)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]", no_wait_after=True)  # the admin page reads every user's progress
            page.locator(".bk-tab").filter(has_text="Survey").click(timeout=300_000)
            t = time.perf_counter()
            page.get_by_role("button", name="Draw the survey map").click()
            expect(page.locator(".xid-survey-summary")).to_contain_text("sources:", timeout=600_000)
            page.locator(".xid-survey-plots canvas").first.wait_for(state="visible", timeout=600_000)
            page.wait_for_load_state("networkidle")
            print(f"map drawn {time.perf_counter() - t:.1f} s after the click (the states included)")
            page.wait_for_timeout(2000)
            OUT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(OUT))
            print(f"wrote {OUT}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
