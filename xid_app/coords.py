"""Conventions between pixels and the sky, in one place.

Pixel coordinates are astropy's: 0-based, ``(x, y)`` = (column, row), the centre of pixel ``[0, 0]`` at
``(0, 0)``. Sky positions are ICRS degrees. Every WCS that XID uses passes through :func:`celestial_wcs`,
which refuses headers that would silently give wrong positions.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import pixel_to_skycoord, skycoord_to_pixel


class WCSError(ValueError):
    """A header has no usable celestial world coordinate system."""


def celestial_wcs(header) -> WCS:
    """The 2-D celestial WCS of a FITS header, validated.

    Radio headers often describe 3 or 4 axes (frequency, Stokes) around 2-D data; only the celestial
    axes are kept.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The image header.

    Returns
    -------
    astropy.wcs.WCS
        A WCS with exactly two celestial axes.

    Raises
    ------
    WCSError
        If the header has no celestial axes, or its reference values or scale are not finite
        (astropy would otherwise map every pixel to RA 0 without complaint).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            full = WCS(header)
            wcs = full.celestial
        except Exception as exc:  # astropy raises several types for malformed headers
            raise WCSError(f"unreadable WCS: {exc}") from exc
    if wcs.naxis != 2 or not wcs.has_celestial:
        raise WCSError("no celestial WCS (need RA/Dec or GLON/GLAT axes, e.g. CTYPE1='RA---SIN')")
    _check_reference_cards(header, (full.wcs.lng + 1, full.wcs.lat + 1))
    if not np.all(np.isfinite(wcs.wcs.crval)) or not np.all(np.isfinite(wcs.wcs.crpix)):
        raise WCSError("WCS reference values (CRVAL/CRPIX) are not finite")
    scale = wcs.pixel_scale_matrix
    if not np.all(np.isfinite(scale)) or abs(np.linalg.det(scale)) == 0:
        raise WCSError("WCS pixel scale (CDELT/CD) is missing, zero or not finite")
    return wcs


def _check_reference_cards(header, axes) -> None:
    """An unparsable or missing CRVALn/CRPIXn card is dropped by astropy and defaults to 0 (RA 0!)."""
    for key in (f"{kw}{axis}" for axis in axes for kw in ("CRVAL", "CRPIX")):
        try:
            value = header[key]
        except KeyError:
            raise WCSError(f"{key} is missing from the header") from None
        except Exception as exc:  # astropy's VerifyError for an unparsable card such as 'NaN'
            raise WCSError(f"{key} is not a finite number ({exc})") from exc
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise WCSError(f"{key} is not a finite number: {value!r}")


