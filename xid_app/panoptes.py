"""Reading a Zooniverse Panoptes classification export: point-tool clicks in subject-image pixels, turned
into sky positions through the WCS of the image the subject showed, and question answers into flags.

A Panoptes export is a CSV with, per classification, ``classification_id``, ``user_name``,
``created_at``, ``subject_ids``, ``subject_data`` (JSON, per subject id) and ``annotations`` (JSON, a list
of ``{"task", "value"}``): drawing tasks hold ``[{"x", "y", "tool", ...}]`` with the origin at the image's
top-left corner and y downwards; question tasks hold the chosen answer label(s). Where the workflow has
annotators click the radio components of the source first (as Radio Galaxy Zoo does), that point tool's
clicks are component selections (``components_tool``): each lands on the component under it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from . import limits
from .interchange import ANNOTATION_COLUMNS, AnnotationRows
from .limits import text_problem
from .tables import count_lines, read_csv_chunks

CHUNK_ROWS = 50_000  # classifications read, converted and stored at a time
PANOPTES_COLUMNS = ("classification_id", "user_name", "subject_ids", "subject_data", "annotations")
# words in a question's answer label → what XID records (first match wins, case-insensitive)
ANSWER_KEYWORDS = (
    ("no host", "no_host"), ("no galaxy", "no_host"), ("no ir", "no_host"), ("no optical", "no_host"),
    ("artefact", "artefact"), ("artifact", "artefact"), ("blend", "blend"), ("zoom", "too_zoomed_in"),
    ("unsure", "unsure"), ("not sure", "unsure"),
)


@dataclass(frozen=True)
class SubjectImage:
    """How a subject image maps to the FITS layer it was made from."""

    wcs: object          # astropy WCS of the layer
    layer_pk: int
    layer_shape: tuple[int, int]   # (ny, nx) of the FITS layer
    image_size: tuple[int, int]    # (width, height) of the subject image in pixels


def _flags(value) -> set[str]:
    labels = value if isinstance(value, list) else [value]
    found = set()
    for label in labels:
        text = str(label).lower()
        for word, flag in ANSWER_KEYWORDS:
            if word in text:
                found.add(flag)
                break
    return found


def _subject_source(row, subject_field: str | None) -> str:
    subject = str(row.subject_ids).split(";")[0].strip()
    if subject_field:
        data = json.loads(row.subject_data or "{}")
        meta = data.get(subject) or next(iter(data.values()), {})
        value = meta.get(subject_field) or meta.get(f"#{subject_field}") or meta.get(f"!{subject_field}")
        return str(value).strip() if value is not None else ""
    return subject


def read_panoptes(path: str | Path, images: dict[str, SubjectImage], *, subject_field: str | None = "source_id",
                  tool: int | None = None, components_tool: int | None = None, chunk_rows: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Iterator[AnnotationRows]:
    """Read a Panoptes classification export into XID's interchange rows (plus flags and pixels), streamed:
    ``chunk_rows`` classifications at a time, so that an export of millions (RGZ's ran to 1.7 million)
    is never held in memory whole. A Panoptes classification is one row, so each chunk is complete.

    Parameters
    ----------
    path : str or pathlib.Path
        The export CSV.
    images : dict
        Source id → :class:`SubjectImage` of the image each subject showed.
    subject_field : str or None
        Subject metadata field holding XID's ``source_id`` (also tried with Panoptes' ``#``/``!`` hidden
        prefixes); ``None``: the Panoptes subject id is the source id.
    tool : int, optional
        Only clicks of this point tool mark hosts (default: every drawing tool but ``components_tool``).
    components_tool : int, optional
        The point tool whose clicks select the source's radio components: their sky positions are kept
        per row in ``component_clicks`` (a list of ``(ra, dec)``), for the caller to match to components.
    chunk_rows : int, optional
        Classifications per chunk (default ``CHUNK_ROWS``).
    progress : callable, optional
        Called before each chunk with (lines read, lines in the file).

    Yields
    ------
    AnnotationRows
        ``rows`` in the interchange columns plus ``artefact, blend, too_zoomed_in, unsure, layer_pk,
        pixel_x, pixel_y``; ``rejected`` rows (line numbers of the file) with their reasons.

    Raises
    ------
    IngestError
        If the file cannot be read or lacks a required column (before the first chunk).
    """
    lines = count_lines(path) - 1 if progress is not None else 0
    for first_line, chunk in read_csv_chunks(path, PANOPTES_COLUMNS, chunk_rows or CHUNK_ROWS,
                                             kind="a Panoptes classification export"):
        if progress is not None:
            progress(min(first_line - 2 + len(chunk), lines), lines)
        yield _chunk_rows(chunk, first_line, images, subject_field, tool, components_tool)


def _chunk_rows(df: pd.DataFrame, first_line: int, images: dict[str, SubjectImage], subject_field: str | None,
                tool: int | None, components_tool: int | None) -> AnnotationRows:
    out, picked, rejected = [], [], []  # host rows, component clicks (row, x, y), refused lines
    for i, row in enumerate(df.itertuples(index=False)):
        line = first_line + i
        try:
            annotations = json.loads(row.annotations or "[]")
            source_id = _subject_source(row, subject_field)
        except (json.JSONDecodeError, AttributeError, StopIteration) as exc:
            rejected.append((line, f"unreadable annotations or subject_data JSON ({exc})"))
            continue
        if source_id not in images:
            rejected.append((line, f"subject {row.subject_ids!r} is not a known source ({source_id!r})"))
            continue
        user = str(row.user_name) or "not-logged-in"
        problem = text_problem(str(row.classification_id), "classification_id", limits.CLASSIFICATION_ID) \
            or text_problem(user, "user_name", limits.USER_NAME)
        if problem:
            rejected.append((line, problem))
            continue
        image = images[source_id]
        clicks, picks, flags = [], [], set()
        for task in annotations if isinstance(annotations, list) else []:
            value = task.get("value") if isinstance(task, dict) else None
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                points = [v for v in value if "x" in v and "y" in v]
                picks += [v for v in points if components_tool is not None and v.get("tool") == components_tool]
                clicks += [v for v in points if (tool is None or v.get("tool") == tool)
                           and (components_tool is None or v.get("tool") != components_tool)]
            elif value not in (None, [], ""):
                flags |= _flags(value)
        try:
            (px, py), (pick_x, pick_y) = (_layer_pixels(points, image) for points in (clicks, picks))
        except ValueError as exc:
            rejected.append((line, str(exc)))
            continue
        base = dict(classification_id=str(row.classification_id), source_id=source_id, user=user, line=line,
                    **{f: f in flags for f in ("artefact", "blend", "too_zoomed_in", "unsure")})
        picked += [(line, source_id, x, y) for x, y in zip(pick_x, pick_y)]
        if len(px) == 0:
            out.append(dict(base, no_host=True, layer_pk=None, pixel_x=np.nan, pixel_y=np.nan))
        out += [dict(base, no_host=False, layer_pk=image.layer_pk, pixel_x=x, pixel_y=y)
                for x, y in zip(px, py)]
    columns = [*ANNOTATION_COLUMNS, "line", "artefact", "blend", "too_zoomed_in", "unsure", "layer_pk",
               "pixel_x", "pixel_y", "component_clicks"]
    rows = pd.DataFrame(out, columns=columns)
    rows["host_ra"], rows["host_dec"] = _on_the_sky(rows.source_id, rows.pixel_x, rows.pixel_y, images)
    picked = pd.DataFrame(picked, columns=["line", "source_id", "x", "y"])
    picked["ra"], picked["dec"] = _on_the_sky(picked.source_id, picked.x, picked.y, images)
    by_line = {line: list(zip(g.ra.tolist(), g.dec.tolist())) for line, g in picked.groupby("line")}
    rows["component_clicks"] = [by_line.get(line, []) for line in rows.line.tolist()]
    return AnnotationRows(rows, rejected)


def _on_the_sky(source_ids: pd.Series, x: pd.Series, y: pd.Series, images: dict[str, SubjectImage]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Layer pixels to ICRS degrees, one WCS transform per source's image (not per click: a transform
    costs milliseconds); NaN where the pixel is NaN."""
    from .coords import pixel_to_sky

    ra, dec = np.full(len(x), np.nan), np.full(len(x), np.nan)
    clicked = np.isfinite(x.to_numpy(float))
    for source_id, at in pd.Series(np.flatnonzero(clicked)).groupby(source_ids.to_numpy()[clicked]):
        ra[at], dec[at] = pixel_to_sky(images[source_id].wcs, x.to_numpy(float)[at], y.to_numpy(float)[at])
    return ra, dec


