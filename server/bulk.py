"""Set-wise SQL without the ORM's per-statement work.

The sync engine and the stock ledger write and read hundreds of narrow rows
per request. SQLAlchemy's generic per-row parameter building and per-statement
compilation, cache-key and result machinery cost more than the database's own
work for such rows, so:

- :func:`bulk_insert` writes rows with one ``executemany`` of a statement
  compiled once, values processed column by column (on PostgreSQL, ``COPY`` or
  one statement with the rows as one JSON parameter);
- :class:`CompiledQuery` runs a SELECT (or any statement returning rows) built once
  per dialect as plain SQL, with lists of values bound as ONE parameter
  (:func:`in_param`) and results processed column by column.

Both go through the connection's own transaction and its ``*_cursor_execute``
events; the caller is responsible for the change log (these bypass the session's
capture hooks).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import orjson
from sqlalchemy import JSON, Table, Uuid, bindparam, func, insert, literal_column, select
from sqlalchemy import exc as exc_module
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

_COMPILED: dict = {}


def bulk_insert(connection, target, rows: list[dict]) -> None:
    """``executemany`` an INSERT into ``target`` (a Table, or a statement
    built once and kept, such as the change log's upsert) — SQLite's native
    loop, psycopg's pipeline — every row having the same keys.

    The statement is compiled once per (statement, dialect, keys) and each
    value goes through its column type's own bind processor, straight to the
    driver: SQLAlchemy's generic per-row parameter building costs more than
    the database's write for these narrow rows. On PostgreSQL, from
    ``_COPY_FROM`` rows on, a Table's rows go through ``COPY`` and a
    statement's (the change log's upsert) through one ``INSERT ... SELECT
    FROM json_populate_recordset(rows)``: both beat psycopg's pipelined executemany (one
    INSERT per row on the server), which beats SQLAlchemy's multi-row VALUES."""
    if not rows:
        return
    dialect = connection.dialect
    keys = tuple(rows[0])
    if dialect.name == "postgresql" and len(rows) >= _COPY_FROM:
        if isinstance(target, Table):
            _copy(connection, target, keys, rows)
        else:
            _json_rows(connection, target, keys, rows)
        return
    if isinstance(target, Table):
        cache_key = (target.name, dialect.name, keys)
        stmt = None
    else:
        cache_key = (id(target), dialect.name, keys)
        stmt = target
    entry = _COMPILED.get(cache_key)
    if entry is None:
        stmt = stmt if stmt is not None else insert(target)
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        table_name = target.name if isinstance(target, Table) else stmt.table.name
        processors = []
        for name in names:
            bind = compiled.binds[name]
            processors.append((name, bind.key, _processor(table_name, bind.key, bind.type, dialect)))
        entry = (compiled.string, compiled.positional, processors, stmt)  # keeps a statement's id() unique
        _COMPILED[cache_key] = entry
    sql, positional, processors, _stmt = entry
    columns = _processed(rows, [(key, p) for _name, key, p in processors])
    _execute_many(connection, sql, positional, [name for name, _key, _p in processors], columns)


def _execute_many(connection, sql: str, positional: bool, names: list, columns: list[list]) -> None:
    """One ``executemany`` of compiled SQL over parameter columns (one list per bind name)."""
    if positional:
        connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))
        return
    connection.exec_driver_sql(sql, [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)])


# JSON columns whose values the sync engine builds itself from strings,
# integers and None only (outcomes, field versions): serialised by orjson,
# several times faster than the json module. The text differs only in
# whitespace and non-ASCII escaping; every reader parses it.
_FAST_JSON = {("sync_ops", "outcome"), ("sync_changes", "field_versions")}


def _orjson_text(value) -> str:
    return orjson.dumps(value).decode()


def _processor(table_name: str, key: str, type_, dialect):
    if (table_name, key) in _FAST_JSON and isinstance(type_, JSON):
        return _orjson_text
    return _storage_processor(type_, dialect)


