"""Engine settings per database, applied once per connection."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def init_app(app: Flask) -> None:
    from server.extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            cache_kib = int(app.config["SQLITE_CACHE_MIB"]) * 1024

            def on_connect(dbapi_connection, _record) -> None:
                _sqlite_pragmas(dbapi_connection, cache_kib)

            event.listen(engine, "connect", on_connect)
            # pysqlite's own transaction handling defers BEGIN and breaks
            # SAVEPOINT; let SQLAlchemy emit BEGIN itself.
            event.listen(engine, "begin", _sqlite_begin)


# Reads through memory-mapped I/O: a page is read in place from the OS page
# cache (shared by every connection) instead of being copied into each
# connection's own page cache, which a large table's random lookups (a
# dispatch search joins thousands of technicians by UUID) kept missing. Only
# address space; the file's pages beyond it are read as before.
SQLITE_MMAP_BYTES = 1 << 30


def _sqlite_pragmas(dbapi_connection, cache_kib: int) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute(f"PRAGMA cache_size=-{cache_kib}")  # negative: KiB, not pages (a push's dirty pages)
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock up front, so two writers queue on
    # busy_timeout instead of failing with "database is locked" mid-transaction.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# Objects that belong to extensions, not to FieldSync's schema: PostGIS's
# catalogue and SQLite's R*Tree shadow tables. Alembic skips them.
FOREIGN_TABLE_PREFIXES = ("spatial_ref_sys", "geography_columns", "geometry_columns", "raster_columns",
                          "raster_overviews")
RTREE_SHADOW_SUFFIXES = ("_node", "_parent", "_rowid")
# Engine-specific spatial indexes (PostgreSQL GiST on geography expressions,
# migration 0004): the models cannot express them, so they are not compared.
SPATIAL_INDEX_PREFIXES = ("gist_",)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: leave out tables FieldSync does not own."""
    if type_ == "table" and reflected and compare_to is None:
        if name.startswith(FOREIGN_TABLE_PREFIXES):
            return False
        if name.endswith(RTREE_SHADOW_SUFFIXES) or name.startswith("rtree_"):
            return False
    is_spatial_index = type_ == "index" and bool(name) and name.startswith(SPATIAL_INDEX_PREFIXES)
    return not (is_spatial_index and reflected and compare_to is None)
