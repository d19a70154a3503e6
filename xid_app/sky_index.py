"""Positions on the sky indexed for look-ups: nearest neighbour, cross-match and cone, exact on the
great circle anywhere on the sky (poles and RA = 0 included). The optical/IR catalogue and the radio
components both use it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree


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


class SkyIndex:
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
        rows, separation = self.match_rows(ra, dec, radius_arcsec)
        ids = np.full(len(rows), "", dtype=object)
        ids[rows >= 0] = self.ids[rows[rows >= 0]]
        return ids, separation

    def place(self, ra, dec, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Positions placed on their objects: as :meth:`match`, and the positions, each moved onto its
        object where one lies within ``radius_arcsec`` (a galaxy's catalogued position is better than the
        mean of clicks on a blurred image of it), left as they were elsewhere."""
        rows, separation = self.match_rows(ra, dec, radius_arcsec)
        ids = np.full(len(rows), "", dtype=object)
        hit = rows >= 0
        ids[hit] = self.ids[rows[hit]]
        placed_ra, placed_dec = np.array(ra, float), np.array(dec, float)
        placed_ra[hit], placed_dec[hit] = self.ra[rows[hit]], self.dec[rows[hit]]
        return ids, separation, placed_ra, placed_dec

    def match_rows(self, ra, dec, radius_arcsec: float) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`match`, with row indices (-1 where none) instead of IDs."""
        ra, dec = np.asarray(ra, float), np.asarray(dec, float)
        found = np.full(len(ra), -1, dtype=np.int64)
        separation = np.full(len(ra), np.nan)
        ok = np.isfinite(ra) & np.isfinite(dec)
        if self._tree is None or not ok.any():
            return found, separation
        distance, rows = self._tree.query(_unit_vectors(ra[ok], dec[ok]), distance_upper_bound=_chord(radius_arcsec))
        hit = np.isfinite(distance)
        where = np.flatnonzero(ok)[hit]
        found[where] = rows[hit]
        separation[where] = np.degrees(2 * np.arcsin(distance[hit] / 2)) * 3600
        return found, separation

    def cone(self, ra: float, dec: float, radius_arcsec: float) -> np.ndarray:
        """Row indices of every object within ``radius_arcsec`` of ``(ra, dec)``."""
        if self._tree is None:
            return np.empty(0, dtype=int)
        return np.asarray(self._tree.query_ball_point(_unit_vectors(ra, dec)[0], _chord(radius_arcsec)), dtype=int)
