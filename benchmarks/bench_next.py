"""Keypress → new image drawn, in Debian's Chromium against a real `xid serve`, on the demo's images.

The figure is the time from the key event to the first animation frame after the image data changed, for
"x" (store "no host" and show the next source), with 0.8 s between presses as a person looking at the
image would leave (the page prepares the next source meanwhile). Baseline in the same run: "+" (zoom in:
the same server round trip and repaint, without a new source). Goal: p50 ≤ 150 ms, p95 ≤ 300 ms.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import browser_page, require_chromium, served  # noqa: E402
from xid_app.config import Settings  # noqa: E402
from xid_app.demo import DEMO_SOURCES  # noqa: E402
from xid_app.project import Project  # noqa: E402

_PRESS_AND_WAIT = """
async ([key, watch]) => {
  const doc = Bokeh.documents[0];
  const model = doc.get_model_by_name(watch[0]);
  const read = () => watch[1] === "image" ? model.data_source.data.image[0] : model.x_range.end;
  const before = read();
  const t0 = performance.now();
  document.dispatchEvent(new KeyboardEvent("keydown", { key: key, bubbles: true, composed: true }));
  return await new Promise((resolve, reject) => {
    const deadline = t0 + 10000;
    const check = () => {
      if (read() !== before) { requestAnimationFrame(() => resolve(performance.now() - t0)); return; }
      if (performance.now() > deadline) { reject(new Error("no repaint within 10 s")); return; }
      requestAnimationFrame(check);
    };
    check();
  });
}
"""


THINK_MS = 800


def _survey(directory: Path, n_sources: int) -> Path:
    """A source list of ``n_sources`` rows cycling through the demo's sources and images."""
    with open(DEMO_SOURCES) as f:
        rows = list(csv.DictReader(f))
    out = directory / "sources.csv"
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for i in range(n_sources):
            row = dict(rows[i % len(rows)])
            row["source_id"] = f"{row['source_id']}-{i:03d}"
            for column in ("radio_image", "optical_image"):
                if row[column]:
                    row[column] = str(DEMO_SOURCES.parent / row[column])
            writer.writerow(row)
    return out


def run(quick: bool = False) -> list[dict]:
    require_chromium()
    presses = 12 if quick else 60
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
        project = Project(url, settings=Settings(data_dir=tmp))
        project.init()
        project.ingest(_survey(tmp, presses + 10), image_roots=[DEMO_SOURCES.parent])
        with served(["--db", url], tmp) as base, browser_page() as page:
            page.goto(base)
            page.get_by_placeholder("who is annotating?").fill("bench")
            page.get_by_role("button", name="Start").click()
            page.wait_for_function("() => Bokeh.documents.length && "
                                   "Bokeh.documents[0].get_model_by_name('xid-image')", timeout=30_000)
            page.wait_for_timeout(1500)
            for _ in range(3):  # warm-up
                page.evaluate(_PRESS_AND_WAIT, ["x", ["xid-image", "image"]])
            nexts = []
            for _ in range(presses):
                page.wait_for_timeout(THINK_MS)
                nexts.append(page.evaluate(_PRESS_AND_WAIT, ["x", ["xid-image", "image"]]))
            zooms = []
            for _ in range(max(10, presses // 3)):
                zooms.append(page.evaluate(_PRESS_AND_WAIT, ["+", ["xid-view", "range"]]))
                page.evaluate(_PRESS_AND_WAIT, ["0", ["xid-view", "range"]])
    p50, p95 = np.percentile(nexts, [50, 95])
    z50 = float(np.percentile(zooms, 50))
    return [
        dict(name=f"keypress x (save, next source drawn), p50 of {presses}", value=float(p50), unit="ms",
             baseline=z50, ratio=float(p50) / z50, goal="≤ 150 ms; baseline: zoom-in round trip p50"),
        dict(name=f"keypress x (save, next source drawn), p95 of {presses}", value=float(p95), unit="ms",
             baseline=z50, ratio=float(p95) / z50, goal="≤ 300 ms"),
    ]
