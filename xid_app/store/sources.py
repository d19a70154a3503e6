"""Radio sources and their image layers in the database: ingest (all or nothing), gold flags."""


from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..ingest import SourceList
from ..tables import IngestError
from .bulk import bulk_load, insert_rows, lock_for_writing, positions, primary_keys
from .models import (
    Layer,
    Source,
    utcnow,
)

SAME_POSITION_DEG = 0.1 / 3600  # re-ingesting a source within 0.1" of where it was is a no-op


@dataclass
class IngestReport:
    added: int
    unchanged: int
    outside: int = 0  # sources left out: no mosaic tile covers them


def add_sources(session: Session, *, sources: SourceList, origin: str = "",
                progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Store new sources and their layers, set-based; sources already stored at the same position are
    left alone.

    Raises
    ------
    IngestError
        If a source id is already stored at a different position (nothing is written).
    """
    lock_for_writing(session, [Source.__table__, Layer.__table__])
    pks = primary_keys(session, Source.source_id, sources.ids)
    refuse_moved(session, Source.__table__, pks, sources.ids, sources.ra, sources.dec, origin)
    stored = np.flatnonzero(pks >= 0)
    new = pks < 0
    layers = sources.layers[new[sources.layers.source.to_numpy()]]
    with bulk_load(session, {Source.__table__: int(new.sum()), Layer.__table__: len(layers)}):
        pks[new] = insert_rows(session, Source.__table__, dict(
            source_id=sources.ids[new], ra=sources.ra[new], dec=sources.dec[new], created_at=utcnow(),
            is_gold=False), ids=True, progress=None if progress is None else lambda done: progress(done, int(new.sum())))
        source = layers.source.to_numpy()
        insert_rows(session, Layer.__table__, dict(
            source_pk=pks[source], band=layers.band.to_numpy(object), kind=layers.kind.to_numpy(object),
            path=layers.path.to_numpy(object), form=layers.form.to_numpy(object),
            position=pd.Series(source).groupby(source).cumcount().to_numpy(),
            field_arcsec=[None if np.isnan(v) else v for v in layers.field_arcsec.tolist()]))
    return IngestReport(added=int(new.sum()), unchanged=len(stored))


def refuse_moved(session: Session, table, pks: np.ndarray, ids, ra: np.ndarray, dec: np.ndarray, origin: str) -> None:
    """Refuse a table whose rows already stored (``pks`` ≥ 0) are now somewhere else on the sky.

    Raises
    ------
    IngestError
        Naming each row stored at another position.
    """
    stored = np.flatnonzero(pks >= 0)
    if len(stored) == 0:
        return
    ra0, dec0 = positions(session, table, pks[stored])
    moved = (np.abs(ra0 - ra[stored]) * np.cos(np.radians(dec0)) > SAME_POSITION_DEG) | (
        np.abs(dec0 - dec[stored]) > SAME_POSITION_DEG)
    if moved.any():
        raise IngestError(origin, [f"{ids[i]}: already stored at ra={r}, dec={d}; the table says ra={ra[i]}, "
                                   f"dec={dec[i]}" for i, r, d in zip(stored[moved], ra0[moved], dec0[moved])])


def existing_sources(session: Session, source_pks: Sequence[int]) -> set[int]:
    """Those of ``source_pks`` still in the database."""
    return set(session.scalars(select(Source.id).where(Source.id.in_([int(pk) for pk in source_pks]))))


def set_gold(session: Session, *, source_pk: int, gold: bool) -> None:
    session.get(Source, source_pk).is_gold = gold
    session.flush()


def archive_fields(engine: Engine) -> list[tuple[str, float, float, float | None]]:
    """``(SERVICE:SURVEY, ra, dec, field_arcsec)`` of every archive layer of every source."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Layer.path, Source.ra, Source.dec, Layer.field_arcsec)
            .join(Source, Source.id == Layer.source_pk).where(Layer.form == "archive").order_by(Layer.id))]


def layers_in_order(engine: Engine) -> list[tuple[str, int, str, str, str]]:
    """``(source_id, layer pk, band, kind, path)`` of every layer, by source and the layers' order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Source.source_id, Layer.id, Layer.band, Layer.kind, Layer.path)
            .join(Layer, Layer.source_pk == Source.id).order_by(Source.id, Layer.position))]
