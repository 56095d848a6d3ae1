"""The change log: every change to a syncable record, wherever it is made,
gets a server-given position, in commit order.

How changes are caught, without the caller doing anything:

- ORM changes (``session.add``, attribute edits, ``session.delete``) through
  the ``before_flush`` / ``after_flush`` session events; ``before_flush`` also
  bumps the ``version`` of every edited versioned record;
- Core ``UPDATE``/``DELETE``/``INSERT`` statements run through a session on a
  syncable table (the stock ledger's conditional updates, for instance)
  through ``do_orm_execute``, which reads the keys the statement touches;
- the bulk push path records its changes itself (:func:`record`), complete,
  so that nothing has to be read back.

Changes wait in ``session.info`` until the commit. In ``before_commit``, as
the very last step, the counter row is locked (``UPDATE ... RETURNING``),
positions are taken from it and the change rows are upserted. The lock is
held until the transaction commits, so positions are handed out in commit
order: a reader that sees position ``p`` committed sees every position below
``p`` committed too. That is what makes pulls gap-free when transactions
commit in another order than the one they began in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, and_, bindparam, delete, event, func, inspect, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BindParameter

from server.bulk import CompiledQuery, bulk_insert
from server.db import VersionedMixin, utcnow
from sync import registry
from sync.models import SyncChange, SyncCounter, SyncScopeExit

PENDING = "fieldsync.sync.pending"
ASSIGNMENTS = "fieldsync.sync.assignments"
RESCOPES = "fieldsync.sync.rescopes"  # other scope changes (vans, tickets): see sync.scope
EXITS = "fieldsync.sync.exits"  # scope exits queued as they are: (technician, table, record id)
ORIGIN = "fieldsync.sync.origin_device"
# Statements the caller logs itself carry this execution option.
SKIP = "sync_skip_capture"

_CHUNK = 500


@dataclass(slots=True)
class Pending:
    """A change waiting for its position. ``complete`` ones carry everything
    the change row needs; others are completed from the database at commit."""

    table: str
    record_id: str
    deleted: bool = False
    fields: set | None = None
    origin: uuid.UUID | None = None
    version: int | None = None
    scope: tuple | None = None  # (job, location, technician)
    field_versions: dict | None = None
    complete: bool = False


def _pending(session: Session) -> dict:
    return session.info.setdefault(PENDING, {})


def exit_scope(session: Session, exits: list[tuple]) -> None:
    """Queue scope exits ``(technician, table, record id)``: their devices get an ``out_of_scope``
    tombstone, after every change of this transaction."""
    session.info.setdefault(EXITS, []).extend(exits)


def record(session: Session, change: Pending) -> None:
    """Queue a change for the change log (the bulk push path uses this)."""
    buf = _pending(session)
    key = (change.table, change.record_id)
    previous = buf.get(key)
    if previous is not None and not change.complete:
        previous.deleted = change.deleted
        previous.origin = change.origin
        if previous.fields is None or change.fields is None:
            previous.fields = None
        else:
            previous.fields |= change.fields
        previous.scope = change.scope or previous.scope
        previous.complete = False
        return
    buf[key] = change


def record_complete(session: Session, changes: dict) -> None:
    """Queue complete changes, keyed by (table, record id): each replaces
    whatever was queued for its record (as :func:`record` does for a complete one)."""
    _pending(session).update(changes)


def touch(session: Session, table: str, record_id: str) -> None:
    """Give a record a new position without changing it, so that whoever
    newly sees it (a technician it was just assigned to) receives it."""
    key = (table, record_id)
    buf = _pending(session)
    if key not in buf:
        buf[key] = Pending(table, record_id, fields=set())


def set_origin_device(session: Session, device_id: uuid.UUID | None) -> None:
    session.info[ORIGIN] = device_id


# ---- ORM capture -------------------------------------------------------------

_IGNORED_FOR_VERSION = {"version", "updated_at"}


def _changed_columns(obj) -> set[str]:
    state = inspect(obj)
    changed = set()
    for attr in state.mapper.column_attrs:
        if state.attrs[attr.key].history.has_changes():
            changed.add(attr.key)
    return changed


def _before_flush(session: Session, _context, _instances) -> None:
    for obj in session.dirty:
        if not isinstance(obj, VersionedMixin):
            continue
        changed = _changed_columns(obj)
        if changed - _IGNORED_FOR_VERSION and "version" not in changed:
            obj.version = (obj.version or 0) + 1


def _scope_of(spec: registry.SyncTable, get) -> tuple:
    value = get(spec.scope_column) if spec.scope_column else None
    return (value if spec.scope == "job" else None,
            value if spec.scope == "location" else None,
            value if spec.scope == "technician" else None)


def _after_flush(session: Session, _context) -> None:
    origin = session.info.get(ORIGIN)
    assignments = session.info.setdefault(ASSIGNMENTS, [])
    for obj in session.new:
        spec = registry.for_model(type(obj))
        if spec is None:
            continue
        record(session, Pending(spec.name, spec.record_id(obj), fields=None, origin=origin))
        if spec.name == "jobs" and obj.technician_id is not None:
            assignments.append((obj.id, None, obj.technician_id))
    for obj in session.dirty:
        spec = registry.for_model(type(obj))
        if spec is None:
            continue
        changed = _changed_columns(obj) - {"updated_at"}
        if not changed:
            continue
        record(session, Pending(spec.name, spec.record_id(obj), fields=changed - {"version"}, origin=origin))
        if spec.name == "jobs" and "technician_id" in changed:
            history = inspect(obj).attrs.technician_id.history
            old = history.deleted[0] if history.deleted else None
            if old != obj.technician_id:
                assignments.append((obj.id, old, obj.technician_id))
    for obj in session.deleted:
        spec = registry.for_model(type(obj))
        if spec is None:
            continue
        record(session, Pending(spec.name, spec.record_id(obj), deleted=True, origin=origin,
                                scope=_scope_of(spec, lambda k, o=obj: getattr(o, k))))
        if spec.name == "jobs" and obj.technician_id is not None:
            assignments.append((obj.id, obj.technician_id, None))


def _do_orm_execute(state):
    """Catch Core DML on syncable tables run through a session."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    if state.execution_options.get(SKIP):
        return None
    table = getattr(state.statement, "table", None)
    spec = registry.for_table_name(getattr(table, "name", None)) if table is not None else None
    if spec is None:
        return None
    session = state.session
    origin = session.info.get(ORIGIN)
    if state.is_insert:
        return _captured_insert(state, spec, origin)
    set_values = _insert_values(state.statement) if state.is_update else {}
    reassigning = spec.name == "jobs" and "technician_id" in set_values
    if state.is_update and not reassigning:
        key = _key_from_where(state.statement.whereclause, spec.key_columns)
        if key is not None:  # "WHERE id = :x [AND ...]": no need to ask the database
            record(session, Pending(spec.name, spec.record_id(key), origin=origin))
            return None
    columns = [spec.table.c[k] for k in spec.key_columns]
    if spec.scope_column and spec.scope_column not in spec.key_columns:
        columns.append(spec.table.c[spec.scope_column])
    if spec.name == "jobs":
        columns.append(spec.table.c.technician_id)
    query = select(*columns)
    if state.statement.whereclause is not None:
        query = query.where(state.statement.whereclause)
    keys = session.execute(query.execution_options(**{SKIP: True}), state.parameters or {}).mappings().all()
    assignments = session.info.setdefault(ASSIGNMENTS, [])
    for row in keys:
        record(session, Pending(spec.name, spec.record_id(row), deleted=state.is_delete, origin=origin,
                                scope=_scope_of(spec, row.get) if state.is_delete else None))
        if spec.name == "jobs":
            old = row["technician_id"]
            new = None if state.is_delete else set_values.get("technician_id", old)
            if old != new:
                assignments.append((row["id"], old, new))
    return None


