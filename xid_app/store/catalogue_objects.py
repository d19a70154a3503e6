"""The optical/IR catalogue (the input hosts are matched to) in the database."""


from __future__ import annotations

import json
from typing import Callable

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..optical import OpticalCatalogue, OpticalRows
from .columns import read_columns
from .models import (
    CatalogueObject,
)
from .sources import IngestReport


def add_catalogue_objects(session: Session, *, rows: OpticalRows,
                          progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Store catalogue objects in bulk (chunks of 50,000); IDs already stored are left as they are."""
    dialect = session.get_bind().dialect.name
    insert_new = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(CatalogueObject) \
        .on_conflict_do_nothing(index_elements=["object_id"])
    n, chunk = len(rows.ids), 50_000
    properties = rows.properties if rows.properties is not None else np.full(n, None, dtype=object)
    conn = session.connection()
    before = conn.scalar(select(func.count(CatalogueObject.id)))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        conn.execute(insert_new, [
            dict(object_id=i, ra=r, dec=d, properties=p) for i, r, d, p in zip(
                rows.ids[start:stop].tolist(), rows.ra[start:stop].tolist(), rows.dec[start:stop].tolist(),
                properties[start:stop].tolist())])
        if progress is not None:
            progress(stop, n)
    added = conn.scalar(select(func.count(CatalogueObject.id))) - before
    return IngestReport(added=added, unchanged=n - added)


def catalogue_version(engine: Engine) -> int:
    """Changes whenever objects are added (they are never removed): the largest primary key, read from
    the index in no time however large the catalogue."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.max(CatalogueObject.id))) or 0)


def load_catalogue(engine: Engine) -> OpticalCatalogue:
    with engine.connect() as conn:
        ids, ra, dec = read_columns(conn, select(CatalogueObject.object_id, CatalogueObject.ra, CatalogueObject.dec)
                                .order_by(CatalogueObject.id), (object, float, float))
    return OpticalCatalogue(ids, ra, dec)


def catalogue_properties(engine: Engine, object_id: str) -> dict:
    """The numbers (magnitudes...) kept with a catalogue object; empty if none or no such object."""
    with engine.connect() as conn:
        text = conn.scalar(select(CatalogueObject.properties).where(CatalogueObject.object_id == object_id))
    return {k: v for k, v in json.loads(text).items() if v is not None} if text else {}
