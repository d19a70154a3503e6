"""Engines and schema upgrades. SQLite gets WAL, a busy timeout and enforced foreign keys."""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import sessionmaker

from ..resources import migrations_dir


class DatabaseGone(RuntimeError):
    """The SQLite file was deleted or replaced while XID had it open: what would be written now is lost."""


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def make_engine(url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    """Create an engine; for SQLite, create the file's directory, set WAL mode on every connection, and
    refuse every transaction once the file has been deleted or replaced (SQLite itself would go on writing
    to the deleted file, and acknowledge answers nobody can ever read)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _server_engine(url)
    path = None
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser().absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
    opened: list[tuple[int, int] | None] = []  # the file the engine's connections hold

    if path is not None:
        @event.listens_for(engine, "connect")
        def _remember_file(_dbapi_connection, _record):
            now = _file_identity(path)
            if not opened:
                opened.append(now)
            elif now != opened[0]:
                raise DatabaseGone(f"the database file {path} was deleted or replaced while XID was running: "
                                   "nothing can be saved until XID is restarted on a database")

        @event.listens_for(engine, "begin")
        def _check_file(_connection):
            if opened and opened[0] is not None and _file_identity(path) != opened[0]:
                raise DatabaseGone(f"the database file {path} was deleted or replaced while XID was running: "
                                   "nothing can be saved until XID is restarted on a database")

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


PING_AFTER_IDLE_S = 5.0  # a pooled connection unused this long is checked before it is handed out


def _server_engine(url: str) -> Engine:
    """An engine on a database server whose pooled connections are checked before use when they have been
    idle for :data:`PING_AFTER_IDLE_S` (a server restarted meanwhile closed them): SQLAlchemy's
    ``pool_pre_ping`` pings at every checkout, a round trip that cost a tenth of the server's time per
    answer under load, for connections used a moment ago. A connection that breaks within the interval
    fails that one request, and SQLAlchemy then replaces every connection of the pool."""
    engine = create_engine(url)

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("idle_since", float("inf")) < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("a pooled connection was closed while idle") from exc  # the pool retries

    return engine


@lru_cache(maxsize=8)
def engine_for(url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    """One shared engine per URL and process."""
    return make_engine(url, busy_timeout_ms=busy_timeout_ms)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the database at ``url`` to ``revision`` (default: the latest)."""
    from alembic import command

    engine_for(url)  # creates the SQLite directory and sets WAL before Alembic connects
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


class DatabaseNotReady(RuntimeError):
    """The database has not been created or is behind the code's schema."""


def check_ready(engine: Engine) -> None:
    """Raise :class:`DatabaseNotReady` unless the database is at the latest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(migrations_dir())).get_current_head()
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            raise DatabaseNotReady(f"database {engine.url!r} is not initialised: run `xid init` first")
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise DatabaseNotReady(f"database is at revision {current}, code expects {head}: run `xid init` to upgrade")
