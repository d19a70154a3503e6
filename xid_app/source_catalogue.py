"""The radio source catalogue: associated components as sources, each with its host, as the LoTSS
value-added catalogue publishes them (Williams et al. 2019). Pure functions: components, an
:class:`~xid_app.association.Association` and the answers in; arrays and tables out.

Every component is in exactly one row: a component nobody grouped is a source of its own.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from astropy.table import Table

from . import __version__
from .answers import FLAGS
from .arrays import isin, pairs, run_starts, unique
from .association import Association
from .components import ComponentRows
from .consensus import Annotations, Consensus
from .coords import tangent_offsets_arcsec
from .export import ColumnSpec, columns_table
from .extract import SourceAnswers
from .optical import OpticalCatalogue
from .retirement import answer_confidence

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
    ColumnSpec("host_ra", "f8", "deg", "Host right ascension (ICRS), host_id's where there is one; blank if no host",
               True),
    ColumnSpec("host_dec", "f8", "deg", "Host declination (ICRS), host_id's where there is one; blank if no host",
               True),
    ColumnSpec("host_id", "str", None, "Nearest optical/IR catalogue object to the host within the match radius"),
    ColumnSpec("assoc_qual", "f8", None,
               "Fraction of the answers on the source's field(s) that agree on its components; blank if nobody "
               "grouped them", True),
    ColumnSpec("id_qual", "f8", None,
               "Probability that the host is right (no host: that the source shows none), calibrated as "
               "consensus_level; blank if unanswered or decided by an expert", True),
    ColumnSpec("n_classifications", "i4", None, "Answers that voted on the source's host"),
    *(ColumnSpec(f"{flag}_fraction", "f8", None, f"Fraction of the source's answers flagging {flag.replace('_', ' ')}",
                 True) for flag in FLAGS),
    ColumnSpec("answer", "str", None,
               "'consensus' (the crowd) or 'expert' (an admin's final answer set the components and host)"),
)

COMPONENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("component_id", "str", None, "Component ID, as ingested"),
    ColumnSpec("source_name", "str", None, "The source it belongs to (source_name of the source catalogue)"),
    ColumnSpec("ra", "f8", "deg", "Component right ascension (ICRS)"),
    ColumnSpec("dec", "f8", "deg", "Component declination (ICRS)"),
    ColumnSpec("total_flux", "f8", "mJy", "Integrated flux density; blank if unknown", True),
)


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
    order = np.argsort(source_of, kind="stable")
    order = order[np.bincount(source_of, minlength=n_sources)[source_of[order]] > 1]  # sources of several
    a, b = pairs(source_of[order], source_of[order])
    i, j = order[a[a < b]], order[b[a < b]]
    xi, eta = tangent_offsets_arcsec(components.ra[i], components.dec[i], components.ra[j], components.dec[j])
    np.fmax.at(las, source_of[i], np.hypot(xi, eta) + (major[i] + major[j]) / 2)
    return las


def host_annotations(answers: SourceAnswers, association: Association, target_source: np.ndarray,
                     ra: np.ndarray, dec: np.ndarray) -> Annotations:
    """The answers as votes on each radio source's host, for any host consensus method.

    An answer votes on a source through its group that holds most of the source's components (the hosts
    of that group, or none); an answer's hosts that no grouped component places (and an answer that grouped
    nothing) vote on the source of its field's target component (``target_source``, -1: none).
    """
    n_groups = int(max(answers.member_group.max(initial=0), answers.mark_group.max(initial=0))) + 2
    member_answer, member_group = answers.member_answer, answers.member_group
    member_source = association.source_of[answers.member_component]
    # (answer, source) → the answer's group holding most of the source (ties: the lower group)
    o = np.lexsort((member_group, member_source, member_answer))
    runs = run_starts(member_answer[o], member_source[o], member_group[o])
    size = np.diff(np.r_[runs, len(o)])
    a, src, grp = member_answer[o][runs], member_source[o][runs], member_group[o][runs]
    o = np.lexsort((grp, -size, src, a))
    best = o[run_starts(a[o], src[o])]
    vote_answer, vote_group, vote_source = a[best], grp[best], src[best]

    # hosts in groups without components, and answers that grouped nothing: the field's target source
    member_keys = unique(member_answer.astype(np.int64) * n_groups + member_group)
    mark_keys = answers.mark_answer.astype(np.int64) * n_groups + answers.mark_group
    loose = unique(mark_keys[~isin(mark_keys, member_keys)])
    spoke = unique(np.r_[member_answer, answers.mark_answer])
    silent = np.flatnonzero(~isin(np.arange(answers.n_answers), spoke))
    loose_answer = np.r_[loose // n_groups, silent]
    loose_group = np.r_[loose % n_groups, np.full(len(silent), n_groups - 1)]  # a group no mark is in
    loose_source = target_source[answers.answer_field[loose_answer]] if len(loose_answer) else np.empty(0, int)
    placed = isin(loose_answer.astype(np.int64) * (association.n_sources + 1) + loose_source,
                  unique(vote_answer.astype(np.int64) * (association.n_sources + 1) + vote_source))
    keep = (loose_source >= 0) & ~placed
    vote_answer, vote_group, vote_source = (np.r_[vote_answer, loose_answer[keep]], np.r_[vote_group, loose_group[keep]],
                                            np.r_[vote_source, loose_source[keep]])

    # each mark counts for every vote of its (answer, group)
    vote_keys = vote_answer.astype(np.int64) * n_groups + vote_group
    by_key = np.argsort(vote_keys, kind="stable")
    marks_by_key = np.argsort(mark_keys, kind="stable")
    m, v = pairs(mark_keys[marks_by_key], vote_keys[by_key])
    clicks, votes = marks_by_key[m], by_key[v]
    return Annotations(ra, dec, vote_source, votes, answers.mark_ra[clicks], answers.mark_dec[clicks],
                       cls_user=answers.answer_user[vote_answer], cls_flags=answers.answer_flags[vote_answer])


def expert_sources(experts: SourceAnswers) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The sources admins' final answers made: each group's components (indices) and its host (the first
    mark of the group; NaN for none). A group sharing a component with an earlier one is left out."""
    order = np.lexsort((experts.member_component, experts.member_group, experts.member_answer))
    answer, group = experts.member_answer[order], experts.member_group[order]
    component = experts.member_component[order]
    starts = run_starts(answer, group) if len(order) else np.empty(0, int)
    sets, ra, dec, taken = [], [], [], set()
    for lo, hi in zip(starts.tolist(), np.r_[starts[1:], len(order)].tolist()):
        members = component[lo:hi]
        if taken & set(members.tolist()):
            continue
        taken |= set(members.tolist())
        on = np.flatnonzero((experts.mark_answer == answer[lo]) & (experts.mark_group == group[lo]))
        sets.append(members)
        ra.append(experts.mark_ra[on[0]] if len(on) else np.nan)
        dec.append(experts.mark_dec[on[0]] if len(on) else np.nan)
    return sets, np.asarray(ra, float), np.asarray(dec, float)