def _storage_processor(type_, dialect):
    """The column type's bind processor, except that on SQLite a UUID column
    also takes the UUID's text (the push keeps the devices' ids as the
    canonical text it received, rather than building a UUID per record)."""
    if dialect.name == "sqlite" and isinstance(type_, Uuid) and type_.as_uuid:
        return _uuid_hex
    return type_._cached_bind_processor(dialect)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_hex(value):
    """SQLite's stored form of a UUID (32 hex digits), from a UUID or its text."""
    if value is None:
        return None
    if type(value) is str:
        return value.replace("-", "") if _CANONICAL_UUID.fullmatch(value) else uuid.UUID(value).hex
    return value.hex


_MISSING = object()


def _processed(rows: list[dict], pairs: list[tuple]) -> list[list]:
    """Column by column, each value through its bind processor; a value that
    is the very object of an earlier row (the batch's timestamp, the user,
    the device, a job named by many facts, a device time parsed once) reuses
    its processed form."""
    columns = []
    for key, process in pairs:
        values = [row[key] for row in rows]
        if process is not None:
            done: dict[int, object] = {}  # id() -> processed; the rows keep every value alive meanwhile
            out = []
            append = out.append
            for value in values:
                processed = done.get(id(value), _MISSING)
                if processed is _MISSING:
                    processed = done[id(value)] = process(value)
                append(processed)
            values = out
        columns.append(values)
    return columns


# PostgreSQL: plain inserts of this many rows or more go through COPY, which
# the server parses and writes several times faster than one INSERT per row
# (the same constraints, keys and foreign keys are checked; same transaction).
_COPY_FROM = 8
_COPIES: dict = {}


def _copy(connection, table: Table, keys: tuple, rows: list[dict]) -> None:
    dialect = connection.dialect
    cache_key = (table.name, keys)
    entry = _COPIES.get(cache_key)
    if entry is None:
        preparer = dialect.identifier_preparer
        sql = "COPY {} ({}) FROM STDIN".format(
            preparer.format_table(table), ", ".join(preparer.format_column(table.c[k]) for k in keys))
        processors = [(k, _processor(table.name, k, table.c[k].type, dialect)) for k in keys]
        entry = _COPIES[cache_key] = (sql, processors)
    sql, processors = entry
    columns = _processed(rows, processors)
    cursor = connection.connection.cursor()  # the session's own DBAPI connection and transaction
    try:
        with cursor.copy(sql) as copy:
            write = copy.write_row
            for values in zip(*columns, strict=True):
                write(values)
    except dialect.loaded_dbapi.Error as exc:
        # The same exceptions as an INSERT would raise (IntegrityError for a
        # replayed key: the push handler's retry relies on it).
        raise exc_module.DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
    finally:
        cursor.close()


def _json_rows(connection, stmt, keys: tuple, rows: list[dict]) -> None:
    """PostgreSQL: an INSERT statement (the change log's upsert) for many rows
    as ONE statement with ONE parameter, ``INSERT ... SELECT <columns> FROM
    json_populate_recordset(NULL::<table>, <the rows as JSON>) ...``: the
    server plans and runs it once instead of once per row, and the rows are
    encoded by orjson in one call (psycopg's array adaptation, one array per
    column, escaped every element with regular expressions in Python and cost
    more than the write). The server converts each value with its column's
    own input function, so types and constraints are checked as for an INSERT.
    The rows' keys are unique (a dict's), as ON CONFLICT DO UPDATE requires."""
    dialect = connection.dialect
    cache_key = ("json_rows", id(stmt), keys)
    entry = _COMPILED.get(cache_key)
    if entry is None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        head, values = compiled.string.split(" VALUES (", 1)
        tail = values[values.index(") ON CONFLICT") + 1:]
        table = stmt.table
        preparer = dialect.identifier_preparer
        names = [compiled.binds[name].key for name in compiled.binds]
        columns = ", ".join(preparer.format_column(table.c[name]) for name in names)
        sql = (f"{head} SELECT {columns} FROM json_populate_recordset("  # noqa: S608  (our own metadata; rows bound)
               f"NULL::{preparer.format_table(table)}, %(rows)s){tail}")
        entry = _COMPILED[cache_key] = (sql, names, _json_processors(table, names, dialect), stmt)
    sql, names, processors, _stmt = entry
    connection.exec_driver_sql(sql, {"rows": _json_payload(rows, names, processors)})


