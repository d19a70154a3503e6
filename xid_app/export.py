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
import pyarrow as pa
import pyarrow.compute as pc
from astropy.table import Column, MaskedColumn, Table

from . import __version__
from .answers import FLAGS
from .arrays import unique
from .calibration import host_probability, no_host_probability
from .consensus import Consensus, ExpertAnswers, rank_within_runs
from .fits_table import write_fits_table
from .limits import FORMULA_STARTS, spreadsheet_safe
from .optical import OpticalCatalogue


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: str
    unit: str | None
    description: str
    nullable: bool = False  # float column, blank (masked) where not finite


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("source_id", "str", None, "Radio source identifier, as ingested"),
    ColumnSpec("ra", "f8", "deg", "Radio source right ascension (ICRS)"),
    ColumnSpec("dec", "f8", "deg", "Radio source declination (ICRS)"),
    ColumnSpec("host_rank", "i4", None, "1 for the best-supported host of the source, 2 for the next...; 0 if no host"),
    ColumnSpec("host_ra", "f8", "deg",
               "Host right ascension (ICRS): host_id's where there is one, else crowd_ra; blank if no host", True),
    ColumnSpec("host_dec", "f8", "deg",
               "Host declination (ICRS): host_id's where there is one, else crowd_dec; blank if no host", True),
    ColumnSpec("host_id", "str", None,
               "Nearest optical/IR catalogue object to crowd_ra, crowd_dec within the match radius; empty if none"),
    ColumnSpec("host_separation", "f8", "arcsec", "Distance from crowd_ra, crowd_dec to host_id; blank if no match",
               True),
    ColumnSpec("crowd_ra", "f8", "deg", "Where the answers place the host (ICRS), before host_id; blank if no host",
               True),
    ColumnSpec("crowd_dec", "f8", "deg", "Where the answers place the host (ICRS), before host_id; blank if no host",
               True),
    ColumnSpec("consensus_level", "f8", None,
               "Probability that this host is right (for a no-host row: that the source shows no host), "
               "calibrated: of hosts at 0.8 about 80% are; blank for an expert answer", True),
    ColumnSpec("n_host_votes", "i4", None, "Classifications that marked this host"),
    ColumnSpec("host_scatter", "f8", "arcsec", "RMS distance of the marking clicks from the host position", True),
    ColumnSpec("n_classifications", "i4", None, "Classifications of the source (latest answer per annotator)"),
    ColumnSpec("no_host_fraction", "f8", None, "Fraction of the source's classifications that marked no host", True),
    ColumnSpec("artefact_fraction", "f8", None, "Fraction of the source's classifications flagging an artefact", True),
    ColumnSpec("blend_fraction", "f8", None, "Fraction of the source's classifications flagging a blend", True),
    ColumnSpec("too_zoomed_in_fraction", "f8", None,
               "Fraction of the source's classifications flagging the field as too zoomed in", True),
    ColumnSpec("unsure_fraction", "f8", None, "Fraction of the source's classifications flagged unsure", True),
    ColumnSpec("answer", "str", None, "'consensus' (the crowd) or 'expert' (an admin's final answer overrides it)"),
    ColumnSpec("decided_by", "str", None, "The admin who gave an expert answer; empty for consensus"),
    ColumnSpec("decided_at", "str", None, "When the expert answer was given (UTC, ISO 8601); empty for consensus"),
)

# The raw answers, every revision: the first six columns are the interchange format of
# `xid import-annotations`, so an export can be imported into another XID database.
CLASSIFICATION_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("classification_id", "str", None, "Submission id of the classification (one per answer)"),
    ColumnSpec("source_id", "str", None, "Radio source identifier"),
    ColumnSpec("user", "str", None, "Annotator (or admin, for expert answers)"),
    ColumnSpec("host_ra", "f8", "deg", "Marked host right ascension (ICRS); blank for an answer without a host", True),
    ColumnSpec("host_dec", "f8", "deg", "Marked host declination (ICRS); blank for an answer without a host", True),
    ColumnSpec("no_host", "i1", None, "1 for an answer that marked no host (one row, blank position)"),
    ColumnSpec("created_at", "str", None, "When the answer was given (UTC, ISO 8601)"),
    ColumnSpec("origin", "str", None, "'app', 'import' or 'expert'"),
    ColumnSpec("is_latest", "i1", None, "1 if this is the user's current answer for the source (the one consensus uses)"),
    ColumnSpec("artefact", "i1", None, "Flag: artefact"),
    ColumnSpec("blend", "i1", None, "Flag: blend"),
    ColumnSpec("too_zoomed_in", "i1", None, "Flag: too zoomed in"),
    ColumnSpec("unsure", "i1", None, "Flag: unsure"),
    ColumnSpec("comment", "str", None, "Free comment (plain text)"),
    ColumnSpec("catalogue_id", "str", None, "Catalogue object the mark snapped or was typed to; empty if none"),
    ColumnSpec("click_ra", "f8", "deg", "Where the click was before snapping (ICRS); blank if not snapped", True),
    ColumnSpec("click_dec", "f8", "deg", "Where the click was before snapping (ICRS); blank if not snapped", True),
    ColumnSpec("band", "str", None, "Image layer the mark was made on; empty for imported marks"),
    ColumnSpec("pixel_x", "f8", None, "0-based column clicked on that layer; blank if not clicked", True),
    ColumnSpec("pixel_y", "f8", None, "0-based row clicked on that layer; blank if not clicked", True),
    ColumnSpec("components", "str", None,
               "Radio components (IDs joined by ';') grouped into one source with this row's host (or its 'no "
               "host'); empty if the answer grouped none. Read back by `xid import-annotations`"),
)


