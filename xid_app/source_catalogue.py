"""The radio source catalogue: associated components as sources, each with its host, as the LoTSS
value-added catalogue publishes them (Williams et al. 2019). Pure functions: components, an
:class:`~xid_app.association.Association` and the answers in; arrays and tables out.

Every component is in exactly one row: a component nobody grouped is a source of its own.
"""

from __future__ import annotations

from datetime import datetime, timezone

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import Angle
from astropy.table import Table

from . import __version__
from .answers import FLAGS
from .association import Association
from .components import ComponentRows
from .consensus import Annotations, Consensus
from .coords import tangent_offsets_arcsec
from .export import ColumnSpec, columns_table
from .extract import SourceAnswers
from .optical import OpticalCatalogue
from .sky_index import SkyIndex

SOURCE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("source_name", "str", None, "The component's ID for a one-component source; else J + the position"),
    ColumnSpec("ra", "f8", "deg", "Flux-weighted centroid of the components (ICRS)"),
    ColumnSpec("dec", "f8", "deg", "Flux-weighted centroid of the components (ICRS)"),
    ColumnSpec("components", "str", None, "IDs of the source's components, sorted, joined by ';'"),
    ColumnSpec("n_components", "i4", None, "Number of components"),
    ColumnSpec("total_flux", "f8", "mJy", "Sum of the components' integrated flux densities; blank if none known", True),
    ColumnSpec("las", "f8", "arcsec",
               "Largest angular size: the largest separation of two components plus half of each one's major "
               "axis (one component: its major axis); blank if no size is known", True),
    ColumnSpec("host_ra", "f8", "deg", "Consensus host right ascension (ICRS); blank if no host", True),
    ColumnSpec("host_dec", "f8", "deg", "Consensus host declination (ICRS); blank if no host", True),
    ColumnSpec("host_id", "str", None, "Nearest optical/IR catalogue object to the host within the match radius"),
    ColumnSpec("assoc_qual", "f8", None,
               "Fraction of the answers on the source's field(s) that agree on its components; blank if nobody "
               "grouped them", True),
    ColumnSpec("id_qual", "f8", None,
               "Fraction of the source's answers that marked its host (no host: that marked none); blank if "
               "unanswered", True),
    ColumnSpec("n_classifications", "i4", None, "Answers that grouped the source (or, without groups, its field)"),
    *(ColumnSpec(f"{flag}_fraction", "f8", None, f"Fraction of the source's answers flagging {flag.replace('_', ' ')}",
                 True) for flag in FLAGS),
)

COMPONENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("component_id", "str", None, "Component ID, as ingested"),
    ColumnSpec("source_name", "str", None, "The source it belongs to (source_name of the source catalogue)"),
    ColumnSpec("ra", "f8", "deg", "Component right ascension (ICRS)"),
    ColumnSpec("dec", "f8", "deg", "Component declination (ICRS)"),
    ColumnSpec("total_flux", "f8", "mJy", "Integrated flux density; blank if unknown", True),
)


def field_targets(field_ra: np.ndarray, field_dec: np.ndarray, components: SkyIndex, radius_arcsec: float) -> np.ndarray:
    """The component each field is about: the nearest to its position within ``radius_arcsec`` (-1: none)."""
    ids, separation = components.match(field_ra, field_dec, radius_arcsec)
    rows = pd.Index(components.ids).get_indexer(ids)
    return np.where(np.isfinite(separation), rows, -1)


def centroids(components: ComponentRows, source_of: np.ndarray, n_sources: int) -> tuple[np.ndarray, np.ndarray]:
    """Flux-weighted centre of each source's components (total flux, else peak; equal weights where a
    component of the source has neither), as a mean of unit vectors: right across RA = 0 and the poles."""
    weight = np.where(np.isfinite(components.total_flux), components.total_flux, components.peak_flux)
    weight = np.where(weight > 0, weight, np.nan)
    unknown = np.bincount(source_of, weights=~np.isfinite(weight), minlength=n_sources) > 0
    weight = np.where(unknown[source_of], 1.0, weight)
    ra, dec = np.radians(components.ra), np.radians(components.dec)
    xyz = [np.bincount(source_of, weights=weight * v, minlength=n_sources)
           for v in (np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec))]
    return np.degrees(np.arctan2(xyz[1], xyz[0])) % 360.0, np.degrees(np.arctan2(xyz[2], np.hypot(xyz[0], xyz[1])))


