"""A table written as a FITS binary table a block of rows at a time.

Why not ``Table.write(format="fits")`` alone: astropy's writer first builds the whole FITS record array,
copying and converting every column (text cell by cell): 9 to 13 s of writing a 4-million-row host
catalogue (``benchmarks/bench_survey.py``, export stage). Here astropy still makes both headers (from
the table's columns and meta, so every keyword, unit and description is its own), and the rows go out
in blocks of the record layout astropy chose for them: the same bytes (``tests/test_fits_table.py``), in a
fraction of the time. Tables this writer does not cover go to astropy's writer whole: columns astropy
stores converted (booleans and int8 as logicals, unsigned integers with an offset), masked values other
than floats', array cells, text with trailing blanks or that is not ASCII.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

FITS_BLOCK = 2880  # bytes: a FITS file is made of blocks of this size
BLOCK_ROWS = 65_536  # a few MB per block: small enough to stay in the cache, large enough to amortise numpy's calls


def _streamable(table: Table) -> bool:
    """Whether every column can go out as its values are: numbers stored as their own type and text
    without trailing blanks (astropy turns those into the NULs that pad a FITS text field)."""
    for column in table.itercols():
        kind = column.dtype.kind
        if column.ndim != 1 or kind not in "ifSU" or (kind == "i" and column.dtype.itemsize == 1):
            return False  # unsigned (TZERO), int8 (astropy writes logicals), booleans, array cells: astropy's
        if kind != "f" and np.ma.getmaskarray(column).any():
            return False  # a masked integer or text needs astropy's null value
        if kind in "SU" and len(column) and np.strings.endswith(np.ma.getdata(column), " " if kind == "U" else b" ").any():
            return False
    return True


def _same_layout(table: Table, header: fits.Header, layout: np.dtype) -> bool:
    """Whether astropy stores each column as the column holds it (no offset, scale or null value)."""
    for i, name in enumerate(layout.names, start=1):
        stored, held = layout[name], table[name].dtype
        scaled = any(f"{key}{i}" in header for key in ("TZERO", "TSCAL", "TNULL"))
        if scaled or (held.kind in "if" and (stored.kind, stored.itemsize) != (held.kind, held.itemsize)):
            return False
    return True


def write_fits_table(table: Table, path: str | Path, *, overwrite: bool = True) -> None:
    """Write ``table`` to ``path`` as a primary HDU and one binary-table HDU, as ``Table.write`` would."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OSError(f"{path} already exists")
    # the headers and the record layout: astropy's own, for the table without its rows
    empty = io.BytesIO()
    table[:0].write(empty, format="fits")
    empty.seek(0)
    with fits.open(empty) as hdus:
        primary, header, layout = hdus[0].header, hdus[1].header, hdus[1].data.dtype.newbyteorder(">")
    if not (_streamable(table) and _same_layout(table, header, layout)):
        table.write(path, format="fits", overwrite=overwrite)
        return
    header["NAXIS2"] = len(table)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")  # this writer's own
    try:
        with open(partial, "xb") as out:
            out.write(primary.tostring().encode("ascii"))
            out.write(header.tostring().encode("ascii"))
            block = np.zeros(min(BLOCK_ROWS, max(len(table), 1)), layout)
            for start in range(0, len(table), len(block)):
                rows = block[: min(len(block), len(table) - start)]
                for name in layout.names:
                    cells = table[name][start: start + len(rows)]
                    rows[name] = np.ma.filled(cells, np.nan) if cells.dtype.kind == "f" else np.ma.getdata(cells)
                out.write(rows.tobytes())
            out.write(b"\0" * (-(len(table) * layout.itemsize) % FITS_BLOCK))
        os.replace(partial, path)
    except UnicodeEncodeError:  # text that is not ASCII: astropy's writer says what it makes of it
        partial.unlink(missing_ok=True)
        table.write(path, format="fits", overwrite=overwrite)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
