"""A LoTSS-DR2-sized survey on one machine: 4.1 million sources on 841 mosaic tiles, 20 million answers,
the queue, consensus and `xid export`, on SQLite and on PostgreSQL.

Each stage runs in its own process so that its peak memory (``ru_maxrss``) is its own; the stages are
the commands a team runs: ``xid ingest`` (positions, sizes, a mosaic layer per source), ``xid
import-annotations`` (the answers, in four files of 5 million as a team would bring them), the queue
(the first Next after a start, which builds the in-memory queue, then a Next), ``xid export`` (the
consensus over every source and the FITS host catalogue) and the admin's survey map (every source's
state read, the map drawn, a pan). Baseline in the same run: ``pandas.read_csv``
of the answers' files (what reading them costs at all). Goal (issue 16): consensus + export ≤ 60 s,
memory well within the machine's 24 GiB.

Sizes: ``--quick`` is 1/40 of the survey (102,500 sources, 500,000 answers). Run alone on an idle
machine: ``python benchmarks/run.py survey`` (about half an hour in full).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from bench_load import fresh_postgres  # noqa: E402

SOURCES, ANSWERS, TILES = 4_100_000, 20_000_000, 841
PARTS = 4


def make_tiles(folder: Path, n_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_tiles`` small mosaic tiles (2.5° at 36″ a pixel) on a grid over the northern sky, as LoTSS'
    pointings are; returns their centres."""
    from astropy.io import fits
    from astropy.wcs import WCS

    folder.mkdir(parents=True, exist_ok=True)
    centres = []
    dec = 30.0
    while len(centres) < n_tiles:
        step = 2.2 / np.cos(np.radians(dec))
        centres += [(ra, dec) for ra in np.arange(110, 260, step)]
        dec += 2.2
    centres = np.array(centres[:n_tiles])
    data = np.ones((250, 250), np.float32)
    for k, (ra, dec) in enumerate(centres):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
        w.wcs.crval = [ra, dec]
        w.wcs.crpix = [125.5, 125.5]
        w.wcs.cdelt = [-0.01, 0.01]
        fits.writeto(folder / f"P{k:03d}-mosaic.fits", data, w.to_header(), overwrite=True)
    return centres[:, 0], centres[:, 1]


