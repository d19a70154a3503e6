"""Radio sources and their image layers in the database: ingest (all or nothing), gold flags."""


from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..ingest import SourceRecord
from ..tables import IngestError
from .models import (
    Layer,
    Source,
)

SAME_POSITION_DEG = 0.1 / 3600  # re-ingesting a source within 0.1" of where it was is a no-op


@dataclass
class IngestReport:
    added: int
    unchanged: int
    outside: int = 0  # sources left out: no mosaic tile covers them


def add_sources(session: Session, *, records: Sequence[SourceRecord], origin: str = "") -> IngestReport:
    """Store new sources and their layers; sources already stored at the same position are left alone.

    Raises
    ------
    IngestError
        If a source id is already stored at a different position (nothing is written).
    """
    ids = [r.source_id for r in records]
    existing: dict[str, tuple[float, float]] = {}
    for chunk in range(0, len(ids), 500):
        rows = session.execute(
            select(Source.source_id, Source.ra, Source.dec).where(Source.source_id.in_(ids[chunk:chunk + 500]))
        )
        existing.update({sid: (ra, dec) for sid, ra, dec in rows})
    problems = []
    new = []
    for r in records:
        if r.source_id not in existing:
            new.append(r)
            continue
        ra, dec = existing[r.source_id]
        if abs(ra - r.ra) * np.cos(np.radians(dec)) > SAME_POSITION_DEG or abs(dec - r.dec) > SAME_POSITION_DEG:
            problems.append(f"{r.source_id}: already stored at ra={ra}, dec={dec}; the table says ra={r.ra}, dec={r.dec}")
    if problems:
        raise IngestError(origin, problems)
    for r in new:
        source = Source(source_id=r.source_id, ra=r.ra, dec=r.dec)
        source.layers = [Layer(band=l.band, kind=l.kind, path=str(l.path), position=i, form=l.form,
                               field_arcsec=l.field_arcsec) for i, l in enumerate(r.layers)]
        session.add(source)
    session.flush()
    return IngestReport(added=len(new), unchanged=len(records) - len(new))


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
