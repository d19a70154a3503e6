"""Reading the tables users bring, at the edge: any table astropy reads, text tables checked for what CSV
readers silently mangle, columns as numbers or text, and the error that names every bad row and file."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
from astropy.table import Table

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


def read_table(path: Path) -> Table:
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


def float_column(column) -> np.ndarray:
    """A table column as floats: NaN where blank or not a number."""
    values = np.asarray(column)
    if values.dtype.kind in "iufb":
        numbers = values.astype(float)
    else:
        text = values.astype(str) if values.dtype.kind != "S" else np.char.decode(values, "utf-8", "replace")
        numbers = pd.to_numeric(pd.Series(text).str.strip(), errors="coerce").to_numpy(float, copy=True)
    numbers[np.ma.getmaskarray(column)] = np.nan
    return numbers


def text_column(column) -> pd.Series:
    """A table column as stripped text: empty where blank."""
    values = np.asarray(column)
    text = values.astype(str) if values.dtype.kind != "S" else np.char.decode(values, "utf-8", "replace")
    text = np.where(np.ma.getmaskarray(column), "", text)
    return pd.Series(text, dtype=object).str.strip()


def cell_text(value) -> str:
    if value is None or np.ma.is_masked(value):
        return ""
    if isinstance(value, bytes):
        value = value.decode()
    return str(value).strip()


def find_column(table: Table, wanted: str | None, candidates: Sequence[str], path: Path, what: str) -> str | None:
    """The column named ``wanted`` (must exist), else the first of ``candidates`` present (any case)."""
    by_lower = {c.lower(): c for c in table.colnames}
    if wanted is not None:
        if wanted not in table.colnames and wanted.lower() not in by_lower:
            raise IngestError(path, [f"no {what} column {wanted!r} (have: {', '.join(table.colnames)})"])
        return wanted if wanted in table.colnames else by_lower[wanted.lower()]
    return next((by_lower[c.lower()] for c in candidates if c.lower() in by_lower), None)


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
    try:  # Arrow's reader is ~7x faster at text; where it gives up, pandas' own names the problem
        df = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    except Exception:
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


def count_lines(path: str | Path) -> int:
    """The number of lines of a text file, read in blocks (for progress over a file streamed)."""
    lines = 0
    with open(path, "rb") as f:
        while block := f.read(_SCAN_CHUNK):
            lines += block.count(b"\n")
    return lines


def read_csv_chunks(path: str | Path, required: Sequence[str], rows: int, *, kind: str = ""
                    ) -> Iterator[tuple[int, pd.DataFrame]]:
    """A CSV read as text ``rows`` rows at a time, as ``(line of the chunk's first row, chunk)``; the
    file is checked (:func:`check_text_table`) and its ``required`` columns before the first chunk.

    Raises
    ------
    IngestError
        As :func:`read_csv_text`.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, ["file not found"])
    check_text_table(path)
    try:
        chunks = pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=rows)
        first = next(chunks, None)
    except Exception as exc:
        raise IngestError(path, [f"not a readable CSV file: {exc}"]) from exc
    if first is None:
        return
    missing = [c for c in required if c not in first.columns]
    if missing:
        what = f"not {kind}: " if kind else ""
        raise IngestError(path, [f"{what}missing required column(s): {', '.join(missing)} "
                                 f"(have: {', '.join(first.columns)})"])
    line, chunk = 2, first
    while chunk is not None:
        yield line, chunk
        line += len(chunk)
        try:
            chunk = next(chunks, None)
        except Exception as exc:  # a bad row further on: nothing of the file is stored
            raise IngestError(path, [f"not a readable CSV file: {exc}"]) from exc