def columns_table(values: dict, columns: tuple[ColumnSpec, ...]) -> Table:
    """A Table from column arrays, typed and described as in ``columns``."""
    table = Table()
    for spec in columns:
        data = np.asarray(values[spec.name]).astype(str if spec.dtype == "str" else spec.dtype, copy=False)
        meta = dict(name=spec.name, unit=spec.unit, description=spec.description)
        # copy=False: the table shares the caller's arrays, which it only reads (copies were 2.6 s at 4 M rows)
        if spec.nullable:
            table.add_column(MaskedColumn(data, mask=~np.isfinite(data), copy=False, **meta), copy=False)
        else:
            table.add_column(Column(data, copy=False, **meta), copy=False)
    return table


FORMATS = {
    ".csv": "ascii.csv",
    ".ecsv": "ascii.ecsv",
    ".fits": "fits",
    ".fit": "fits",
    ".vot": "votable",
    ".xml": "votable",
}


def host_table(consensus: Consensus, source_ids, source_ra, source_dec,
               expert: ExpertAnswers | None = None, catalogue: OpticalCatalogue | None = None,
               match_radius_arcsec: float = 3.0) -> Table:
    """Build the host-ID catalogue.

    Parameters
    ----------
    consensus : xid_app.consensus.Consensus
        Reduced answers for the sources below (same order).
    source_ids, source_ra, source_dec : array-like
        ``(n_sources,)`` identifiers and ICRS positions in degrees.
    expert : xid_app.consensus.ExpertAnswers, optional
        Admins' final answers; they replace the consensus of their sources (``answer = 'expert'``).
    catalogue : xid_app.optical.OpticalCatalogue, optional
        Optical/IR catalogue: each host is matched to its nearest object within ``match_radius_arcsec`` and
        placed on it (``crowd_ra``, ``crowd_dec`` keep where the answers put it).

    Returns
    -------
    astropy.table.Table
        Columns as in :data:`COLUMNS`, sorted by source then host rank, with provenance in ``meta``.
        Sources that nobody classified and no expert decided are left out.
    """
    source_ids = np.asarray(source_ids, dtype=str)
    n_src = len(source_ids)
    decided = np.zeros(n_src, dtype=bool)
    if expert is not None:
        decided[expert.source] = True

    # consensus rows: one per host, or one blank row for a classified source without a host
    keep = ~decided[consensus.host_source]
    hsrc = consensus.host_source[keep]  # sorted by source, best host first
    has_host = np.zeros(n_src, dtype=bool)
    has_host[hsrc] = True
    empty = np.flatnonzero((consensus.n_classifications > 0) & ~has_host & ~decided)
    n_c, n_e = len(hsrc), len(empty)
    parts = {
        "src": [hsrc, empty],
        "host_rank": [rank_within_runs(hsrc), np.zeros(n_e, np.int32)],
        "host_ra": [consensus.host_ra[keep], np.full(n_e, np.nan)],
        "host_dec": [consensus.host_dec[keep], np.full(n_e, np.nan)],
        "consensus_level": [host_probability(consensus)[keep], no_host_probability(consensus)[empty]],
        "n_host_votes": [consensus.host_votes[keep], np.zeros(n_e, int)],
        "host_scatter": [consensus.host_scatter_arcsec[keep], np.full(n_e, np.nan)],
        "answer": [np.full(n_c + n_e, "consensus")],
        "decided_by": [np.full(n_c + n_e, "")],
        "decided_at": [np.full(n_c + n_e, "")],
    }
    if expert is not None:
        # expert rows: one per expert host, or one blank row for an expert "no host"
        with_host = np.zeros(len(expert.source), dtype=bool)
        with_host[expert.host_answer] = True
        answers = np.concatenate([expert.host_answer, np.flatnonzero(~with_host)])
        n_x, n_h = len(answers), len(expert.host_answer)
        parts["src"].append(expert.source[answers])
        parts["host_rank"].append(np.r_[rank_within_runs(expert.host_answer), np.zeros(n_x - n_h, np.int32)])
        parts["host_ra"].append(np.r_[expert.host_ra, np.full(n_x - n_h, np.nan)])
        parts["host_dec"].append(np.r_[expert.host_dec, np.full(n_x - n_h, np.nan)])
        parts["consensus_level"].append(np.full(n_x, np.nan))
        parts["n_host_votes"].append(np.zeros(n_x, int))
        parts["host_scatter"].append(np.full(n_x, np.nan))
        parts["answer"].append(np.full(n_x, "expert"))
        parts["decided_by"].append(np.asarray(expert.decided_by, str)[answers])
        parts["decided_at"].append(np.asarray(expert.decided_at, str)[answers])
    values = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    src = values.pop("src")
    values["crowd_ra"], values["crowd_dec"] = values["host_ra"], values["host_dec"]
    if catalogue is not None:
        values["host_id"], values["host_separation"], values["host_ra"], values["host_dec"] = catalogue.place(
            values["crowd_ra"], values["crowd_dec"], match_radius_arcsec)
    else:
        values["host_id"], values["host_separation"] = np.full(len(src), ""), np.full(len(src), np.nan)
    values.update(
        source_id=source_ids[src],
        ra=np.asarray(source_ra, float)[src],
        dec=np.asarray(source_dec, float)[src],
        n_classifications=consensus.n_classifications[src],
        no_host_fraction=consensus.no_host_fraction[src],
    )
    n = consensus.n_classifications[src].astype(float)
    counts = consensus.flag_counts[src] if consensus.flag_counts is not None else np.zeros((len(src), len(FLAGS)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, flag in enumerate(FLAGS):
            values[f"{flag}_fraction"] = np.where(n > 0, counts[:, i] / n, np.nan)
    # sorted by source then host rank: by integer ranks of the ids, far quicker than sorting the strings;
    # the ids ranked by Arrow (a stable sort in C++: 2.5x numpy's of Python strings at 4 million)
    id_rank = np.empty(n_src, dtype=np.int64)
    id_rank[pc.sort_indices(pa.array(np.asarray(source_ids, dtype=object), type=pa.string())).to_numpy()] = \
        np.arange(n_src)
    order = np.lexsort((values["host_rank"], id_rank[src]))
    table = columns_table({name: column[order] for name, column in values.items()}, COLUMNS)
    table.meta.update(
        {
            "CREATOR": f"XID {__version__}",
            "DATE": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "CNSMETH": consensus.method,
            "NSOURCES": int(len(unique(src))),
            "NHOSTS": int(np.isfinite(values["host_ra"]).sum()),
            "NCLASSIF": int(consensus.n_classifications.sum()),
            "NEXPERT": int(decided.sum()),
            "MATCHRAD": float(match_radius_arcsec),
            "NCATOBJ": len(catalogue) if catalogue is not None else 0,
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
    if FORMATS[suffix] == "ascii.csv":  # opened in spreadsheets: no cell may run as a formula
        table = table.copy(copy_data=False)
        for name in table.colnames:
            if table[name].dtype.kind in "US":
                table[name] = spreadsheet_safe_column(table[name])
    if FORMATS[suffix] == "fits":
        write_fits_table(table, path, overwrite=overwrite)
    else:
        table.write(path, format=FORMATS[suffix], overwrite=overwrite)
    return path


def spreadsheet_safe_column(values) -> np.ndarray:
    """Text cells that begin as a formula would (``=HYPERLINK(...)``) get a leading apostrophe, so that a
    spreadsheet shows them as text; XID's own readers take it off (:func:`xid_app.limits.from_spreadsheet_safe`)."""
    text = np.asarray(values).astype(str)
    risky = np.zeros(len(text), bool)
    for start in FORMULA_STARTS:
        risky |= np.char.startswith(text, start)
    if risky.any():
        text = text.astype(object)
        text[risky] = [spreadsheet_safe(v) for v in text[risky]]
        text = text.astype(str)
    mask = np.ma.getmaskarray(values)
    return np.ma.array(text, mask=mask) if mask.any() else text