def _captured_insert(state, spec: registry.SyncTable, origin):
    """Run a Core INSERT and log the rows it made (keys from the database
    when it reports them, else from the values given)."""
    session = state.session
    result = state.invoke_statement()
    params = state.parameters
    rows = params if isinstance(params, list) else [params or {}]
    given = _insert_values(state.statement)
    try:
        keys = result.inserted_primary_key_rows
    except Exception:  # noqa: BLE001  (not every dialect reports them for every statement)
        keys = []
    assignments = session.info.setdefault(ASSIGNMENTS, [])
    for index, row in enumerate(rows):
        values = {**given, **(row or {})}
        if index < len(keys) and keys[index] is not None and all(v is not None for v in keys[index]):
            values.update(dict(zip([c.name for c in spec.table.primary_key.columns], keys[index], strict=False)))
        if not all(values.get(k) is not None for k in spec.key_columns):
            continue
        record(session, Pending(spec.name, spec.record_id(values), origin=origin))
        if spec.name == "jobs" and values.get("technician_id") is not None:
            assignments.append((values["id"], None, values["technician_id"]))
    return result


def _key_from_where(where, key_columns) -> dict | None:
    """The record key when a WHERE clause pins every key column to a literal."""
    if where is None:
        return None
    found = {}
    clauses = getattr(where, "clauses", None) or [where]
    if getattr(where, "operator", None) is not None and getattr(where, "clauses", None) is not None \
            and where.operator is not operators.and_:
        return None
    for clause in clauses:
        left, right = getattr(clause, "left", None), getattr(clause, "right", None)
        if getattr(clause, "operator", None) is operators.eq and getattr(left, "key", None) in key_columns \
                and isinstance(right, BindParameter) and right.value is not None and not right.expanding:
            found[left.key] = right.value
    return found if len(found) == len(key_columns) else None


