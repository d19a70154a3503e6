"""Broken and unusual image files (tests/data/bad_images, made by its make.py from a real FIRST cutout):
each is read, or refused with a message naming the file and the reason — at ingest, when cutting from a
mosaic, and on the page, where the session keeps working."""

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import logged_in
from xid_app.coords import pixel_to_sky
from xid_app.cutouts import ImageError, read_layer_file
from xid_app.ingest import IngestError, read_sources
from xid_app.mosaics import cut, read_tile
from xid_app.store.columns import source_pks

BAD = Path(__file__).parent / "data/bad_images"

# file → None if it must be read, else a pattern its message must match
CASES = {
    "nan_crval.fits": r"CRVAL1 is not a finite number",  # astropy alone would put every pixel at RA 0
    "no_wcs.fits": r"no celestial WCS",
    "all_nan.fits": r"every pixel is blank|no data in the field",
    "cube_4d.fits": r"a cube with \[3, 1\] planes",
    "huge_header.fits": r"header describes 160,000,000,000 bytes of pixels but the file holds 17,280",
    "html_error.fits": r"an HTML/XML page, not a FITS image",
    "truncated.fits": r"cut short or corrupt",
    "empty.fits": r"the file is empty",
    "picture_without_sidecar.png": r"needs its WCS in a sidecar header|HTML|not a readable FITS",
    "galactic.fits": None,
    "gzipped.fits.gz": None,
    "scaled_int16.fits": None,
}


def test_the_fixture_set_is_complete():
    assert sorted(CASES) == sorted(p.name for p in BAD.iterdir() if p.suffix != ".py")
    assert len(CASES) >= 10


@pytest.mark.parametrize("name", sorted(CASES))
def test_reading_a_layer(name):
    expected = CASES[name]
    if expected is None:
        layer = read_layer_file(BAD / name, band="FIRST", kind="radio")
        assert layer.shape == (64, 64) and np.isfinite(layer.data).any()
        return
    with pytest.raises(ImageError, match=expected) as error:
        read_layer_file(BAD / name, band="FIRST", kind="radio")
    assert name in str(error.value)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cutting_from_a_mosaic(name):
    expected = CASES[name]
    if name.endswith(".png"):
        expected = "HTML/XML page|not a readable FITS"  # a picture is no mosaic
    if expected is None:
        tile = read_tile(BAD / name)
        ra, dec = pixel_to_sky(tile.wcs, 31.5, 31.5)
        piece = cut(tile.path, float(ra), float(dec), 40, band="FIRST", kind="radio")
        assert np.isfinite(piece.data).all()
        return
    with pytest.raises(ImageError, match=expected):
        tile = read_tile(BAD / name)
        ra, dec = pixel_to_sky(tile.wcs, 31.5, 31.5)
        cut(tile.path, float(ra), float(dec), 40, band="FIRST", kind="radio")


def test_unusual_files_hold_the_same_sky_and_values():
    reference = read_layer_file(BAD / "gzipped.fits.gz", band="FIRST", kind="radio")
    galactic = read_layer_file(BAD / "galactic.fits", band="FIRST", kind="radio")
    ra1, dec1 = pixel_to_sky(reference.wcs, 31, 31)  # the reference pixel: the same sky position, in ICRS
    ra2, dec2 = pixel_to_sky(galactic.wcs, 31, 31)
    assert abs((ra1 - ra2) * np.cos(np.radians(dec1))) * 3600 < 0.01 and abs(dec1 - dec2) * 3600 < 0.01
    scaled = read_layer_file(BAD / "scaled_int16.fits", band="FIRST", kind="radio")
    step = float(np.nanmax(np.abs(reference.data))) / 30000
    np.testing.assert_allclose(scaled.data, reference.data, atol=step)
    tile = read_tile(BAD / "scaled_int16.fits")
    ra, dec = pixel_to_sky(tile.wcs, 31, 31)
    piece = cut(tile.path, float(ra), float(dec), 200, band="FIRST", kind="radio")  # larger than the tile
    assert np.isnan(piece.data).any() and np.nanmax(piece.data) == pytest.approx(np.nanmax(scaled.data), abs=step)


def test_ingest_names_every_bad_file_and_stores_nothing(project, tmp_path):
    rows = ["source_id,ra,dec,radio_image"]
    ra, dec = (float(v) for v in pixel_to_sky(read_tile(BAD / "gzipped.fits.gz").wcs, 31.5, 31.5))
    for i, name in enumerate(sorted(CASES)):
        rows.append(f"S{i},{ra},{dec},{BAD / name}")
    (tmp_path / "sources.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(IngestError) as error:
        read_sources(tmp_path / "sources.csv", image_roots=[BAD])
    text = str(error.value)
    refused = [name for name, expected in CASES.items() if expected is not None]
    assert f"{len(refused)} problem(s)" in text
    for name in refused:
        assert name in text
    with pytest.raises(IngestError):
        project.ingest(tmp_path / "sources.csv", image_roots=[BAD])
    assert len(source_pks(project.engine)) == 0


def test_a_layer_broken_after_ingest_is_a_notice_and_the_session_goes_on(demo_project, tmp_path):
    """The file of a stored layer is replaced by an archive's error page: the page says it cannot display
    that layer, shows the others, and Next still works."""
    import shutil

    from xid_app.ui.session import AnnotationSession

    session = AnnotationSession(demo_project)
    logged_in(session, "tester")
    first = session.current
    assert first is not None and first.view is not None
    layer = first.source.layers[0]
    broken = tmp_path / "broken.fits"
    shutil.copy(BAD / "html_error.fits", broken)
    with demo_project.engine.begin() as conn:
        from sqlalchemy import update

        from xid_app.store.models import Layer

        conn.execute(update(Layer).where(Layer.id == layer.pk).values(path=str(broken)))
    session.show(first.source.pk)
    assert any("cannot display layer" in p and "HTML/XML page" in p for p in session.current.problems)
    session.advance()
    assert session.current is not None and session.current.source.pk != first.source.pk
