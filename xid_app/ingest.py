"""Reading and validating source lists: the sources, their positions and sizes, and where each of their
image layers comes from (files beside the table, mosaic tiles, archive surveys).

Nothing here touches the database: readers return validated records (or raise with every problem named)
and the store writes them in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import astropy.units as u
import numpy as np
from astropy.table import Table

from . import limits
from .archives import SERVICES
from .coords import valid_sky_position
from .cutouts import MAX_IMAGE_PIXELS, ImageError, LayerKind, read_layer_file
from .layers import Layer
from .limits import text_problem
from .mosaics import best_tiles, field_size, tiles_from_glob
from .tables import IngestError, cell_text, find_column, float_column, read_table

SOURCE_COLUMNS = ("source_id", "ra", "dec")


# Optional image columns: (path column, band-name column, kind, default band name)
IMAGE_COLUMNS: tuple[tuple[str, str, LayerKind, str], ...] = (
    ("optical_image", "optical_band", "optical", "optical/IR"),
    ("radio_image", "radio_band", "radio", "radio"),
)


@dataclass(frozen=True)
class SourceRecord:
    source_id: str
    ra: float
    dec: float
    layers: tuple[Layer, ...] = ()


@dataclass(frozen=True)
class MosaicSurvey:
    """A survey given as mosaic tiles: every source is cut from the tile that covers it best.

    ``parse("radio:LoTSS 144 MHz=mosaics/P*.fits")`` reads the command-line form ``KIND:BAND=GLOB``.
    """

    kind: LayerKind
    band: str
    pattern: str

    @classmethod
    def parse(cls, text: str) -> MosaicSurvey:
        kind, _, rest = text.partition(":")
        band, _, pattern = rest.partition("=")
        if kind not in ("radio", "optical") or not band.strip() or not pattern.strip():
            raise ValueError(f"{text!r}: give a mosaic survey as KIND:BAND=GLOB, KIND radio or optical, "
                             f"e.g. 'radio:LoTSS 144 MHz=mosaics/P*.fits'")
        return cls(kind, band.strip(), pattern.strip())  # type: ignore[arg-type]


@dataclass(frozen=True)
class ArchiveSurvey:
    """A survey fetched from an archive for every source (see :mod:`xid_app.archives`).

    ``parse("optical:WISE W1=hips2fits:CDS/P/allWISE/W1")`` reads the command-line form
    ``KIND:BAND=SERVICE:SURVEY``, SERVICE ``skyview`` or ``hips2fits``.
    """

    kind: LayerKind
    band: str
    survey: str

    @classmethod
    def parse(cls, text: str) -> ArchiveSurvey:
        kind, _, rest = text.partition(":")
        band, _, survey = rest.partition("=")
        service, _, name = survey.partition(":")
        if kind not in ("radio", "optical") or not band.strip() or service.strip() not in SERVICES or not name.strip():
            raise ValueError(f"{text!r}: give an archive survey as KIND:BAND=SERVICE:SURVEY, KIND radio or optical, "
                             f"SERVICE {' or '.join(SERVICES)}, e.g. 'optical:WISE W1=hips2fits:CDS/P/allWISE/W1'")
        return cls(kind, band.strip(), f"{service.strip()}:{name.strip()}")  # type: ignore[arg-type]


@dataclass(frozen=True)
class SourceList:
    """A validated source list: the records to store, and the sources left out because no tile of any
    mosaic survey covers them (with no other image, there is nothing to show)."""

    records: list[SourceRecord]
    outside: list[str] = field(default_factory=list)


ID_COLUMNS = ("source_id", "source_name", "name", "id")


SIZE_COLUMNS = ("size", "las", "maj")  # a source's angular size: largest angular size, major axis...


def _sizes_arcsec(table: Table, column: str | None) -> np.ndarray:
    if column is None:
        return np.full(len(table), np.nan)
    values = table[column]
    unit = getattr(values, "unit", None)
    numbers = float_column(values)
    return numbers * (unit.to(u.arcsec) if unit is not None and unit.physical_type == "angle" else 1.0)


def read_sources(path: str | Path, *, check_images: bool = True, mosaics: Sequence[MosaicSurvey] = (),
                 archives: Sequence[ArchiveSurvey] = (), id_column: str | None = None, size_column: str | None = None, field_min_arcsec: float = 180.0,
                 field_factor: float = 3.0, image_roots: Sequence[str | Path] = (),
                 max_image_pixels: int = MAX_IMAGE_PIXELS, progress: Callable[[int, int], None] | None = None
                 ) -> SourceList:
    """Read and validate a source list.

    Parameters
    ----------
    path : str or pathlib.Path
        A table astropy can read (CSV, ECSV, FITS, VOTable) with a source ID column, ``ra`` and ``dec``
        (ICRS degrees, any case), and optionally ``radio_image`` / ``optical_image`` (FITS, or JPG/PNG with
        a WCS sidecar; paths relative to the table) and ``radio_band`` / ``optical_band`` (names shown).
    check_images : bool
        Open every image and check it holds finite data with a celestial WCS covering the source.
    mosaics : sequence of MosaicSurvey
        Surveys given as mosaic tiles: each source gets a layer cut from the tile covering it best.
    archives : sequence of ArchiveSurvey
        Surveys fetched from archives (when first shown, or by ``xid fetch``): each source gets a layer.
    id_column, size_column : str, optional
        The source ID column (default: the first of source_id, Source_Name, name, id) and the angular size
        column (default: the first of size, LAS, Maj; arcsec unless the column has an angle unit).
    field_min_arcsec, field_factor : float
        A mosaic or archive field is ``field_factor`` × the source's size across, and at least ``field_min_arcsec``.
    image_roots : sequence of path
        Folders image paths may lie in besides the table's own (paths outside are refused: a table from
        someone else must not make the server open ``/etc/shadow``).
    max_image_pixels : int
        Largest image file read whole (pixels), checked from the header before any pixel is decompressed.
    progress : callable, optional
        Called now and then with ``(rows done, rows in all)``.

    Returns
    -------
    SourceList

    Raises
    ------
    IngestError
        Naming every bad row (by its line number for text tables, row number otherwise) and file.
    """
    path = Path(path)
    table = read_table(path)
    if len(table) == 0:
        raise IngestError(path, ["the table has no rows"])
    roots = [path.parent.resolve(), *(Path(r).resolve() for r in image_roots)]
    id_col = find_column(table, id_column, ID_COLUMNS, path, "source ID")
    ra_col, dec_col = (find_column(table, None, (c,), path, c) for c in ("ra", "dec"))
    missing = [name for name, col in (("source_id", id_col), ("ra", ra_col), ("dec", dec_col)) if col is None]
    if missing:
        raise IngestError(path, [f"missing required column(s): {', '.join(missing)} (have: {', '.join(table.colnames)})"])
    sizes = _sizes_arcsec(table, find_column(table, size_column, SIZE_COLUMNS, path, "size"))
    surveys = []
    for survey in mosaics:
        try:
            surveys.append((survey, tiles_from_glob(survey.pattern)))
        except ImageError as exc:
            raise IngestError(path, [f"mosaic {survey.band}: {exc}"]) from exc

    text_table = path.suffix.lower() in (".csv", ".txt", ".ecsv")
    problems: list[str] = []
    records: list[SourceRecord] = []
    rows: list[int] = []
    outside: list[str] = []
    seen: dict[str, str] = {}
    for i, row in enumerate(table):
        if progress is not None and i % 500 == 0:
            progress(i, len(table))
        where = f"line {i + 2}" if text_table else f"row {i + 1}"
        source_id = cell_text(row[id_col])
        if problem := text_problem(source_id, "source_id", limits.SOURCE_ID):
            problems.append(f"{where}: {problem}")
            continue
        where = f"{where} ({source_id})"
        if source_id in seen:
            problems.append(f"{where}: duplicate source_id, first on {seen[source_id]}")
            continue
        seen[source_id] = where
        try:
            ra, dec = float(cell_text(row[ra_col])), float(cell_text(row[dec_col]))
        except ValueError:
            problems.append(f"{where}: ra/dec must be numbers in degrees, got {cell_text(row[ra_col])!r}, {cell_text(row[dec_col])!r}")
            continue
        if not valid_sky_position(ra, dec):
            problems.append(f"{where}: position out of range (ra={ra}, dec={dec}; need 0<=ra<360, -90<=dec<=90)")
            continue
        layers = []
        for column, band_column, kind, default_band in IMAGE_COLUMNS:
            if column not in table.colnames or not cell_text(row[column]):
                continue
            image = (path.parent / cell_text(row[column])).resolve()
            if not any(image.is_relative_to(root) for root in roots):
                problems.append(f"{where}: {column}: {cell_text(row[column])!r} lies outside the table's folder "
                                f"{path.parent.resolve()} (allow another folder with --image-root)")
                continue
            band = cell_text(row[band_column]) if band_column in table.colnames else ""
            if band and (problem := text_problem(band, band_column, limits.BAND)):
                problems.append(f"{where}: {problem}")
                continue
            layer = Layer(band=band or default_band, kind=kind, path=str(image))
            if check_images:
                try:
                    cutout = read_layer_file(image, band=layer.band, kind=kind, max_pixels=max_image_pixels)
                except ImageError as exc:
                    problems.append(f"{where}: {column}: {exc}")
                    continue
                if not cutout.contains(ra, dec):
                    problems.append(f"{where}: {column}: {image} does not cover the source position")
                    continue
            layers.append(layer)
        field_arcsec = field_size(sizes[i], minimum_arcsec=field_min_arcsec, factor=field_factor)
        layers += [Layer(a.band, a.kind, a.survey, "archive", field_arcsec) for a in archives]
        records.append(SourceRecord(source_id, ra, dec, tuple(layers)))
        rows.append(i)
    if progress is not None:
        progress(len(table), len(table))
    if problems:
        raise IngestError(path, problems)
    if surveys:
        records, outside = _add_mosaic_layers(records, sizes[rows], surveys, field_min_arcsec, field_factor)
    return SourceList(records, outside)


def _add_mosaic_layers(records: list[SourceRecord], sizes: np.ndarray, surveys, field_min_arcsec: float,
                       field_factor: float) -> tuple[list[SourceRecord], list[str]]:
    """Give each source a layer from the best tile of each mosaic survey; sources with no layer at all are
    returned apart."""
    ra = np.array([r.ra for r in records])
    dec = np.array([r.dec for r in records])
    chosen = [(survey, tiles, best_tiles(tiles, ra, dec)) for survey, tiles in surveys]
    kept, outside = [], []
    for k, record in enumerate(records):
        field_arcsec = field_size(sizes[k], minimum_arcsec=field_min_arcsec, factor=field_factor)
        layers = list(record.layers) + [
            Layer(survey.band, survey.kind, str(tiles[best[k]].path.resolve()), "mosaic", field_arcsec)
            for survey, tiles, best in chosen if best[k] >= 0]
        if layers:
            kept.append(replace(record, layers=tuple(layers)))
        else:
            outside.append(record.source_id)
    return kept, outside
