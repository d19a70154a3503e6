"""Reading and validating the tables users bring: source lists and annotation interchange CSVs.

Nothing here touches the database: readers return validated records (or raise with every problem named)
and the store writes them in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
from .layers import Layer
from .limits import from_spreadsheet_safe, text_problem
from .mosaics import best_tiles, field_size, tiles_from_glob

SOURCE_COLUMNS = ("source_id", "ra", "dec")
# Optional image columns: (path column, band-name column, kind, default band name)
IMAGE_COLUMNS: tuple[tuple[str, str, LayerKind, str], ...] = (
    ("optical_image", "optical_band", "optical", "optical/IR"),
    ("radio_image", "radio_band", "radio", "radio"),
)
ANNOTATION_COLUMNS = ("classification_id", "source_id", "user", "host_ra", "host_dec", "no_host")
MAX_LISTED_PROBLEMS = 20


class IngestError(ValueError):
    """A table cannot be ingested; ``problems`` lists each bad row or file."""

    def __init__(self, path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        shown = problems[:MAX_LISTED_PROBLEMS]
        more = len(problems) - len(shown)
        text = "\n  ".join(shown) + (f"\n  ... and {more} more" if more > 0 else "")
        super().__init__(f"{path}: nothing ingested, {len(problems)} problem(s):\n  {text}")


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


TEXT_TABLES = (".csv", ".txt", ".ecsv")
_SCAN_CHUNK = 1 << 26  # bytes read at a time when checking a text table


def _line_of(f, offset: int) -> int:
    """The 1-based line number of byte ``offset`` of an open binary file."""
    f.seek(0)
    lines, done = 1, 0
    while done < offset:
        chunk = f.read(min(_SCAN_CHUNK, offset - done))
        if not chunk:
            break
        lines += chunk.count(b"\n")
        done += len(chunk)
    return lines


def check_text_table(path: Path) -> None:
    """Refuse what CSV readers silently mangle, naming the line: a NUL character (the field is cut short
    at it) and a quote left open (the rest of the file becomes one field, and no row is read).

    Raises
    ------
    IngestError
    """
    nul_at, quotes, last_quote, offset = -1, 0, -1, 0
    with open(path, "rb") as f:
        while chunk := f.read(_SCAN_CHUNK):
            if nul_at < 0 and (i := chunk.find(b"\x00")) >= 0:
                nul_at = offset + i
            quotes += chunk.count(b'"')
            if (i := chunk.rfind(b'"')) >= 0:
                last_quote = offset + i
            offset += len(chunk)
        if nul_at >= 0:
            raise IngestError(path, [f"line {_line_of(f, nul_at)}: a NUL character (the file is binary or "
                                     "corrupt; a text table cannot hold one)"])
        if quotes % 2:  # quotes inside a quoted field are doubled, so a whole CSV holds an even number
            raise IngestError(path, [f"line {_line_of(f, last_quote)}: a quote (\") is opened and never closed"])


def _read_table(path: Path) -> Table:
    if not path.is_file():
        raise IngestError(path, ["file not found"])
    if path.suffix.lower() in TEXT_TABLES:
        check_text_table(path)
    try:
        if path.suffix.lower() in (".csv", ".txt"):
            return Table.read(path, format="ascii.csv")
        return Table.read(path)
    except Exception as exc:  # astropy's readers raise many types for unreadable tables
        raise IngestError(path, [f"not a table astropy can read (CSV, ECSV, FITS, VOTable): {exc}"]) from exc


def _floats(column) -> np.ndarray:
    """A table column as floats: NaN where blank or not a number."""
    values = np.asarray(column)
    if values.dtype.kind in "iufb":
        numbers = values.astype(float)
    else:
        text = values.astype(str) if values.dtype.kind != "S" else np.char.decode(values, "utf-8", "replace")
        numbers = pd.to_numeric(pd.Series(text).str.strip(), errors="coerce").to_numpy(float, copy=True)
    numbers[np.ma.getmaskarray(column)] = np.nan
    return numbers


def _strings(column) -> pd.Series:
    """A table column as stripped text: empty where blank."""
    values = np.asarray(column)
    text = values.astype(str) if values.dtype.kind != "S" else np.char.decode(values, "utf-8", "replace")
    text = np.where(np.ma.getmaskarray(column), "", text)
    return pd.Series(text, dtype=object).str.strip()


def _text(value) -> str:
    if value is None or np.ma.is_masked(value):
        return ""
    if isinstance(value, bytes):
        value = value.decode()
    return str(value).strip()


ID_COLUMNS = ("source_id", "source_name", "name", "id")
SIZE_COLUMNS = ("size", "las", "maj")  # a source's angular size: largest angular size, major axis...


def _column(table: Table, wanted: str | None, candidates: Sequence[str], path: Path, what: str) -> str | None:
    """The column named ``wanted`` (must exist), else the first of ``candidates`` present (any case)."""
    by_lower = {c.lower(): c for c in table.colnames}
    if wanted is not None:
        if wanted not in table.colnames and wanted.lower() not in by_lower:
            raise IngestError(path, [f"no {what} column {wanted!r} (have: {', '.join(table.colnames)})"])
        return wanted if wanted in table.colnames else by_lower[wanted.lower()]
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def _sizes_arcsec(table: Table, column: str | None) -> np.ndarray:
    if column is None:
        return np.full(len(table), np.nan)
    values = table[column]
    unit = getattr(values, "unit", None)
    numbers = _floats(values)
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
    table = _read_table(path)
    if len(table) == 0:
        raise IngestError(path, ["the table has no rows"])
    roots = [path.parent.resolve(), *(Path(r).resolve() for r in image_roots)]
    id_col = _column(table, id_column, ID_COLUMNS, path, "source ID")
    ra_col, dec_col = (_column(table, None, (c,), path, c) for c in ("ra", "dec"))
    missing = [name for name, col in (("source_id", id_col), ("ra", ra_col), ("dec", dec_col)) if col is None]
    if missing:
        raise IngestError(path, [f"missing required column(s): {', '.join(missing)} (have: {', '.join(table.colnames)})"])
    sizes = _sizes_arcsec(table, _column(table, size_column, SIZE_COLUMNS, path, "size"))
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
        source_id = _text(row[id_col])
        if problem := text_problem(source_id, "source_id", limits.SOURCE_ID):
            problems.append(f"{where}: {problem}")
            continue
        where = f"{where} ({source_id})"
        if source_id in seen:
            problems.append(f"{where}: duplicate source_id, first on {seen[source_id]}")
            continue
        seen[source_id] = where
        try:
            ra, dec = float(_text(row[ra_col])), float(_text(row[dec_col]))
        except ValueError:
            problems.append(f"{where}: ra/dec must be numbers in degrees, got {_text(row[ra_col])!r}, {_text(row[dec_col])!r}")
            continue
        if not valid_sky_position(ra, dec):
            problems.append(f"{where}: position out of range (ra={ra}, dec={dec}; need 0<=ra<360, -90<=dec<=90)")
            continue
        layers = []
        for column, band_column, kind, default_band in IMAGE_COLUMNS:
            if column not in table.colnames or not _text(row[column]):
                continue
            image = (path.parent / _text(row[column])).resolve()
            if not any(image.is_relative_to(root) for root in roots):
                problems.append(f"{where}: {column}: {_text(row[column])!r} lies outside the table's folder "
                                f"{path.parent.resolve()} (allow another folder with --image-root)")
                continue
            band = _text(row[band_column]) if band_column in table.colnames else ""
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


def read_csv_text(path: str | Path, required: Sequence[str], *, kind: str = "") -> pd.DataFrame:
    """A CSV read as text (nothing guessed), with its ``required`` columns checked.

    Raises
    ------
    IngestError
        If the file is missing, unreadable or lacks a required column (``kind`` names what it should be).
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, ["file not found"])
    check_text_table(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise IngestError(path, [f"not a readable CSV file: {exc}"]) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        what = f"not {kind}: " if kind else ""
        raise IngestError(path, [f"{what}missing required column(s): {', '.join(missing)} "
                                 f"(have: {', '.join(df.columns)})"])
    return df


@dataclass
class AnnotationRows:
    """Validated clicks of an interchange CSV, and the rows refused with their reasons."""

    rows: pd.DataFrame  # columns as ANNOTATION_COLUMNS plus 'line'
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_annotations(path: str | Path) -> AnnotationRows:
    """Read clicks in XID's interchange format.

    One row per click: ``classification_id, source_id, user, host_ra, host_dec, no_host``; a
    classification that marked no host has ``no_host=1`` and empty coordinates. Bad rows are returned in
    ``rejected`` as ``(line, reason)``; whether a source exists is for the store to check.

    Raises
    ------
    IngestError
        If the file cannot be read or lacks a required column.
    """
    df = read_csv_text(path, ANNOTATION_COLUMNS)
    df = df[list(ANNOTATION_COLUMNS)].apply(lambda s: s.str.strip())
    df["line"] = np.arange(len(df)) + 2

    reasons = pd.Series("", index=df.index)

    def refuse(mask, reason):
        reasons[mask & (reasons == "")] = reason

    for column, longest in (("classification_id", limits.CLASSIFICATION_ID), ("source_id", limits.SOURCE_ID),
                            ("user", limits.USER_NAME)):
        quoted = df[column].str.startswith("'")
        if quoted.any():  # written by XID's own export for spreadsheets
            df.loc[quoted, column] = df.loc[quoted, column].map(from_spreadsheet_safe)
        refuse(df[column] == "", f"empty {column}")
        refuse(df[column].str.len() > longest, f"{column} longer than {longest} characters")
        refuse(df[column].str.contains(limits.CONTROL_CHARACTERS), f"{column} holding a control character "
               "(NUL, tab, newline...)")
    refuse(~df.no_host.isin(["0", "1"]), "no_host must be 0 or 1")
    host_ra = pd.to_numeric(df.host_ra, errors="coerce").to_numpy(float)
    host_dec = pd.to_numeric(df.host_dec, errors="coerce").to_numpy(float)
    has_coords = (df.host_ra != "") | (df.host_dec != "")
    refuse((df.no_host == "1") & has_coords, "no_host=1 but host coordinates given")
    refuse((df.no_host == "0") & ~valid_sky_position(host_ra, host_dec),
           "invalid host coordinates (need finite degrees, 0<=ra<360, -90<=dec<=90)")
    # A classification belongs to one source and one user.
    owners = df[reasons == ""].groupby("classification_id")[["source_id", "user"]].nunique()
    conflicting = owners.index[(owners > 1).any(axis=1)]
    refuse(df.classification_id.isin(conflicting), "classification_id used for more than one source or user")

    ok = reasons == ""
    rows = df[ok].copy()
    rows["host_ra"] = host_ra[ok.to_numpy()]
    rows["host_dec"] = host_dec[ok.to_numpy()]
    rows["no_host"] = rows.no_host == "1"
    rejected = list(zip(df.line[~ok].tolist(), reasons[~ok].tolist()))
    return AnnotationRows(rows.reset_index(drop=True), rejected)


@dataclass(frozen=True)
class CatalogueRows:
    ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    properties: np.ndarray | None = None  # JSON object text per row (magnitudes...), or None


MAGNITUDE_HINTS = ("mag", "flux")  # columns kept with each object: names containing one of these


def read_catalogue(path: str | Path, *, id_column: str | None = None, keep: Sequence[str] | None = None
                   ) -> CatalogueRows:
    """Read an optical/IR catalogue: an ID column, ``ra`` and ``dec`` (ICRS degrees), and numbers to keep
    with each object (``keep``; default: the numeric columns whose names contain "mag" or "flux").

    The ID column is ``id_column``, else ``id``, else the first column whose name ends in ``id``. Built for
    catalogues of tens of millions of rows: everything is vectorised.

    Raises
    ------
    IngestError
        Naming every bad row: missing or duplicate IDs, positions off the sky.
    """
    path = Path(path)
    table = _read_table(path)
    names = {c.lower(): c for c in table.colnames}
    if id_column is None:
        id_column = names.get("id") or next((c for c in table.colnames if c.lower().endswith("id")), None)
    problems = []
    if id_column is None or id_column not in table.colnames:
        problems.append(f"no ID column (have: {', '.join(table.colnames)}); name it with --id-column")
    for c in ("ra", "dec"):
        if c not in names:
            problems.append(f"missing required column {c!r} (degrees)")
    if keep is not None:
        problems += [f"no column {c!r} to keep" for c in keep if c not in table.colnames]
    if problems:
        raise IngestError(path, problems)
    ids = _strings(table[id_column])
    ra, dec = _floats(table[names["ra"]]), _floats(table[names["dec"]])
    first_line = 2 if path.suffix.lower() in (".csv", ".txt", ".ecsv") else 1
    bad_pos = np.flatnonzero(~valid_sky_position(ra, dec))
    problems += [f"row {first_line + i} ({ids[i]}): position off the sky ({ra[i]}, {dec[i]})" for i in bad_pos[:50]]
    empty = np.flatnonzero(((ids == "") | (ids.str.len() > limits.CATALOGUE_ID)
                            | ids.str.contains(limits.CONTROL_CHARACTERS)).to_numpy())
    problems += [f"row {first_line + i}: empty {id_column}, or longer than {limits.CATALOGUE_ID} characters, "
                 f"or holding a control character" for i in empty[:50]]
    duplicated = ids[ids.duplicated() & (ids != "")].unique()
    problems += [f"duplicate {id_column} {u!r}" for u in duplicated[:50]]
    hidden = max(len(bad_pos) - 50, 0) + max(len(empty) - 50, 0) + max(len(duplicated) - 50, 0)
    if hidden:
        problems.append(f"... and {hidden} more bad rows")
    if problems:
        raise IngestError(path, problems)
    if keep is None:
        keep = [c for c in table.colnames if any(h in c.lower() for h in MAGNITUDE_HINTS)
                and table[c].dtype.kind in "iuf"]
    properties = None
    if keep:
        values = pd.DataFrame({c: _floats(table[c]) for c in keep})
        properties = np.array(values.to_json(orient="records", lines=True).splitlines(), dtype=object)
    return CatalogueRows(ids.to_numpy(dtype=object), ra, dec, properties)
