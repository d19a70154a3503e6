"""Pixel ↔ sky conventions on real survey headers."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from xid_app.coords import (
    WCSError,
    celestial_wcs,
    pixel_scale_arcsec,
    pixel_to_pixel,
    pixel_to_sky,
    sky_to_pixel,
    tangent_offsets_arcsec,
    tangent_to_sky,
    valid_sky_position,
)

SHARED_IMAGES = [
    "first_wise_pairs/J151227+454026/FIRSTJ151227.2+454026_3.fits",  # 4-axis header, 2-D data
    "first_wise_pairs/J153149+113421/WISE_J153149.9+113421.7_w1.fits",
    "multisurvey_frii_J001357-091951/VLASS__3.1.ql.T08t01.J001357.17-091951.5.10.2048.v2.I.iter1.image.pbcor.tt0.subim_s2.0arcmin_.fits",  # 4-D data
    "multisurvey_frii_J001357-091951/NVSS_J001357.2-091951.5.fits",
    "lotss_dr1/P205+55-mosaic.fits",
    "optical_only_sn2006bh/PS1_r.fits",
]


def _header(path: Path):
    with fits.open(path) as hdul:
        return next(h.header for h in hdul if h.header.get("NAXIS", 0) >= 2)


@pytest.mark.parametrize("name", SHARED_IMAGES)
def test_pixel_sky_round_trip_on_real_headers(shared_data, name):
    header = _header(shared_data / name)
    wcs = celestial_wcs(header)
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    x = np.array([0.0, nx / 2, nx - 1, 17.3])
    y = np.array([0.0, ny / 3, ny - 1, 5.9])
    ra, dec = pixel_to_sky(wcs, x, y)
    assert valid_sky_position(ra, dec).all()
    x2, y2 = sky_to_pixel(wcs, ra, dec)
    np.testing.assert_allclose(x2, x, atol=1e-6)
    np.testing.assert_allclose(y2, y, atol=1e-6)


def test_first_header_reference_pixel_is_its_crval(demo_dir):
    """FIRST's 4-axis FK5 header: CRPIX (1-based) maps to CRVAL, within FK5→ICRS (≪ 0.1")."""
    header = fits.getheader(demo_dir / "rgz_first/52af80ff7aa69f059a001478.fits")
    assert header["NAXIS"] == 2 and header["CTYPE3"] == "FREQ"
    wcs = celestial_wcs(header)
    ra, dec = pixel_to_sky(wcs, header["CRPIX1"] - 1, header["CRPIX2"] - 1)
    offset = np.hypot((ra - header["CRVAL1"]) * np.cos(np.radians(dec)), dec - header["CRVAL2"]) * 3600
    assert offset < 0.1
    assert pixel_scale_arcsec(wcs) == pytest.approx(1.8, rel=1e-3)


def test_pixel_to_pixel_between_radio_and_optical_grids(demo_dir):
    """A position moved radio pixel → optical pixel lands on the same sky position."""
    radio = celestial_wcs(fits.getheader(demo_dir / "first_wise/FIRSTJ151227.2+454026_8.fits"))
    optical = celestial_wcs(fits.getheader(demo_dir / "first_wise/WISE_W1_J151227.2+454026.fits"))
    x, y = np.array([10.0, 133.0, 250.5]), np.array([20.0, 133.0, 7.25])
    u, v = pixel_to_pixel(radio, optical, x, y)
    ra1, dec1 = pixel_to_sky(radio, x, y)
    ra2, dec2 = pixel_to_sky(optical, u, v)
    np.testing.assert_allclose(ra1, ra2, atol=1e-9)
    np.testing.assert_allclose(dec1, dec2, atol=1e-9)


def test_nan_crval_is_refused_not_mapped_to_ra_zero(demo_dir):
    text = fits.getheader(demo_dir / "rgz_first/52af80ff7aa69f059a001478.fits").tostring()
    start = text.index("CRVAL1")
    header = fits.Header.fromstring(text.replace(text[start:start + 80], "CRVAL1  = NaN".ljust(80)))
    with pytest.raises(WCSError, match="CRVAL1 is not a finite number"):
        celestial_wcs(header)


def test_header_without_celestial_axes_is_refused():
    header = fits.Header({"NAXIS": 2, "NAXIS1": 10, "NAXIS2": 10, "CTYPE1": "PIXEL", "CTYPE2": "PIXEL"})
    with pytest.raises(WCSError, match="no celestial WCS"):
        celestial_wcs(header)


@pytest.mark.parametrize("ra0,dec0", [(0.0, 0.0), (359.99, 45.0), (150.0, -89.9), (10.0, 89.99)])
def test_tangent_offsets_round_trip(ra0, dec0):
    rng = np.random.default_rng(1)
    xi, eta = rng.uniform(-60, 60, 50), rng.uniform(-60, 60, 50)
    ra, dec = tangent_to_sky(xi, eta, ra0, dec0)
    xi2, eta2 = tangent_offsets_arcsec(ra, dec, ra0, dec0)
    np.testing.assert_allclose(xi2, xi, atol=1e-6)
    np.testing.assert_allclose(eta2, eta, atol=1e-6)


def test_valid_sky_position():
    ra = np.array([0, 359.9, 360, -1, np.nan, 10, np.inf])
    dec = np.array([0, 90, 0, 0, 0, -90.1, 0])
    assert valid_sky_position(ra, dec).tolist() == [True, True, False, False, False, False, False]
