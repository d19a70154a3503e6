"""Shared fixtures: real data, fresh databases on SQLite and (where a server answers) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import hypothesis  # noqa: F401  (imported up front: its plugin compiling late at exit trips a CPython 3.11 AST bug)
import pytest
import sqlalchemy as sa

from xid_app.config import Settings
from xid_app.demo import DEMO_DIR
from xid_app.project import Project
from xid_app.store.users import user_by_name

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("XID_SHARED_DATA", REPO.parent / "shared" / "data"))
POSTGRES_URL = os.environ.get("XID_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


def benchmark_module(name: str):
    """``benchmarks/NAME.py`` as a module (the benchmarks are scripts, not a package): tests use their
    simulators and baselines, small."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_bench():
    """benchmarks/bench_load.py as a module: its websocket annotators and server, small, in the tests."""
    return benchmark_module("bench_load")


@pytest.fixture(scope="session")
def rgz() -> dict[str, Path]:
    """The 15 real Radio Galaxy Zoo FIRST subjects that ship with XID (demo_data; see its CREDITS.md): source
    list, 210 volunteer classifications (also with the components each grouped), RGZ's own consensus hosts
    and component sets, AllWISE candidates, and the radio components (FIRST catalogue, RGZ's islands)."""
    return dict(sources=DEMO_DIR / "rgz_sources.csv", annotations=DEMO_DIR / "annotations.csv",
                consensus_hosts=DEMO_DIR / "consensus_hosts.csv", allwise=DEMO_DIR / "allwise_candidates.csv",
                grouped=DEMO_DIR / "annotations_with_components.csv", first=DEMO_DIR / "first_components.csv",
                islands=DEMO_DIR / "rgz_islands.csv", consensus_sets=DEMO_DIR / "rgz_consensus_components.json")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real survey data beside the checkout (``../shared/data``); required in CI."""
    if not SHARED_DATA.is_dir():
        if IN_CI:
            pytest.fail(f"shared survey data not found at {SHARED_DATA}")
        pytest.skip(f"shared survey data not found at {SHARED_DATA} (set XID_SHARED_DATA)")
    return SHARED_DATA


def _postgres_admin_engine():
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        engine.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} does not answer in CI: {exc}")
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_URL} (set XID_TEST_POSTGRES_URL): {exc}")
    return engine


@contextmanager
def _fresh_postgres():
    admin = _postgres_admin_engine()
    name = f"xid_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    from xid_app.store.db import engine_for

    engine_for.cache_clear()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    with _fresh_postgres() as url:
        yield url


@pytest.fixture(scope="module")
def postgres_module_url():
    """A fresh, empty PostgreSQL database for a module's tests (e.g. one served XID), dropped afterwards."""
    with _fresh_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """An empty database URL, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'xid.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def project(db_url, settings) -> Project:
    """An initialised, empty project."""
    p = Project(db_url, settings=settings)
    p.init()
    return p


@pytest.fixture
def demo_project(db_url, settings) -> Project:
    """A project holding the demo sources and RGZ classifications, on SQLite and on PostgreSQL."""
    from xid_app.demo import prepare_demo

    return prepare_demo(settings, url=db_url)


def logged_in(session, name: str, *, role: str = "annotator", advance: bool = True):
    """What logging in on the page does, in-process: the user (given a password if new), a server-side
    login, the session attached to it, then (unless an expert's) the first source."""
    project = session.project
    with project.session() as db:

        user = user_by_name(db, name=name)
        has_password = user is not None and user.password_hash and user.role == role
    if not has_password:
        project.set_user(name, password=f"{name}-password", role=role)
    session.attach_login(project.login(project.start_login(name)))
    if advance and not session.expert:
        session.advance()
    return session


def run_cli(*args) -> tuple[int, str]:
    """Run ``xid ARGS`` in-process: its exit code and everything it printed (stdout and stderr)."""
    from click.testing import CliRunner

    from xid_app.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")