def _json_processors(table: Table, names, dialect) -> list[tuple]:
    """For :func:`_json_payload`: JSON columns go in as JSON values; the others
    through their bind processors (UTC checks and the like), then orjson."""
    return [(name, None if isinstance(table.c[name].type, JSON) else _storage_processor(table.c[name].type, dialect))
            for name in names]


def _json_payload(rows: list[dict], names, processors: list[tuple]) -> str:
    """The rows as one JSON array of objects, for ``json_populate_recordset``."""
    columns = _processed(rows, processors)
    return orjson.dumps([dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]).decode()


# ---- lists of values as ONE parameter ----------------------------------------------
#
# A batch's or a scope's ids run to thousands. Rendered as one placeholder each,
# SQLAlchemy re-expands the statement on every execution and psycopg re-parses
# a text of thousands of placeholders; with one array (PostgreSQL) or one JSON
# text (SQLite) the statement text stays the same, so it is compiled, parsed
# and prepared once.

def in_set(session: Session, column, values):
    """``column IN (values)``: on PostgreSQL ``column IN (SELECT unnest(:array))``,
    on SQLite ``column IN (SELECT value FROM json_each(:json))``, over the values
    in their stored form. Same rows as a plain ``IN``."""
    values = list(values)
    dialect = session.get_bind().dialect
    if _set_value(column.type, dialect, values) is None:
        return column.in_(values)
    return _in_one_parameter(column, dialect, bindparam(None, values, type_=ValueList(column.type)))


def in_param(column, name: str, dialect):
    """``column IN (<the list bound to name>)`` for a :class:`CompiledQuery`: the list is
    given at run time and bound as ONE parameter (see :func:`in_set`)."""
    return _in_one_parameter(column, dialect, bindparam(name, type_=ValueList(column.type)))


def _in_one_parameter(column, dialect, parameter):
    if dialect.name == "postgresql":
        # A semi-join rather than ``= ANY(:array)``: once psycopg prepares the
        # statement, PostgreSQL may keep a generic plan made while the table
        # was small, a sequential scan comparing every row with every element
        # in turn (no hashing for a parameter); a semi-join is hashed or probes
        # the index, whatever the plan.
        return column.in_(select(func.unnest(parameter)).scalar_subquery())
    return column.in_(select(literal_column("value")).select_from(func.json_each(parameter)))


class ValueList(UserDefinedType):
    """A list of values of ``item_type`` bound as ONE parameter: on PostgreSQL
    the array's text form, bound as ``%(p)s::<type>[]`` (psycopg sends a ``str``
    untyped, so the server reads it as the array itself, not as text cast to
    it, which could be re-run for every row scanned; and psycopg would adapt a
    list element by element, in Python, with a regular expression per
    string); on SQLite a JSON array of the values in their stored form."""

    cache_ok = True
    render_bind_cast = True  # PostgreSQL (psycopg renders casts; SQLite never does)

    def __init__(self, item_type):
        self.item_type = item_type

    def get_col_spec(self, **kw):
        return f"{self.item_type.compile(dialect=postgresql.dialect())}[]"

    def bind_processor(self, dialect):
        item_type = self.item_type

        def process(values):
            value = _set_value(item_type, dialect, list(values))
            if value is None:
                raise ValueError(f"cannot bind {values!r} as one parameter")
            return value

        return process