def _layer_pixels(points: list[dict], image: SubjectImage) -> tuple[list[float], list[float]]:
    """Subject-image clicks as pixels of the FITS layer (plain floats: a classification has a click or
    two, for which numpy's per-call cost is most of the import's time).

    Raises
    ------
    ValueError
        If a click's x or y is not a number, or lies outside the subject image.
    """
    width, height = image.image_size
    ny, nx = image.layer_shape
    try:
        xy = [(float(c["x"]), float(c["y"])) for c in points]
    except (TypeError, ValueError):
        raise ValueError("a click's x or y is not a number") from None
    bad = sum(1 for x, y in xy if not (0 <= x <= width and 0 <= y <= height))  # NaN fails both tests
    if bad:
        raise ValueError(f"{bad} click(s) outside the {width}×{height} subject image")
    # subject image: origin top-left, y down, continuous; FITS: pixel centres at 0..n-1, y up
    return [x * nx / width - 0.5 for x, _ in xy], [(height - y) * ny / height - 0.5 for _, y in xy]


def subject_images(layers, *, band: str | None = None, image_size: tuple[int, int] | None = None
                   ) -> dict[str, SubjectImage]:
    """What each subject image showed: the source's layer ``band`` (default: its background, the first
    optical/IR layer, else the radio one), scaled to ``image_size`` (width, height; default: the layer's own).

    Parameters
    ----------
    layers : iterable of (source_id, layer pk, band, kind, path)
        Every layer, by source and in the layers' order.
    """
    from astropy.io import fits

    from .coords import celestial_wcs

    chosen: dict[str, tuple] = {}  # source_id → (layer pk, path, kind)
    for source_id, pk, layer_band, kind, layer_path in layers:
        current = chosen.get(source_id)
        if band is not None:
            if layer_band == band and current is None:
                chosen[source_id] = (pk, layer_path, kind)
        elif current is None or (kind == "optical" and current[2] != "optical"):
            chosen[source_id] = (pk, layer_path, kind)
    images = {}
    for source_id, (pk, layer_path, _) in chosen.items():
        header = fits.getheader(layer_path)
        shape = (int(header["NAXIS2"]), int(header["NAXIS1"]))
        images[source_id] = SubjectImage(celestial_wcs(header), pk, shape, image_size or (shape[1], shape[0]))
    return images
