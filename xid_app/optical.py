"""The optical/IR catalogue that hosts resolve to: reading it (all or nothing, every bad row named), and
nearest-object and cone look-ups on the sphere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import limits
from .coords import valid_sky_position
from .sky_index import SkyIndex
from .tables import IngestError, float_column, read_table, text_column


class OpticalCatalogue(SkyIndex):
    """The optical/IR catalogue's objects, indexed on the sky (see :class:`~xid_app.sky_index.SkyIndex`)."""


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