def iau_names(ra: np.ndarray, dec: np.ndarray) -> list[str]:
    """``JHHMMSS.ss+DDMMSS.s`` for each position, truncated (not rounded), as the IAU convention and the
    LoTSS catalogues name sources."""
    centisec = np.floor(np.asarray(ra, float) % 360.0 / 15.0 * 360_000).astype(np.int64)
    decisec = np.floor(np.abs(np.asarray(dec, float)) * 36_000).astype(np.int64)
    sign = np.where(np.asarray(dec) < 0, "-", "+")
    return [f"J{c // 360000:02d}{c // 6000 % 60:02d}{c % 6000 // 100:02d}.{c % 100:02d}"
            f"{g}{d // 36000:02d}{d // 600 % 60:02d}{d % 600 // 10:02d}.{d % 10}"
            for c, g, d in zip(centisec.tolist(), sign.tolist(), decisec.tolist())]


def source_names(components: ComponentRows, source_of: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """A one-component source keeps its component's ID; others are named by :func:`iau_names`."""
    n = len(ra)
    counts = np.bincount(source_of, minlength=n)
    names = np.empty(n, dtype=object)
    first = np.full(n, -1)
    first[source_of[::-1]] = np.arange(len(source_of))[::-1]
    single = np.flatnonzero(counts == 1)
    names[single] = components.ids[first[single]]
    many = np.flatnonzero(counts > 1)
    names[many] = iau_names(ra[many], dec[many])
    return names


def joined_members(ids: np.ndarray, source_of: np.ndarray, n_sources: int) -> np.ndarray:
    """Each source's component IDs, sorted and joined by ';'."""
    order = np.lexsort((ids.astype(str), source_of))
    starts = np.searchsorted(source_of[order], np.arange(n_sources))
    ends = np.r_[starts[1:], len(order)]
    sorted_ids = ids[order]
    out = sorted_ids[np.minimum(starts, len(order) - 1)].copy()
    for i in np.flatnonzero(ends - starts > 1).tolist():
        out[i] = ";".join(sorted_ids[starts[i]:ends[i]])
    return out


def source_table(components: ComponentRows, association: Association, hosts: Consensus,
                 catalogue: OpticalCatalogue | None = None, *, match_radius_arcsec: float = 3.0,
                 association_method: str = "", expert_hosts: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[Table, Table]:
    """The source catalogue (columns :data:`SOURCE_COLUMNS`, one row per source, sorted by RA) and the
    component table (:data:`COMPONENT_COLUMNS`: each component and its source). ``expert_hosts``: the hosts
    (RA, Dec; NaN: none) of the sources an expert decided (``association.decided``), in their order."""
    n = association.n_sources
    source_of = association.source_of
    ra, dec = centroids(components, source_of, n)
    names = source_names(components, source_of, ra, dec)
    flux = components.total_flux
    total = np.bincount(source_of, weights=np.nan_to_num(flux), minlength=n)
    total[np.bincount(source_of, weights=np.isfinite(flux), minlength=n) == 0] = np.nan

    best = hosts.best_host
    host_ra, host_dec = np.full(n, np.nan), np.full(n, np.nan)
    host_ra[hosts.host_source[best]] = hosts.host_ra[best]
    host_dec[hosts.host_source[best]] = hosts.host_dec[best]
    id_qual = np.where(hosts.n_classifications > 0, answer_confidence(hosts), np.nan)
    decided = association.decided
    if expert_hosts is not None:
        host_ra[decided], host_dec[decided] = expert_hosts
    id_qual[decided] = np.nan
    host_id = np.full(n, "", dtype=object)
    if catalogue is not None:
        host_id, _, host_ra, host_dec = catalogue.place(host_ra, host_dec, match_radius_arcsec)
    n_cls = hosts.n_classifications
    values = dict(source_name=names, ra=ra, dec=dec, components=joined_members(components.ids, source_of, n),
                  n_components=np.bincount(source_of, minlength=n), total_flux=total,
                  las=largest_angular_sizes(components, source_of, n), host_ra=host_ra, host_dec=host_dec,
                  host_id=host_id, assoc_qual=association.assoc_qual, id_qual=id_qual, n_classifications=n_cls,
                  answer=np.where(decided, "expert", "consensus"))
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
        "NEXPERT": int(decided.sum()),
        "NCOMPS": len(source_of),
        "MATCHRAD": float(match_radius_arcsec),
    })
    component_rows = columns_table(dict(component_id=components.ids, source_name=names[source_of], ra=components.ra,
                                        dec=components.dec, total_flux=flux), COMPONENT_COLUMNS)
    return sources, component_rows
