"""Fields cut on demand from large survey mosaics, and the choice of tile for each source.

Mosaics stay on disk, memory-mapped: a cutout reads only the pixels it covers, so a 20,000 × 20,000 tile
costs no more to cut from than a small one. Open tiles are kept in a small cache per process.
"""

from __future__ import annotations

import glob
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.nddata import Cutout2D, NoOverlapError
from astropy.wcs import WCS
from scipy.spatial import cKDTree

from .coords import WCSError, celestial_wcs, pixel_scale_arcsec, pixel_to_sky, sky_to_pixel
from .cutouts import MAX_IMAGE_PIXELS, Cutout, ImageError, LayerKind, image_hdu, read_image_header

OPEN_TILES = 16  # memory maps kept open per process


@dataclass(frozen=True)
class Tile:
    """A mosaic tile: its file, celestial WCS and 2-D shape ``(ny, nx)``."""

    path: Path
    wcs: WCS
    shape: tuple[int, int]

    def margins(self, ra, dec) -> np.ndarray:
        """Pixels from each sky position to the nearest edge of the tile (negative: outside)."""
        x, y = sky_to_pixel(self.wcs, ra, dec)
        ny, nx = self.shape
        margin = np.minimum.reduce([x + 0.5, nx - 0.5 - x, y + 0.5, ny - 0.5 - y])
        return np.where(np.isfinite(margin), margin, -np.inf)


def field_size(size_arcsec, *, minimum_arcsec: float, factor: float):
    """The side of the field to show for a source of angular size ``size_arcsec`` (a number, ``None`` or
    an array): ``factor`` times the size, and never less than ``minimum_arcsec`` (nor when the size is
    unknown)."""
    size = np.asarray(np.nan if size_arcsec is None else size_arcsec, float)
    side = np.where(np.isfinite(size) & (size > 0), np.maximum(minimum_arcsec, factor * size), minimum_arcsec)
    return float(side) if side.ndim == 0 else side


def read_tile(path: str | Path) -> Tile:
    """Read a tile's header (not its pixels) and check it can be cut from.

    Raises
    ------
    ImageError
        As :func:`xid_app.cutouts.read_image_header`, or if the header has no usable celestial WCS.
    """
    # a compressed tile cannot be memory-mapped: each cut would decompress it whole
    compressed = Path(path).name.lower().endswith((".gz", ".fz", ".bz2"))
    checked = read_image_header(path, max_pixels=MAX_IMAGE_PIXELS if compressed else None)
    try:
        wcs = celestial_wcs(checked.header)
    except WCSError as exc:
        raise ImageError(f"{path}: {exc}") from exc
    return Tile(Path(path), wcs, checked.shape)


def tiles_from_glob(pattern: str) -> list[Tile]:
    """Every tile matching a glob pattern, sorted by path.

    Raises
    ------
    ImageError
        If nothing matches, or naming every tile that cannot be read.
    """
    paths = sorted(Path(p) for p in glob.glob(str(Path(pattern).expanduser())))
    if not paths:
        raise ImageError(f"{pattern}: no mosaic tile matches")
    tiles, problems = [], []
    for path in paths:
        try:
            tiles.append(read_tile(path))
        except ImageError as exc:
            problems.append(str(exc))
    if problems:
        raise ImageError("; ".join(problems))
    return tiles


def best_tiles(tiles: list[Tile], ra, dec) -> np.ndarray:
    """For each sky position, the index of the tile whose edges are farthest from it (the one showing most
    around the source) among those with data there; -1 where no tile covers it.

    Each tile looks only at the positions within the circle around its corners (a k-d tree on the unit
    sphere): a survey of 4 million sources over 841 LoTSS tiles would otherwise project every source
    onto every tile."""
    ra, dec = np.atleast_1d(np.asarray(ra, float)), np.atleast_1d(np.asarray(dec, float))
    best, best_margin = np.full(len(ra), -1), np.zeros(len(ra))
    tree = cKDTree(_unit_vectors(ra, dec))
    for i, tile in enumerate(tiles):
        centre, radius = _footprint(tile)
        near = np.asarray(tree.query_ball_point(centre, 2 * np.sin(radius / 2)), dtype=int)
        if len(near) == 0:
            continue
        margin = tile.margins(ra[near], dec[near])
        farther = margin > best_margin[near]
        inside, margin = near[farther], margin[farther]
        if len(inside) == 0:
            continue
        plane = _open(tile.path).plane
        x, y = sky_to_pixel(tile.wcs, ra[inside], dec[inside])
        rows = np.clip(np.round(y).astype(int), 0, tile.shape[0] - 1)
        cols = np.clip(np.round(x).astype(int), 0, tile.shape[1] - 1)
        values = plane[rows, cols] if isinstance(plane, np.ndarray) else [plane[r, c] for r, c in zip(rows, cols)]
        has_data = np.isfinite(np.asarray(values, dtype=float))
        best[inside[has_data]], best_margin[inside[has_data]] = i, margin[has_data]
    return best