def largest_angular_sizes(components: ComponentRows, source_of: np.ndarray, n_sources: int) -> np.ndarray:
    """Per source: the largest separation of two of its components plus half of each one's major axis (one
    component: its major axis), arcsec; NaN where no component has a size and there is one component."""
    major = np.nan_to_num(components.major, nan=0.0)
    las = np.full(n_sources, np.nan)
    np.fmax.at(las, source_of, np.where(np.isfinite(components.major), components.major, np.nan))
    pairs = pd.DataFrame({"source": source_of, "i": np.arange(len(source_of))})
    counts = np.bincount(source_of, minlength=n_sources)
    pairs = pairs[counts[source_of] > 1]
    if len(pairs):
        both = pairs.merge(pairs, on="source", suffixes=("", "_j"))
        both = both[both.i < both.i_j]
        i, j = both.i.to_numpy(), both.i_j.to_numpy()
        xi, eta = tangent_offsets_arcsec(components.ra[i], components.dec[i], components.ra[j], components.dec[j])
        extent = np.hypot(xi, eta) + (major[i] + major[j]) / 2
        np.fmax.at(las, both.source.to_numpy(), extent)
    return las


def host_annotations(answers: SourceAnswers, association: Association, target_source: np.ndarray,
                     ra: np.ndarray, dec: np.ndarray) -> Annotations:
    """The answers as votes on each radio source's host, for any host consensus method.

    An answer votes on a source through its group that holds most of the source's components (the hosts
    of that group, or none); an answer's hosts that no grouped component places (and an answer that grouped
    nothing) vote on the source of its field's target component (``target_source``, -1: none).
    """
    members = pd.DataFrame({"answer": answers.member_answer, "group": answers.member_group,
                            "source": association.source_of[answers.member_component]})
    overlap = members.groupby(["answer", "group", "source"]).size().rename("n").reset_index()
    overlap = overlap.sort_values(["answer", "source", "n", "group"], ascending=[True, True, False, True])
    grouped = overlap.drop_duplicates(["answer", "source"])[["answer", "group", "source"]]

    marks = pd.DataFrame({"answer": answers.mark_answer, "group": answers.mark_group})
    with_members = pd.MultiIndex.from_frame(members[["answer", "group"]].drop_duplicates())
    loose = marks[~pd.MultiIndex.from_frame(marks).isin(with_members)].drop_duplicates()
    silent = np.setdiff1d(np.arange(answers.n_answers), np.r_[answers.member_answer, answers.mark_answer])
    loose = pd.concat([loose, pd.DataFrame({"answer": silent, "group": -1})])
    loose["source"] = target_source[answers.answer_field[loose.answer.to_numpy()]]
    loose = loose[loose.source >= 0].drop_duplicates(["answer", "source"])
    already = pd.MultiIndex.from_frame(grouped[["answer", "source"]])
    loose = loose[~pd.MultiIndex.from_frame(loose[["answer", "source"]]).isin(already)]

    votes = pd.concat([grouped, loose], ignore_index=True)
    votes["vote"] = np.arange(len(votes))
    clicks = marks.assign(ra=answers.mark_ra, dec=answers.mark_dec).merge(votes, on=["answer", "group"])
    answer = votes.answer.to_numpy()
    return Annotations(ra, dec, votes.source.to_numpy(), clicks.vote.to_numpy(), clicks.ra.to_numpy(),
                       clicks.dec.to_numpy(), cls_user=answers.answer_user[answer],
                       cls_flags=answers.answer_flags[answer])


