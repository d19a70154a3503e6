"""Sources cut from survey mosaics: the real LoTSS DR1 tile P205+55 and its source list."""

import numpy as np
import pytest
from astropy.io import fits
from click.testing import CliRunner

from tests.conftest import logged_in
from xid_app.cli import main
from xid_app.coords import pixel_scale_arcsec, pixel_to_sky, sky_to_pixel
from xid_app.ingest import IngestError, MosaicSurvey, read_sources
from xid_app.mosaics import best_tiles, cut, field_size, read_tile, tiles_from_glob
from xid_app.store.columns import source_pks


@pytest.fixture
def lotss(shared_data):
    return shared_data / "lotss_dr1/P205+55-mosaic.fits", shared_data / "lotss_dr1/catalog_shimwell_reduced.srl.fits"


def test_field_size_from_the_source_size():
    assert field_size(None, minimum_arcsec=180, factor=3) == 180
    assert field_size(np.nan, minimum_arcsec=180, factor=3) == 180
    assert field_size(20, minimum_arcsec=180, factor=3) == 180
    assert field_size(100, minimum_arcsec=180, factor=3) == 300


def test_cli_ingests_the_lotss_source_list_cut_from_its_tile(project, lotss):
    tile, sources = lotss
    result = CliRunner().invoke(main, ["ingest", str(sources), "--mosaic", f"radio:LoTSS 144 MHz={tile}",
                                       "--db", project.url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "ingested 27 source(s)" in result.output and "12066 outside every mosaic tile, left out" in result.output
    pks = source_pks(project.engine)
    for pk in pks:
        view = project.views.view(int(pk))
        assert view.problems == () and view.view is not None
        layer = view.source.layers[0]
        assert layer.form == "mosaic" and layer.field_arcsec >= 180
        ny, nx = view.view.image.shape
        assert nx == ny and nx * view.view.pixel_scale_arcsec == pytest.approx(layer.field_arcsec, abs=2 * 1.5)
        x, y = sky_to_pixel(view.view.wcs, view.source.ra, view.source.dec)  # the source is at the centre
        assert abs(x - (nx - 1) / 2) <= 1 and abs(y - (ny - 1) / 2) <= 1
    bright = max((project.views.view(int(pk)) for pk in pks), key=lambda v: len(v.view.contours.levels))
    assert len(bright.view.contours.levels) >= 5


def test_field_follows_the_size_column(db_url, settings, lotss):
    """LoTSS's Maj (arcsec) sizes the field: 3 × Maj, with a minimum (here lowered to 30")."""
    from astropy.table import Table

    from xid_app.project import Project

    tile, sources = lotss
    project = Project(db_url, settings=settings.model_copy(update=dict(field_min_arcsec=30.0)))
    project.init()
    project.ingest(sources, mosaics=[MosaicSurvey("radio", "LoTSS", str(tile))])
    table = Table.read(sources)
    maj = dict(zip([s.strip() for s in table["Source_Name"]], table["Maj"]))
    for pk in source_pks(project.engine):
        info = project.views.source(int(pk))
        assert info.layers[0].field_arcsec == pytest.approx(max(30.0, 3 * maj[info.source_id]))


def test_a_wider_field_on_request(project, lotss):
    tile, sources = lotss
    project.ingest(sources, mosaics=[MosaicSurvey("radio", "LoTSS", str(tile))])
    pk = int(source_pks(project.engine)[0])
    normal, wide = project.views.view(pk), project.views.view(pk, field_scale=2)
    assert normal.can_widen and wide.field_scale == 2
    assert wide.view.image.shape[0] == pytest.approx(2 * normal.view.image.shape[0], abs=1)
    assert wide.view.pixel_scale_arcsec == pytest.approx(normal.view.pixel_scale_arcsec)


def test_the_session_widens_mosaic_fields_but_not_fixed_files(project, lotss, shared_data):
    from xid_app.ui.session import MAX_FIELD_SCALE, AnnotationSession

    tile, sources = lotss
    project.ingest(sources, mosaics=[MosaicSurvey("radio", "LoTSS", str(tile))])
    session = AnnotationSession(project)
    logged_in(session, "zoomer")
    shape = session.current.view.image.shape
    assert session.widen() and session.current.view.image.shape[0] > shape[0]
    while session.widen():
        pass
    assert session.current.field_scale == MAX_FIELD_SCALE
    session.set_display(stretch="sqrt")  # redrawing keeps the wider field
    assert session.current.field_scale == MAX_FIELD_SCALE
    session.advance()
    assert session.current.field_scale == 1


def _split_tile(tile, tmp_path):
    """Two overlapping halves of the real tile, as two tiles of one survey (real header, real pixels)."""
    with fits.open(tile) as hdul:
        data, header = hdul[0].data, hdul[0].header
    paths = []
    for name, columns, shift in (("left", slice(0, 260), 0), ("right", slice(140, 400), 140)):
        h = header.copy()
        h["CRPIX1"] = header["CRPIX1"] - shift
        fits.PrimaryHDU(data[:, columns], h).writeto(tmp_path / f"{name}.fits")
        paths.append(tmp_path / f"{name}.fits")
    return paths


def test_best_tile_is_the_one_with_most_room_around_the_source(lotss, tmp_path):
    tile, _ = lotss
    left, right = _split_tile(tile, tmp_path)
    tiles = tiles_from_glob(str(tmp_path / "*.fits"))
    whole = read_tile(tile)
    ra, dec = pixel_to_sky(whole.wcs, np.array([60.0, 190.0, 230.0, 340.0, 600.0]), np.full(5, 200.0))
    chosen = best_tiles(tiles, ra, dec)
    names = [tiles[i].path.name if i >= 0 else None for i in chosen]
    assert names == ["left.fits", "left.fits", "right.fits", "right.fits", None]


def test_blank_pixels_and_four_axis_radio_headers(lotss, tmp_path):
    """A tile blank (NaN) where the source is does not count as covering it; a 4-axis header
    (FREQ, STOKES) around 4-D data is cut like a 2-D one."""
    tile, _ = lotss
    with fits.open(tile) as hdul:
        data, header = hdul[0].data.copy(), hdul[0].header.copy()
    blanked = data.copy()
    blanked[150:250, 150:250] = np.nan
    fits.PrimaryHDU(blanked, header).writeto(tmp_path / "a_blank.fits")
    h4 = header.copy()
    h4["NAXIS"], h4["WCSAXES"] = 4, 4
    for key, value in (("CTYPE3", "FREQ"), ("CRVAL3", 1.44e8), ("CDELT3", 4.8e7), ("CRPIX3", 1.0),
                       ("CTYPE4", "STOKES"), ("CRVAL4", 1.0), ("CDELT4", 1.0), ("CRPIX4", 1.0)):
        h4[key] = value
    fits.PrimaryHDU(data[None, None], h4).writeto(tmp_path / "b_4axis.fits")
    tiles = tiles_from_glob(str(tmp_path / "*.fits"))
    ra, dec = pixel_to_sky(read_tile(tile).wcs, 199.0, 199.0)
    assert tiles[best_tiles(tiles, ra, dec)[0]].path.name == "b_4axis.fits"
    flat = cut(tile, float(ra), float(dec), 120, band="LoTSS", kind="radio")
    four = cut(tmp_path / "b_4axis.fits", float(ra), float(dec), 120, band="LoTSS", kind="radio")
    np.testing.assert_array_equal(flat.data, four.data)
    assert four.wcs.naxis == 2 and pixel_scale_arcsec(four.wcs) == pytest.approx(1.5)


def test_field_beyond_the_tile_edge_is_blank_and_centred(lotss):
    tile, _ = lotss
    whole = read_tile(tile)
    ra, dec = pixel_to_sky(whole.wcs, 5.0, 200.0)  # 5 px from the east edge
    piece = cut(tile, float(ra), float(dec), 180, band="LoTSS", kind="radio")
    ny, nx = piece.shape
    x, y = sky_to_pixel(piece.wcs, ra, dec)
    assert abs(x - (nx - 1) / 2) <= 1 and np.isnan(piece.data[:, :int(x) - 10]).all()
    assert np.isfinite(piece.data[:, int(x):]).any()


def test_bad_mosaic_specs_and_globs(lotss, tmp_path):
    tile, sources = lotss
    for text in ("LoTSS=tiles/*.fits", "infrared:W1=x.fits", "radio:=x.fits", "radio:LoTSS="):
        with pytest.raises(ValueError, match="KIND:BAND=GLOB"):
            MosaicSurvey.parse(text)
    with pytest.raises(IngestError, match="no mosaic tile matches"):
        read_sources(sources, mosaics=[MosaicSurvey("radio", "LoTSS", str(tmp_path / "none*.fits"))])
    (tmp_path / "broken.fits").write_text("<html>503</html>")
    with pytest.raises(IngestError, match="mosaic LoTSS: .*broken.fits: an HTML/XML page"):
        read_sources(sources, mosaics=[MosaicSurvey("radio", "LoTSS", str(tmp_path / "*.fits"))])


def test_pictures_with_wcs_sidecars_as_layers(project, shared_data, tmp_path):
    """RGZ's rendered JPG subjects with their .wcs.hdr headers: ingested and drawn with contours."""
    folder = shared_data / "rgz_first_rendered_pairs/ARG000180p"
    header = fits.Header.fromtextfile(folder / "ARG000180p_first_rgz_radio.wcs.hdr")
    (tmp_path / "s.csv").write_text(
        "source_id,ra,dec,radio_image,optical_image,radio_band,optical_band\n"
        f"ARG000180p,{header['CRVAL1']},{header['CRVAL2']},{folder / 'ARG000180p_first_rgz_radio.jpg'},"
        f"{folder / 'ARG000180p_wise_w1_rgz_standard.jpg'},FIRST (picture),WISE W1 (picture)\n")
    assert project.ingest(tmp_path / "s.csv", image_roots=[folder]).added == 1
    view = project.views.view(int(source_pks(project.engine)[0]))
    assert view.problems == () and view.view.background_band == "WISE W1 (picture)"
    assert view.view.image.shape == (500, 500) and len(view.view.contours.levels) > 0
