"""Set-based writes for imports and ingests: rows given column-wise, written a chunk at a time (binary
COPY on PostgreSQL, multi-row INSERTs on SQLite) inside the caller's transaction, with their primary keys
handed back so that rows of another table can point at them; the write lock and index rebuild a big load
takes; and the matching reads, key to primary key.

Hand-written below the ORM because an ORM object costs ~1.3 ms per classification (760 per second, issue
16); ``benchmarks/bench_import.py`` measures what this path does instead (docs/scale.md).
"""

from __future__ import annotations

from contextlib import contextmanager
from itertools import chain
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Column, Table, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from .columns import read_sorted_columns

CHUNK = 50_000  # rows written per statement
LOOKUP_CHUNK = 5_000  # keys per IN (...) query; SQLite allows 32,766 bound values
WHOLE_TABLE_LOOKUP = 200_000  # from this many keys on, one scan of the table beats IN queries
BIG_LOAD_ROWS = 100_000  # loads from this size on that also grow a table by a quarter rebuild its indexes
SQLITE_LOAD_CACHE_KIB = 512 * 1024  # page cache while loading: index pages stay in memory (SQLite's is 2 MiB)
SQLITE_DEFAULT_CACHE = -2000
SQLITE_VARIABLES = 999  # bound values per statement that every SQLite takes (3.32 and newer take 32,766)


