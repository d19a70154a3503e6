"""The optical/IR catalogue that hosts resolve to: reading it (all or nothing, every bad row named), and
nearest-object and cone look-ups on the sphere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from . import limits
from .coords import valid_sky_position
from .tables import IngestError, float_column, read_table, text_column


def _unit_vectors(ra, dec) -> np.ndarray:
    ra, dec = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def _chord(radius_arcsec: float) -> float:
    return 2.0 * np.sin(np.radians(radius_arcsec / 3600.0) / 2.0)


@dataclass(frozen=True)
class Match:
    object_id: str
    ra: float
    dec: float
    separation_arcsec: float


class OpticalCatalogue:
    """A k-d tree over unit vectors: exact great-circle neighbours anywhere on the sky, poles included.

    Parameters
    ----------
    ids : array-like of str
    ra, dec : array-like
        ICRS degrees.
    """

    def __init__(self, ids, ra, dec):
        self.ids = np.asarray(ids, dtype=object)
        self.ra = np.asarray(ra, float)
        self.dec = np.asarray(dec, float)
        # balanced_tree=False: a sliding-midpoint build, much faster on tens of millions of points
        self._tree = cKDTree(_unit_vectors(self.ra, self.dec), balanced_tree=False) if len(self.ids) else None
        self._rows: pd.Index | None = None  # ID → row, a hash table built on first use

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, object_id: str) -> Match | None:
        """The object with this ID, or ``None``."""
        if self._rows is None:
            self._rows = pd.Index(self.ids)
        i = self._rows.get_indexer([object_id.strip()])[0]
        return None if i < 0 else Match(self.ids[i], self.ra[i], self.dec[i], 0.0)

    def nearest(self, ra: float, dec: float, radius_arcsec: float) -> Match | None:
        """The nearest object within ``radius_arcsec`` of ``(ra, dec)``, or ``None``."""
        if self._tree is None:
            return None
        distance, i = self._tree.query(_unit_vectors(ra, dec)[0], distance_upper_bound=_chord(radius_arcsec))
        if not np.isfinite(distance):
            return None
        separation = np.degrees(2 * np.arcsin(distance / 2)) * 3600
        return Match(self.ids[i], self.ra[i], self.dec[i], float(separation))

    def match(self, ra, dec, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray]:
        """Nearest object of each position within ``radius_arcsec``: IDs ('' where none) and separations
        in arcsec (NaN where none). Non-finite positions match nothing."""
        ra, dec = np.asarray(ra, float), np.asarray(dec, float)
        ids = np.full(len(ra), "", dtype=object)
        separation = np.full(len(ra), np.nan)
        ok = np.isfinite(ra) & np.isfinite(dec)
        if self._tree is None or not ok.any():
            return ids, separation
        distance, rows = self._tree.query(_unit_vectors(ra[ok], dec[ok]), distance_upper_bound=_chord(radius_arcsec))
        hit = np.isfinite(distance)
        where = np.flatnonzero(ok)[hit]
        ids[where] = self.ids[rows[hit]]
        separation[where] = np.degrees(2 * np.arcsin(distance[hit] / 2)) * 3600
        return ids, separation

    def cone(self, ra: float, dec: float, radius_arcsec: float) -> np.ndarray:
        """Row indices of every object within ``radius_arcsec`` of ``(ra, dec)``."""
        if self._tree is None:
            return np.empty(0, dtype=int)
        return np.asarray(self._tree.query_ball_point(_unit_vectors(ra, dec)[0], _chord(radius_arcsec)), dtype=int)


@dataclass(frozen=True)
class OpticalRows:
    ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    properties: np.ndarray | None = None  # JSON object text per row (magnitudes...), or None


MAGNITUDE_HINTS = ("mag", "flux")  # columns kept with each object: names containing one of these


def read_optical_catalogue(path: str | Path, *, id_column: str | None = None, keep: Sequence[str] | None = None
                           ) -> OpticalRows:
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
    table = read_table(path)
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
    ids = text_column(table[id_column])
    ra, dec = float_column(table[names["ra"]]), float_column(table[names["dec"]])
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
        values = pd.DataFrame({c: float_column(table[c]) for c in keep})
        properties = np.array(values.to_json(orient="records", lines=True).splitlines(), dtype=object)
    return OpticalRows(ids.to_numpy(dtype=object), ra, dec, properties)
