"""Reading and validating source lists: the sources, their positions and sizes, and where each of their
image layers comes from (files beside the table, mosaic tiles, archive surveys).

Nothing here touches the database: readers return validated records (or raise with every problem named)
and the store writes them in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import Table

from . import limits
from .archives import SERVICES
from .coords import valid_sky_position
from .cutouts import MAX_IMAGE_PIXELS, ImageError, LayerKind, read_layer_file
from .limits import text_problem
from .mosaics import best_tiles, field_size, tiles_from_glob
from .tables import IngestError, cell_text, find_column, float_column, read_table, text_column

SOURCE_COLUMNS = ("source_id", "ra", "dec")


# Optional image columns: (path column, band-name column, kind, default band name)
IMAGE_COLUMNS: tuple[tuple[str, str, LayerKind, str], ...] = (
    ("optical_image", "optical_band", "optical", "optical/IR"),
    ("radio_image", "radio_band", "radio", "radio"),
)


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


LAYER_COLUMNS = ("source", "band", "kind", "path", "form", "field_arcsec")


@dataclass(frozen=True)
class SourceList:
    """A validated source list, column-wise (a survey's millions of sources are never a million objects),
    and the sources left out because no tile of any mosaic survey covers them (with no other image,
    there is nothing to show)."""

    ids: np.ndarray  # source IDs (text)
    ra: np.ndarray  # ICRS degrees
    dec: np.ndarray
    layers: pd.DataFrame  # LAYER_COLUMNS: ``source`` indexes ``ids``; each source's layers in their order
    outside: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


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
    n = len(table)
    if n == 0:
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
    if progress is not None:
        progress(0, n)

    text_table = path.suffix.lower() in (".csv", ".txt", ".ecsv")
    lines = np.arange(n) + (2 if text_table else 1)
    where = np.char.add("line " if text_table else "row ", lines.astype(str)).astype(object)
    ids = text_column(table[id_col]).to_numpy(object)
    problems: dict[int, str] = {}  # row → its first problem, as the rows are read one by one

    def refuse(rows, messages) -> None:
        for row, message in zip(np.flatnonzero(rows) if np.asarray(rows).dtype == bool else rows, messages):
            problems.setdefault(int(row), message)

    id_text = pd.Series(ids, dtype=object)
    suspect = ((id_text == "") | (id_text.str.len() > limits.SOURCE_ID)
               | id_text.str.contains(limits.CONTROL_CHARACTERS)).to_numpy()
    refuse(suspect, [f"{where[i]}: {text_problem(ids[i], 'source_id', limits.SOURCE_ID)}"
                     for i in np.flatnonzero(suspect)])
    where = np.char.add(np.char.add(where.astype(str), " ("), np.char.add(ids.astype(str), ")")).astype(object)
    named = pd.Series(np.where(suspect, None, ids), dtype=object)
    repeated = (named.duplicated() & named.notna()).to_numpy()
    first_of = pd.Series(np.arange(n)).groupby(named.to_numpy(), dropna=True).transform("first").to_numpy()
    refuse(repeated, [f"{where[i]}: duplicate source_id, first on {where[int(first_of[i])]}"
                      for i in np.flatnonzero(repeated)])
    ra, dec = float_column(table[ra_col]), float_column(table[dec_col])
    for i in np.flatnonzero(~(np.isfinite(ra) & np.isfinite(dec))):  # few: read as the user wrote them
        try:
            float(cell_text(table[ra_col][i])), float(cell_text(table[dec_col][i]))
        except ValueError:
            refuse([i], [f"{where[i]}: ra/dec must be numbers in degrees, got {cell_text(table[ra_col][i])!r}, "
                         f"{cell_text(table[dec_col][i])!r}"])
    off_sky = ~valid_sky_position(ra, dec)
    refuse(off_sky, [f"{where[i]}: position out of range (ra={ra[i]}, dec={dec[i]}; need 0<=ra<360, -90<=dec<=90)"
                     for i in np.flatnonzero(off_sky)])
    field_arcsec = field_size(sizes, minimum_arcsec=field_min_arcsec, factor=field_factor)
    layers = [_file_layers(table, path, roots, where, problems, ra, dec, check_images, max_image_pixels, progress)]
    layers += [_layer_frame(np.arange(n), a.band, a.kind, a.survey, "archive", field_arcsec) for a in archives]
    if progress is not None:
        progress(n, n)
    if problems:
        raise IngestError(path, [problems[i] for i in sorted(problems)])
    for survey, tiles in surveys:
        best = best_tiles(tiles, ra, dec)
        paths = np.array([str(t.path.resolve()) for t in tiles] + [""], dtype=object)[best]
        layers.append(_layer_frame(np.flatnonzero(best >= 0), survey.band, survey.kind, paths[best >= 0], "mosaic",
                                   field_arcsec[best >= 0]))
    layers = pd.concat(layers, ignore_index=True)
    layers = layers.iloc[np.argsort(layers.source.to_numpy(), kind="stable")].reset_index(drop=True)
    keep = np.ones(n, bool)
    if surveys:  # with mosaics, a source no image covers has nothing to show
        keep[:] = False
        keep[layers.source.to_numpy()] = True
    renumber = np.cumsum(keep) - 1
    layers = layers.assign(source=renumber[layers.source.to_numpy()])
    return SourceList(ids[keep], ra[keep], dec[keep], layers, ids[~keep].tolist())


def _layer_frame(sources: np.ndarray, band: str, kind: str, paths, form: str, field_arcsec) -> pd.DataFrame:
    """Layers of one survey for the given sources (indexes), as LAYER_COLUMNS."""
    return pd.DataFrame(dict(source=sources, band=band, kind=kind, path=paths, form=form,
                             field_arcsec=np.broadcast_to(field_arcsec, len(sources)).astype(float)),
                         columns=list(LAYER_COLUMNS))


def _file_layers(table: Table, path: Path, roots: list[Path], where: np.ndarray, problems: dict[int, str],
                 ra: np.ndarray, dec: np.ndarray, check_images: bool, max_image_pixels: int,
                 progress: Callable[[int, int], None] | None) -> pd.DataFrame:
    """The layers of the images the table names per source (``optical_image``, ``radio_image``), each
    checked to lie where it may and, with ``check_images``, to hold data covering the source; what is
    wrong goes to ``problems`` (row → message)."""
    found = []
    columns = [c for c in IMAGE_COLUMNS if c[0] in table.colnames]
    named = {column: text_column(table[column]).to_numpy(object) for column, *_ in columns}
    bands = {band_column: text_column(table[band_column]).to_numpy(object)
             for _, band_column, *_ in columns if band_column in table.colnames}
    rows = sorted(set().union(*(np.flatnonzero(named[c] != "").tolist() for c in named))) if named else []
    for done, i in enumerate(rows):
        if progress is not None and done % 500 == 0:
            progress(i, len(table))
        for column, band_column, kind, default_band in columns:
            if not named[column][i] or i in problems:
                continue
            image = (path.parent / named[column][i]).resolve()
            if not any(image.is_relative_to(root) for root in roots):
                problems[i] = (f"{where[i]}: {column}: {named[column][i]!r} lies outside the table's folder "
                               f"{path.parent.resolve()} (allow another folder with --image-root)")
                continue
            band = bands[band_column][i] if band_column in bands else ""
            if band and (problem := text_problem(band, band_column, limits.BAND)):
                problems[i] = f"{where[i]}: {problem}"
                continue
            band = band or default_band
            if check_images:
                try:
                    cutout = read_layer_file(image, band=band, kind=kind, max_pixels=max_image_pixels)
                except ImageError as exc:
                    problems[i] = f"{where[i]}: {column}: {exc}"
                    continue
                if not cutout.contains(ra[i], dec[i]):
                    problems[i] = f"{where[i]}: {column}: {image} does not cover the source position"
                    continue
            found.append((i, band, kind, str(image), "file", np.nan))
    return pd.DataFrame(found, columns=list(LAYER_COLUMNS)).astype({"source": np.int64, "field_arcsec": float})
