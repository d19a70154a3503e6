"""The host-ID catalogue: consensus → an astropy Table with units, descriptions and provenance → file.

The catalogue's columns are defined once, in :data:`COLUMNS`; the README's table is checked against it.
One row per host: a source with two hosts has two rows, a source with no host one row with a blank
(masked) host position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from astropy.table import Column, MaskedColumn, Table

from . import __version__
from .consensus import Consensus


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: str
    unit: str | None
    description: str
    blank_without_host: bool = False


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("source_id", "str", None, "Radio source identifier, as ingested"),
    ColumnSpec("ra", "f8", "deg", "Radio source right ascension (ICRS)"),
    ColumnSpec("dec", "f8", "deg", "Radio source declination (ICRS)"),
    ColumnSpec("host_rank", "i4", None, "1 for the best-supported host of the source, 2 for the next...; 0 if no host"),
    ColumnSpec("host_ra", "f8", "deg", "Consensus host right ascension (ICRS); blank if no host", True),
    ColumnSpec("host_dec", "f8", "deg", "Consensus host declination (ICRS); blank if no host", True),
    ColumnSpec("consensus_level", "f8", None, "Fraction of the source's classifications that marked this host (for a no-host row: that marked no host)"),
    ColumnSpec("n_host_votes", "i4", None, "Classifications that marked this host"),
    ColumnSpec("host_scatter", "f8", "arcsec", "RMS distance of the marking clicks from the host position", True),
    ColumnSpec("n_classifications", "i4", None, "Classifications of the source (latest answer per annotator)"),
    ColumnSpec("no_host_fraction", "f8", None, "Fraction of the source's classifications that marked no host"),
)

FORMATS = {
    ".csv": "ascii.csv",
    ".ecsv": "ascii.ecsv",
    ".fits": "fits",
    ".fit": "fits",
    ".vot": "votable",
    ".xml": "votable",
}


def catalogue_table(consensus: Consensus, source_ids, source_ra, source_dec) -> Table:
    """Build the host-ID catalogue.

    Parameters
    ----------
    consensus : xid_app.consensus.Consensus
        Reduced answers for the sources below (same order).
    source_ids, source_ra, source_dec : array-like
        ``(n_sources,)`` identifiers and ICRS positions in degrees.

    Returns
    -------
    astropy.table.Table
        Columns as in :data:`COLUMNS`, sorted by source then host rank, with provenance in ``meta``.
        Sources that nobody classified are left out.
    """
    source_ids = np.asarray(source_ids, dtype=str)
    n_src = len(source_ids)
    classified = consensus.n_classifications > 0
    has_host = np.zeros(n_src, dtype=bool)
    has_host[consensus.host_source] = True
    empty = np.flatnonzero(classified & ~has_host)

    hsrc = consensus.host_source  # already sorted by source, best host first
    rank = np.ones(len(hsrc), dtype=np.int32)
    if len(hsrc) > 1:
        same = np.r_[False, hsrc[1:] == hsrc[:-1]]
        # rank = position within the run of equal sources
        run_start = np.maximum.accumulate(np.where(~same, np.arange(len(hsrc)), 0))
        rank = (np.arange(len(hsrc)) - run_start + 1).astype(np.int32)

    src = np.concatenate([hsrc, empty])
    blank = np.concatenate([np.zeros(len(hsrc), bool), np.ones(len(empty), bool)])
    values = {
        "source_id": source_ids[src],
        "ra": np.asarray(source_ra, float)[src],
        "dec": np.asarray(source_dec, float)[src],
        "host_rank": np.concatenate([rank, np.zeros(len(empty), np.int32)]),
        "host_ra": np.concatenate([consensus.host_ra, np.full(len(empty), np.nan)]),
        "host_dec": np.concatenate([consensus.host_dec, np.full(len(empty), np.nan)]),
        "consensus_level": np.concatenate([consensus.host_level, consensus.no_host_fraction[empty]]),
        "n_host_votes": np.concatenate([consensus.host_votes, np.zeros(len(empty), int)]),
        "host_scatter": np.concatenate([consensus.host_scatter_arcsec, np.full(len(empty), np.nan)]),
        "n_classifications": consensus.n_classifications[src],
        "no_host_fraction": consensus.no_host_fraction[src],
    }
    table = Table()
    for spec in COLUMNS:
        data = np.asarray(values[spec.name]).astype(str if spec.dtype == "str" else spec.dtype)
        meta = dict(name=spec.name, unit=spec.unit, description=spec.description)
        table[spec.name] = MaskedColumn(data, mask=blank, **meta) if spec.blank_without_host else Column(data, **meta)
    table.sort(["source_id", "host_rank"])
    table.meta.update(
        {
            "CREATOR": f"XID {__version__}",
            "DATE": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "CNSMETH": consensus.method,
            "NSOURCES": int(classified.sum()),
            "NHOSTS": int(len(hsrc)),
            "NCLASSIF": int(consensus.n_classifications.sum()),
        }
    )
    for i, (key, value) in enumerate(sorted(consensus.params.items()), start=1):
        table.meta[f"CNSPAR{i}"] = f"{key}={value}"
    return table


def write_table(table: Table, path: str | Path, *, overwrite: bool = True) -> Path:
    """Write a table in the format given by the file extension (.csv .ecsv .fits .vot)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown catalogue format {suffix!r}; use one of {', '.join(sorted(FORMATS))}")
    table.write(path, format=FORMATS[suffix], overwrite=overwrite)
    return path