def _set_value(item_type, dialect, values: list) -> str | None:
    """The one parameter's value for ``values`` of ``item_type``; None when they
    cannot be written so (:func:`in_set` then falls back to a plain ``IN``)."""
    if dialect.name == "postgresql":
        if all(type(v) is uuid.UUID for v in values):
            return "{" + ",".join(map(str, values)) + "}"
        if all(type(v) is str or type(v) is uuid.UUID for v in values):  # quoted and escaped: {"a","b"}
            return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
                                  for v in values) + "}"
        return None
    if dialect.name == "sqlite":
        process = _storage_processor(item_type, dialect)
        stored = [process(v) for v in values] if process is not None else values
        if all(type(v) in (str, int) for v in stored):
            return orjson.dumps(stored).decode()
    return None


# ---- reads compiled once ---------------------------------------------------------------

class CompiledQuery:
    """A statement returning rows, built once per dialect by ``build(dialect)``
    and run as plain SQL (``exec_driver_sql``): no statement to build, no
    cache key to compute, no execution context to set up per call. Lists are
    bound with :func:`in_param` (pass the list; it becomes one parameter);
    result values go through their columns' result processors, so rows hold
    what ``Connection.execute`` would give (UUIDs, aware datetimes, ...)."""

    def __init__(self, build: Callable):
        self._build = build
        self._compiled: dict[str, tuple] = {}

    def rows(self, connection, **params) -> list[tuple]:
        """Run it and return every row."""
        dialect = connection.dialect
        entry = self._entry(dialect)
        sql, positional, binds, types, results = entry
        cursor_result = connection.exec_driver_sql(sql, _driver_params(binds, positional, params))
        if results is None:  # first run: some processors need the driver's type code of the column
            description = cursor_result.cursor.description
            results = [column_type._cached_result_processor(dialect, column[1])
                       for column_type, column in zip(types, description, strict=True)]
            results = [] if all(p is None for p in results) else results
            self._compiled[dialect.name] = (*entry[:4], results)
        raw = cursor_result.fetchall()
        if not results:
            return raw
        return [tuple(p(v) if p is not None else v for p, v in zip(results, row, strict=True)) for row in raw]

    def run(self, connection, **params) -> None:
        """Run a statement that returns no rows (an UPDATE)."""
        sql, positional, binds, _types, _results = self._entry(connection.dialect)
        connection.exec_driver_sql(sql, _driver_params(binds, positional, params))

    def _entry(self, dialect) -> tuple:
        entry = self._compiled.get(dialect.name)
        if entry is None:
            entry = self._compiled[dialect.name] = self._compile(dialect)
        return entry

    def _compile(self, dialect) -> tuple:
        compiled = self._build(dialect).compile(dialect=dialect)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        # Columns whose Python-side default (``onupdate=utcnow``) the statement
        # takes as a parameter: computed at each run, as an execution would.
        made = {column.key: (column.onupdate if compiled.isupdate else column.default)
                for column in (compiled.update_prefetch if compiled.isupdate else compiled.insert_prefetch)}
        binds = []
        for name in names:
            bind = compiled.binds[name]
            process = _storage_processor(bind.type, dialect) or _same
            if bind.key in made and bind.value is None:
                make = made[bind.key]
                binds.append((name, _MADE, lambda _absent, make=make, process=process: process(_default_value(make))))
            elif bind.value is not None or bind.callable is not None:  # a value of the statement itself
                binds.append((name, None, process(bind.effective_value)))
            else:
                binds.append((name, bind.key, process))
        types = [column_type for *_names, column_type in compiled._result_columns]
        return compiled.string, compiled.positional, binds, types, None


_MADE = object()  # a bind whose value is made at each run (a column default)