def source_names(components: ComponentRows, source_of: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """A one-component source keeps its component's ID; others are named J + HHMMSS.ss+DDMMSS.s."""
    n = len(ra)
    counts = np.bincount(source_of, minlength=n)
    names = np.empty(n, dtype=object)
    single = np.flatnonzero(counts == 1)
    first = np.full(n, -1)
    first[source_of[::-1]] = np.arange(len(source_of))[::-1]
    names[single] = components.ids[first[single]]
    many = np.flatnonzero(counts > 1)
    if len(many):
        hms = Angle(ra[many], u.deg).to_string(unit=u.hourangle, sep="", precision=2, pad=True)
        dms = Angle(dec[many], u.deg).to_string(unit=u.deg, sep="", precision=1, pad=True, alwayssign=True)
        names[many] = np.char.add(np.char.add("J", np.asarray(hms, str)), np.asarray(dms, str))
    return names


def source_table(components: ComponentRows, association: Association, hosts: Consensus,
                 catalogue: OpticalCatalogue | None = None, *, match_radius_arcsec: float = 3.0,
                 association_method: str = "") -> tuple[Table, Table]:
    """The source catalogue (columns :data:`SOURCE_COLUMNS`, one row per source, sorted by RA) and the
    component table (:data:`COMPONENT_COLUMNS`: each component and its source)."""
    n = association.n_sources
    source_of = association.source_of
    ra, dec = centroids(components, source_of, n)
    names = source_names(components, source_of, ra, dec)
    order = np.argsort(source_of, kind="stable")
    member_ids = pd.Series(components.ids[order]).groupby(source_of[order]).agg(lambda ids: ";".join(sorted(ids)))
    flux = components.total_flux
    total = np.bincount(source_of, weights=np.nan_to_num(flux), minlength=n)
    total[np.bincount(source_of, weights=np.isfinite(flux), minlength=n) == 0] = np.nan

    best = hosts.best_host
    host_ra, host_dec, id_qual = np.full(n, np.nan), np.full(n, np.nan), hosts.no_host_fraction.copy()
    host_ra[hosts.host_source[best]] = hosts.host_ra[best]
    host_dec[hosts.host_source[best]] = hosts.host_dec[best]
    id_qual[hosts.host_source[best]] = hosts.host_level[best]
    host_id = (catalogue.match(host_ra, host_dec, match_radius_arcsec)[0] if catalogue is not None
               else np.full(n, "", dtype=object))
    n_cls = hosts.n_classifications
    values = dict(source_name=names, ra=ra, dec=dec, components=member_ids.reindex(np.arange(n)).to_numpy(),
                  n_components=np.bincount(source_of, minlength=n), total_flux=total,
                  las=largest_angular_sizes(components, source_of, n), host_ra=host_ra, host_dec=host_dec,
                  host_id=host_id, assoc_qual=association.assoc_qual, id_qual=id_qual, n_classifications=n_cls)
    counts = hosts.flag_counts if hosts.flag_counts is not None else np.zeros((n, len(FLAGS)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, flag in enumerate(FLAGS):
            values[f"{flag}_fraction"] = np.where(n_cls > 0, counts[:, i] / n_cls, np.nan)
    by_ra = np.lexsort((dec, ra))
    sources = columns_table({k: np.asarray(v)[by_ra] for k, v in values.items()}, SOURCE_COLUMNS)
    sources.meta.update({
        "CREATOR": f"XID {__version__}",
        "DATE": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "ASSMETH": association_method,
        "CNSMETH": hosts.method,
        "NSOURCES": n,
        "NCOMPS": len(source_of),
        "MATCHRAD": float(match_radius_arcsec),
    })
    component_rows = columns_table(dict(component_id=components.ids, source_name=names[source_of], ra=components.ra,
                                        dec=components.dec, total_flux=flux), COMPONENT_COLUMNS)
    return sources, component_rows