def _unit_vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra), np.radians(dec)
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def _footprint(tile: Tile) -> tuple[np.ndarray, float]:
    """The unit vector of a tile's centre and the angle (radians) from it to its farthest corner."""
    ny, nx = tile.shape
    x = np.array([(nx - 1) / 2, -0.5, nx - 0.5, -0.5, nx - 0.5])
    y = np.array([(ny - 1) / 2, -0.5, -0.5, ny - 0.5, ny - 0.5])
    ra, dec = pixel_to_sky(tile.wcs, x, y)
    points = _unit_vectors(ra, dec)
    return points[0], float(np.arccos(np.clip(points[1:] @ points[0], -1, 1)).max()) * 1.01


@dataclass(frozen=True)
class _OpenTile:
    plane: np.ndarray  # the 2-D sky plane as stored (a memory map)
    wcs: WCS
    scale: tuple[float, float, int | None] | None  # BSCALE, BZERO, BLANK of integer pixels


_lock = threading.Lock()
_open_tiles: OrderedDict[Path, _OpenTile] = OrderedDict()


def _open(path: Path) -> _OpenTile:
    """A tile from the cache of open tiles, opening it (memory-mapped) if needed."""
    with _lock:
        if path in _open_tiles:
            _open_tiles.move_to_end(path)
            return _open_tiles[path]
    tile = read_tile(path)
    checked = read_image_header(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        hdul = fits.open(path, memmap=True, do_not_scale_image_data=True)  # scaled below, on the cut only
        plane = image_hdu(hdul).data.reshape(checked.shape)
    h = checked.header
    scale = (float(h.get("BSCALE", 1.0)), float(h.get("BZERO", 0.0)), h.get("BLANK")) if checked.scaled else None
    opened = _OpenTile(plane, tile.wcs, scale)
    with _lock:
        _open_tiles[path] = opened
        while len(_open_tiles) > OPEN_TILES:
            _open_tiles.popitem(last=False)
    return opened


def cut(path: str | Path, ra: float, dec: float, field_arcsec: float, *, band: str, kind: LayerKind) -> Cutout:
    """Cut a square field of side ``field_arcsec`` centred on ``(ra, dec)`` out of a mosaic tile.

    Parts of the field beyond the tile are blank (NaN), so the source stays centred.

    Raises
    ------
    ImageError
        If the tile cannot be read, or the field holds no data.
    """
    path = Path(path)
    tile = _open(path)
    side = max(int(np.ceil(field_arcsec / pixel_scale_arcsec(tile.wcs))), 2)
    floating = tile.plane.dtype.kind == "f"
    try:
        piece = Cutout2D(tile.plane, SkyCoord(ra, dec, unit="deg", frame="icrs"), (side, side), wcs=tile.wcs,
                         mode="partial", fill_value=np.nan if floating else 0, copy=True)
    except NoOverlapError as exc:
        raise ImageError(f"{path}: the field at ({ra:.5f}, {dec:+.5f}) lies outside this tile") from exc
    pixels = np.asarray(piece.data, dtype=np.float32)
    if tile.scale is not None:
        bscale, bzero, blank = tile.scale
        if blank is not None:
            pixels[piece.data == blank] = np.nan
        pixels = pixels * np.float32(bscale) + np.float32(bzero)
    if not floating:  # integers held no NaN for the margins beyond the tile
        beyond = np.ones(pixels.shape, dtype=bool)
        beyond[piece.slices_cutout] = False
        pixels[beyond] = np.nan
    if not np.isfinite(pixels).any():
        raise ImageError(f"{path}: no data in the field at ({ra:.5f}, {dec:+.5f})")
    return Cutout(data=pixels, wcs=piece.wcs, band=band, kind=kind)


def arcsec(quantity) -> float:
    """A size column's value in arcsec (plain numbers are taken as arcsec)."""
    return float(u.Quantity(quantity, u.arcsec).to_value(u.arcsec))
