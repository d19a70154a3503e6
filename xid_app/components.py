"""Radio components: the pieces a source finder (PyBDSF, Aegean, the FIRST catalogue) splits the radio sky
into. Reading a component table (all or nothing, every bad row named, the three formats' own column names
recognised), and the look-ups the page and the association need.

Fluxes are kept in mJy and sizes in arcsec: a FITS or ECSV column's own unit is converted; a CSV carries
no units, so each known column name has the unit its format documents (FIRST: mJy; PyBDSF and Aegean: Jy).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np

from . import limits
from .coords import tangent_offsets_arcsec, valid_sky_position
from .sky_index import SkyIndex
from .tables import IngestError, find_column, float_column, read_table, text_column

ID_COLUMNS = ("component_id", "Source_Name", "name", "FIRST", "uuid")
RA_COLUMNS = ("ra", "ra_deg", "raj2000")
DEC_COLUMNS = ("dec", "de_deg", "dec_deg", "dej2000")
# column (any case) → the unit it has where the table does not say (the format's documentation)
PEAK_COLUMNS = {"peak_flux": u.Jy, "fpeak": u.mJy}
TOTAL_COLUMNS = {"total_flux": u.Jy, "fint": u.mJy, "int_flux": u.Jy}
MAJOR_COLUMNS = {"maj": u.arcsec, "a": u.arcsec}
MINOR_COLUMNS = {"min": u.arcsec, "b": u.arcsec}
PA_COLUMNS = {"pa": u.deg}


@dataclass(frozen=True)
class ComponentRows:
    """Components as read from a table: IDs, ICRS degrees, fluxes in mJy, FWHM axes in arcsec, PA in
    degrees east of north. Blank (NaN) where the table has no value."""

    ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    peak_flux: np.ndarray
    total_flux: np.ndarray
    major: np.ndarray
    minor: np.ndarray
    pa: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> SkyIndex:
        """A sky index over these components (nearest, cone, by ID)."""
        return SkyIndex(self.ids, self.ra, self.dec)


def _in_unit(table, name: str | None, defaults: dict, unit: u.UnitBase, path: Path) -> np.ndarray:
    """Column ``name`` as floats in ``unit``: converted from its own unit, else from its format's. A
    peak flux per beam counts as a flux (mJy/beam → mJy)."""
    if name is None:
        return np.full(len(table), np.nan)
    source_unit = table[name].unit if table[name].unit is not None else defaults[name.lower()]
    quantity = float_column(table[name]) * u.Unit(source_unit)
    if (quantity.unit * u.beam).is_equivalent(unit):
        quantity = quantity * u.beam
    try:
        return quantity.to_value(unit)
    except u.UnitsError:
        raise IngestError(path, [f"column {name!r} is in {source_unit}, which cannot be converted to {unit}"]) from None


def read_components(path: str | Path, *, id_column: str | None = None) -> ComponentRows:
    """Read a radio component table: PyBDSF (``.srl``/``.gaul``), the FIRST catalogue, Aegean, or any
    table astropy reads with an ID, ``ra`` and ``dec`` in degrees.

    Recognised without flags: IDs ``component_id``, ``Source_Name``, ``name``, ``FIRST``, ``uuid`` (Aegean
    without one: ``island``\\_``source``); positions ``ra``/``dec``, ``RA_DEG``/``DE_DEG``; fluxes
    ``Peak_flux``/``Total_flux`` (PyBDSF), ``Fpeak``/``Fint`` (FIRST), ``peak_flux``/``int_flux`` (Aegean);
    shapes ``Maj``/``Min``/``PA`` or ``a``/``b``/``pa``. Flux and shape may be blank.

    Raises
    ------
    IngestError
        Listing every bad row (blank or repeated ID, position off the sky) and missing columns; nothing
        is returned unless every row is good.
    """
    path = Path(path)
    table = read_table(path)
    problems: list[str] = []
    id_name = find_column(table, id_column, ID_COLUMNS, path, "component ID")
    ra_name, dec_name = (find_column(table, None, c, path, "position") for c in (RA_COLUMNS, DEC_COLUMNS))
    if ra_name is None or dec_name is None:
        raise IngestError(path, ["no position columns: need ra and dec in degrees (or RA_DEG/DE_DEG) "
                                 f"(have: {', '.join(table.colnames)})"])
    if id_name is not None:
        ids = text_column(table[id_name])
    elif {"island", "source"} <= {c.lower() for c in table.colnames}:  # Aegean: island and source number
        island, source = (find_column(table, None, (c,), path, c) for c in ("island", "source"))
        ids = text_column(table[island]) + "_" + text_column(table[source])
    else:
        raise IngestError(path, [f"no component ID column: name one with --id-column, or call it one of "
                                 f"{', '.join(ID_COLUMNS)} (have: {', '.join(table.colnames)})"])
    ra, dec = float_column(table[ra_name]), float_column(table[dec_name])
    if table[ra_name].unit is not None and table[ra_name].unit != u.deg:
        ra = (ra * table[ra_name].unit).to_value(u.deg)
        dec = (dec * table[dec_name].unit).to_value(u.deg)
    lines = np.arange(len(table)) + 2  # a CSV's line; for other formats, the row number + 1
    blank = (ids == "").to_numpy()
    long = (ids.str.len() > limits.COMPONENT_ID).to_numpy()
    control = ids.str.contains(limits.CONTROL_CHARACTERS).to_numpy()  # IDs are shown, exported and typed
    repeated = ids.duplicated(keep=False).to_numpy() & ~blank
    off_sky = ~valid_sky_position(ra, dec)
    for line, reason in (
        *((ln, "blank component ID") for ln in lines[blank]),
        *((ln, f"component ID longer than {limits.COMPONENT_ID} characters") for ln in lines[long]),
        *((ln, "component ID holding a control character (NUL, tab, newline...)") for ln in lines[control]),
        *((ln, f"component ID {ids.iloc[ln - 2]!r} appears more than once") for ln in lines[repeated]),
        *((ln, "ra/dec missing or off the sky (ra 0–360, dec −90–90 degrees)") for ln in lines[off_sky]),
    ):
        problems.append(f"row {line}: {reason}")
    if problems:
        raise IngestError(path, problems)

    def column(candidates: dict) -> str | None:
        return find_column(table, None, tuple(candidates), path, "")

    return ComponentRows(
        ids=ids.to_numpy(dtype=object), ra=ra % 360.0, dec=dec,
        peak_flux=_in_unit(table, column(PEAK_COLUMNS), PEAK_COLUMNS, u.mJy, path),
        total_flux=_in_unit(table, column(TOTAL_COLUMNS), TOTAL_COLUMNS, u.mJy, path),
        major=_in_unit(table, column(MAJOR_COLUMNS), MAJOR_COLUMNS, u.arcsec, path),
        minor=_in_unit(table, column(MINOR_COLUMNS), MINOR_COLUMNS, u.arcsec, path),
        pa=_in_unit(table, column(PA_COLUMNS), PA_COLUMNS, u.deg, path),
    )


@dataclass(frozen=True)
class FieldComponents:
    """The components within a field: their rows, and the one the field is about (``target``: its ID, or
    ``None`` if no component lies within the target radius of the field's position)."""

    rows: ComponentRows
    target: str | None

    def row(self, component_id: str) -> int:
        return list(self.rows.ids).index(component_id)


def field_targets(field_ra: np.ndarray, field_dec: np.ndarray, components: SkyIndex, radius_arcsec: float) -> np.ndarray:
    """The component each field is about: the nearest to its position within ``radius_arcsec`` (-1: none)."""
    return components.match_rows(field_ra, field_dec, radius_arcsec)[0]


def field_components(rows: ComponentRows, index: SkyIndex, ra: float, dec: float, radius_arcsec: float,
                     target_radius_arcsec: float) -> FieldComponents:
    """The components within ``radius_arcsec`` of ``(ra, dec)``, nearest first, and the target (see
    :func:`field_targets`)."""
    found = index.cone(ra, dec, radius_arcsec)
    target = field_targets(np.array([ra]), np.array([dec]), index, target_radius_arcsec)[0]
    if len(found):
        xi, eta = tangent_offsets_arcsec(rows.ra[found], rows.dec[found], ra, dec)
        found = found[np.argsort(np.hypot(xi, eta), kind="stable")]
    picked = ComponentRows(*(getattr(rows, name)[found] for name in
                             ("ids", "ra", "dec", "peak_flux", "total_flux", "major", "minor", "pa")))
    return FieldComponents(picked, None if target < 0 else str(rows.ids[target]))


PICK_REACH_ARCSEC = 10.0  # a click selects a component within its major axis, or at least this, of its centre


def components_under(ra: np.ndarray, dec: np.ndarray, rows: ComponentRows, index: SkyIndex) -> np.ndarray:
    """The component each sky position was a click on (its ID), or ``None``: the nearest whose centre lies
    within its major axis (at least :data:`PICK_REACH_ARCSEC`) of the click."""
    reach = max(float(np.nanmax(rows.major, initial=0.0)), PICK_REACH_ARCSEC)
    found, separation = index.match_rows(ra, dec, reach)
    major = np.where(found >= 0, rows.major[np.maximum(found, 0)], np.nan)
    ok = (found >= 0) & (separation <= np.fmax(np.nan_to_num(major), PICK_REACH_ARCSEC))
    return np.where(ok, rows.ids[np.maximum(found, 0)], None)
