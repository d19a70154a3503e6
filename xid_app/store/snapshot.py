"""The crowd's raw answers kept on disk between catalogue runs, so that rerunning consensus over millions
of clicks reads only what was added since.

Classifications are never updated (an edit is a new revision) and are deleted only with their source, so
the rows up to a watermark id stay as they were. A snapshot holds those rows with a fingerprint: the
database's identity (made when it was created) and counts and sums of ids. When the database no longer
gives the same fingerprint — it was recreated, a source was deleted, or a slow PostgreSQL transaction
committed a lower id late — the snapshot is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import fields
from pathlib import Path

import numpy as np

from ..extract import AnswerRows


def snapshot_path(directory: Path, url: str) -> Path:
    """Where the snapshot of the database at ``url`` lives (one file per database URL)."""
    return Path(directory) / f"answers-{hashlib.sha256(url.encode()).hexdigest()[:16]}.npz"


def load(path: Path) -> tuple[int, np.ndarray, AnswerRows] | None:
    """The watermark, fingerprint and rows of a snapshot, or None if there is none or it is unreadable."""
    try:
        with np.load(path) as data:
            rows = AnswerRows(**{f.name: data[f.name] for f in fields(AnswerRows)})
            return int(data["watermark"]), data["fingerprint"], rows
    except (OSError, KeyError, ValueError):
        return None


def save(path: Path, watermark: int, fingerprint: np.ndarray, rows: AnswerRows) -> None:
    """Write a snapshot atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    with open(partial, "wb") as out:
        np.savez(out, watermark=watermark, fingerprint=fingerprint,
                 **{f.name: getattr(rows, f.name) for f in fields(rows)})
    os.replace(partial, path)
