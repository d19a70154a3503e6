"""Radio components in the database, and the component groups of answers."""

from __future__ import annotations

from typing import Callable

import numpy as np
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from ..answers import FLAGS
from ..components import ComponentRows
from ..extract import GroupRows
from ..tables import IngestError
from .columns import read_columns
from .models import CROWD, AnswerComponent, Classification, Component, HostMark
from .sources import SAME_POSITION_DEG, IngestReport

CHUNK = 50_000


def add_components(session: Session, *, rows: ComponentRows, origin: str = "",
                   progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Store new components; IDs already stored at the same position are left as they are.

    Raises
    ------
    IngestError
        If a component ID is already stored at another position (nothing is written).
    """
    stored = {}
    ids = rows.ids.tolist()
    for start in range(0, len(ids), 500):
        stored.update({cid: (ra, dec) for cid, ra, dec in session.execute(
            select(Component.component_id, Component.ra, Component.dec)
            .where(Component.component_id.in_(ids[start:start + 500])))})
    known = np.array([cid in stored for cid in ids], bool)
    if known.any():
        ra0, dec0 = np.array([stored[cid] for cid in rows.ids[known]], float).T
        moved = (np.abs(ra0 - rows.ra[known]) * np.cos(np.radians(dec0)) > SAME_POSITION_DEG) | (
            np.abs(dec0 - rows.dec[known]) > SAME_POSITION_DEG)
        if moved.any():
            raise IngestError(origin, [
                f"{cid}: already stored at ra={r0}, dec={d0}; the table says ra={r}, dec={d}"
                for cid, r0, d0, r, d in zip(rows.ids[known][moved], ra0[moved], dec0[moved],
                                             rows.ra[known][moved], rows.dec[known][moved])])
    new = np.flatnonzero(~known)
    columns = ("ra", "dec", "peak_flux", "total_flux", "major", "minor", "pa")
    conn = session.connection()
    for start in range(0, len(new), CHUNK):
        take = new[start:start + CHUNK]
        values = {name: [None if np.isnan(v) else v for v in getattr(rows, name)[take].tolist()] for name in columns}
        conn.execute(Component.__table__.insert(), [
            dict(component_id=cid, **{name: values[name][i] for name in columns})
            for i, cid in enumerate(rows.ids[take].tolist())])
        if progress is not None:
            progress(min(start + CHUNK, len(new)), len(new))
    return IngestReport(added=len(new), unchanged=int(known.sum()))


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