def pixel_to_sky(wcs: WCS, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Pixel ``(x, y)`` → ICRS ``(ra, dec)`` in degrees (arrays of the input's shape)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if _in_icrs(wcs):  # straight through WCSLIB: a SkyCoord costs ~3 ms a call, which a Panoptes import pays per subject
        world = wcs.all_pix2world(x, y, 0)
        return np.asarray(world[wcs.wcs.lng]) % 360, np.asarray(world[wcs.wcs.lat])
    sky = pixel_to_skycoord(x, y, wcs, origin=0).icrs
    return np.asarray(sky.ra.deg), np.asarray(sky.dec.deg)


def _in_icrs(wcs: WCS) -> bool:
    """A two-axis equatorial WCS whose frame is ICRS (RADESYS ICRS, or none with no equinox, as FITS says)."""
    w = wcs.wcs
    if wcs.naxis != 2 or w.lng < 0 or w.lat < 0 or not w.ctype[w.lng].startswith("RA--"):
        return False
    radesys = w.radesys.strip().upper()
    return radesys == "ICRS" or (radesys == "" and not np.isfinite(w.equinox))


def sky_to_pixel(wcs: WCS, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """ICRS ``(ra, dec)`` in degrees → pixel ``(x, y)`` of ``wcs``."""
    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    if _in_icrs(wcs):  # as in pixel_to_sky: no SkyCoord where the image's frame is ICRS already
        world = [None, None]
        world[wcs.wcs.lng], world[wcs.wcs.lat] = ra, dec
        with warnings.catch_warnings():  # positions far off the projection are NaN, as SkyCoord gives
            warnings.simplefilter("ignore")
            x, y = wcs.all_world2pix(*world, 0, quiet=True)
        return np.asarray(x), np.asarray(y)
    sky = SkyCoord(ra, dec, unit="deg", frame="icrs")
    x, y = skycoord_to_pixel(sky, wcs, origin=0)
    return np.asarray(x), np.asarray(y)


def pixel_to_pixel(from_wcs: WCS, to_wcs: WCS, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Map pixel positions of one image into the pixel grid of another through the sky."""
    sky = pixel_to_skycoord(np.asarray(x, float), np.asarray(y, float), from_wcs, origin=0)
    u, v = skycoord_to_pixel(sky, to_wcs, origin=0)
    return np.asarray(u), np.asarray(v)


def angular_separation_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle separation in arcsec (Vincenty's formula: exact from arcseconds to the antipode)."""
    from astropy.coordinates import angular_separation

    return np.degrees(angular_separation(*np.radians([ra1, dec1, ra2, dec2], dtype=float))) * 3600.0


def format_angle(arcsec: float) -> str:
    """An angle as a person reads it: 4.2″, 12.5′ or 81.0°."""
    if arcsec >= 3600:
        return f"{arcsec / 3600:.1f}°"
    if arcsec >= 60:
        return f"{arcsec / 60:.1f}′"
    return f"{arcsec:.1f}″"


def pixel_scale_arcsec(wcs: WCS) -> float:
    """Mean pixel side in arcsec."""
    return float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600.0)


def valid_sky_position(ra, dec) -> np.ndarray:
    """Boolean mask: finite RA in [0, 360) and Dec in [-90, 90] (degrees)."""
    ra = np.asarray(ra, float)
    dec = np.asarray(dec, float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(ra) & np.isfinite(dec) & (ra >= 0) & (ra < 360) & (np.abs(dec) <= 90)


def tangent_offsets_arcsec(ra, dec, ra0, dec0) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic offsets (east, north) in arcsec of ``(ra, dec)`` from ``(ra0, dec0)``; all in degrees."""
    ra, dec, ra0, dec0 = (np.radians(np.asarray(a, float)) for a in (ra, dec, ra0, dec0))
    # each sine and cosine taken once: at 16 million clicks they are most of the time
    sin_dec, cos_dec, sin_dec0, cos_dec0 = np.sin(dec), np.cos(dec), np.sin(dec0), np.cos(dec0)
    cos_dec_cos_dra = cos_dec * np.cos(ra - ra0)
    arcsec_over_cos_c = np.degrees(3600.0) / (sin_dec0 * sin_dec + cos_dec0 * cos_dec_cos_dra)
    xi = cos_dec * np.sin(ra - ra0) * arcsec_over_cos_c
    eta = (cos_dec0 * sin_dec - sin_dec0 * cos_dec_cos_dra) * arcsec_over_cos_c
    return xi, eta


def tangent_to_sky(xi_arcsec, eta_arcsec, ra0, dec0) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`tangent_offsets_arcsec`: offsets in arcsec → ``(ra, dec)`` in degrees."""
    xi = np.radians(np.asarray(xi_arcsec, float) / 3600.0)
    eta = np.radians(np.asarray(eta_arcsec, float) / 3600.0)
    ra0 = np.radians(np.asarray(ra0, float))
    dec0 = np.radians(np.asarray(dec0, float))
    denom = np.cos(dec0) - eta * np.sin(dec0)
    ra = ra0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(dec0) + eta * np.cos(dec0), np.hypot(xi, denom))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def parse_position(text: str) -> tuple[float, float]:
    """Parse a typed sky position into ICRS ``(ra, dec)`` degrees.

    Accepts decimal degrees (``"150.786 10.8468"``, ``"150.786, +10.8468"``) and sexagesimal hours/degrees
    (``"10:03:08.6 +10:50:48"``, ``"10h03m08.6s +10d50m48s"``, ``"10 03 08.6 +10 50 48"``).

    Raises
    ------
    ValueError
        With a message saying what was expected.
    """
    from astropy import units as u

    cleaned = " ".join(text.replace(",", " ").split())
    if not cleaned:
        raise ValueError("type a catalogue ID, or RA and Dec (degrees or sexagesimal)")
    parts = cleaned.split(" ")
    try:
        if len(parts) == 2 and all(_is_number(p) for p in parts):
            ra, dec = float(parts[0]), float(parts[1])
        else:
            sky = SkyCoord(cleaned, unit=(u.hourangle, u.deg), frame="icrs")
            ra, dec = float(sky.ra.deg), float(sky.dec.deg)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"cannot read {text!r} as a position: use degrees ('150.786 10.8468') "
            f"or sexagesimal ('10:03:08.6 +10:50:48')"
        ) from exc
    if not valid_sky_position(ra, dec):
        raise ValueError(f"{text!r} is not on the sky: need 0 ≤ RA < 360 and −90 ≤ Dec ≤ 90 degrees")
    return ra, dec


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def north_east(wcs: WCS, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (in pixel space) pointing north and east at pixel ``(x, y)``."""
    ra, dec = pixel_to_sky(wcs, x, y)
    step = 1.0 / 3600.0
    px, py = sky_to_pixel(wcs, [ra, ra, (ra + step / np.cos(np.radians(dec))) % 360],
                          [dec, min(dec + step, 90.0), dec])
    north = np.array([px[1] - px[0], py[1] - py[0]])
    east = np.array([px[2] - px[0], py[2] - py[0]])
    return north / np.hypot(*north), east / np.hypot(*east)


def local_affine(wcs: WCS, x: float, y: float) -> dict[str, float]:
    """A linear pixel → tangent-plane (arcsec) map about pixel ``(x, y)``, for the browser's RA/Dec readout.

    Returns the tangent point ``ra0, dec0`` (degrees), the pixel ``x0, y0`` and the Jacobian
    ``a, b, c, d`` so that ``xi = a (x - x0) + b (y - y0)``, ``eta = c (x - x0) + d (y - y0)`` (arcsec).
    Over a cutout the neglected terms are far below a pixel.
    """
    ra0, dec0 = pixel_to_sky(wcs, x, y)
    ras, decs = pixel_to_sky(wcs, [x + 1.0, x], [y, y + 1.0])
    xi, eta = tangent_offsets_arcsec(ras, decs, ra0, dec0)
    return dict(ra0=float(ra0), dec0=float(dec0), x0=float(x), y0=float(y),
                a=float(xi[0]), b=float(xi[1]), c=float(eta[0]), d=float(eta[1]))


def ellipses_to_pixels(wcs: WCS, ra, dec, major_arcsec, minor_arcsec, pa_deg, *, north, east,
                       pixel_scale_arcsec: float, smallest_px: float) -> tuple[np.ndarray, ...]:
    """Sky ellipses (FWHM axes in arcsec, position angle east of north) as pixel ellipses: centres, full
    axes and the angle of the major axis from +x (radians, counter-clockwise). Unknown or tiny axes are
    drawn ``smallest_px`` across; ``north`` and ``east`` are unit pixel vectors (the field's centre)."""
    x, y = sky_to_pixel(wcs, ra, dec)
    pa = np.radians(np.nan_to_num(np.asarray(pa_deg, float), nan=0.0))
    direction = np.cos(pa)[:, None] * np.asarray(north)[None, :] + np.sin(pa)[:, None] * np.asarray(east)[None, :]
    width = np.fmax(np.nan_to_num(np.asarray(major_arcsec, float)) / pixel_scale_arcsec, smallest_px)
    height = np.fmax(np.nan_to_num(np.asarray(minor_arcsec, float)) / pixel_scale_arcsec, smallest_px)
    return x, y, width, height, np.arctan2(direction[:, 1], direction[:, 0])
