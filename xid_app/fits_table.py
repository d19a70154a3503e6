"""A table written as a FITS binary table a block of rows at a time.

Why not ``Table.write(format="fits")`` alone: astropy's writer first builds the whole FITS record array,
copying and converting every column (text cell by cell): 9 to 13 s of writing a 4-million-row host
catalogue (``benchmarks/bench_survey.py``, export stage). Here astropy still makes both headers (from
the table's columns and meta, so every keyword, unit and description is its own), and the rows go out
in blocks of the record layout astropy chose for them: the same bytes (``tests/test_export.py``), in a
fraction of the time. Tables this writer does not cover (masked columns other than floats, booleans,
array cells, text that is not ASCII) go to astropy's writer whole.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

FITS_BLOCK = 2880  # bytes: a FITS file is made of blocks of this size
BLOCK_ROWS = 65_536  # a few MB per block: small enough to stay in the cache, large enough to amortise numpy's calls


def _streamable(table: Table) -> bool:
    for column in table.itercols():
        masked = bool(np.ma.getmaskarray(column).any())
        if column.ndim != 1 or column.dtype.kind not in "iufSU" or (masked and column.dtype.kind != "f"):
            return False
    return True


def write_fits_table(table: Table, path: str | Path, *, overwrite: bool = True) -> None:
    """Write ``table`` to ``path`` as a primary HDU and one binary-table HDU, as ``Table.write`` would."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OSError(f"{path} already exists")
    if not _streamable(table):
        table.write(path, format="fits", overwrite=overwrite)
        return
    # the headers and the record layout: astropy's own, for the table without its rows
    empty = io.BytesIO()
    table[:0].write(empty, format="fits")
    empty.seek(0)
    with fits.open(empty) as hdus:
        primary, header, layout = hdus[0].header, hdus[1].header, hdus[1].data.dtype.newbyteorder(">")
    header["NAXIS2"] = len(table)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as out:
            out.write(primary.tostring().encode("ascii"))
            out.write(header.tostring().encode("ascii"))
            block = np.zeros(min(BLOCK_ROWS, max(len(table), 1)), layout)
            for start in range(0, len(table), len(block)):
                rows = block[: min(len(block), len(table) - start)]
                for name in layout.names:
                    cells = table[name][start: start + len(rows)]
                    rows[name] = np.ma.filled(cells, np.nan) if np.ma.isMaskedArray(cells) else cells
                out.write(rows.tobytes())
            out.write(b"\0" * (-(len(table) * layout.itemsize) % FITS_BLOCK))
        os.replace(partial, path)
    except UnicodeEncodeError:  # text that is not ASCII: astropy's writer says what it makes of it
        partial.unlink(missing_ok=True)
        table.write(path, format="fits", overwrite=overwrite)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