def make_sources(path: Path, n: int, tile_ra: np.ndarray, tile_dec: np.ndarray, seed: int = 0) -> None:
    """``n`` sources spread over the tiles, with angular sizes like LoTSS' (most compact, a tail of
    extended ones)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(tile_ra), n)
    dec = tile_dec[k] + rng.uniform(-1.1, 1.1, n)
    ra = (tile_ra[k] + rng.uniform(-1.1, 1.1, n) / np.cos(np.radians(dec))) % 360
    size = np.where(rng.random(n) < 0.9, rng.uniform(5, 15, n), rng.lognormal(3.5, 0.7, n))
    pd.DataFrame(dict(source_id=np.char.add("ILTJ", np.arange(n).astype(str)), ra=ra.round(6), dec=dec.round(6),
                      LAS=size.round(1))).to_csv(path, index=False)


def make_answers(folder: Path, n_sources: int, n_answers: int, parts: int, seed: int = 1) -> list[Path]:
    """Interchange files of ``n_answers`` classifications over the sources (five per source on
    average), by 20,000 annotators; a fifth "no host", the others a click near the source."""
    import pandas as pd

    paths = []
    rng = np.random.default_rng(seed)
    per = n_answers // parts
    for p in range(parts):
        source = rng.integers(0, n_sources, per)
        no_host = rng.random(per) < 0.2
        cid = np.arange(p * per, (p + 1) * per)
        frame = pd.DataFrame(dict(classification_id=np.char.add("c", cid.astype(str)),
                                  source_id=np.char.add("ILTJ", source.astype(str)),
                                  user=np.char.add("a", rng.integers(0, 20_000, per).astype(str)),
                                  host_ra=np.where(no_host, np.nan, 0.0), host_dec=np.where(no_host, np.nan, 0.0),
                                  no_host=no_host.astype(int)))
        paths.append(folder / f"answers-{p}.csv")
        frame.to_csv(paths[-1], index=False)
    return paths


def place_clicks(paths: list[Path], sources: Path) -> None:
    """Put each click within a few arcsec of its source (done after drawing, from the source list)."""
    import pandas as pd

    table = pd.read_csv(sources)
    position = pd.Series(np.arange(len(table)), index=table.source_id)
    rng = np.random.default_rng(2)
    for path in paths:
        frame = pd.read_csv(path, keep_default_na=False, dtype={"host_ra": str, "host_dec": str})
        at = position[frame.source_id].to_numpy()
        clicked = frame.no_host.to_numpy() == 0
        dec = table.dec.to_numpy()[at] + rng.normal(0, 2 / 3600, len(at))
        ra = table.ra.to_numpy()[at] + rng.normal(0, 2 / 3600, len(at)) / np.cos(np.radians(dec))
        frame["host_ra"] = np.where(clicked, np.char.mod("%.6f", ra % 360), "")
        frame["host_dec"] = np.where(clicked, np.char.mod("%.6f", dec), "")
        frame.to_csv(path, index=False)


STAGE = r'''
import json, resource, sys, time
from pathlib import Path
stage, url, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
from xid_app.config import Settings
from xid_app.ingest import MosaicSurvey
from xid_app.project import Project
p = Project(url, settings=Settings(data_dir=work))
t = time.perf_counter()
extra = {}
if stage == "ingest":
    p.init()
    report = p.ingest(work / "sources.csv", mosaics=[MosaicSurvey("radio", "LoTSS 144 MHz", str(work / "tiles" / "*.fits"))])
    extra = dict(added=report.added, outside=report.outside)
elif stage.startswith("import"):
    report = p.import_annotations(work / f"answers-{stage[6:]}.csv")
    extra = dict(added=report.classifications_added, rejected=len(report.rejected))
elif stage == "queue":
    import numpy as np
    user = 1  # an annotator the import created
    first = p.assignment.next_source(user, exclude=set())  # before the queue is ready: the database, asked
    extra["first_s"] = time.perf_counter() - t
    t2 = time.perf_counter()
    p.assignment.queue(wait=True)
    extra["build_s"] = time.perf_counter() - t2
    times, seen = [], {first}
    for _ in range(50):
        t2 = time.perf_counter()
        seen.add(p.assignment.next_source(user, exclude=seen))
        times.append(time.perf_counter() - t2)
    extra["next_ms"] = float(np.median(times)) * 1e3
elif stage == "dashboard":  # the admin's survey map (issue 15), from the database
    import holoviews as hv
    from bokeh.embed import json_item
    from xid_app.ui.dashboard import survey_layout
    p.assignment.queue(wait=True)  # a server makes the queue anyway; the map takes its consensus
    extra["queue_s"] = time.perf_counter() - t
    t2 = time.perf_counter()
    table = p.survey.table()
    extra["table_s"] = time.perf_counter() - t2
    t2 = time.perf_counter()
    layout = survey_layout(table)
    json_item(hv.renderer("bokeh").get_plot(layout).state)
    extra["first_draw_s"] = time.perf_counter() - t2
    t2 = time.perf_counter()
    for element in layout:
        element.event(x_range=(150.0, 170.0), y_range=(40.0, 50.0))
    extra["pan_s"] = time.perf_counter() - t2
elif stage == "export":
    table = p.export(work / "hosts.fits")
    extra = dict(rows=len(table))
seconds = time.perf_counter() - t
print(json.dumps(dict(seconds=seconds, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra)))
'''


def stage(name: str, url: str, work: Path) -> dict:
    script = work / "stage.py"
    script.write_text(STAGE)
    out = subprocess.run([sys.executable, str(script), name, url, str(work)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"stage {name} failed:\n{out.stderr[-3000:]}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"    {name}: {figures}", flush=True)
    return figures


def _stages(db: str, url: str, work: Path, n_sources: int, n_tiles: int, n_answers: int, read_s: float
            ) -> list[dict]:
    ingest = stage("ingest", url, work)
    imports = [stage(f"import{p}", url, work) for p in range(PARTS)]
    queue = stage("queue", url, work)
    export = stage("export", url, work)
    dashboard = stage("dashboard", url, work)
    imported = sum(f["seconds"] for f in imports)
    return [
        dict(name=f"{db}: ingest {n_sources:,} sources on {n_tiles} tiles", value=ingest["seconds"], unit="s",
             baseline=ingest["peak_mb"], ratio=n_sources / ingest["seconds"], goal="baseline: peak MB; ratio: sources/s"),
        dict(name=f"{db}: import {n_answers:,} answers ({PARTS} files)", value=imported, unit="s",
             baseline=read_s, ratio=imported / read_s,
             goal=f"baseline: read_csv of the files; peak {max(f['peak_mb'] for f in imports):.0f} MB; "
                  f"{n_answers / imported:,.0f} answers/s; per file: "
                  + ", ".join(f"{f['seconds']:.0f} s" for f in imports)),
        dict(name=f"{db}: the queue built (consensus over every source)", value=queue["build_s"], unit="s",
             baseline=queue["peak_mb"], ratio=queue["next_ms"],
             goal=f"baseline: peak MB; ratio: ms per Next once built (the first, before: {queue['first_s']:.1f} s)"),
        dict(name=f"{db}: consensus + export of every source", value=export["seconds"], unit="s",
             baseline=export["peak_mb"], ratio=export["seconds"] / 60, goal="≤ 60 s (ratio: over 60 s); baseline: peak MB"),
        dict(name=f"{db}: the admin's survey map, first draw", value=dashboard["first_draw_s"], unit="s",
             baseline=dashboard["table_s"], ratio=dashboard["pan_s"],
             goal=f"baseline: the states of every source taken from the queue's consensus (s; the queue "
                  f"{dashboard['queue_s']:.0f} s); ratio: a pan (s)"),
    ]


def run(quick: bool = False, databases: tuple[str, ...] = ("SQLite", "PostgreSQL")) -> list[dict]:
    import pandas as pd

    scale = 40 if quick else 1
    n_sources, n_answers, n_tiles = SOURCES // scale, ANSWERS // scale, TILES // (4 if quick else 1)
    rows = []
    kept = os.environ.get("XID_BENCH_SURVEY_DIR")  # a folder to keep the survey's files in, across runs
    with tempfile.TemporaryDirectory(dir=os.environ.get("XID_BENCH_TMP")) as tmp:
        work = Path(kept or tmp)
        paths = [work / f"answers-{p}.csv" for p in range(PARTS)]
        made = f"{n_sources} {n_answers} {n_tiles}"
        if not (work / "made").exists() or (work / "made").read_text() != made:
            t = time.perf_counter()
            tile_ra, tile_dec = make_tiles(work / "tiles", n_tiles)
            make_sources(work / "sources.csv", n_sources, tile_ra, tile_dec)
            make_answers(work, n_sources, n_answers, PARTS)
            place_clicks(paths, work / "sources.csv")
            (work / "made").write_text(made)
            print(f"  made the survey's files in {time.perf_counter() - t:.0f} s", flush=True)
        t = time.perf_counter()
        for path in paths:
            pd.read_csv(path)
        read_s = time.perf_counter() - t
        for db in databases:
            with fresh_postgres() as pg:
                if db == "PostgreSQL" and pg is None:
                    print("  PostgreSQL: no server answers, skipped", flush=True)
                    continue
                for leftover in work.glob("survey.sqlite*"):
                    leftover.unlink()
                print(f"  {db}", flush=True)
                rows += _stages(db, pg if db == "PostgreSQL" else f"sqlite:///{work / 'survey.sqlite'}", work,
                                n_sources, n_tiles, n_answers, read_s)
            for leftover in work.glob("survey.sqlite*"):
                leftover.unlink()
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv,
                   databases=tuple(a for a in ("SQLite", "PostgreSQL") if a in sys.argv) or ("SQLite", "PostgreSQL")):
        print(row)
