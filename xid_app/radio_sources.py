"""The survey's radio sources as a service of the :class:`~xid_app.project.Project`: components in, the
association of components into sources and the source catalogue out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from astropy.table import Table
from sqlalchemy import Engine

from . import association
from .agreement import association_agreement
from .components import (
    ComponentRows,
    FieldComponents,
    components_under,
    field_components,
    field_targets,
    read_components,
)
from .config import Settings
from .consensus import run_consensus
from .extract import SourceAnswers, source_answers
from .interchange import AnnotationRows
from .optical import OpticalCatalogue
from .reloaded import Reloaded
from .sky_index import SkyIndex
from .source_catalogue import centroids, expert_sources, host_annotations, source_table
from .store import columns
from .store import components as component_store
from .store.sources import IngestReport


@dataclass(frozen=True)
class Components:
    """The stored components: primary keys (ascending), their rows, and a sky index over them."""

    pks: np.ndarray
    rows: ComponentRows
    index: SkyIndex

    def __len__(self) -> int:
        return len(self.pks)


class RadioSources:
    """Components, associations and the source catalogue of one database.

    Parameters
    ----------
    engine, session : callables
        The project's engine and a new ORM session.
    settings : Settings
    optical_catalogue : callable
        The optical/IR catalogue hosts are matched to (or ``None``).
    """

    def __init__(self, engine: Callable[[], Engine], session: Callable, settings: Settings,
                 optical_catalogue: Callable[[], OpticalCatalogue | None]):
        self._engine, self._session, self.settings = engine, session, settings
        self._optical_catalogue = optical_catalogue
        self._components = Reloaded(lambda: component_store.components_version(self._engine()), self._load)

    def ingest(self, path: str | Path, *, id_column: str | None = None,
               progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Ingest a component table, all or nothing (see :func:`xid_app.components.read_components`);
        components already stored at the same position are left as they are."""
        rows = read_components(path, id_column=id_column)
        try:
            with self._session() as session, session.begin():
                return component_store.add_components(session, rows=rows, origin=str(path), progress=progress)
        finally:
            self._components.changed()

    def components(self) -> Components:
        """Every stored component, loaded again only when components were added."""
        return self._components.get()

    def _load(self) -> Components:
        pks, rows = component_store.load_components(self._engine())
        return Components(pks, rows, rows.index())

    def in_field(self, ra: float, dec: float, radius_arcsec: float) -> FieldComponents | None:
        """The components within ``radius_arcsec`` of a field's position, nearest first, and its target;
        ``None`` where there are none (such a field is answered without groups)."""
        components = self.components()
        found = field_components(components.rows, components.index, ra, dec, radius_arcsec,
                                 self.settings.target_radius_arcsec)
        return found if len(found.rows) else None

    def name_component_clicks(self, read: AnnotationRows) -> AnnotationRows:
        """Turn each row's ``component_clicks`` (sky positions) into its ``components`` (IDs joined by ';');
        a classification with a click on no component is refused whole, with the click's position."""
        rows = read.rows
        components = self.components()
        named, refused = [], set()
        for line, clicks in zip(rows.line.tolist(), rows.component_clicks.tolist()):
            ra, dec = (np.array(v, float) for v in zip(*clicks)) if clicks else (np.empty(0), np.empty(0))
            ids = components_under(ra, dec, components.rows, components.index)
            if any(i is None for i in ids):
                k = next(k for k, i in enumerate(ids) if i is None)
                refused.add(line)
                named.append(f"a component click at RA {ra[k]:.5f}, Dec {dec[k]:+.5f} is on no ingested component")
            else:
                named.append(";".join(sorted(set(ids))))
        rows = rows.assign(components=named).drop(columns="component_clicks")
        bad = rows.line.isin(refused)
        whole = rows.classification_id.isin(rows.classification_id[bad])
        rejected = [*read.rejected, *zip(rows.line[bad].tolist(), rows.components[bad].tolist()),
                    *((line, "another row of the same classification was refused")
                      for line in rows.line[whole & ~bad].tolist())]
        return AnnotationRows(rows[~whole].reset_index(drop=True), rejected)

    def answers(self, *, expert: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, SourceAnswers]:
        """Fields (primary keys and positions) and the current crowd answers with their groups; with
        ``expert``, each field's final answer by an admin (the latest) instead."""
        engine = self._engine()
        field_pks, field_ra, field_dec = columns.source_positions(engine)
        rows = component_store.load_group_rows(engine, expert=expert)
        if expert:  # the latest per field, whichever admin gave it
            rows = replace(rows, cls_user_pk=np.zeros_like(rows.cls_user_pk))
        return field_pks, field_ra, field_dec, source_answers(rows, field_pks=field_pks,
                                                              component_pks=self.components().pks)

    def associate(self, method: str | None = None, **params: float) -> association.Association:
        """Which components make up each source (see :func:`xid_app.association.associate`)."""
        field_pks, _, _, answers = self.answers()
        return self._associate(answers, len(field_pks), len(self.components()), method, params)

    def _associate(self, answers: SourceAnswers, n_fields: int, n_components: int, method: str | None,
                   params: dict, decided=()) -> association.Association:
        groupings = association.Groupings(n_fields, answers.answer_field, answers.member_answer,
                                          answers.member_group, answers.member_component)
        return association.associate(groupings, n_components, method or self.settings.association_method,
                                     decided=decided, **params)

    def agreement(self, field_ids: np.ndarray) -> pd.DataFrame | None:
        """How alike annotators split each field's components (see
        :func:`xid_app.agreement.association_agreement`), indexed by ``field_ids``; ``None`` without groups."""
        field_pks, _, _, answers = self.answers()
        if not len(answers.member_answer):
            return None
        groupings = association.Groupings(len(field_pks), answers.answer_field, answers.member_answer,
                                          answers.member_group, answers.member_component)
        return association_agreement(groupings).rename(index=lambda i: field_ids[i])

    def catalogue(self, method: str | None = None, *, host_method: str | None = None,
                  **params: float) -> tuple[Table, Table]:
        """The source catalogue and the component table (see :func:`xid_app.source_catalogue.source_table`).

        Raises
        ------
        ValueError
            If no components are ingested, or for an unknown method or parameter.
        """
        components = self.components()
        if not len(components):
            raise ValueError("no components ingested: run `xid ingest-components TABLE` first")
        field_pks, field_ra, field_dec, answers = self.answers()
        method = method or self.settings.association_method
        decided, expert_ra, expert_dec = expert_sources(self.answers(expert=True)[3])
        result = self._associate(answers, len(field_pks), len(components), method, params, decided)
        target = field_targets(field_ra, field_dec, components.index, self.settings.target_radius_arcsec)
        target_source = np.where(target >= 0, result.source_of[np.maximum(target, 0)], -1)
        ra, dec = centroids(components.rows, result.source_of, result.n_sources)
        votes = host_annotations(answers, result, target_source, ra, dec)
        hosts = run_consensus(votes, host_method or self.settings.consensus_method)
        return source_table(components.rows, result, hosts, self._optical_catalogue(),
                            match_radius_arcsec=self.settings.host_match_radius_arcsec, association_method=method,
                            expert_hosts=(expert_ra, expert_dec))
