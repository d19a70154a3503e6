"""Stretch, noise, contour levels and contours moved between real image grids."""

import numpy as np
import pytest

from xid_app.coords import pixel_to_sky
from xid_app.cutouts import ImageError, read_fits_layer
from xid_app.imaging import (
    compose_view,
    contour_levels,
    contour_lines,
    estimate_rms,
    reproject_lines,
    to_uint8,
)


def test_contour_levels_are_geometric_from_the_floor():
    levels = contour_levels(0.1, 10.0, floor_sigma=3, step=2, max_levels=20)
    np.testing.assert_allclose(levels, [0.3, 0.6, 1.2, 2.4, 4.8, 9.6])


def test_contour_levels_capped_and_empty_cases():
    assert len(contour_levels(0.1, 1e6, floor_sigma=3, step=2**0.5, max_levels=12)) == 12
    assert len(contour_levels(0.1, 0.25, floor_sigma=3)) == 0  # nothing above the floor
    assert len(contour_levels(np.nan, 1.0)) == 0
    assert len(contour_levels(0.0, 1.0)) == 0


def test_rms_of_gaussian_noise_with_a_bright_source():
    rng = np.random.default_rng(42)
    data = rng.normal(0, 0.2, (200, 200))
    data[90:110, 90:110] += 50  # a source must not inflate the noise estimate
    data[0, :10] = np.nan
    assert estimate_rms(data) == pytest.approx(0.2, rel=0.03)


def test_rms_of_real_first_cutout(demo_dir):
    radio = read_fits_layer(demo_dir / "rgz_first/52af80ff7aa69f059a001478.fits", band="FIRST", kind="radio")
    rms = estimate_rms(radio.data)
    assert 5e-5 < rms < 5e-4  # FIRST: ~0.15 mJy/beam


def test_stretch_handles_nan_and_constant_images():
    data = np.arange(100, dtype=float).reshape(10, 10)
    data[0, 0] = np.nan
    out = to_uint8(data, stretch="sqrt", percentile=99)
    assert out.dtype == np.uint8 and out[0, 0] == 0 and out[np.isfinite(data)].min() == 1 and out.max() == 255
    assert (to_uint8(np.full((5, 5), 3.0)) == 1).all()  # data, however flat, is never "no data"
    assert not to_uint8(np.full((5, 5), np.nan)).any()


def test_contours_enclose_a_gaussian_at_the_right_radius():
    y, x = np.mgrid[0:101, 0:101]
    data = np.exp(-((x - 50) ** 2 + (y - 40) ** 2) / (2 * 10.0**2))
    contours = contour_lines(data, np.array([np.exp(-0.5)]))  # 1σ radius = 10 px
    assert len(contours.lines) == 1
    r = np.hypot(contours.lines[0][:, 0] - 50, contours.lines[0][:, 1] - 40)
    np.testing.assert_allclose(r, 10.0, atol=0.1)


def test_radio_contours_land_on_the_same_sky_in_the_optical_grid(demo_dir):
    radio = read_fits_layer(demo_dir / "first_wise/FIRSTJ151227.2+454026_8.fits", band="FIRST", kind="radio")
    optical = read_fits_layer(demo_dir / "first_wise/WISE_W1_J151227.2+454026.fits", band="W1", kind="optical")
    levels = contour_levels(estimate_rms(radio.data), float(np.nanmax(radio.data)), floor_sigma=5)
    native = contour_lines(radio.data, levels)
    moved = reproject_lines(native, radio.wcs, optical.wcs)
    assert len(moved.lines) == len(native.lines) > 0
    a, b = native.lines[0], moved.lines[0]
    ra1, dec1 = pixel_to_sky(radio.wcs, a[:, 0], a[:, 1])
    ra2, dec2 = pixel_to_sky(optical.wcs, b[:, 0], b[:, 1])
    np.testing.assert_allclose(ra1, ra2, atol=1e-9)
    np.testing.assert_allclose(dec1, dec2, atol=1e-9)
    # FIRST 1.8"/px onto WISE 1.375"/px: the moved lines span more pixels
    assert np.ptp(b[:, 0]) > np.ptp(a[:, 0])


def test_compose_view_uses_optical_background_or_radio_alone(demo_dir):
    radio = read_fits_layer(demo_dir / "first_wise/FIRSTJ151227.2+454026_8.fits", band="FIRST", kind="radio")
    optical = read_fits_layer(demo_dir / "first_wise/WISE_W1_J151227.2+454026.fits", band="W1", kind="optical")
    both = compose_view([radio, optical])
    assert both.background_band == "W1" and both.background_index == 1
    assert both.image.shape == optical.shape and both.contour_band == "FIRST"
    alone = compose_view([radio])
    assert alone.background_band == "FIRST" and alone.image.shape == radio.shape
    assert len(alone.contours.lines) > 0


def test_nan_pixels_in_radio_image_do_not_break_contours(demo_dir):
    radio = read_fits_layer(demo_dir / "rgz_first/52af80ff7aa69f059a001478.fits", band="FIRST", kind="radio")
    data = radio.data.copy()
    data[:30, :] = np.nan
    view = compose_view([type(radio)(data, radio.wcs, "FIRST", "radio")])
    assert len(view.contours.lines) > 0
    assert all(np.isfinite(line).all() for line in view.contours.lines)


def test_read_fits_layer_squeezes_4d_radio_data(shared_data):
    path = next((shared_data / "multisurvey_frii_J001357-091951").glob("VLASS*.fits"))
    layer = read_fits_layer(path, band="VLASS", kind="radio")
    assert layer.data.ndim == 2 and layer.wcs.naxis == 2


def test_read_fits_layer_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.fits"
    with pytest.raises(ImageError, match="nope.fits: file not found"):
        read_fits_layer(missing, band="x", kind="radio")
    html = tmp_path / "error.fits"
    html.write_text("<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(ImageError, match="error.fits: an HTML/XML page, not a FITS image"):
        read_fits_layer(html, band="x", kind="radio")


def test_levels_with_a_background_offset():
    np.testing.assert_allclose(contour_levels(1.0, 50.0, floor_sigma=4, step=2, background=10.0), [14, 18, 26, 42])


def test_a_display_render_is_contoured_from_its_own_range_not_a_noise_level():
    """RGZ's 8-bit renders: a sigma-clipped spread of display values is no noise level (it drew ~2,000 noise
    contours); their contours start at a few percent of the range above the clipped sky."""
    from astropy.io import fits

    from xid_app.demo import DEMO_DIR
    from xid_app.imaging import contour_levels, contour_lines, is_display_render, render_noise

    render = fits.getdata(DEMO_DIR / "rendered/ARG000180p_first_rgz_radio.wcs.fits").astype(float)
    first = fits.getdata(DEMO_DIR / "first_wise/FIRSTJ151227.2+454026_8.fits").astype(float).squeeze()
    assert is_display_render(render) and not is_display_render(first)
    levels = contour_levels(render_noise(render), render.max(), floor_sigma=4.0)
    assert len(contour_lines(render, levels).lines) < 100
