"""Engine settings per database, applied once per connection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from flask import Flask, request
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

    @app.before_request
    def _reading_view_reads_only():
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        handler = getattr(getattr(view, "view_class", None), request.method.lower(), None) or view
        if getattr(handler, "reads_only", False):
            request.environ[_ENVIRON_KEY] = _READS_ONLY.set(True)

    @app.teardown_request
    def _reading_view_done(_exc):
        token = request.environ.pop(_ENVIRON_KEY, None)
        if token is not None:
            try:
                _READS_ONLY.reset(token)
            except ValueError:  # torn down from another context: never leave the flag set
                _READS_ONLY.set(False)


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


# Transactions that only read (``reads_only``): on SQLite they begin DEFERRED.
_READS_ONLY: ContextVar[bool] = ContextVar("fieldsync_reads_only", default=False)
_ENVIRON_KEY = "fieldsync.reads_only"


@contextlib.contextmanager
def reads_only() -> Iterator[None]:
    """Transactions begun inside this block only read. On SQLite they begin
    ``DEFERRED`` instead of ``IMMEDIATE``: they take no write lock, so they
    never queue behind a writer (a push) nor make one wait; in WAL mode such
    a transaction reads one snapshot, taken at its first statement and kept to
    its end (a pull's counter and change log agree). Nothing inside may write:
    a deferred transaction that read and then writes fails at once with
    "database is locked" when another connection wrote meanwhile. No effect on
    PostgreSQL. A transaction already open when the block starts is kept as it
    began."""
    token = _READS_ONLY.set(True)
    try:
        yield
    finally:
        _READS_ONLY.reset(token)


def read_only_view(view):
    """Mark a view (function or MethodView method) whose request only reads: its
    transactions, the bearer token's lookup included, begin as in :func:`reads_only`."""
    view.reads_only = True
    return view


def _sqlite_begin(connection) -> None:
    if _READS_ONLY.get():
        connection.exec_driver_sql("BEGIN DEFERRED")
        return
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
