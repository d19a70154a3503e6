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


def to_uint8(data: np.ndarray, *, stretch: str = "asinh", percentile: float | None = 99.5) -> np.ndarray:
    """Scale an image to 0–255 for display.

    Parameters
    ----------
    data : numpy.ndarray
        2-D image; NaN pixels become 0 (black).
    stretch : {"linear", "sqrt", "log", "asinh"}
        Stretch applied after the limits.
    percentile : float or None
        Keep this central percentage of the finite pixels; ``None`` uses IRAF's zscale limits.

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


def contour_levels(rms: float, peak: float, *, floor_sigma: float = 3.0, step: float = 2**0.5,
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
