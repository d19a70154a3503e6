"""The extract step (as Zooniverse's aggregation calls it): answers, as the store reads them or as an
interchange table holds them, into the flat arrays every consensus method reduces
(:class:`~xid_app.consensus.Annotations`). No SQL here: numpy and pandas in, numpy out."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from .answers import FLAGS
from .arrays import dense_ranks, index_of, packed_order, positions, run_starts, stable_order
from .consensus import Annotations

_ID_OF = ("cls_pk",) * 3 + ("flagged_pk",) * 2 + ("mark_cls",) * 3  # the classification id of each field's rows


@dataclass(frozen=True)
class AnswerRows:
    """Raw crowd answers: every revision of every crowd classification, the flagged ones' flags as bit
    masks (both sorted by classification id), and every mark (in the order they were stored)."""

    cls_pk: np.ndarray
    cls_src_pk: np.ndarray
    cls_user_pk: np.ndarray
    flagged_pk: np.ndarray
    flagged_bits: np.ndarray
    mark_cls: np.ndarray
    mark_ra: np.ndarray
    mark_dec: np.ndarray

    def __add__(self, later: AnswerRows) -> AnswerRows:
        if len(later) == 0 and len(later.mark_cls) == 0:  # nothing since a snapshot: no copy of millions
            return self
        return AnswerRows(*(np.concatenate([getattr(self, f.name), getattr(later, f.name)]) for f in fields(self)))

    def upto(self, top: int) -> AnswerRows:
        """The rows of classifications with ids up to ``top``."""
        return AnswerRows(*(getattr(self, f.name)[getattr(self, key) <= top]
                            for f, key in zip(fields(self), _ID_OF)))

    def __len__(self) -> int:
        return len(self.cls_pk)


def latest_revisions(cls_pk: np.ndarray, src_pk: np.ndarray, user_pk: np.ndarray, *,
                     by_source: bool = False) -> np.ndarray:
    """Indices of the latest revision of each (source, user) answer (the largest id among theirs), in id
    order, or with ``by_source`` in (source, user) order. Ids are ascending, so each (source, user) key's
    last row is its latest: found by :func:`~xid_app.arrays.packed_order` of one combined key, or a
    lexsort where it would overflow."""
    n = len(cls_pk)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if np.any(cls_pk[1:] <= cls_pk[:-1]):
        raise ValueError("classification ids must be unique and ascending")
    users = int(user_pk.max()) + 1
    ordered = packed_order(src_pk * users + user_pk) if (int(src_pk.max()) + 1) * users < 2**62 else None
    if ordered is not None:
        sorted_keys, rows = ordered
        latest = rows[np.append(run_starts(sorted_keys)[1:], n) - 1]
    else:
        order = np.lexsort((np.arange(n), user_pk, src_pk))
        latest = order[np.append(run_starts(src_pk[order], user_pk[order])[1:], n) - 1]
    return latest if by_source else np.sort(latest)


def annotations_from_rows(rows: AnswerRows, *, source_pks: np.ndarray, source_ra: np.ndarray,
                          source_dec: np.ndarray) -> Annotations:
    """The current answers (the latest revision of each user's answer to each source) as :class:`Annotations`,
    grouped by source (each source's in the order of their annotators' keys): the order the reducers
    gather in (:func:`~xid_app.consensus.grouped_by_source`), found here by the sort that finds the
    latest revisions.

    Parameters
    ----------
    rows : AnswerRows
        Every crowd classification (id, source, user), the flags of those that raised any (as bits in the
        order of :data:`~xid_app.answers.FLAGS`), and every mark (classification, RA, Dec), ids ascending.
    source_pks, source_ra, source_dec : numpy.ndarray
        Every source's primary key (ascending) and position: ``cls_source`` indexes these.
    """
    cls_pk, cls_src_pk, cls_user_pk = rows.cls_pk, rows.cls_src_pk, rows.cls_user_pk
    chosen = latest_revisions(cls_pk, cls_src_pk, cls_user_pk, by_source=True)
    current, cur_src_pk, cur_user_pk = (a[chosen] for a in (cls_pk, cls_src_pk, cls_user_pk))
    cur_bits = np.zeros(len(current), dtype=np.int64)
    where = positions(current, rows.flagged_pk)
    cur_bits[where[where >= 0]] = rows.flagged_bits[where >= 0]
    # marks of current crowd classifications, in the classifications' order (each one's in stored order)
    position = positions(current, rows.mark_cls)
    keep = position >= 0
    by_cls = stable_order(position[keep])
    click_cls, click_ra, click_dec = (a[keep][by_cls] for a in (position, rows.mark_ra, rows.mark_dec))
    return Annotations(
        source_ra=source_ra,
        source_dec=source_dec,
        cls_source=index_of(source_pks, cur_src_pk),
        click_cls=click_cls,
        click_ra=click_ra,
        click_dec=click_dec,
        cls_user=dense_ranks(cur_user_pk),
        cls_flags=(cur_bits[:, None] >> np.arange(len(FLAGS))) & 1 == 1,
    )


def annotations_from_frame(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, Annotations]:
    """Annotations from a DataFrame in XID's interchange format (``classification_id, source_id, user,
    host_ra, host_dec, no_host``), without a database. Each source's centre is taken as the mean of its
    clicks (positions only serve as a tangent point).

    Returns source ids, annotator names and the :class:`Annotations`.
    """
    frame = frame.copy()
    frame["no_host"] = frame["no_host"].astype(str).str.strip().isin(["1", "True", "true"])
    source_ids, src = np.unique(frame["source_id"].astype(str), return_inverse=True)
    cls_ids, cls_first, cls = np.unique(frame["classification_id"].astype(str), return_index=True,
                                        return_inverse=True)
    names, user = np.unique(frame["user"].astype(str), return_inverse=True)
    clicks = ~frame["no_host"].to_numpy()
    ra = pd.to_numeric(frame["host_ra"], errors="coerce").to_numpy(float)
    dec = pd.to_numeric(frame["host_dec"], errors="coerce").to_numpy(float)
    clicks &= np.isfinite(ra) & np.isfinite(dec)
    n_src = len(source_ids)
    centre_ra = np.bincount(src[clicks], weights=ra[clicks], minlength=n_src) / np.maximum(
        np.bincount(src[clicks], minlength=n_src), 1)
    centre_dec = np.bincount(src[clicks], weights=dec[clicks], minlength=n_src) / np.maximum(
        np.bincount(src[clicks], minlength=n_src), 1)
    ann = Annotations(centre_ra, centre_dec, src[cls_first], cls[clicks], ra[clicks], dec[clicks],
                      cls_user=user[cls_first])
    return source_ids, names, ann


@dataclass(frozen=True)
class GroupRows:
    """Raw crowd answers with their component groups: every revision of every crowd classification (id,
    source, user, flags as bits; ids ascending), each grouped component (classification, group number,
    component primary key) and each mark (classification, group number, RA, Dec)."""

    cls_pk: np.ndarray
    cls_src_pk: np.ndarray
    cls_user_pk: np.ndarray
    cls_flag_bits: np.ndarray
    member_cls: np.ndarray
    member_group: np.ndarray
    member_component_pk: np.ndarray
    mark_cls: np.ndarray
    mark_group: np.ndarray
    mark_ra: np.ndarray
    mark_dec: np.ndarray


@dataclass(frozen=True)
class SourceAnswers:
    """The current answers (latest revision per annotator and field) with their component groups, indexed
    for the association: ``answer_field`` and ``answer_user`` (A,), ``answer_flags`` (A, len(FLAGS));
    grouped components ``member_answer``, ``member_group``, ``member_component`` (index into the
    components); marks ``mark_answer``, ``mark_group``, ``mark_ra``, ``mark_dec``."""

    answer_field: np.ndarray
    answer_user: np.ndarray
    answer_flags: np.ndarray
    member_answer: np.ndarray
    member_group: np.ndarray
    member_component: np.ndarray
    mark_answer: np.ndarray
    mark_group: np.ndarray
    mark_ra: np.ndarray
    mark_dec: np.ndarray

    @property
    def n_answers(self) -> int:
        return len(self.answer_field)


def source_answers(rows: GroupRows, *, field_pks: np.ndarray, component_pks: np.ndarray) -> SourceAnswers:
    """The current answers of ``rows`` with fields and components as indices into ``field_pks`` and
    ``component_pks`` (both ascending)."""
    chosen = latest_revisions(rows.cls_pk, rows.cls_src_pk, rows.cls_user_pk)
    current = rows.cls_pk[chosen]

    def answer_of(cls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        where = np.minimum(np.searchsorted(current, cls), max(len(current) - 1, 0))
        keep = current[where] == cls if len(current) else np.zeros(len(cls), bool)
        return where[keep], keep

    member_answer, members = answer_of(rows.member_cls)
    mark_answer, marks = answer_of(rows.mark_cls)
    _, users = np.unique(rows.cls_user_pk[chosen], return_inverse=True)
    return SourceAnswers(
        answer_field=np.searchsorted(field_pks, rows.cls_src_pk[chosen]),
        answer_user=users,
        answer_flags=(rows.cls_flag_bits[chosen][:, None] >> np.arange(len(FLAGS))) & 1 == 1,
        member_answer=member_answer,
        member_group=rows.member_group[members],
        member_component=np.searchsorted(component_pks, rows.member_component_pk[members]),
        mark_answer=mark_answer,
        mark_group=rows.mark_group[marks],
        mark_ra=rows.mark_ra[marks],
        mark_dec=rows.mark_dec[marks],
    )
