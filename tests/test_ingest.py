"""`xid ingest`: all or nothing, with messages naming the bad row or file."""

import shutil

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from astropy.table import Table

from tests.conftest import run_cli as run
from xid_app.ingest import IngestError, read_sources
from xid_app.store.models import Layer, Source


def counts(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(sa.select(sa.func.count(Source.id))), conn.scalar(sa.select(sa.func.count(Layer.id)))
    engine.dispose()
    return n


@pytest.fixture
def table_dir(tmp_path, demo_dir):
    """A copy of two demo sources and their images, to break in various ways."""
    d = tmp_path / "survey"
    d.mkdir()
    shutil.copy(demo_dir / "rgz_first/52af80ff7aa69f059a001478.fits", d / "a.fits")
    shutil.copy(demo_dir / "first_wise/FIRST_J153149.9+113421.7.fits", d / "b_radio.fits")
    shutil.copy(demo_dir / "first_wise/WISE_J153149.9+113421.7_w1.fits", d / "b_w1.fits")
    return d


GOOD = (
    "source_id,ra,dec,radio_image,optical_image,optical_band\n"
    "ARG000307k,150.78608333333332,10.846722222222223,a.fits,,\n"
    "J153149+113421,232.957917,11.572694,b_radio.fits,b_w1.fits,WISE W1\n"
)


def test_ingest_real_rgz_table_via_cli(project, rgz):
    code, out = run("ingest", rgz["sources"], "--db", project.url)
    assert code == 0, out
    assert "ingested 15 source(s)" in out
    assert counts(project.url) == (15, 15)
    code, out = run("ingest", rgz["sources"], "--db", project.url)
    assert code == 0 and "0 source(s); 15 already stored unchanged" in out


def test_ingest_layers_and_bands(project, table_dir):
    (table_dir / "s.csv").write_text(GOOD)
    report = project.ingest(table_dir / "s.csv")
    assert report.added == 2
    info = project.views.source(2)
    assert [(layer.band, layer.kind) for layer in info.layers] == [("WISE W1", "optical"), ("radio", "radio")]


@pytest.mark.parametrize("fmt,ext", [("fits", ".fits"), ("votable", ".vot"), ("ascii.ecsv", ".ecsv")])
def test_ingest_reads_every_astropy_table_format(project, table_dir, fmt, ext):
    (table_dir / "s.csv").write_text(GOOD)
    t = Table.read(table_dir / "s.csv", format="ascii.csv")
    t.write(table_dir / f"s{ext}", format=fmt)
    assert project.ingest(table_dir / f"s{ext}").added == 2


def _broken(table_dir, case):
    """Write a sources table with one defect; return (table path, text the message must contain)."""
    text = GOOD
    if case == "missing ra":
        text = text.replace("source_id,ra,dec", "source_id,right_ascension,dec")
        expect = "missing required column(s): ra"
    elif case == "missing file":
        text = text.replace("b_w1.fits", "gone.fits")
        expect = "line 3 (J153149+113421): optical_image:"
    elif case == "not fits":
        (table_dir / "b_w1.fits").write_text("<html><title>504 Gateway Time-out</title></html>")
        expect = "b_w1.fits: an HTML/XML page, not a FITS image"
    elif case == "no celestial wcs":
        with fits.open(table_dir / "a.fits", mode="update") as hdul:
            for key in ("CTYPE1", "CTYPE2"):
                hdul[0].header[key] = "PIXEL"
        expect = "a.fits: no celestial WCS"
    elif case == "bad position":
        text = text.replace("232.957917", "400")
        expect = "line 3 (J153149+113421): position out of range"
    elif case == "malformed position":
        text = text.replace("232.957917", "15h31m")
        expect = "line 3 (J153149+113421): ra/dec must be numbers"
    elif case == "duplicate id":
        text = text.replace("J153149+113421", "ARG000307k")
        expect = "line 3 (ARG000307k): duplicate source_id, first on line 2"
    elif case == "all nan":
        with fits.open(table_dir / "a.fits", mode="update") as hdul:
            hdul[0].data[:] = np.nan
        expect = "every pixel is blank"
    elif case == "image elsewhere on the sky":
        text = text.replace("a.fits,,", "b_radio.fits,,")
        expect = "does not cover the source position"
    path = table_dir / "s.csv"
    path.write_text(text)
    return path, expect


CASES = ["missing ra", "missing file", "not fits", "no celestial wcs", "bad position", "malformed position",
         "duplicate id", "all nan", "image elsewhere on the sky"]


@pytest.mark.parametrize("case", CASES)
def test_bad_table_stops_ingest_and_stores_nothing(project, table_dir, case):
    # something already stored must survive a failed ingest untouched
    (table_dir / "first.csv").write_text(GOOD.splitlines()[0] + "\n" + GOOD.splitlines()[1] + "\n")
    project.ingest(table_dir / "first.csv")
    before = counts(project.url)
    path, expect = _broken(table_dir, case)
    code, out = run("ingest", path, "--db", project.url)
    assert code == 1
    assert "nothing ingested" in out or "missing required" in out
    assert expect in out
    assert counts(project.url) == before


def test_source_moved_since_last_ingest_is_refused(project, table_dir):
    (table_dir / "s.csv").write_text(GOOD)
    project.ingest(table_dir / "s.csv")
    (table_dir / "s.csv").write_text(GOOD.replace("10.846722222222223", "10.85"))
    with pytest.raises(IngestError, match="ARG000307k: already stored at"):
        project.ingest(table_dir / "s.csv")


def test_ingest_before_init_says_run_init(tmp_path, table_dir):
    (table_dir / "s.csv").write_text(GOOD)
    code, out = run("ingest", table_dir / "s.csv", "--db", f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert code == 1 and "run `xid init` first" in out


def test_unreadable_table(tmp_path):
    bad = tmp_path / "s.fits"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(IngestError, match="not a table astropy can read"):
        read_sources(bad)
