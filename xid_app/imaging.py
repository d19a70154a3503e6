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

from .coords import pixel_to_pixel

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
        2-D image; NaN pixels become 0 (black).
    stretch : {"linear", "sqrt", "log", "asinh"}
        Stretch applied after the limits.
    percentile : float or None
        Keep this central percentage of the finite pixels; ``None`` uses IRAF's zscale limits.
    limits : (float, float), optional
        Explicit ``(vmin, vmax)``, overriding ``percentile``.

    Returns
    -------
    numpy.ndarray
        ``uint8`` image of the same shape.
    """
    finite = np.isfinite(data)
    out = np.zeros(data.shape, dtype=np.uint8)
    if not finite.any():
        return out
    values = data[finite]
    if limits is not None:
        vmin, vmax = limits
    else:
        interval = ZScaleInterval() if percentile is None else PercentileInterval(percentile)
        vmin, vmax = interval.get_limits(values)
    if not vmax > vmin:
        return out
    scaled = STRETCHES[stretch]()(np.clip((values - vmin) / (vmax - vmin), 0.0, 1.0))
    out[finite] = np.round(scaled * 255.0).astype(np.uint8)
    return out


def estimate_rms(data: np.ndarray) -> float:
    """Noise of a radio image: standard deviation after 3σ clipping of the finite pixels.

    Radio sources fill a small part of a cutout, so clipping removes them and leaves the noise.
    """
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return float("nan")
    _, _, std = sigma_clipped_stats(finite, sigma=3.0, maxiters=10)
    return float(std)


def contour_levels(rms: float, peak: float, *, floor_sigma: float = 4.0, step: float = 2**0.5,
                   max_levels: int = 12) -> np.ndarray:
    """Geometric contour levels ``floor_sigma * rms * step**k`` below ``peak``.

    Returns an empty array when the image has no emission above the floor (or no usable rms).
    """
    if not (np.isfinite(rms) and rms > 0 and np.isfinite(peak)):
        return np.empty(0)
    lowest = floor_sigma * rms
    if peak <= lowest:
        return np.empty(0)
    n = min(max_levels, int(np.floor(np.log(peak / lowest) / np.log(step))) + 1)
    return lowest * step ** np.arange(n)


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


def reproject_lines(contours: ContourSet, from_wcs: WCS, to_wcs: WCS) -> ContourSet:
    """Move contour lines from one image's pixel grid to another's through the sky, in one call."""
    if not contours.lines:
        return contours
    lengths = [len(line) for line in contours.lines]
    xy = np.concatenate(contours.lines)
    u, v = pixel_to_pixel(from_wcs, to_wcs, xy[:, 0], xy[:, 1])
    moved = np.split(np.column_stack([u, v]), np.cumsum(lengths)[:-1])
    return ContourSet(moved, contours.levels)


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
    contour_band : str
        Band of the radio layer the contours come from ('' if none).
    rms : float
        Noise of that radio layer (its units), NaN if none.
    """

    image: np.ndarray
    wcs: WCS
    background_index: int
    background_band: str
    contours: ContourSet
    contour_band: str
    rms: float


def compose_view(layers, *, floor_sigma: float = 4.0, step: float = 2**0.5, max_levels: int = 12) -> View:
    """Background and contours of a source from its layers (:class:`xid_app.cutouts.Cutout`).

    The first optical/IR layer is the background (zscale, linear); without one the radio image itself is
    shown in greyscale (square-root stretch from -1σ to the peak). Contours come from the first radio layer, traced on its own grid and mapped
    through the sky onto the background (the two grids may differ in scale, size and projection).
    """
    optical = [c for c in layers if c.kind == "optical"]
    radio = [c for c in layers if c.kind == "radio"]
    if not layers:
        raise ValueError("a source needs at least one image layer to be shown")
    background = optical[0] if optical else radio[0]
    background_index = next(i for i, c in enumerate(layers) if c is background)
    contours, band, rms = ContourSet([], np.empty(0)), "", float("nan")
    if radio:
        r = radio[0]
        rms = estimate_rms(r.data)
        peak = float(np.nanmax(r.data))
        levels = contour_levels(rms, peak, floor_sigma=floor_sigma, step=step, max_levels=max_levels)
        contours = contour_lines(r.data, levels)
        if r is not background:
            contours = reproject_lines(contours, r.wcs, background.wcs)
        band = r.band
    if optical:
        image = to_uint8(background.data, stretch="linear")  # zscale, as astronomers expect of optical/IR
    else:
        # Radio as background: from just below the noise to the peak, so faint emission stays visible.
        image = to_uint8(background.data, stretch="sqrt", limits=(-rms, peak) if np.isfinite(rms) else None)
    return View(image=image, wcs=background.wcs, background_index=background_index, background_band=background.band, contours=contours,
                contour_band=band, rms=rms)