def insert_rows(session: Session, table: Table, columns: Mapping[str, object], *, ids: bool = False,
                progress: Callable[[int], None] | None = None) -> np.ndarray | None:
    """Insert rows given as ``{column name: values}``; a value that is not a sequence (a number, a string,
    ``None``, a datetime) is the same for every row.

    Parameters
    ----------
    session : Session
        The rows are written in its transaction: they land or vanish with it.
    table : Table
        Where to; the columns not given take NULL (Python-side ORM defaults do not apply).
    ids : bool
        Return the new rows' primary keys (``id``), in row order.
    progress : callable, optional
        Called with the number of rows written so far after each chunk.

    Returns
    -------
    numpy.ndarray or None
        The primary keys if ``ids``.
    """
    n = _row_count(columns)
    if n == 0:
        return np.empty(0, dtype=np.int64) if ids else None
    conn = session.connection()
    dialect = conn.dialect
    columns = {name: _constant_or_values(v) for name, v in columns.items()}
    if not any(_is_sequence(v) for v in columns.values()):  # rows are counted by a varying column
        first = next(iter(columns))
        columns[first] = [columns[first]] * n
    varying = [name for name, v in columns.items() if _is_sequence(v)]
    values = [_python_values(columns[name], table.c[name], dialect) for name in varying]
    constant = {name: _python_value(v, table.c[name], dialect) for name, v in columns.items() if name not in varying}
    new_ids = np.empty(n if ids else 0, dtype=np.int64)
    if dialect.name == "postgresql":
        names = ["id"] * ids + [*varying, *constant]
        same = tuple(constant.values())
        if ids:
            new_ids[:] = _reserve_postgresql_ids(conn, table, n)
    else:
        row = "(" + ", ".join(["?"] * len(varying) + [_sqlite_literal(v) for v in constant.values()]) + ")"
        sql = f"INSERT INTO {table.name} ({', '.join([*varying, *constant])}) VALUES "
        per_statement = max(1, SQLITE_VARIABLES // max(1, len(varying)))
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        if dialect.name == "postgresql":
            rows = zip(*(v[start:stop] for v in values))
            rows = ((i, *row, *same) for i, row in zip(new_ids[start:stop].tolist(), rows)) if ids else \
                ((*row, *same) for row in rows)
            _copy_postgresql(conn, table, names, rows)
        else:
            _insert_sqlite(conn, sql, row, per_statement, [v[start:stop] for v in values], stop - start)
            if ids:
                new_ids[start:stop] = _sqlite_ids_just_written(conn, table, stop - start)
        if progress is not None:
            progress(stop)
    return new_ids if ids else None


def lock_for_writing(session: Session, tables: Sequence[Table]) -> None:
    """Take the write lock a bulk load needs before it reads what is stored, so that what it checked stays
    true to its commit and a block of ids can be taken at once: PostgreSQL locks the tables against other
    writers (readers go on), SQLite the database (its readers go on too)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE")
    elif not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite would begin a deferred one at the first write


@contextmanager
def bulk_load(session: Session, adding: Mapping[Table, int]):
    """Load rows into tables (table → rows to add). A table the load grows by a quarter loses its secondary
    indexes for the load, and on PostgreSQL one it grows by an eighth loses its foreign keys; they come
    back at the end, in the same transaction, as PostgreSQL's "Populating a Database" advises: an index
    built by one sort and keys checked by one join cost a fraction of their upkeep row by row. Meanwhile
    PostgreSQL cannot read the table; SQLite's readers see it as it was before. SQLite's page cache grows
    for the load; PostgreSQL's statistics of a big load's tables are gathered again at the end."""
    conn = session.connection()
    postgresql = conn.dialect.name == "postgresql"
    big = {table: conn.scalar(select(func.max(table.c.id))) or 0 for table, n in adding.items() if n >= BIG_LOAD_ROWS}
    # an index kept up row by row costs a random page write per row once it outgrows the cache
    indexes = [index for table, held in big.items() if adding[table] * 4 >= held for index in table.indexes]
    # PostgreSQL checks a key row by row at ~10x the cost per row of one join over the whole table
    keys = [key for table, held in big.items() if adding[table] * 8 >= held
            for key in table.foreign_key_constraints] if postgresql else []
    if postgresql:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")  # each index sorted in memory
    else:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
        conn.exec_driver_sql("PRAGMA threads = 2")  # CREATE INDEX sorts on a second core
    try:
        for key in keys:
            conn.execute(DropConstraint(key))
        for index in indexes:
            conn.execute(DropIndex(index))
        yield
        for index in indexes:
            conn.execute(CreateIndex(index))
        for key in keys:
            conn.execute(AddConstraint(key))
        if postgresql:  # "run ANALYZE afterwards": plans made on the empty table's statistics scan millions
            for table in big:
                conn.exec_driver_sql(f'ANALYZE "{table.name}"')
    finally:
        if not postgresql:
            conn.exec_driver_sql(f"PRAGMA cache_size = {SQLITE_DEFAULT_CACHE}")
            conn.exec_driver_sql("PRAGMA threads = 0")


def primary_keys(session: Session, key: Column, values: Sequence[str] | np.ndarray) -> np.ndarray:
    """The primary key (``id``) of the row whose ``key`` column holds each of ``values``; -1 where none.

    A few keys are looked up by index, many by one scan of the table's two columns."""
    values = np.asarray(values, dtype=object)
    pk_column = key.table.c.id
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    wanted = pd.unique(values)
    if len(wanted) >= WHOLE_TABLE_LOOKUP:
        stored_pks, stored_keys = read_sorted_columns(session.connection(), key.table, (pk_column, key), None,
                                                      key=pk_column, dtypes=(np.int64, object))
    else:
        postgresql = session.get_bind().dialect.name == "postgresql"

        def among(keys: list):  # PostgreSQL plans one array far faster than thousands of bound values
            return key == any_(bindparam("keys", keys, type_=ARRAY(key.type))) if postgresql else key.in_(keys)

        found = [session.execute(select(key, pk_column).where(among(wanted[start:start + LOOKUP_CHUNK].tolist())))
                 .all() for start in range(0, len(wanted), LOOKUP_CHUNK)]
        pairs = [row for chunk in found for row in chunk]
        stored_keys = np.array([k for k, _ in pairs], dtype=object)
        stored_pks = np.array([pk for _, pk in pairs], dtype=np.int64)
    at = pd.Index(stored_keys).get_indexer(values)
    return np.where(at >= 0, stored_pks[at], -1) if len(stored_pks) else np.full(len(values), -1, np.int64)


def positions(session: Session, table: Table, pks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ra`` and ``dec`` of the rows with these primary keys, in their order."""
    found = {}
    for start in range(0, len(pks), LOOKUP_CHUNK):
        found.update({pk: (ra, dec) for pk, ra, dec in session.execute(
            select(table.c.id, table.c.ra, table.c.dec).where(table.c.id.in_(pks[start:start + LOOKUP_CHUNK].tolist())))})
    return np.array([found[pk] for pk in pks.tolist()], float).reshape(-1, 2).T


def _row_count(columns: Mapping[str, object]) -> int:
    lengths = {len(v) for v in columns.values() if _is_sequence(v)}
    if len(lengths) != 1:
        raise ValueError(f"columns of unequal or unknown length: {sorted(lengths)}")
    return lengths.pop()


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index, pd.api.extensions.ExtensionArray))


def _constant_or_values(values):
    """A numeric column that holds one value throughout as that value (written once, not per row)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" and len(values) \
            and np.isfinite(values[0]) and (values == values[0]).all():
        return values[0].item()
    return values


def _python_values(values, column: Column, dialect) -> list:
    """A column's values as Python objects the driver takes (numpy scalars are refused by sqlite3),
    through the column type's own conversion where it has one (SQLite stores a datetime as text)."""
    convert = column.type.dialect_impl(dialect).bind_processor(dialect)
    numeric = isinstance(values, np.ndarray) and values.dtype.kind in "biuf"  # tolist() gives what drivers take
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    if convert is not None and not numeric:
        values = [None if v is None else convert(v) for v in values]
    return values


def _python_value(value, column: Column, dialect):
    convert = column.type.dialect_impl(dialect).bind_processor(dialect)
    value = value.item() if isinstance(value, np.generic) else value
    return convert(value) if convert is not None and value is not None else value


def _sqlite_literal(value) -> str:
    """A constant as SQL text: binding it once per row costs SQLite as much as the row's own values."""
    if value is None:
        return "NULL"
    if isinstance(value, (bool, int, float)):
        return repr(int(value) if isinstance(value, bool) else value)
    return "'" + str(value).replace("'", "''") + "'"


def _reserve_postgresql_ids(conn, table: Table, n: int) -> np.ndarray:
    """``n`` consecutive values of the table's id sequence. The table is locked against other writers
    (:func:`loading`), whose inserts would otherwise draw from the block between the two calls."""
    sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
    last = conn.exec_driver_sql(f"SELECT setval({sequence}, nextval({sequence}) + {int(n) - 1})").scalar()
    return np.arange(last - n + 1, last + 1, dtype=np.int64)


def _copy_postgresql(conn, table: Table, names: list[str], rows: Iterable[tuple]) -> None:
    """COPY in PostgreSQL's binary format, typed by the table's own columns: a fifth of the text format's
    time, which goes on formatting each value by its Python type."""
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        oid = dict(cursor.execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass",
                                  (table.name,)).fetchall())
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([oid[name] for name in names])
            for row in rows:
                copy.write_row(row)


def _insert_sqlite(conn, sql: str, row: str, per_statement: int, values: list[list], n: int) -> None:
    """``INSERT ... VALUES`` with many rows per statement: half the time of one row per statement."""
    flat = list(chain.from_iterable(zip(*values))) if values else []
    width = len(values)
    whole = n // per_statement * per_statement
    if whole:
        step = per_statement * width
        conn.exec_driver_sql(sql + ", ".join([row] * per_statement),
                             [tuple(flat[i:i + step]) for i in range(0, whole * width, step)])
    if n > whole:
        conn.exec_driver_sql(sql + ", ".join([row] * (n - whole)), tuple(flat[whole * width:]))


def _sqlite_ids_just_written(conn, table: Table, n: int) -> np.ndarray:
    """The ids SQLite gave the ``n`` rows just inserted. The transaction holds the write lock since its
    first insert, and SQLite gives a new row the largest id plus one, so they are the ``n`` ids ending at
    the last one; checked, since a table with AUTOINCREMENT or a full id range would break that."""
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar()
    first = last - n + 1
    count = conn.exec_driver_sql(f"SELECT count(*) FROM {table.name} WHERE id BETWEEN ? AND ?",
                                 (first, last)).scalar()
    if count != n:
        raise RuntimeError(f"SQLite gave {table.name} rows ids that are not consecutive; nothing was written")
    return np.arange(first, last + 1, dtype=np.int64)