def _driver_params(binds, positional: bool, params: dict):
    values = {name: (convert(None) if key is _MADE else convert(params[key])) if key else convert
              for name, key, convert in binds}
    return tuple(values[name] for name, _key, _c in binds) if positional else values


def _same(value):
    return value


def _default_value(default):
    """A column's Python-side default or ``onupdate``, made as an execution would."""
    return default.arg(None) if default.is_callable else default.arg


# ---- updates of many rows ----------------------------------------------------------------

_UPDATES: dict = {}


def bulk_update(connection, table: Table, rows: list[dict], *, key: str = "id") -> None:
    """``UPDATE table SET <the rows' other keys> WHERE <key> = ...`` for every
    row, as one ``executemany`` of a statement compiled once per (table,
    columns, dialect); every row has the same keys, ``key`` among them.
    Columns with a Python-side ``onupdate`` the rows leave out get it (one
    value for the whole call)."""
    if not rows:
        return
    dialect = connection.dialect
    columns = tuple(name for name in rows[0] if name != key)
    if dialect.name == "postgresql" and len(rows) >= _COPY_FROM:
        _json_update(connection, table, key, columns, rows)
        return
    cache_key = (table.name, key, columns, dialect.name)
    entry = _UPDATES.get(cache_key)
    if entry is None:
        stmt = (table.update().where(table.c[key] == bindparam(f"k_{key}"))
                .values({name: bindparam(f"v_{name}") for name in columns}))
        compiled = stmt.compile(dialect=dialect)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        made = {column.key: column.onupdate for column in compiled.update_prefetch}
        processors = []
        for name in names:
            bind = compiled.binds[name]
            if bind.key in made:
                processors.append((name, None, made[bind.key], _storage_processor(bind.type, dialect)))
            else:
                column = bind.key[2:]  # k_<key> or v_<column>
                processors.append((name, column, None, _storage_processor(table.c[column].type, dialect)))
        entry = _UPDATES[cache_key] = (compiled.string, compiled.positional, processors)
    sql, positional, processors = entry
    values = []
    for _name, column, make, process in processors:
        if column is None:
            value = _default_value(make)
            values.append([process(value) if process else value] * len(rows))
        else:
            values.extend(_processed(rows, [(column, process)]))
    _execute_many(connection, sql, positional, [name for name, _column, _make, _p in processors], values)


def _json_update(connection, table: Table, key: str, columns: tuple, rows: list[dict]) -> None:
    """PostgreSQL: every row's update as ONE statement with ONE parameter,
    ``UPDATE t SET c = v.c ... FROM json_populate_recordset(NULL::t, <rows>) v
    WHERE t.key = v.key`` (psycopg's executemany sends one UPDATE per row).
    Python-side ``onupdate`` defaults the rows leave out get one value for the call."""
    dialect = connection.dialect
    cache_key = ("json_update", table.name, key, columns)
    entry = _UPDATES.get(cache_key)
    if entry is None:
        preparer = dialect.identifier_preparer
        made = tuple((column.name, column.onupdate) for column in table.columns
                     if column.onupdate is not None and not getattr(column.onupdate, "is_clause_element", False)
                     and column.name not in columns and column.name != key)
        names = (key, *columns, *(name for name, _make in made))
        target = preparer.format_table(table)
        assignments = ", ".join(f"{preparer.quote(name)} = v.{preparer.quote(name)}" for name in names[1:])
        sql = (f"UPDATE {target} SET {assignments} FROM json_populate_recordset(NULL::{target}, %(rows)s) AS v "  # noqa: S608
               f"WHERE {target}.{preparer.quote(key)} = v.{preparer.quote(key)}")
        entry = _UPDATES[cache_key] = (sql, names, _json_processors(table, names, dialect), made)
    sql, names, processors, made = entry
    if made:
        extra = {name: _default_value(make) for name, make in made}
        rows = [{**row, **extra} for row in rows]
    connection.exec_driver_sql(sql, {"rows": _json_payload(rows, names, processors)})
