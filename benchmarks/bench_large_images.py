"""Large images do not stall other people's pages.

One annotator works on a source whose image is the largest XID reads whole (4096² gzipped FITS,
``XID_MAX_IMAGE_PIXELS``), changing its contours again and again: each change redraws the whole image.
Meanwhile a second annotator zooms, and /liveness is polled. Figures: the second annotator's zoom round trip and /liveness p50
during the large-image Nexts, as ratios to the same measured with nobody else working, in the same run.
Before page actions ran off the event loop, each such Next blocked every page for its whole duration.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import served  # noqa: E402
from tests.page_client import liveness_times, open_mode_page  # noqa: E402

SIDE = 4096


def _survey(folder: Path, n: int) -> Path:
    """``n`` sources, each with its own 4096² gzipped radio image (a smooth sky with sources on it)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    rng = np.random.default_rng(1)
    rows = ["source_id,ra,dec,radio_image"]
    y, x = np.mgrid[0:SIDE:8, 0:SIDE:8]
    for i in range(n):
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
        wcs.wcs.crval = [150.0 + i, 10.0]
        wcs.wcs.crpix = [SIDE / 2, SIDE / 2]
        wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
        coarse = np.exp(-((x - SIDE / 2) ** 2 + (y - SIDE / 2) ** 2) / 2e5).astype(np.float32)
        data = np.kron(coarse, np.ones((8, 8), np.float32)) + rng.integers(0, 4, (SIDE, SIDE)).astype(np.float32) / 1e3
        fits.PrimaryHDU(data, wcs.to_header()).writeto(folder / f"big{i}.fits.gz", overwrite=True)
        rows.append(f"BIG{i},{150.0 + i},10.0,big{i}.fits.gz")
    (folder / "sources.csv").write_text("\n".join(rows) + "\n")
    return folder / "sources.csv"


async def _zooms(url: str, seconds: float) -> list[float]:
    """A second annotator's zoom round trips (the page's own patch arriving), for ``seconds``."""
    page = await open_mode_page(url, "zoomer")
    times, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        before = page.patches
        t = time.perf_counter()
        await page.press("Zoom in")
        if await page.wait(lambda before=before: page.patches > before, 60):
            times.append(time.perf_counter() - t)
        await asyncio.sleep(0.05)
    page.close()
    return times


async def _stepper(url: str, stop: asyncio.Event) -> int:
    """An annotator working on a large source: every change of the lowest contour redraws its 4096² image
    with new contours (~0.3 s of work each; opening the source took ~1 s)."""
    page = await open_mode_page(url, "stepper")
    floor = page.find(title="Lowest contour (σ)")
    steps = 0
    while not stop.is_set():
        sigma = 2.0 + 0.5 * (steps % 17)
        await page.set(floor, "value", sigma)
        await page.wait(lambda sigma=sigma: f"from {sigma:g}σ" in page.text("xid-details"), 120)
        steps += 1
    page.close()
    return steps


async def _measure(url: str, seconds: float, busy: bool) -> tuple[list[float], list[float], int]:
    stop = asyncio.Event()
    stepper = asyncio.ensure_future(_stepper(url, stop)) if busy else None
    if busy:
        await asyncio.sleep(2.0)
    zooms, live = await asyncio.gather(_zooms(url, seconds), liveness_times(url, seconds))
    stop.set()
    steps = await stepper if stepper is not None else 0
    return zooms, live, steps


def run(quick: bool = False) -> list[dict]:
    from xid_app.config import Settings
    from xid_app.project import Project

    seconds = 6.0 if quick else 20.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url_db = f"sqlite:///{folder / 'big.sqlite'}"
        project = Project(url_db, settings=Settings(data_dir=folder))
        project.init()
        project.ingest(_survey(folder, 2))
        with served([], folder, env={"XID_DATABASE_URL": url_db}) as url:
            idle_zooms, idle_live, _ = asyncio.run(_measure(url, seconds, busy=False))
            zooms, live, steps = asyncio.run(_measure(url, seconds, busy=True))
    for label, busy, idle in (("another page's zoom round trip", zooms, idle_zooms),
                              ("/liveness", live, idle_live)):
        if not busy or not idle:
            raise RuntimeError(f"no {label} was measured: the server's log is in the temporary folder")
        p50, base = float(np.median(busy)) * 1e3, float(np.median(idle)) * 1e3
        rows.append(dict(name=f"{label} p50 while a 4096² image is redrawn", value=p50, unit="ms", baseline=base,
                         ratio=p50 / base, goal=f"p99 {np.percentile(busy, 99) * 1e3:.0f} ms; {steps} redraws "
                                                f"meanwhile; baseline: nobody else working"))
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
