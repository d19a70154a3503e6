"""From image arrays to what the page draws: stretched 8-bit images and radio contours.

Pure functions: numpy (and a WCS where positions move between images) in, numpy out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.visualization import (
    AsinhStretch,
    LinearStretch,
    LogStretch,
    PercentileInterval,
    SqrtStretch,
    ZScaleInterval,
)
from astropy.wcs import WCS
from contourpy import LineType, contour_generator

from .coords import local_affine, north_east, pixel_scale_arcsec, pixel_to_pixel

STRETCHES = {
    "linear": LinearStretch,
    "sqrt": SqrtStretch,
    "log": LogStretch,
    "asinh": AsinhStretch,
}


def to_uint8(data: np.ndarray, *, stretch: str = "linear", percentile: float | None = None,
             limits: tuple[float, float] | None = None) -> np.ndarray:
    """Scale an image to 0–255 for display.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image; NaN pixels (no data) become 0, which the page draws in its own colour.
    stretch : {"linear", "sqrt", "log", "asinh"}
        Stretch applied after the limits.
    percentile : float or None
        Keep this central percentage of the finite pixels; ``None`` uses IRAF's zscale limits.
    limits : (float, float), optional
        Explicit ``(vmin, vmax)``, overriding ``percentile``.

    Returns
    -------
    numpy.ndarray
        ``uint8`` image of the same shape: 0 where there is no data, 1–255 for the data.
    """
    finite = np.isfinite(data)
    out = np.zeros(data.shape, dtype=np.uint8)
    if not finite.any():
        return out
    out[finite] = 1
    values = data[finite]
    if limits is not None:
        vmin, vmax = limits
    else:
        interval = ZScaleInterval() if percentile is None else PercentileInterval(percentile)
        vmin, vmax = interval.get_limits(values)
    if not vmax > vmin:
        return out
    scaled = STRETCHES[stretch]()(np.clip((values - vmin) / (vmax - vmin), 0.0, 1.0))
    out[finite] = 1 + np.round(scaled * 254.0).astype(np.uint8)
    return out


def estimate_noise(data: np.ndarray) -> tuple[float, float]:
    """Background level and noise of an image: median and standard deviation after 3σ clipping.

    Radio sources fill a small part of a cutout, so clipping removes them and leaves the noise. The
    background is ~0 for radio maps, but not for rendered (display-stretched) images.
    """
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return float("nan"), float("nan")
    if finite.size > NOISE_SAMPLE:  # a regular subsample estimates the noise as well, much faster
        finite = finite[:: finite.size // NOISE_SAMPLE]
    _, median, std = sigma_clipped_stats(finite, sigma=3.0, maxiters=10)
    return float(median), float(std)


def estimate_rms(data: np.ndarray) -> float:
    """Noise of a radio image (see :func:`estimate_noise`)."""
    return estimate_noise(data)[1]


def is_display_render(data: np.ndarray) -> bool:
    """Whether an image is a display render (a JPG/PNG's 8-bit channels, e.g. RGZ's subject images) rather
    than a measurement: whole numbers from 0, with a tenth or more of the pixels clipped to the lowest. Its
    sigma-clipped spread is the faint emission's, not a noise level."""
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return False
    if finite.size > NOISE_SAMPLE:
        finite = finite[:: finite.size // NOISE_SAMPLE]
    low = float(finite.min())
    return low >= 0 and bool(np.all(finite == np.round(finite))) and np.mean(finite == low) >= 0.1


def render_noise(data: np.ndarray) -> float:
    """A noise level for a display render, which has none of its own: its 95th percentile (nearly all sky:
    the emission is a few percent of the pixels) over 2.5, so that a 4σ floor clears the render's noise
    peaks (on RGZ's renders ~30 contour lines where a sigma-clipped spread drew ~1,000)."""
    finite = data[np.isfinite(data)]
    if finite.size > NOISE_SAMPLE:
        finite = finite[:: finite.size // NOISE_SAMPLE]
    return float(np.percentile(finite, 95)) / 2.5 if finite.size else float("nan")


def contour_levels(rms: float, peak: float, *, floor_sigma: float = 4.0, step: float = 2**0.5,
                   max_levels: int = 12, background: float = 0.0) -> np.ndarray:
    """Geometric contour levels ``background + floor_sigma * rms * step**k`` below ``peak``.

    Returns an empty array when the image has no emission above the floor (or no usable rms).
    """
    if not (np.isfinite(rms) and rms > 0 and np.isfinite(peak) and np.isfinite(background)):
        return np.empty(0)
    lowest = floor_sigma * rms
    if peak - background <= lowest:
        return np.empty(0)
    n = min(max_levels, int(np.floor(np.log((peak - background) / lowest) / np.log(step))) + 1)
    return background + lowest * step ** np.arange(n)


@dataclass(frozen=True)
class ContourSet:
    """Contour lines in some pixel grid: one ``(N, 2)`` array of ``(x, y)`` per line, with its level."""

    lines: list[np.ndarray]
    levels: np.ndarray  # level of each line, same length as ``lines``


def contour_lines(data: np.ndarray, levels: np.ndarray) -> ContourSet:
    """Trace contour lines of ``data`` at ``levels`` in its own pixel coordinates (NaN pixels masked)."""
    if len(levels) == 0:
        return ContourSet([], np.empty(0))
    z = np.ma.masked_invalid(data)
    gen = contour_generator(z=z, line_type=LineType.Separate)
    lines: list[np.ndarray] = []
    line_levels: list[float] = []
    for level in levels:
        for line in gen.lines(level):
            if len(line) >= 2:
                lines.append(line)
                line_levels.append(level)
    return ContourSet(lines, np.asarray(line_levels))


def joined_lines(contours: ContourSet) -> tuple[np.ndarray, np.ndarray]:
    """All lines as one ``(x, y)`` pair of arrays with NaN between lines: one glyph draws them all, which
    serialises and paints far faster than one array per line."""
    if not contours.lines:
        return np.empty(0), np.empty(0)
    # one concatenation and one scatter, not a Python list of 2n pieces: a noisy 4096² field has ~10⁵ lines
    n = len(contours.lines)
    lengths = np.fromiter((len(line) for line in contours.lines), np.int64, n)
    xy = np.full((int(lengths.sum()) + n - 1, 2), np.nan, np.float32)  # float32: plenty on screen, half the bytes
    xy[np.arange(lengths.sum()) + np.repeat(np.arange(n), lengths)] = np.concatenate(contours.lines)  # k NaNs before line k
    return xy[:, 0], xy[:, 1]


def reproject_lines(contours: ContourSet, from_wcs: WCS, to_wcs: WCS) -> ContourSet:
    """Move contour lines from one image's pixel grid to another's through the sky, in one call."""
    if not contours.lines:
        return contours
    lengths = [len(line) for line in contours.lines]
    xy = np.concatenate(contours.lines)
    u, v = pixel_to_pixel(from_wcs, to_wcs, xy[:, 0], xy[:, 1])
    moved = np.split(np.column_stack([u, v]), np.cumsum(lengths)[:-1])
    return ContourSet(moved, contours.levels)


NOISE_SAMPLE = 40_000
INTERVALS = ("auto", "zscale", "99.5%", "99%", "min-max")
SCALE_BAR_ARCSEC = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)


@dataclass(frozen=True)
class Display:
    """How a source is drawn; every field has a default that suits the layer's kind.

    Attributes
    ----------
    background : int or None
        Index of the layer shown as the image; ``None``: the first optical/IR layer, else the first radio.
    contours_from : int or None
        Index of the radio layer whose contours are drawn; ``None``: the first radio layer.
    stretch : {"linear", "sqrt", "log", "asinh"} or None
        ``None``: linear for optical/IR, square root for radio.
    interval : {"auto", "zscale", "99.5%", "99%", "min-max"}
        Display limits; "auto" is zscale for optical/IR and −1σ to the peak for radio.
    floor_sigma, step, max_levels :
        Contour levels: ``floor_sigma * rms * step**k``, at most ``max_levels``.
    """

    background: int | None = None
    contours_from: int | None = None
    stretch: str | None = None
    interval: str = "auto"
    floor_sigma: float = 4.0
    step: float = 2**0.5
    max_levels: int = 12


@dataclass(frozen=True)
class View:
    """What the annotation page draws for one source, in the background layer's pixel grid.

    Attributes
    ----------
    image : numpy.ndarray
        ``uint8`` background (row 0 at the bottom, as in FITS).
    wcs : astropy.wcs.WCS
        The background's WCS: clicks map to the sky through it.
    background_index : int
        Position of the background among the layers given to :func:`compose_view`.
    background_band : str
        Band of the background layer.
    contours : ContourSet
        Radio contours moved into the background's pixel grid.
    contour_index : int or None
        Position of the radio layer the contours come from.
    contour_band : str
        Its band ('' if none).
    rms : float
        Noise of that radio layer (its units); NaN if none, or if it is a display render (its contours then
        start at ``floor_sigma`` times :func:`render_noise`).
    pixel_scale_arcsec : float
        Background pixel size.
    north, east : numpy.ndarray
        Unit vectors towards north and east in background pixels, at the image centre.
    readout : dict
        Linear pixel → sky map about the centre, for the browser's RA/Dec readout
        (:func:`xid_app.coords.local_affine`).
    contour_xy : tuple of numpy.ndarray
        The contours as drawn (:func:`joined_lines`): made with the view, off the server's event loop.
    """

    image: np.ndarray
    wcs: WCS
    background_index: int
    background_band: str
    contours: ContourSet
    contour_index: int | None
    contour_band: str
    rms: float
    pixel_scale_arcsec: float
    north: np.ndarray
    east: np.ndarray
    readout: dict
    contour_xy: tuple[np.ndarray, np.ndarray]

    def scale_bar_arcsec(self, fraction: float = 0.25) -> float:
        """A round length close to ``fraction`` of the image width."""
        target = fraction * self.image.shape[1] * self.pixel_scale_arcsec
        return float(min(SCALE_BAR_ARCSEC, key=lambda length: abs(np.log(length / target))))


def _limits(data: np.ndarray, interval: str, *, radio: bool, rms: float):
    if interval == "auto":
        if radio and np.isfinite(rms):
            return dict(limits=(-rms, float(np.nanmax(data))))
        return dict(percentile=None)
    if interval == "zscale":
        return dict(percentile=None)
    if interval == "min-max":
        return dict(limits=(float(np.nanmin(data)), float(np.nanmax(data))))
    if interval.endswith("%"):
        return dict(percentile=float(interval[:-1]))
    raise ValueError(f"unknown display interval {interval!r}; use one of {', '.join(INTERVALS)}")


def compose_view(layers, display: Display = Display()) -> View:
    """Background and contours of a source from its layers (:class:`xid_app.cutouts.Cutout`).

    Contours are traced on the radio layer's own grid and mapped through the sky onto the background
    (the two grids may differ in scale, size and projection); no image is reprojected.
    """
    if not layers:
        raise ValueError("a source needs at least one image layer to be shown")
    radio = [i for i, c in enumerate(layers) if c.kind == "radio"]
    optical = [i for i, c in enumerate(layers) if c.kind == "optical"]
    bg_index = display.background if display.background is not None else (optical or radio)[0]
    contour_index = display.contours_from if display.contours_from is not None else (radio[0] if radio else None)
    if not 0 <= bg_index < len(layers):
        raise ValueError(f"no layer {bg_index} to show")
    background = layers[bg_index]

    contours, band, rms = ContourSet([], np.empty(0)), "", float("nan")
    if contour_index is not None:
        r = layers[contour_index]
        if is_display_render(r.data):  # no noise level of its own: one from its brightness (rms stays NaN)
            background_level, noise = float(np.nanmin(r.data)), render_noise(r.data)
        else:
            background_level, rms = estimate_noise(r.data)
            noise = rms
        levels = contour_levels(noise, float(np.nanmax(r.data)), floor_sigma=display.floor_sigma,
                                step=display.step, max_levels=display.max_levels, background=background_level)
        contours = contour_lines(r.data, levels)
        if contour_index != bg_index:
            contours = reproject_lines(contours, r.wcs, background.wcs)
        band = r.band

    is_radio = background.kind == "radio"
    bg_rms = rms if bg_index == contour_index else (estimate_rms(background.data) if is_radio else float("nan"))
    stretch = display.stretch or ("sqrt" if is_radio else "linear")
    image = to_uint8(background.data, stretch=stretch, **_limits(background.data, display.interval,
                                                                  radio=is_radio, rms=bg_rms))
    ny, nx = background.shape
    centre = ((nx - 1) / 2, (ny - 1) / 2)
    north, east = north_east(background.wcs, *centre)
    return View(image=image, wcs=background.wcs, background_index=bg_index, background_band=background.band,
                contours=contours, contour_index=contour_index, contour_band=band, rms=rms,
                pixel_scale_arcsec=pixel_scale_arcsec(background.wcs), north=north, east=east,
                readout=local_affine(background.wcs, *centre), contour_xy=joined_lines(contours))
