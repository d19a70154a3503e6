"""An XID project: one database and what can be done with it, scriptable from a notebook.

The CLI and the server are thin shells over :class:`Project`::

    from xid_app.project import Project
    xid = Project("sqlite:///xid.sqlite")
    xid.init()
    xid.ingest("sources.csv")
    xid.import_annotations("annotations.csv")
    table = xid.host_catalogue()     # astropy Table, one row per host
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Callable, Collection, Sequence

import numpy as np
from astropy.table import Table
from sqlalchemy import Engine

from . import __version__
from .answers import InvalidSubmission, Mark, StoredAnswer
from .archives import Archive, FetchReport, FieldRequest
from .assignment import Assignment
from .auth import ActiveLogin, LoginEnded, valid_user_name
from .config import Settings
from .consensus import Annotations, Consensus, ExpertAnswers, run_consensus
from .export import CLASSIFICATION_COLUMNS, columns_table, host_table, write_table
from .ingest import ArchiveSurvey, MosaicSurvey, read_sources
from .interchange import read_annotations
from .optical import OpticalCatalogue, read_optical_catalogue
from .radio_sources import RadioSources
from .reloaded import Reloaded
from .store import catalogue_objects, classifications, columns, db, logins, runs
from .store import sources as source_store
from .store import users as user_store
from .store.db import DatabaseGone, DatabaseNotReady  # noqa: F401  (the façade's errors, for its callers)
from .store.snapshot import snapshot_path
from .survey import SurveyStates
from .views import SourceView, Views  # noqa: F401  (SourceView: the façade's type, for its callers)

log = logging.getLogger(__name__)


class Project:
    """XID's operations on one database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy database URL; default from :class:`~xid_app.config.Settings`.
    settings : Settings, optional
        Defaults for everything else.
    """

    def __init__(self, url: str | None = None, *, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.url = url or self.settings.resolved_database_url()
        self._catalogue = Reloaded(lambda: catalogue_objects.catalogue_version(self.engine),
                                   lambda: catalogue_objects.load_catalogue(self.engine))
        self._archive: Archive | None = None
        self.views = Views(lambda: self.engine, self.settings, lambda: self.archive)
        self.survey = SurveyStates(self._answers, self.settings)
        self.assignment = Assignment(self.session, self.settings, self._answers, lambda: self.engine,
                                     on_consensus=self.survey.remember)
        self.radio_sources = RadioSources(lambda: self.engine, self.session, self.settings,
                                          lambda: self.optical_catalogue())

    @property
    def engine(self) -> Engine:
        return db.engine_for(self.url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms)

    def session(self):
        """A new ORM session (use as a context manager; commit explicitly)."""
        return db.session_factory(self.engine)()

    def init(self) -> None:
        """Create the database or upgrade it to the latest schema."""
        db.upgrade(self.url)

    def check_ready(self) -> None:
        db.check_ready(self.engine)

    def ingest(self, path: str | Path, *, mosaics: Sequence[MosaicSurvey] = (),
               archives: Sequence[ArchiveSurvey] = (), id_column: str | None = None,
               size_column: str | None = None, image_roots: Sequence[str | Path] = (),
               progress: Callable[[int, int], None] | None = None) -> source_store.IngestReport:
        """Ingest a source list, all or nothing (see :func:`xid_app.ingest.read_sources`); sources that no
        tile of the ``mosaics`` covers are left out and counted. Image paths must lie in the table's folder
        or one of ``image_roots`` (or of the setting ``image_roots``)."""
        self.check_ready()
        s = self.settings
        sources = read_sources(path, mosaics=mosaics, archives=archives, id_column=id_column, size_column=size_column,
                               field_min_arcsec=s.field_min_arcsec, field_factor=s.field_size_factor,
                               image_roots=[*s.image_roots, *image_roots], max_image_pixels=s.max_image_pixels,
                               progress=progress)
        with self.session() as session, session.begin():
            report = source_store.add_sources(session, sources=sources, origin=str(path))
        return replace(report, outside=len(sources.outside))

    def import_annotations(self, path: str | Path, *, progress: Callable[[int, int], None] | None = None
                           ) -> classifications.ImportReport:
        """Import an interchange CSV of clicks; idempotent on ``classification_id``."""
        self.check_ready()
        rows = read_annotations(path)
        with self.session() as session, session.begin():
            return classifications.import_annotations(session, annotations=rows, progress=progress)

    def ingest_catalogue(self, path: str | Path, *, id_column: str | None = None, keep: Sequence[str] | None = None,
                         progress: Callable[[int, int], None] | None = None) -> source_store.IngestReport:
        """Ingest an optical/IR catalogue (ID, ra, dec, and magnitudes to keep) that typed and clicked hosts
        resolve to; all or nothing."""
        self.check_ready()
        rows = read_optical_catalogue(path, id_column=id_column, keep=keep)
        try:
            with self.session() as session, session.begin():
                return catalogue_objects.add_catalogue_objects(session, rows=rows, progress=progress)
        finally:
            self._catalogue.changed()

    @property
    def archive(self) -> Archive:
        """Where archive layers are fetched from and cached (see :mod:`xid_app.archives`)."""
        if self._archive is None:
            s = self.settings
            self._archive = Archive(s.archive_cache_dir or s.data_dir / "archive-cache", offline=s.offline,
                                    timeout_s=s.archive_timeout_s, skyview_url=s.skyview_url,
                                    hips2fits_url=s.hips2fits_url)
        return self._archive

    def archive_requests(self) -> list[FieldRequest]:
        """The field of every archive layer of every source."""
        s = self.settings
        return [FieldRequest(survey, ra, dec, field or s.field_min_arcsec, s.archive_pixels)
                for survey, ra, dec, field in source_store.archive_fields(self.engine)]

    def fetch(self, *, progress: Callable[[int, int], None] | None = None) -> FetchReport:
        """Fetch every archive layer not yet cached, a few at a time at a polite rate (``xid fetch``);
        run it again to resume after a failure."""
        s = self.settings
        return self.archive.fetch_many(self.archive_requests(), workers=s.archive_workers,
                                       min_interval_s=s.archive_min_interval_s, progress=progress)

    def optical_catalogue(self, *, wait: bool = True) -> OpticalCatalogue | None:
        """The optical/IR catalogue's spatial index, rebuilt only when objects were added (one build at a
        time). While another thread builds it (the server warms it up at start: ~10 s for 10 M objects),
        ``wait=False`` returns None at once instead of holding up the page."""
        return self._catalogue.get(wait=wait)

    @contextmanager
    def building_optical_catalogue(self):
        """Hold the catalogue index as a build in progress does (pages then carry on without it): for
        rebuilding it by hand while pages stay responsive, and for tests of that."""
        with self._catalogue.held():
            yield

    def set_user(self, name: str, *, password: str | None, role: str = "annotator") -> None:
        """Create a user, or change their password and role (which ends their open logins)."""
        self.check_ready()
        with self.session() as session, session.begin():
            user_store.set_user(session, name=name, password=password, role=role)

    # --- logins (the server keeps them, so that logging out ends a login everywhere) ---------------

    def login_required(self) -> bool:
        """Whether the page needs a login: as soon as any user has a password."""
        with self.session() as session:
            return user_store.login_required(session)

    def check_password(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (argon2: ~0.1 s of CPU, the same for unknown names; the
        server calls this off its event loop)."""
        with self.session() as session:
            return user_store.authenticate(session, name=name, password=password) is not None

    def start_login(self, name: str) -> str:
        """Open a login for user ``name`` (password already checked); the token for the browser's cookie."""
        lifetime = timedelta(hours=self.settings.login_hours)
        with self.session() as session, session.begin():
            user = user_store.user_by_name(session, name=name)
            if user is None:
                raise ValueError(f"unknown user {name!r}")
            return logins.start_login(session, user_pk=user.id, lifetime=lifetime)

    def login(self, token: str) -> ActiveLogin | None:
        """The open login a browser's token names, or ``None`` (ended, expired or made up)."""
        with self.session() as session:
            return logins.active_login(session, token)

    def login_is_active(self, login_pk: int) -> bool:
        with self.session() as session:
            return logins.login_is_active(session, login_pk)

    def end_login(self, token: str) -> bool:
        """Log out: end the login ``token`` names."""
        with self.session() as session, session.begin():
            return logins.end_login(session, token)

    def end_logins(self, name: str) -> int:
        """End every open login of user ``name`` (e.g. someone who left the team); how many were open."""
        self.check_ready()
        with self.session() as session, session.begin():
            user = user_store.user_by_name(session, name=name)
            if user is None:
                raise ValueError(f"unknown user {name!r}")
            return logins.end_logins_of(session, user_pk=user.id)

    def user_for_name(self, name: str) -> tuple[int, str, str]:
        """Open mode: the user a typed name stands for (made if new): ``(pk, name, role)``.

        Raises
        ------
        ValueError
            If the name is empty, too long or holds control characters, or the user has a password (they
            log in), or any user has one (then the user comes from a login alone).
        """
        name = valid_user_name(name)
        with self.session() as session, session.begin():
            if user_store.login_required(session):
                raise PermissionError("this XID needs a login: reload the page to log in")
            existing = user_store.user_by_name(session, name=name)
            if existing is not None and existing.password_hash:
                raise PermissionError(f"{name!r} has a password: log in instead")
            user = user_store.get_or_create_user(session, name=name)
            return user.id, user.name, user.role

    def users(self) -> list[tuple[str, str, bool]]:
        """Every user: name, role, and whether they can log in (have a password)."""
        self.check_ready()
        with self.session() as session:
            return [(u.name, u.role, bool(u.password_hash)) for u in user_store.all_users(session)]

    def user_stats(self) -> list[user_store.UserStats]:
        """Per-user progress for the admin page."""
        with self.session() as session:
            return user_store.user_stats(session)

    def annotator_names(self) -> list[str]:
        """Names of the users with crowd answers, in the order consensus indexes annotators."""
        return user_store.annotator_names(self.engine)

    # --- answers ---------------------------------------------------------------------------------

    def answer(self, source_pk: int, *, user_pk: int | None = None, expert: bool = False,
               origin: str | None = None) -> StoredAnswer | None:
        """The latest answer to a source: the expert's (``expert``), or a user's (of one ``origin``)."""
        with self.session() as session:
            if expert:
                return classifications.stored_answer(classifications.expert_answer(session, source_pk=source_pk))
            return classifications.stored_answer(classifications.latest_answer(
                session, user_pk=user_pk, source_pk=source_pk, origin=origin))

    def save_answer(self, *, submission_id: str, user_pk: int, source_pk: int, marks: Sequence[Mark],
                    no_host: bool, flags: Collection[str], comment: str, expert: bool = False,
                    login_pk: int | None = None, groups: Sequence[Sequence[str]] = ()) -> None:
        """Store an answer exactly once (a replayed ``submission_id`` lands once).

        Raises
        ------
        InvalidSubmission
            As :func:`xid_app.answers.check_answer`, or an id already used for another answer.
        LoginEnded
            If ``login_pk`` is given and that login has ended: checked in the same transaction as the write.
        """
        with self.session() as session, session.begin():
            if login_pk is not None and not logins.login_is_active(session, login_pk):
                raise LoginEnded("you have logged out (or your login has ended): log in again to go on")
            classifications.save_classification(
                session, submission_id=submission_id, user_pk=user_pk, source_pk=source_pk, marks=marks,
                no_host=no_host, flags=flags, comment=comment, origin="expert" if expert else "app", groups=groups)

    def expert_queue(self) -> list[classifications.QueueRow]:
        """Sources the crowd flagged (artefact, blend, too zoomed in), with counts and whether decided."""
        with self.session() as session:
            return classifications.expert_queue(session)

    def crowd_answers(self, source_pk: int) -> classifications.CrowdAnswers:
        """The crowd's current marks (RA, Dec) and comments on a source, for the expert."""
        with self.session() as session:
            return classifications.crowd_answers(session, source_pk=source_pk)

    def set_gold(self, source_pk: int, gold: bool) -> None:
        """Make a decided source gold (annotators are scored against its expert answer), or not.

        Raises
        ------
        InvalidSubmission
            If the source has no expert answer yet.
        """
        with self.session() as session, session.begin():
            if gold and classifications.expert_answer(session, source_pk=source_pk) is None:
                raise InvalidSubmission("save an expert answer first: gold sources are scored against it")
            source_store.set_gold(session, source_pk=source_pk, gold=gold)

    def catalogue_properties(self, object_id: str) -> dict:
        """The magnitudes (and other numbers kept) of an optical/IR catalogue object."""
        return catalogue_objects.catalogue_properties(self.engine, object_id)

    def consensus_runs(self) -> list:
        """The stored consensus runs, oldest first."""
        self.check_ready()
        with self.session() as session:
            return runs.consensus_runs(session)

    def import_panoptes(self, path: str | Path, *, subject_field: str | None = "source_id", band: str | None = None,
                        image_size: tuple[int, int] | None = None, tool: int | None = None,
                        components_tool: int | None = None,
                        progress: Callable[[int, int], None] | None = None) -> classifications.ImportReport:
        """Import a Zooniverse Panoptes classification export (see :func:`xid_app.panoptes.read_panoptes`).

        Each subject image is taken to show the source's layer ``band`` (default: its background, the
        first optical/IR layer else the radio one), scaled to ``image_size`` (width, height) pixels
        (default: the layer's own size). ``components_tool``: the point tool whose clicks select the source's
        radio components (Radio Galaxy Zoo's first step); each lands on the component under it."""
        from .panoptes import read_panoptes, subject_images

        self.check_ready()
        images = subject_images(source_store.layers_in_order(self.engine), band=band, image_size=image_size)
        report = classifications.ImportReport()
        with self.session() as session, session.begin():  # streamed chunk by chunk, stored all or nothing
            for rows_read in read_panoptes(path, images, subject_field=subject_field, tool=tool,
                                           components_tool=components_tool, progress=progress):
                if components_tool is not None:
                    rows_read = self.radio_sources.name_component_clicks(rows_read)
                report.add(classifications.import_annotations(session, annotations=rows_read))
        return report

    def consensus(self, method: str | None = None, **params: float) -> tuple:
        """Source ids, positions and the consensus over every source's current answers."""
        _, source_ids, ann, _ = self._answers()
        return source_ids, ann, run_consensus(ann, method or self.settings.consensus_method, **params)

    def _answers(self) -> tuple[np.ndarray, np.ndarray, Annotations, ExpertAnswers]:
        """Source primary keys and ids, the crowd's current answers with the experts' on gold-standard
        sources, and every expert answer."""
        self.check_ready()
        source_pks, source_ids, ann = columns.load_annotations(
            self.engine, snapshot_file=snapshot_path(self.settings.data_dir / "snapshots", self.url))
        expert = columns.load_expert_answers(self.engine, source_pks)
        gold = expert.on(columns.gold_sources(self.engine, source_pks))
        return source_pks, source_ids, replace(ann, gold=gold), expert

    def host_catalogue(self, method: str | None = None, *, progress: Callable[[int, int], None] | None = None,
                  **params: float) -> Table:
        """The consensus host-ID catalogue as an astropy Table (see :mod:`xid_app.export`); ``progress``
        hears of its three stages (answers read, consensus, catalogue matched)."""
        step = progress or (lambda done, total: None)
        step(0, 3)
        _, source_ids, ann, expert = self._answers()
        step(1, 3)
        result = run_consensus(ann, method or self.settings.consensus_method, **params)
        step(2, 3)
        table = host_table(result, source_ids, ann.source_ra, ann.source_dec, expert, self.optical_catalogue(),
                                self.settings.host_match_radius_arcsec)
        step(3, 3)
        return table

    def agreement_report(self, out: str | Path, *, n_boot: int = 1000,
                         progress: Callable[[int, int], None] | None = None) -> Path:
        """Write the agreement report (CSV tables and an offline HTML page) for the current answers."""
        from .report import write_report

        source_ids, ann, result = self.consensus()
        names = user_store.annotator_names(self.engine)
        return write_report(ann, result, source_ids, names, out, n_boot=n_boot, progress=progress,
                            association=self.radio_sources.agreement(source_ids))

    def save_run(self, result: Consensus) -> int:
        """Store a consensus result with its method and parameters (``xid consensus``); returns the run id."""
        with self.session() as session, session.begin():
            return runs.save_consensus_run(session, result=result, source_pks=columns.source_pks(self.engine),
                                                 version=__version__)

    def classifications(self) -> Table:
        """Every answer ever given, every revision, one row per mark (see ``CLASSIFICATION_COLUMNS``)."""
        self.check_ready()
        table = columns_table(columns.classification_rows(self.engine), CLASSIFICATION_COLUMNS)
        table.meta["CREATOR"] = f"XID {__version__}"
        return table

    def export_classifications(self, path: str | Path) -> Table:
        table = self.classifications()
        write_table(table, path)
        return table

    def export(self, path: str | Path, method: str | None = None, *,
               progress: Callable[[int, int], None] | None = None, **params: float) -> Table:
        """Write the catalogue; format from the extension (.csv .ecsv .fits .vot)."""
        table = self.host_catalogue(method, progress=progress, **params)
        write_table(table, path)
        return table
