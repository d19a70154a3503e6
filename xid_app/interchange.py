"""XID's interchange CSV of clicks (``xid import-annotations``, and the first six columns of
``xid export-classifications``): reading and validating it, every bad row named by its line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import limits
from .coords import valid_sky_position
from .limits import from_spreadsheet_safe
from .tables import read_csv_text

ANNOTATION_COLUMNS = ("classification_id", "source_id", "user", "host_ra", "host_dec", "no_host")
COMPONENTS_COLUMN = "components"  # optional: the component IDs grouped with the row's host, joined by ';'


@dataclass
class AnnotationRows:
    """Validated clicks of an interchange CSV, and the rows refused with their reasons."""

    rows: pd.DataFrame  # columns as ANNOTATION_COLUMNS plus 'components' (sorted, ';'-joined) and 'line'
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_annotations(path: str | Path) -> AnnotationRows:
    """Read clicks in XID's interchange format.

    One row per click: ``classification_id, source_id, user, host_ra, host_dec, no_host``; a
    classification that marked no host has ``no_host=1`` and empty coordinates. An optional column
    ``components`` names the component IDs (joined by ``;``) grouped with the row's host, or with its "no
    host": rows of a classification with the same components are one radio source. Bad rows are returned
    in ``rejected`` as ``(line, reason)``; whether a source or component exists is for the store to check.

    Raises
    ------
    IngestError
        If the file cannot be read or lacks a required column.
    """
    df = read_csv_text(path, ANNOTATION_COLUMNS)
    if COMPONENTS_COLUMN not in df.columns:
        df[COMPONENTS_COLUMN] = ""
    df = df[[*ANNOTATION_COLUMNS, COMPONENTS_COLUMN]].apply(lambda s: s.str.strip())
    df["line"] = np.arange(len(df)) + 2

    reasons = pd.Series("", index=df.index)

    def refuse(mask, reason):
        reasons[mask & (reasons == "")] = reason

    for column, longest in (("classification_id", limits.CLASSIFICATION_ID), ("source_id", limits.SOURCE_ID),
                            ("user", limits.USER_NAME)):
        quoted = df[column].str.startswith("'")
        if quoted.any():  # written by XID's own export for spreadsheets
            df.loc[quoted, column] = df.loc[quoted, column].map(from_spreadsheet_safe)
        refuse(df[column] == "", f"empty {column}")
        refuse(df[column].str.len() > longest, f"{column} longer than {longest} characters")
        refuse(df[column].str.contains(limits.CONTROL_CHARACTERS), f"{column} holding a control character "
               "(NUL, tab, newline...)")
    refuse(~df.no_host.isin(["0", "1"]), "no_host must be 0 or 1")
    host_ra = pd.to_numeric(df.host_ra, errors="coerce").to_numpy(float)
    host_dec = pd.to_numeric(df.host_dec, errors="coerce").to_numpy(float)
    has_coords = (df.host_ra != "") | (df.host_dec != "")
    refuse((df.no_host == "1") & has_coords, "no_host=1 but host coordinates given")
    refuse((df.no_host == "0") & ~valid_sky_position(host_ra, host_dec),
           "invalid host coordinates (need finite degrees, 0<=ra<360, -90<=dec<=90)")
    df[COMPONENTS_COLUMN] = _normalised_groups(df[COMPONENTS_COLUMN], refuse)
    _refuse_shared_components(df, reasons, refuse)
    # A classification belongs to one source and one user.
    owners = df[reasons == ""].groupby("classification_id")[["source_id", "user"]].nunique()
    conflicting = owners.index[(owners > 1).any(axis=1)]
    refuse(df.classification_id.isin(conflicting), "classification_id used for more than one source or user")

    # a classification lands whole or not at all: stored in part, its id would make the fixed file's
    # import skip it as already stored
    refused_at = df[reasons != ""].groupby("classification_id").line.first()
    partial = df.classification_id.isin(refused_at.index) & (reasons == "")
    reasons[partial] = [f"line {refused_at[cid]} of the same classification was refused; a classification is "
                        "imported whole or not at all" for cid in df.classification_id[partial]]

    ok = reasons == ""
    rows = df[ok].copy()
    rows["host_ra"] = host_ra[ok.to_numpy()]
    rows["host_dec"] = host_dec[ok.to_numpy()]
    rows["no_host"] = rows.no_host == "1"
    rejected = list(zip(df.line[~ok].tolist(), reasons[~ok].tolist()))
    return AnnotationRows(rows.reset_index(drop=True), rejected)


def _normalised_groups(text: pd.Series, refuse) -> pd.Series:
    """Each row's component IDs, stripped, deduplicated, sorted and joined by ';' (one spelling per set)."""
    named = text != ""
    ids = text[named].str.split(";").map(lambda parts: sorted({p.strip() for p in parts if p.strip()}))
    longest = ids.map(lambda parts: max(map(len, parts), default=0)).reindex(text.index, fill_value=0)
    refuse(longest > limits.COMPONENT_ID, f"component ID longer than {limits.COMPONENT_ID} characters")
    refuse(text.str.contains(limits.CONTROL_CHARACTERS), "components holding a control character")
    return ids.str.join(";").reindex(text.index, fill_value="")


def _refuse_shared_components(df: pd.DataFrame, reasons: pd.Series, refuse) -> None:
    """A component is in one source of a classification: a later row putting it in another group is refused."""
    grouped = df.loc[(df.components != "") & (reasons == ""), ["classification_id", "components", "line"]]
    if grouped.empty:
        return
    members = grouped.assign(component=grouped.components.str.split(";")).explode("component")
    first = members.groupby(["classification_id", "component"]).components.transform("first")
    clash = members[members.components != first]
    for line, component in zip(clash.line.tolist(), clash.component.tolist()):
        refuse(df.line == line, f"component {component} is already in another source of this classification "
               "(a component belongs to one source)")
