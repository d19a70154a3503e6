"""The bundled demo: real FIRST, WISE and Radio Galaxy Zoo data in a SQLite database of its own."""

from __future__ import annotations

from pathlib import Path

from .config import Settings
from .project import Project

DEMO_DIR = Path(__file__).parent / "demo_data"
DEMO_SOURCES = DEMO_DIR / "sources.csv"
DEMO_ANNOTATIONS = DEMO_DIR / "annotations.csv"
DEMO_CATALOGUE = DEMO_DIR / "allwise_candidates.csv"
DEMO_COMPONENTS = (DEMO_DIR / "first_components.csv", DEMO_DIR / "rgz_islands.csv")  # the RGZ subjects' radio
# The demo's own users (its database is separate from any real one); printed by `xid serve --demo`.
DEMO_USERS = (("alice", "alice-demo", "annotator"), ("admin", "admin-demo", "admin"))


def prepare_demo(settings: Settings | None = None, *, url: str | None = None) -> Project:
    """Create (or bring up to date) the demo database and load the demo sources and RGZ classifications.

    Safe to run again: ingest and import are idempotent. The demo users (:data:`DEMO_USERS`) get their
    passwords (re)set, so logging in always works.
    """
    settings = settings or Settings()
    # the RGZ subjects already have up to 20 classifications: the demo retires nothing, so all can be tried
    settings = settings.model_copy(update=dict(retire_min_classifications=10**6, retire_max_classifications=10**6))
    project = Project(url or settings.demo_database_url(), settings=settings)
    project.init()
    project.ingest(DEMO_SOURCES)
    project.ingest_catalogue(DEMO_CATALOGUE)
    for table in DEMO_COMPONENTS:
        project.radio_sources.ingest(table)
    project.import_annotations(DEMO_ANNOTATIONS)
    for name, password, role in DEMO_USERS:
        project.set_user(name, password=password, role=role)
    return project
