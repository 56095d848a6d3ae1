"""Pulls: the changes since a cursor that a technician may see, in position
order, with tombstones for deletions and for records that left their scope.

Gap-free: the counter is read *before* the change log, and positions are
given out in commit order (see ``changelog``), so every position at or
below the counter value is committed and visible to the queries that follow.
When a pull reaches the end it may therefore jump its cursor to that value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

import orjson
from sqlalchemy import JSON, Boolean, Enum, Float, Integer, String, Text, Uuid, and_, cast, or_, select, type_coerce
from sqlalchemy.orm import Session

from server.bulk import CompiledQuery, in_param, in_set
from sync import registry
from sync.errors import InvalidCursor, ResyncRequired
from sync.memory import no_cyclic_gc
from sync.models import SyncChange, SyncCounter, SyncScopeExit
from sync.scope import Scope, technician_scope

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


# In-process callers (tests, the WatermelonDB mapping, which never hands a cursor out) share this key;
# the HTTP pull signs with one derived from the app's SECRET_KEY (``cursor_key``).
INTERNAL_KEY = b""


def cursor_key(secret: str | bytes) -> bytes:
    """The key sync cursors are MAC'd with, derived from the app's secret."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"fieldsync sync cursor v1", hashlib.sha256).digest()


def _invalid_cursor() -> InvalidCursor:
    return InvalidCursor("the cursor is not one this server gave out: sync again without a cursor",
                         details={"fields": {"query": {"cursor": ["Invalid cursor."]}}, "resync": True})


