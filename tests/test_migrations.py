"""Alembic migrations on SQLite and PostgreSQL: upgrade from empty, downgrade, no drift from the models."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from xid_app.store.db import downgrade, make_engine, upgrade
from xid_app.store.models import Base


def test_upgrade_from_empty_matches_models(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_empty_and_up_again(db_url):
    upgrade(db_url)
    downgrade(db_url, "base")
    engine = make_engine(db_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(db_url)


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_postgresql_connection_closed_while_idle_in_the_pool_is_replaced(postgres_url, monkeypatch):
    """Pooled connections are checked after an idle spell only (a ping per checkout cost a tenth of an
    answer's server time): one closed by a server restart meanwhile is replaced without an error; one
    closed within the interval fails that request alone, and the pool is renewed for the next."""
    import pytest

    from xid_app.store import db

    engine = make_engine(postgres_url)
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")

    def close_pooled_connection():
        with engine.connect() as conn:
            pid = conn.scalar(sa.text("SELECT pg_backend_pid()"))
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    try:
        close_pooled_connection()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT 1")) == 1
        close_pooled_connection()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            conn.scalar(sa.text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT 1")) == 1
    finally:
        engine.dispose()
        admin.dispose()
