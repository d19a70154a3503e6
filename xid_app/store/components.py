"""Radio components in the database, and the component groups of answers."""

from __future__ import annotations

from typing import Callable

import numpy as np
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from ..answers import FLAGS
from ..components import ComponentRows
from ..extract import GroupRows
from .bulk import bulk_load, insert_rows, lock_for_writing, primary_keys
from .columns import read_columns
from .models import CROWD, AnswerComponent, Classification, Component, HostMark
from .sources import IngestReport, refuse_moved


def add_components(session: Session, *, rows: ComponentRows, origin: str = "",
                   progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Store new components, set-based; IDs already stored at the same position are left as they are.

    Raises
    ------
    IngestError
        If a component ID is already stored at another position (nothing is written).
    """
    lock_for_writing(session, [Component.__table__])
    pks = primary_keys(session, Component.component_id, rows.ids)
    known = pks >= 0
    refuse_moved(session, Component.__table__, pks, rows.ids, rows.ra, rows.dec, origin)
    new = ~known
    with bulk_load(session, {Component.__table__: int(new.sum())}):
        insert_rows(session, Component.__table__, dict(
            component_id=np.asarray(rows.ids, dtype=object)[new],
            **{name: _nullable_floats(getattr(rows, name)[new]) for name in
               ("ra", "dec", "peak_flux", "total_flux", "major", "minor", "pa")}),
            progress=None if progress is None else lambda done: progress(done, int(new.sum())))
    return IngestReport(added=int(new.sum()), unchanged=int(known.sum()))


def _nullable_floats(values: np.ndarray) -> list:
    return [None if v != v else v for v in np.asarray(values, float).tolist()]


def components_version(engine: Engine) -> int:
    """Changes whenever components are added (they are never removed)."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.max(Component.id))) or 0)


def load_components(engine: Engine) -> tuple[np.ndarray, ComponentRows]:
    """Every stored component (primary keys, and the rows as read), in primary-key order."""
    with engine.connect() as conn:
        pk, ids, *numbers = read_columns(
            conn, select(Component.id, Component.component_id, Component.ra, Component.dec, Component.peak_flux,
                         Component.total_flux, Component.major, Component.minor, Component.pa)
            .order_by(Component.id), (int, object, *[float] * 7))
    return pk, ComponentRows(ids, *numbers)


def load_group_rows(engine: Engine, *, expert: bool = False) -> GroupRows:
    """Every crowd classification (all revisions; with ``expert``, every admin's final answer) with its
    flags, component groups and marks' groups."""
    with engine.connect() as conn:
        flag_bits = sum(case((getattr(Classification, f), 1 << i), else_=0) for i, f in enumerate(FLAGS))
        cls_pk, cls_src_pk, cls_user_pk, cls_flag_bits = read_columns(
            conn, select(Classification.id, Classification.source_pk, Classification.user_pk, flag_bits)
            .where(Classification.origin == "expert" if expert else CROWD).order_by(Classification.id),
            (np.int64,) * 4)
        member_cls, member_group, member_component_pk = read_columns(
            conn, select(AnswerComponent.classification_pk, AnswerComponent.group_number, AnswerComponent.component_pk)
            .order_by(AnswerComponent.classification_pk), (np.int64,) * 3)
        mark_cls, mark_group, mark_ra, mark_dec = read_columns(
            conn, select(HostMark.classification_pk, HostMark.group_number, HostMark.ra, HostMark.dec)
            .order_by(HostMark.id), (np.int64, np.int64, float, float))
    return GroupRows(cls_pk, cls_src_pk, cls_user_pk, cls_flag_bits, member_cls, member_group, member_component_pk,
                     mark_cls, mark_group, mark_ra, mark_dec)
