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
# The largest image read whole (a source's FITS file, gzipped or not, or a picture): 4096², 64 MB as float32.
# Checked from the header, before a pixel is decompressed: a 1.5 MB .fits.gz can hold 20000² zeros.
MAX_IMAGE_PIXELS = 4096 * 4096


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


def image_hdu(hdul: fits.HDUList):
    """The first HDU holding an image of two or more axes, or ``None``."""
    for hdu in hdul:
        if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)) and hdu.header.get("NAXIS", 0) >= 2:
            return hdu
    return None


PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png")


def read_layer_file(path: str | Path, *, band: str, kind: LayerKind, max_pixels: int = MAX_IMAGE_PIXELS) -> Cutout:
    """Read an image file of any supported form: FITS (optionally gzipped), or a JPG/PNG picture with a
    WCS sidecar header (see :func:`read_picture_layer`), of at most ``max_pixels`` pixels."""
    if Path(path).suffix.lower() in PICTURE_SUFFIXES:
        return read_picture_layer(path, band=band, kind=kind, max_pixels=max_pixels)
    return read_fits_layer(path, band=band, kind=kind, max_pixels=max_pixels)


def _too_large(path: Path, shape: tuple[int, ...], max_pixels: int) -> ImageError | None:
    pixels = int(np.prod(shape, dtype=np.int64))
    if pixels <= max_pixels:
        return None
    return ImageError(f"{path}: an image of {' × '.join(map(str, shape))} pixels is larger than "
                      f"{max_pixels:,} (XID_MAX_IMAGE_PIXELS): cut it smaller, or give it as a mosaic tile "
                      "(--mosaic), which is read a field at a time")


def sidecar_header(path: Path) -> Path | None:
    """The WCS header beside a picture: ``NAME.wcs.hdr`` or ``NAME.hdr`` for ``NAME.jpg``."""
    for candidate in (path.with_suffix(".wcs.hdr"), path.with_suffix(".hdr")):
        if candidate.is_file():
            return candidate
    return None


