"""Image layers of a source as :class:`Cutout` objects: 2-D data, its celestial WCS and its band.

Every input form is normalised here, at the edge, so that the rest of XID only ever sees a finite-WCS,
2-D float image. Broken inputs raise :class:`ImageError` with a message that names the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.wcs import WCS

from .coords import WCSError, celestial_wcs, sky_to_pixel

LayerKind = Literal["radio", "optical"]


class ImageError(ValueError):
    """An image file cannot be used as a layer; the message names the file and the reason."""


@dataclass(frozen=True)
class Cutout:
    """One image layer of a source.

    Attributes
    ----------
    data : numpy.ndarray
        2-D image, ``data[row, column]``, NaN where blank.
    wcs : astropy.wcs.WCS
        Its 2-D celestial WCS.
    band : str
        Survey or band name shown to the user, e.g. ``"FIRST 1.4 GHz"`` or ``"WISE W1"``.
    kind : {"radio", "optical"}
        Radio layers get contours; optical/IR layers are backgrounds.
    """

    data: np.ndarray
    wcs: WCS
    band: str
    kind: LayerKind

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # type: ignore[return-value]

    def contains(self, ra: float, dec: float) -> bool:
        """Whether the sky position ``(ra, dec)`` (ICRS degrees) falls on the image."""
        x, y = sky_to_pixel(self.wcs, ra, dec)
        ny, nx = self.shape
        return bool(-0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5)


def _image_hdu(hdul: fits.HDUList):
    for hdu in hdul:
        if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)) and hdu.header.get("NAXIS", 0) >= 2:
            return hdu
    return None


def read_fits_layer(path: str | Path, *, band: str, kind: LayerKind) -> Cutout:
    """Read a FITS image into a :class:`Cutout`.

    The first HDU holding an image of two or more axes is used. Degenerate axes (radio FREQ/STOKES) are
    squeezed away; the header's celestial axes give the WCS.

    Parameters
    ----------
    path : str or pathlib.Path
        The FITS file (optionally gzip-compressed).
    band : str
        Name of the survey or band.
    kind : {"radio", "optical"}
        Role of the layer.

    Raises
    ------
    ImageError
        If the file is missing, not FITS, holds no 2-D image, has no usable celestial WCS, or has no
        finite pixel.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            with fits.open(path, memmap=True) as hdul:
                hdu = _image_hdu(hdul)
                if hdu is None:
                    raise ImageError(f"{path}: no image HDU with two or more axes")
                header = hdu.header.copy()
                data = np.asarray(hdu.data, dtype=np.float32)
    except ImageError:
        raise
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError... for broken files
        raise ImageError(f"{path}: not a readable FITS image ({exc})") from exc
    data = np.squeeze(data)
    if data.ndim != 2:
        raise ImageError(f"{path}: image has {data.ndim} non-degenerate axes {data.shape}; a 2-D image is needed")
    try:
        wcs = celestial_wcs(header)
    except WCSError as exc:
        raise ImageError(f"{path}: {exc}") from exc
    if not np.isfinite(data).any():
        raise ImageError(f"{path}: every pixel is blank (NaN or infinite)")
    return Cutout(data=data, wcs=wcs, band=band, kind=kind)