@dataclass
class Cursor:
    position: int
    full: bool  # part of a first sync: the device's own writes are sent too

    def encode(self, key: bytes = INTERNAL_KEY) -> str:
        """Opaque and tamper-evident: the position, then a MAC of it (a hand-made or edited cursor is
        refused, so a device can never skip changes or read past what it was given)."""
        raw = json.dumps({"p": self.position, "f": int(self.full)}, separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{payload}.{_mac(key, payload)}"

    @classmethod
    def decode(cls, text: str | None, key: bytes = INTERNAL_KEY) -> Cursor | None:
        if not text:
            return None
        if not text.isascii():  # never one this server wrote (and compare_digest takes ASCII text only)
            raise _invalid_cursor()
        payload, _dot, mac = text.partition(".")
        if not mac or not hmac.compare_digest(mac, _mac(key, payload)):
            raise _invalid_cursor()
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            position, full = data["p"], data["f"]
            # Exactly what encode() writes: never a database overflow.
            if type(position) is not int or not 0 <= position < 2 ** 63 or full not in (0, 1) \
                    or type(full) is not int:
                raise ValueError
            full = bool(full)
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise _invalid_cursor() from None
        return cls(position, full)


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class Change:
    table: str
    id: str
    version: int | None
    deleted: bool
    fields: dict | None = None
    reason: str | None = None  # tombstones: "deleted" or "out_of_scope"

    def as_dict(self) -> dict:
        out = {"table": self.table, "id": self.id, "version": self.version, "deleted": self.deleted}
        if self.deleted:
            out["reason"] = self.reason
        else:
            out["fields"] = self.fields
        return out


@dataclass
class PullPage:
    changes: list[Change]
    next_cursor: str
    has_more: bool
    position: int

    def encode(self, default=None) -> bytes:
        """The wire body (UTF-8 JSON). orjson: the fields are plain values after
        ``to_wire``, and a first sync's thousands of records encode several times
        faster than with the json module; ``default`` handles anything else.
        Without the cyclic GC, which would rescan the page's objects while the
        dicts are built."""
        with no_cyclic_gc():
            return orjson.dumps(self.as_dict(), default=default)

    def as_dict(self) -> dict:
        """The page as the wire has it (the pull's body; a push's ``pull``)."""
        return {"changes": [c.as_dict() for c in self.changes], "next_cursor": self.next_cursor,
                "has_more": self.has_more}


def read_counter(session: Session) -> tuple[int, int]:
    row = session.execute(select(SyncCounter.position, SyncCounter.pruned_through)
                          .where(SyncCounter.id == 1)).first()
    return (row.position, row.pruned_through) if row else (0, 0)


def scope_filter(session: Session, scope: Scope):
    # A scope's ids run to thousands: each list is one bound parameter (server.bulk.in_set).
    # The catalogue's records and those reached by id have no scope: said so, the
    # by-table index of unscoped records serves them (position > the cursor first).
    unscoped = (SyncChange.scope_job.is_(None), SyncChange.scope_location.is_(None),
                SyncChange.scope_technician.is_(None))
    clauses = [and_(SyncChange.table_name.in_(registry.GLOBAL_TABLES), *unscoped),
               SyncChange.scope_technician == scope.technician_id]
    if scope.job_ids:
        clauses.append(in_set(session, SyncChange.scope_job, scope.job_ids))
    if scope.van_id is not None:
        clauses.append(SyncChange.scope_location == scope.van_id)
    for table in registry.RELATED_TABLES:
        ids = scope.related_ids(table)
        if ids:
            clauses.append(and_(SyncChange.table_name == table, *unscoped,
                                in_set(session, SyncChange.record_id, sorted(ids))))
    return or_(*clauses)


def check_cursor(session: Session, cursor: str | None, key: bytes = INTERNAL_KEY) -> None:
    """What a pull from ``cursor`` would refuse, refused now: a cursor this server
    did not give out (:class:`InvalidCursor`), one older than the retention
    (:class:`ResyncRequired`). A push whose answer carries the pull asks this
    before applying anything."""
    after = Cursor.decode(cursor, key)
    if after is not None:
        _check_retention(after, read_counter(session)[1])


def _check_retention(after: Cursor | None, pruned_through: int) -> None:
    if after is not None and after.position < pruned_through:
        raise ResyncRequired(
            "this device has been offline longer than deletions are kept: discard the local copy and "
            "sync again without a cursor", details={"retention_passed": True})


def pull(session: Session, *, technician_id: uuid.UUID, device_id: uuid.UUID | None, cursor: str | None,
         limit: int = DEFAULT_LIMIT, key: bytes = INTERNAL_KEY) -> PullPage:
    """One page of changes for this technician's device. ``key``: what cursors are MAC'd with
    (:func:`cursor_key` of the app's secret over HTTP)."""
    with no_cyclic_gc():
        return _pull(session, technician_id=technician_id, device_id=device_id, cursor=cursor, limit=limit, key=key)


def _pull(session: Session, *, technician_id: uuid.UUID, device_id: uuid.UUID | None, cursor: str | None,
          limit: int, key: bytes) -> PullPage:
    limit = max(1, min(limit, MAX_LIMIT))
    after = Cursor.decode(cursor, key)
    counter, pruned_through = read_counter(session)  # first: see the module docstring
    _check_retention(after, pruned_through)
    full = after is None or after.full
    since = after.position if after else 0
    scope = technician_scope(session, technician_id)

    rows = session.execute(
        select(SyncChange.position, SyncChange.table_name, SyncChange.record_id, SyncChange.version,
               SyncChange.deleted, SyncChange.origin_device)
        .where(SyncChange.position > since, scope_filter(session, scope))
        .order_by(SyncChange.position).limit(limit + 1)
    ).all()
    items = [(r.position, "change", r) for r in rows]
    if after is not None:
        exits = session.execute(
            select(SyncScopeExit.position, SyncScopeExit.table_name, SyncScopeExit.record_id)
            .where(SyncScopeExit.technician_id == technician_id, SyncScopeExit.position > since)
            .order_by(SyncScopeExit.position).limit(limit + 1)
        ).all()
        items.extend((r.position, "exit", r) for r in exits)
        items.sort(key=lambda item: item[0])
    has_more = len(items) > limit
    items = items[:limit]

    changes: list[Change] = []
    wanted: dict[str, list[Change]] = {}
    for _position, kind, row in items:
        if kind == "exit":
            changes.append(Change(row.table_name, row.record_id, None, True, reason="out_of_scope"))
            continue
        if not full and device_id is not None and row.origin_device == device_id:
            continue  # the device's own write, exactly as it sent it
        if row.deleted:
            changes.append(Change(row.table_name, row.record_id, row.version, True, reason="deleted"))
            continue
        change = Change(row.table_name, row.record_id, row.version, False)
        changes.append(change)
        wanted.setdefault(row.table_name, []).append(change)
    fill(session, wanted)

    if has_more:
        position = items[-1][0]
        next_cursor = Cursor(position, full)
    else:
        position = max(since, counter, items[-1][0] if items else 0)
        next_cursor = Cursor(position, False)
    return PullPage(changes=changes, next_cursor=next_cursor.encode(key), has_more=has_more, position=position)


def fill(session: Session, wanted: dict[str, list[Change]]) -> None:
    """Read the current fields of the records to send: one compiled query per
    table, ids bound as one parameter, values turned into their wire form
    column by column (UUIDs come from the database as text)."""
    connection = session.connection()
    for table, changes in wanted.items():
        spec = registry.TABLES[table]
        query, converters, version_at, field_at = _wire_reader(spec, connection.dialect)
        if len(spec.key_columns) == 1:
            rows = query.rows(connection, ids=[change.id for change in changes])
        else:  # "<location>:<part>": every level of those locations, the ones wanted picked below
            rows = query.rows(connection, ids=sorted({change.id.split(":", 1)[0] for change in changes}))
        versioned = spec.versioned
        found = {}
        for row in rows:
            values = [convert(value) if convert is not None else value
                      for convert, value in zip(converters, row, strict=True)]
            found[":".join(values[:len(spec.key_columns)])] = values
        for change in changes:
            values = found.get(change.id)
            if values is None:  # deleted since the change row was read: its tombstone follows
                change.deleted, change.reason = True, "deleted"
                continue
            if versioned:
                change.version = values[version_at]
            change.fields = {name: values[at] for name, at in field_at}


_READERS: dict = {}


def _wire_reader(spec: registry.SyncTable, dialect) -> tuple:
    """A table's pulled columns, after its key columns as text, compiled once
    per dialect, with the converter that turns each value into its wire form
    (None where the database already gives it), and where in a row the version
    and each field sent stand."""
    cache_key = (spec.name, dialect.name)
    entry = _READERS.get(cache_key)
    if entry is not None:
        return entry
    table = spec.table
    columns = [table.c[k] for k in spec.key_columns] + list(spec.pulled_columns)

    def build(dialect_):
        selected = [_uuid_as_text(column, dialect_) if isinstance(column.type, Uuid) else column
                    for column in columns]
        return select(*selected).where(in_param(table.c[spec.key_columns[0]], "ids", dialect_))

    converters = [_wire_converter(column.type, dialect) for column in columns]
    positions = {c.name: i for i, c in enumerate(spec.pulled_columns, start=len(spec.key_columns))}
    field_at = [(name, positions[name]) for name in spec.field_names]
    entry = _READERS[cache_key] = (CompiledQuery(build), converters, positions.get("version"), field_at)
    return entry


def _uuid_as_text(column, dialect):
    # PostgreSQL hands the canonical text over itself (no UUID object to build
    # and print again); SQLite's stored form is the 32 hex digits, dashed below.
    if dialect.name == "postgresql":
        return cast(column, Text).label(column.name)
    return type_coerce(column, String).label(column.name)


def _dashed(stored: str | None) -> str | None:
    if stored is None:
        return None
    return f"{stored[:8]}-{stored[8:12]}-{stored[12:16]}-{stored[16:20]}-{stored[20:]}"


def _wire_converter(type_, dialect):
    if isinstance(type_, Uuid):
        return None if dialect.name == "postgresql" else _dashed
    if isinstance(type_, (String, Integer, Float, Boolean, JSON)) and not isinstance(type_, Enum):
        return None  # the database (through the column's result processing) gives wire values
    return registry.to_wire


def snapshot(session: Session, technician_id: uuid.UUID) -> dict[tuple[str, str], dict]:
    """The server's view of a technician's whole scope, as a device would hold
    it after a full pull: {(table, id): fields}. Used by tests and audits."""
    page = pull(session, technician_id=technician_id, device_id=None, cursor=None, limit=MAX_LIMIT)
    out = {}
    while True:
        for change in page.changes:
            if not change.deleted:
                out[(change.table, change.id)] = change.fields
        if not page.has_more:
            return out
        page = pull(session, technician_id=technician_id, device_id=None, cursor=page.next_cursor,
                    limit=MAX_LIMIT)
