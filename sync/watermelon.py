"""The WatermelonDB sync protocol, mapped onto the same engine.

WatermelonDB apps call ``synchronize()`` with a ``pullChanges`` and a
``pushChanges`` that talk to two endpoints; they sync unchanged with these:

- pull: ``{"changes": {table: {"created": [raw], "updated": [raw], "deleted": [id]}}, "timestamp": N}``.
  ``timestamp`` is the change-log position (monotonic, from the server,
  never a clock), handed back as ``last_pulled_at``. The whole scope's
  changes come in one answer (the protocol has no pages), tombstones
  included, with the same scope and retention rules as FieldSync's pull.
- push: ``{table: {"created": [raw], "updated": [raw], "deleted": [id]}}``
  becomes engine operations: creates, updates of the columns named in
  ``_changed`` (from the record's ``version``, which pulls send), deletes.
  Exactly once without op ids in the protocol: each operation's id is a
  UUIDv5 of the device, ``last_pulled_at`` and the change itself, so a
  retried push replays the same ids and changes nothing. As the protocol
  asks, a push applies entirely or not at all: one rejected change rolls the
  batch back and the answer names it. Conflicts are merged by the engine's
  per-field rules (and recorded) rather than refused.

Raw values: date-times are milliseconds since the epoch (WatermelonDB's
``@date``), JSON lists and objects are JSON text (``@json``), everything
else as in FieldSync's own protocol.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import registry
from sync.pull import MAX_LIMIT, Cursor, pull
from sync.push import DELETE, InvalidOperation, Operation, Pusher, PushResult, push

NAMESPACE = uuid.UUID("6f7a2b1e-51c4-4c39-9d55-8f1b8a0e7c21")
_META = {"id", "_status", "_changed", "version"}


def _datetime_columns(spec: registry.SyncTable) -> set[str]:
    from server.db import UTCDateTime

    return {c.name for c in spec.table.columns if isinstance(c.type, UTCDateTime)}


def _raw(spec: registry.SyncTable, record_id: str, version, fields: dict) -> dict:
    dates = _datetime_columns(spec)
    raw = {"id": record_id, "version": version}
    for name, value in fields.items():
        if name in dates and isinstance(value, str):
            value = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        elif isinstance(value, (list, dict)):
            value = json.dumps(value, separators=(",", ":"))
        raw[name] = value
    return raw


def pull_changes(session: Session, *, technician_id: uuid.UUID, device_id: uuid.UUID | None,
                 last_pulled_at: int | None, migration: dict | None = None) -> dict:
    """Everything since ``last_pulled_at`` (none, 0 or a migration: everything)."""
    first = not last_pulled_at or migration is not None
    cursor = None if first else Cursor(int(last_pulled_at), False).encode()
    changes: dict[str, dict[str, list]] = {
        name: {"created": [], "updated": [], "deleted": []} for name in registry.TABLES}
    timestamp = 0
    while True:
        page = pull(session, technician_id=technician_id, device_id=device_id, cursor=cursor, limit=MAX_LIMIT)
        for change in page.changes:
            bucket = changes[change.table]
            if change.deleted:
                bucket["deleted"].append(change.id)
            else:
                kind = "created" if first else "updated"
                bucket[kind].append(_raw(registry.TABLES[change.table], change.id, change.version, change.fields))
        timestamp = page.position
        if not page.has_more:
            break
        cursor = page.next_cursor
    return {"changes": changes, "timestamp": timestamp}


def _wire_value(spec: registry.SyncTable, name: str, value):
    if name in _datetime_columns(spec) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and name in ("serial_numbers", "strokes"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _op_id(device: uuid.UUID | None, last_pulled_at, table: str, action: str, record: dict | str) -> str:
    """The op id (canonical UUID text) a change gets: the same for the same change pushed again."""
    digest = hashlib.sha256(json.dumps([str(device), last_pulled_at, table, action, record], sort_keys=True,
                                       default=str).encode()).hexdigest()
    return str(uuid.uuid5(NAMESPACE, digest))


def to_operations(session: Session, pusher: Pusher, changes: dict, last_pulled_at) -> list:
    """The engine operations for a WatermelonDB push, in a safe order:
    creates, then updates, then deletes, table by table."""
    ops: list = []
    deletes: list[tuple[str, str]] = []
    existing = _existing_versions(session, changes)
    for table, bucket in (changes or {}).items():
        spec = registry.TABLES.get(table)
        if not isinstance(bucket, dict):
            ops.append(InvalidOperation(len(ops), None, f"{table}: expected created/updated/deleted", {}))
            continue
        for listed_as, records in (("create", bucket.get("created") or []), ("update", bucket.get("updated") or [])):
            for record in records:
                if not isinstance(record, dict) or "id" not in record:
                    ops.append(InvalidOperation(len(ops), None, f"{table}: a record without an id", {}))
                    continue
                try:
                    record = {**record, "id": str(uuid.UUID(str(record["id"])))}
                except ValueError:
                    ops.append(InvalidOperation(len(ops), None, f"{table}: ids are UUIDs (set WatermelonDB's id "
                                                "generator to make UUIDs)", {"id": ["Not a UUID."]}, table=table))
                    continue
                writable = spec.writable if spec is not None else {}
                action = listed_as
                known = existing.get((table, str(record["id"])))
                if action == "create" and known is not None:
                    # Created on an earlier push whose answer was lost: the
                    # protocol says to take it as an update (a fact: as done).
                    if spec.fact or not spec.versioned:
                        continue
                    action, record = "update", {**record, "version": known}
                if action == "create":
                    names = [n for n in record if n not in _META and n in writable]
                else:
                    changed = record.get("_changed")
                    names = ([n for n in str(changed).split(",") if n] if changed
                             else [n for n in record if n not in _META])
                    names = [n for n in names if n in writable and n not in spec.create_only]
                fields = {n: _wire_value(spec, n, record.get(n)) for n in names} if spec else {}
                base = record.get("version") if action == "update" else None
                ops.append(Operation(index=len(ops), op_id=_op_id(pusher.device_id, last_pulled_at, table, action,
                                                                  record),
                                     table=table, record_id=str(record["id"]), action=action,
                                     base_version=base if isinstance(base, int) and base > 0 else 1,
                                     fields=fields))
        for record_id in bucket.get("deleted") or []:
            deletes.append((table, str(record_id)))
    for table, record_id in deletes:
        spec = registry.TABLES.get(table)
        version = None
        if spec is not None and spec.versioned:
            try:
                version = session.scalar(select(spec.table.c.version).where(spec.table.c.id == uuid.UUID(record_id)))
            except ValueError:
                version = None
        if version is None:
            continue  # deleting what the server does not have: nothing to do
        ops.append(Operation(index=len(ops), op_id=_op_id(pusher.device_id, last_pulled_at, table, DELETE, record_id),
                             table=table, record_id=record_id, action=DELETE, base_version=version, fields={}))
    return ops


def _existing_versions(session: Session, changes: dict) -> dict[tuple[str, str], int]:
    """Versions of the pushed "created" records the server has already."""
    found = {}
    for table, bucket in (changes or {}).items():
        spec = registry.TABLES.get(table)
        if spec is None or not isinstance(bucket, dict) or spec.key_columns != ("id",):
            continue
        ids = []
        for record in bucket.get("created") or []:
            try:
                ids.append(uuid.UUID(str(record.get("id"))))
            except (ValueError, AttributeError):
                continue
        if not ids:
            continue
        version = spec.table.c.version if spec.versioned else spec.table.c.id
        for record_id, value in session.execute(select(spec.table.c.id, version).where(spec.table.c.id.in_(ids))):
            found[(table, str(record_id))] = value if spec.versioned else 1
    return found


def push_changes(session: Session, pusher: Pusher, changes: dict, *, last_pulled_at, now) -> PushResult:
    """Apply a WatermelonDB push through the engine. The caller commits only
    when :func:`failures` is empty (the protocol's all-or-nothing)."""
    return push(session, pusher, to_operations(session, pusher, changes, last_pulled_at), now=now)


def failures(result: PushResult) -> list[dict]:
    out = []
    for r in result.results:
        outcome = r.get("outcome") or r
        if outcome["status"] == "rejected":
            out.append(outcome)
    return out