def _insert_values(statement) -> dict:
    """The literal values of an ``insert().values(...)``, without compiling it."""
    values = getattr(statement, "_values", None)
    if values is None:
        return statement.compile().params
    out = {}
    for column, value in values.items():
        name = getattr(column, "key", column)
        out[name] = getattr(value, "value", value)
    return out


# ---- commit: allocate positions and write ------------------------------------

def _queued(session: Session) -> bool:
    info = session.info
    return bool(info.get(PENDING) or info.get(ASSIGNMENTS) or info.get(RESCOPES) or info.get(EXITS))


def _before_commit(session: Session) -> None:
    if not _queued(session) and not (session.new or session.dirty or session.deleted):
        return
    session.flush()  # pending ORM changes may queue more
    if not _queued(session):
        return
    write_pending(session)


def _clear(session: Session, *_args) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(ASSIGNMENTS, None)
    session.info.pop(RESCOPES, None)
    session.info.pop(EXITS, None)
    session.info.pop(ORIGIN, None)


def _insert_for(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def allocate(session: Session, count: int) -> int:
    """Take ``count`` positions; returns the first. Locks the counter row
    until the transaction ends (callers do this last, right before commit)."""
    counter = SyncCounter.__table__
    connection = session.connection()
    rows = _TAKE_POSITIONS.rows(connection, count=count)
    if not rows:
        connection.execute(_insert_for(session)(counter).values(id=1, position=0, pruned_through=0)
                           .on_conflict_do_nothing(index_elements=["id"]))
        rows = _TAKE_POSITIONS.rows(connection, count=count)
    return rows[0][0] - count + 1


_counter = SyncCounter.__table__
_TAKE_POSITIONS = CompiledQuery(lambda dialect: _counter.update().where(_counter.c.id == 1)
                        .values(position=_counter.c.position + bindparam("count", type_=BigInteger()))
                        .returning(_counter.c.position))


_UPSERTS: dict = {}
_CHANGE_COLUMNS = ("position", "version", "deleted", "origin_device", "scope_job", "scope_location",
                   "scope_technician", "field_versions", "changed_at")


def _upsert(session: Session):
    """INSERT ... ON CONFLICT (table_name, record_id) DO UPDATE, built once per dialect."""
    name = session.get_bind().dialect.name
    if name not in _UPSERTS:
        stmt = _insert_for(session)(SyncChange.__table__)
        _UPSERTS[name] = stmt.on_conflict_do_update(
            index_elements=["table_name", "record_id"],
            set_={column: stmt.excluded[column] for column in _CHANGE_COLUMNS})
    return _UPSERTS[name]


def write_pending(session: Session) -> None:
    buf: dict = session.info.get(PENDING) or {}
    exits = _expand_assignments(session, buf)
    session.info[ASSIGNMENTS] = []
    from sync import scope as scopes

    exits = scopes.expand_changes(session, buf, exits)
    exits.extend(session.info.pop(EXITS, None) or ())
    _complete(session, buf)
    entries = list(buf.values())
    count = len(entries) + len(exits)
    if not count:
        return
    now = utcnow()
    first = allocate(session, count)
    rows = []
    for offset, entry in enumerate(entries):
        job, location, technician = entry.scope or (None, None, None)
        rows.append({
            "table_name": entry.table, "record_id": entry.record_id, "position": first + offset,
            "version": entry.version if entry.version is not None else first + offset,
            "deleted": entry.deleted, "origin_device": entry.origin,
            "scope_job": job, "scope_location": location, "scope_technician": technician,
            "field_versions": entry.field_versions, "changed_at": now,
        })
    connection = session.connection()  # Core, executemany: one statement, compiled once
    bulk_insert(connection, _upsert(session), rows)
    base = first + len(entries)
    exit_rows = [{"position": base + i, "technician_id": tech, "table_name": table, "record_id": rid, "at": now}
                 for i, (tech, table, rid) in enumerate(exits)]
    bulk_insert(connection, SyncScopeExit.__table__, exit_rows)
    buf.clear()


def _complete(session: Session, buf: dict) -> None:
    """Fill in version, scope and field versions of changes caught from the ORM or Core."""
    todo = [e for e in buf.values() if not e.complete]
    if not todo:
        return
    by_table: dict[str, list[Pending]] = {}
    for entry in todo:
        by_table.setdefault(entry.table, []).append(entry)
    for table, entries in by_table.items():
        spec = registry.TABLES[table]
        ids = [e.record_id for e in entries]
        previous = {}
        for chunk in _chunks(ids):
            for row in session.execute(
                select(SyncChange.record_id, SyncChange.field_versions, SyncChange.scope_job,
                       SyncChange.scope_location, SyncChange.scope_technician, SyncChange.version)
                .where(SyncChange.table_name == table, SyncChange.record_id.in_(chunk))
                .execution_options(**{SKIP: True})
            ):
                previous[row.record_id] = row
        live = [e for e in entries if not e.deleted]
        current = {}
        if live:
            columns = [spec.table.c[k] for k in spec.key_columns]
            extra = []
            if spec.scope_column and spec.scope_column not in spec.key_columns:
                extra.append(spec.table.c[spec.scope_column])
            if spec.versioned:
                extra.append(spec.table.c.version)
            keys = [registry.parse_key(spec, e.record_id) for e in live]
            for chunk in _chunks(keys):
                if len(columns) == 1:
                    where = columns[0].in_([k[spec.key_columns[0]] for k in chunk])
                else:
                    where = tuple_(*columns).in_([tuple(k[c] for c in spec.key_columns) for k in chunk])
                for row in session.execute(select(*columns, *extra).where(where)
                                           .execution_options(**{SKIP: True})).mappings():
                    current[spec.record_id(row)] = row
        for entry in entries:
            prev = previous.get(entry.record_id)
            row = None if entry.deleted else current.get(entry.record_id)
            if row is None:
                entry.deleted = True
                if entry.scope is None and prev is not None:
                    entry.scope = (prev.scope_job, prev.scope_location, prev.scope_technician)
                entry.version = prev.version if prev is not None else None
                entry.field_versions = prev.field_versions if prev is not None else None
                continue
            entry.scope = _scope_of(spec, row.get)
            entry.version = row["version"] if spec.versioned else None
            versions = dict(prev.field_versions or {}) if prev is not None else {}
            if spec.versioned:
                names = spec.field_names if entry.fields is None else entry.fields
                for name in names:
                    versions[name] = [entry.version, str(entry.origin) if entry.origin else None]
                entry.field_versions = versions
            if entry.fields is not None and not entry.fields:
                entry.origin = None  # a touch: everyone who sees it gets it


def _expand_assignments(session: Session, buf: dict) -> list[tuple]:
    """A job changed hands: the old technician gets tombstones for what left
    their scope; everything the job brings is re-logged for the new one
    (set-wise, whatever the number of jobs: ``sync.scope.expand_assignments``)."""
    assignments = session.info.get(ASSIGNMENTS) or []
    if not assignments:
        return []
    from sync import scope as scopes

    return scopes.expand_assignments(session, buf, assignments)


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---- retention ---------------------------------------------------------------

def prune(session: Session, *, retention: timedelta, now: datetime) -> int:
    """Drop tombstones and scope exits older than ``retention``. Cursors from
    before the newest dropped one are told to resync. Returns rows dropped."""
    cutoff = now - retention
    highest = max(
        session.scalar(select(func.max(SyncChange.position)).where(
            SyncChange.deleted.is_(True), SyncChange.changed_at < cutoff,
            SyncChange.table_name.not_in(registry.CREATED_AND_DELETED))) or 0,
        session.scalar(select(func.max(SyncScopeExit.position)).where(SyncScopeExit.at < cutoff)) or 0,
    )
    if not highest:
        return 0
    # Tombstones of records a device creates are kept: they are what refuses a create of a deleted id
    # (sync.push). Few (a device deletes what it created by mistake) and harmless to a pull.
    dropped = session.execute(delete(SyncChange).where(and_(SyncChange.deleted.is_(True),
                                                            SyncChange.position <= highest,
                                                            SyncChange.table_name.not_in(
                                                                registry.CREATED_AND_DELETED)))
                              .execution_options(**{SKIP: True})).rowcount
    dropped += session.execute(delete(SyncScopeExit).where(SyncScopeExit.position <= highest)
                               .execution_options(**{SKIP: True})).rowcount
    allocate(session, 0)  # make sure the counter row exists
    session.execute(update(SyncCounter).where(SyncCounter.id == 1,
                                              or_(SyncCounter.pruned_through < highest))
                    .values(pruned_through=highest).execution_options(**{SKIP: True}))
    return dropped


def backfill(session: Session) -> int:
    """Log every syncable record the change log does not know (data loaded
    before the sync engine, or written behind the session's back). Returns
    how many; they get positions when the caller commits."""
    count = 0
    for spec in registry.TABLES.values():
        known = set(session.scalars(select(SyncChange.record_id).where(SyncChange.table_name == spec.name)))
        columns = [spec.table.c[k] for k in spec.key_columns]
        for row in session.execute(select(*columns)).mappings():
            record_id = spec.record_id(row)
            if record_id not in known:
                record(session, Pending(spec.name, record_id))
                count += 1
    return count


# ---- installation --------------------------------------------------------------

_installed = False


def install() -> None:
    """Listen on every SQLAlchemy session (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _clear)
    event.listen(Session, "after_rollback", _clear)
    _installed = True


install()
from sync import scope as _scope  # noqa: E402, F401  (installs the scope-change hooks; see sync.scope)