def read_picture_layer(path: str | Path, *, band: str, kind: LayerKind, max_pixels: int = MAX_IMAGE_PIXELS
                       ) -> Cutout:
    """Read a JPG/PNG picture with a sidecar FITS header giving its WCS.

    The picture's brightness (luminance) becomes the data; FITS pixel (1, 1) is the picture's bottom-left
    corner, so the rows are flipped. A picture is a display stretch, not flux: contours drawn from a radio
    picture follow brightness levels of the picture.

    Raises
    ------
    ImageError
        If the picture or its sidecar is missing or unreadable, or the sidecar has no usable WCS.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: file not found")
    header_path = sidecar_header(path)
    if header_path is None:
        raise ImageError(f"{path}: a picture needs its WCS in a sidecar header {path.with_suffix('.wcs.hdr').name} "
                         f"(FITS header cards as text)")
    try:
        with Image.open(path) as picture:  # reads the header only
            if (too_large := _too_large(path, picture.size[::-1], max_pixels)) is not None:
                raise too_large
            data = np.asarray(picture.convert("L"), dtype=np.float32)[::-1].copy()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{path}: not a readable JPG/PNG picture ({exc})") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            header = fits.Header.fromtextfile(header_path) if b"\n" in header_path.read_bytes()[:2880] \
                else fits.Header.fromfile(header_path, sep="", endcard=True, padding=False)
        wcs = celestial_wcs(header)
    except WCSError as exc:
        raise ImageError(f"{header_path}: {exc}") from exc
    except Exception as exc:
        raise ImageError(f"{header_path}: not a readable FITS header ({exc})") from exc
    return Cutout(data=data, wcs=wcs, band=band, kind=kind)


@dataclass(frozen=True)
class ImageHeader:
    """A FITS image's header, checked before any pixel is read.

    Attributes
    ----------
    header : astropy.io.fits.Header
    shape : tuple of int
        ``(ny, nx)`` of the sky plane (other axes are degenerate).
    scaled : bool
        Stored as integers with BSCALE/BZERO/BLANK, so the pixels cannot be memory-mapped as they are.
    """

    header: fits.Header
    shape: tuple[int, int]
    scaled: bool


def _not_fits(path: Path, exc: Exception) -> str:
    """Why a file is not a FITS image, in words for the user."""
    with open(path, "rb") as f:
        start = f.read(512).lstrip().lower()
    if not start:
        return "the file is empty"
    if start.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        return "an HTML/XML page, not a FITS image (an archive's error page saved as .fits?)"
    if start.startswith(b"simple  ="):
        return f"a FITS file that is cut short or corrupt ({exc})"
    return f"not a readable FITS image ({exc})"


def read_image_header(path: str | Path, *, max_pixels: int | None = None) -> ImageHeader:
    """Read and check the header of the first image HDU of a FITS file (gzip allowed), and (if given) that
    the image has at most ``max_pixels`` pixels, before any pixel is read or decompressed.

    Raises
    ------
    ImageError
        If the file is missing or not FITS, holds no image of two or more axes, is a cube with several
        planes, or is shorter than its header claims (truncated, or a header claiming a huge image, which
        would otherwise be allocated before failing).
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
                hdu = image_hdu(hdul)
                if hdu is None:
                    raise ImageError(f"{path}: no image HDU with two or more axes")
                header = hdu.header.copy()
                data_start = hdu.fileinfo()["datLoc"]
    except ImageError:
        raise
    except Exception as exc:  # astropy raises OSError, ValueError, TypeError... for broken files
        raise ImageError(f"{path}: {_not_fits(path, exc)}") from exc
    axes = [int(header.get(f"NAXIS{i}", 0)) for i in range(1, int(header["NAXIS"]) + 1)]
    if any(n != 1 for n in axes[2:]):
        raise ImageError(f"{path}: a cube with {axes[2:]} planes beyond the sky axes; XID shows one 2-D plane "
                         f"per layer (write out the plane to show)")
    expected = abs(int(header.get("BITPIX", 8))) // 8 * int(np.prod(axes))
    held = path.stat().st_size - data_start
    if not path.name.lower().endswith(".gz") and held < expected:
        raise ImageError(f"{path}: the header describes {expected:,} bytes of pixels but the file holds "
                         f"{max(held, 0):,}: truncated, or a header claiming too large an image")
    if max_pixels is not None and (too_large := _too_large(path, (axes[1], axes[0]), max_pixels)) is not None:
        raise too_large
    scaled = any(key in header for key in ("BSCALE", "BZERO", "BLANK")) and int(header.get("BITPIX", 8)) > 0
    return ImageHeader(header, (axes[1], axes[0]), scaled)


def read_fits_layer(path: str | Path, *, band: str, kind: LayerKind, max_pixels: int = MAX_IMAGE_PIXELS) -> Cutout:
    """Read a FITS image into a :class:`Cutout`.

    The first HDU holding an image of two or more axes is used. Degenerate axes (radio FREQ/STOKES) are
    squeezed away; the header's celestial axes give the WCS; scaled integers are scaled.

    Parameters
    ----------
    path : str or pathlib.Path
        The FITS file (optionally gzip-compressed).
    band : str
        Name of the survey or band.
    kind : {"radio", "optical"}
        Role of the layer.
    max_pixels : int
        The largest image read (pixels), checked from the header first.

    Raises
    ------
    ImageError
        If the header is unusable (see :func:`read_image_header`), the image too large, the header has
        no usable celestial WCS, or no pixel is finite.
    """
    path = Path(path)
    checked = read_image_header(path, max_pixels=max_pixels)
    try:
        wcs = celestial_wcs(checked.header)
    except WCSError as exc:
        raise ImageError(f"{path}: {exc}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            with fits.open(path, memmap=not checked.scaled) as hdul:
                data = np.asarray(image_hdu(hdul).data, dtype=np.float32).reshape(checked.shape)
    except Exception as exc:  # e.g. pixels that do not decompress
        raise ImageError(f"{path}: the pixels cannot be read ({exc})") from exc
    if not np.isfinite(data).any():
        raise ImageError(f"{path}: every pixel is blank (NaN or infinite)")
    return Cutout(data=data, wcs=wcs, band=band, kind=kind)
