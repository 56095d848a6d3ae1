"""The WatermelonDB sync protocol, mapped onto the same engine.

WatermelonDB apps call ``synchronize()`` with default settings and a
``pullChanges`` / ``pushChanges`` that talk to two endpoints (the glue is
in ``sync/README.md``):

- pull: ``{"changes": {table: {"created": [raw], "updated": [raw], "deleted": [id]}}, "timestamp": N}``.
  ``timestamp`` is the change-log position (monotonic, from the server,
  never a clock), handed back as ``last_pulled_at``. The whole scope's
  changes come in one answer (the protocol has no pages), tombstones
  included, with the same scope and retention rules as FieldSync's pull.
  ``created`` holds the records new to the device (see :func:`_classifier`),
  ``updated`` those it holds, so the client's default settings log nothing.
- push: ``{table: {"created": [raw], "updated": [raw], "deleted": [id]}}``
  becomes engine operations: creates, updates of the columns named in
  ``_changed`` (from the record's ``version``, which pulls send), deletes.
  Exactly once without op ids in the protocol: each operation's id is a
  UUIDv5 of the device, ``last_pulled_at`` and the change itself, so a
  retried push replays the same ids and changes nothing. Each record stands
  on its own: one the engine refuses is named in ``experimentalRejectedIds``
  (the device keeps it unsynced; ``rejected`` says why) and the rest apply.
  Parts of a change a device may not make (fields it may not write, deleting
  a record that cannot be deleted) are refused while the rest applies, listed
  in ``refused``, and the record is sent back by the next pull as the server
  holds it, so device and server agree again. Conflicts are merged by the
  engine's per-field rules (and recorded) rather than refused.

Raw values: date-times are milliseconds since the epoch (WatermelonDB's
``@date``), JSON lists and objects are JSON text (``@json``), everything
else as in FieldSync's own protocol.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.bulk import in_set
from server.db import utcnow
from server.jobs.models import Adjustment, Job
from server.tickets.models import Ticket
from sync import changelog, registry
from sync.models import SyncChange, SyncOp, SyncScopeExit, SyncWatermelonDevice
from sync.pull import MAX_LIMIT, Change, Cursor, fill, pull
from sync.push import DELETE, REJECTED, InvalidOperation, Operation, Pusher, push
from sync.registry import valid_uuids
from sync.scope import technician_scope

NAMESPACE = uuid.UUID("6f7a2b1e-51c4-4c39-9d55-8f1b8a0e7c21")
_META = {"id", "_status", "_changed", "version"}
# In a change row's field versions: the version at which a refused write was put back.
RESTORED = "_restored"


def _datetime_columns(spec: registry.SyncTable) -> frozenset[str]:
    """Once per table (a first sync asks for every record)."""
    return _datetime_columns_of(spec.name)


@functools.cache
def _datetime_columns_of(table: str) -> frozenset[str]:
    from server.db import UTCDateTime

    return frozenset(c.name for c in registry.TABLES[table].table.columns if isinstance(c.type, UTCDateTime))


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


def _pull_all(session: Session, technician_id, device_id, cursor) -> tuple[list, int]:
    received, timestamp = [], 0
    while True:
        page = pull(session, technician_id=technician_id, device_id=device_id, cursor=cursor, limit=MAX_LIMIT)
        received.extend(page.changes)
        timestamp = page.position
        if not page.has_more:
            return received, timestamp
        cursor = page.next_cursor


def pull_changes(session: Session, *, technician_id: uuid.UUID, device_id: uuid.UUID | None,
                 last_pulled_at: int | None, migration: dict | None = None, schema_version: int | None = None) -> dict:
    """Everything since ``last_pulled_at`` (none or 0: everything), in the
    tables and columns the app's schema version knows; a migration sync adds
    the records of its new tables and of tables with new columns."""
    first = not last_pulled_at
    known = known_schema(schema_version)
    received, timestamp = _pull_all(session, technician_id, device_id,
                                    None if first else Cursor(int(last_pulled_at), False).encode())
    migrated: dict[str, str] = {}  # table -> "created" (new table) or "updated" (new columns)
    added: set[tuple[str, str]] = set()  # records sent for the migration alone
    if isinstance(migration, dict) and not first:
        migrated = _migrated_tables(migration)
        if migrated:
            present = {(c.table, c.id) for c in received}
            everything, _ = _pull_all(session, technician_id, None, None)
            for change in everything:
                if change.table in migrated and (change.table, change.id) not in present and not change.deleted:
                    received.append(change)
                    added.add((change.table, change.id))
    received = [c for c in received if c.table in known]
    changes: dict[str, dict[str, list]] = {
        name: {"created": [], "updated": [], "deleted": []} for name in registry.TABLES if name in known}
    device = session.get(SyncWatermelonDevice, device_id) if device_id is not None else None
    held: set[tuple[str, str]] = set()
    if not first and device_id is not None:
        received, held = _hold_back_exits(session, technician_id, int(last_pulled_at), device, received)
    is_new = (lambda _change: True) if first else _classifier(session, technician_id, device_id, int(last_pulled_at),
                                                              received)
    for change in received:
        bucket = changes[change.table]
        if change.deleted:
            bucket["deleted"].append(change.id)
        else:
            if migrated.get(change.table) == "created" or (change.table, change.id) in added:
                kind = migrated[change.table]
            else:
                kind = "created" if (change.table, change.id) not in held and is_new(change) else "updated"
            fields = change.fields
            if known[change.table] is not None:
                fields = {name: value for name, value in fields.items() if name not in known[change.table]}
            bucket[kind].append(_raw(registry.TABLES[change.table], change.id, change.version, fields))
    if device_id is not None:
        # Remembered for the push that follows (see push_changes): the caller commits.
        since = 0 if first else int(last_pulled_at)
        if device is not None:
            device.pulled_through, device.pulled_since, device.updated_at = timestamp, since, utcnow()
        else:  # its first pull; two at once (a client retrying) must not fail on the key
            table = SyncWatermelonDevice.__table__
            insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
            values = {"pulled_through": timestamp, "pulled_since": since, "updated_at": utcnow()}
            session.execute(insert.values(device_id=device_id, pushed_through=0, pushed_before=0, **values)
                            .on_conflict_do_update(index_elements=[table.c.device_id], set_=values))
    return {"changes": changes, "timestamp": timestamp}


# FieldSync's WatermelonDB app schema, version by version: what each version
# added to the one before (tests/wmdb/app.js is that schema; sync/README.md
# lists it). An app on an older version is sent only what its version knows.
SCHEMA_ADDED: dict[int, dict] = {
    2: {"tables": {"signatures"}, "columns": {"jobs": {"customer_rating"}}},
    3: {"tables": {"job_expenses"}, "columns": {}},
}
SCHEMA_VERSION = max(SCHEMA_ADDED)


def known_schema(version: int | None) -> dict[str, frozenset | None]:
    """{table the version knows: the columns it does not know (None: none)}.
    No version, or one newer than this server knows: everything."""
    version = SCHEMA_VERSION if version is None else version
    tables = set(registry.TABLES)
    unknown_columns: dict[str, set] = {}
    for added_in, added in SCHEMA_ADDED.items():
        if added_in > version:
            tables -= added["tables"]
            for table, columns in added["columns"].items():
                unknown_columns.setdefault(table, set()).update(columns)
    return {t: (frozenset(unknown_columns[t]) if t in unknown_columns else None) for t in tables}


def _migrated_tables(migration: dict) -> dict[str, str]:
    """WatermelonDB's migration info (``{"from", "tables", "columns": [{"table", "columns"}]}``):
    the tables whose every record the device now needs, and under which list."""
    out = {}
    for table in migration.get("tables") or []:
        if table in registry.TABLES:
            out[table] = "created"
    for entry in migration.get("columns") or []:
        table = entry.get("table") if isinstance(entry, dict) else None
        if table in registry.TABLES and table not in out:
            out[table] = "updated"
    return out


# Records a device may edit: their out_of_scope tombstones wait (below).
EDITABLE = ("jobs", "adjustments")


def _hold_back_exits(session: Session, technician_id: uuid.UUID, since: int, device, received: list):
    """No pull destroys work the device has not pushed yet.

    WatermelonDB pulls before it pushes and deletes whatever a pull names as
    deleted, edited or not. So a job (or adjustment) that left the
    technician's scope after ``since`` comes as ``updated``, as it now is
    (reassigned: another technician; cancelled jobs never leave): the
    device's own edits survive the merge and its push delivers them (kept
    under the reassigned-while-worked rules). Its tombstone is sent by the
    first pull after the device has pushed from a pull that came after the
    exit, i.e. pushed what it did before it learnt of it. A device that never
    pushes again keeps the record, showing another technician's name; so does
    one whose answer to that pull was lost (the tombstone is not sent twice).
    """
    pushed_through = device.pushed_through if device is not None else 0
    pushed_before = device.pushed_before if device is not None else 0
    waiting = {(c.table, c.id) for c in received if c.deleted and c.reason == "out_of_scope"
               and c.table in EDITABLE}
    if waiting:
        passed = {(table, record_id) for table, record_id in session.execute(
            select(SyncScopeExit.table_name, SyncScopeExit.record_id).where(
                SyncScopeExit.technician_id == technician_id, SyncScopeExit.position > since,
                SyncScopeExit.position <= pushed_through, SyncScopeExit.table_name.in_(EDITABLE)))}
        waiting -= passed
    kept = [c for c in received if (c.table, c.id) not in waiting or not c.deleted]
    if waiting:
        wanted: dict[str, list] = {}
        for table, record_id in sorted(waiting):
            change = Change(table, record_id, None, False)
            kept.append(change)
            wanted.setdefault(table, []).append(change)
        fill(session, wanted)  # a record deleted meanwhile turns back into its tombstone
    now_due = []
    if pushed_through > pushed_before:
        scope = technician_scope(session, technician_id)
        mine = scope.job_ids_text
        sent = {(c.table, c.id) for c in kept}
        rows = session.execute(select(SyncScopeExit.table_name, SyncScopeExit.record_id).where(
            SyncScopeExit.technician_id == technician_id, SyncScopeExit.position > pushed_before,
            SyncScopeExit.position <= pushed_through, SyncScopeExit.table_name.in_(EDITABLE))).all()
        adjustment_jobs = {}
        adjustment_ids = valid_uuids(r for t, r in rows if t == "adjustments")
        if adjustment_ids:
            adjustment_jobs = {str(i): str(j) for i, j in session.execute(
                select(Adjustment.id, Adjustment.job_id).where(Adjustment.id.in_(adjustment_ids)))}
        for table, record_id in rows:
            job = record_id if table == "jobs" else adjustment_jobs.get(record_id)
            if (table, record_id) not in sent and job not in mine:
                now_due.append(Change(table, record_id, None, True, reason="out_of_scope"))
        device.pushed_before = pushed_through  # sent (the caller commits with the pull)
    return kept + now_due, waiting


def _own_photos(session: Session, device_id: uuid.UUID | None, received: list) -> set[tuple[str, str]]:
    """Photos among these that this device created (by its pushed operations): it holds them."""
    ids = [change.id for change in received if change.table == "photos" and not change.deleted]
    if device_id is None or not ids:
        return set()
    rows = session.execute(select(SyncOp.record_id).where(
        SyncOp.table_name == "photos", in_set(session, SyncOp.record_id, ids), SyncOp.device_id == device_id,
        SyncOp.action == "create", SyncOp.status == "applied"))
    return {("photos", record_id) for (record_id,) in rows}


def _restored(session: Session, received: list) -> set[tuple[str, str]]:
    """Records among these whose latest change is a refused write put back
    (:func:`restore`): the device holds them."""
    wanted: dict[str, list[str]] = {}
    for change in received:
        if not change.deleted and registry.TABLES[change.table].versioned:
            wanted.setdefault(change.table, []).append(change.id)
    found = set()
    for table, ids in wanted.items():
        for record_id, version, field_versions in session.execute(
                select(SyncChange.record_id, SyncChange.version, SyncChange.field_versions)
                .where(SyncChange.table_name == table, in_set(session, SyncChange.record_id, ids))):
            if ((field_versions or {}).get(RESTORED) or [None])[0] == version:
                found.add((table, record_id))
    return found


def restore(session: Session, table: str, record_id: str, device_id) -> None:
    """Send a record back to devices as it is (a device's refused write is
    undone by its next pull), marked so its pull files it under ``updated``."""
    queued = session.info.get(changelog.PENDING, {}).get((table, record_id))
    if queued is not None:  # changed by this push as well: that change goes back to it
        queued.origin = None
        return
    spec = registry.TABLES.get(table)
    row = session.execute(select(SyncChange).where(SyncChange.table_name == table,
                                                   SyncChange.record_id == record_id)).scalar_one_or_none()
    if spec is None or row is None or row.deleted or not spec.versioned:
        changelog.touch(session, table, record_id)  # facts: new to the device again
        return
    versions = {**(row.field_versions or {}), RESTORED: [row.version, str(device_id) if device_id else None]}
    changelog.record(session, changelog.Pending(
        table, record_id, version=row.version, scope=(row.scope_job, row.scope_location, row.scope_technician),
        field_versions=versions, complete=True))


def _classifier(session: Session, technician_id: uuid.UUID, device_id: uuid.UUID | None, since: int, received: list):
    """Which changes after ``since`` are records new to the device (WatermelonDB's
    ``created``) rather than records it holds (``updated``).

    The change log keeps one row per record, so what the device held at
    ``since`` is worked out from the jobs: a job it holds is one of the
    technician's jobs that did not arrive after ``since`` (created, or
    assigned to them, at its latest change after ``since``); it holds those
    jobs' tickets, customers, sites and assets, a job-scoped record of a job
    it holds unless the record was created after ``since`` (version 1), and
    catalogue records and spare units older than that. Facts that change
    after ``since`` are new (facts never change; the device's own come not
    back), but for a photo this device created, which comes back once the
    server has read its image facts. Stock levels are always ``updated``. What this cannot tell (the
    client then logs and does the right thing anyway): a job assigned after
    ``since`` and changed again before the pull, a ticket's new site or asset
    while the device held the ticket, a van's levels after a van change.
    """
    rows = session.execute(
        select(Job.id, Job.version, Ticket.id, Ticket.customer_id, Ticket.site_id, Ticket.asset_id)
        .join(Ticket, Ticket.id == Job.ticket_id).where(Job.technician_id == technician_id)).all()
    arrived: set[str] = set()
    if rows:
        versions = {str(row[0]): row[1] for row in rows}
        for record_id, field_versions in session.execute(
                select(SyncChange.record_id, SyncChange.field_versions)
                .where(SyncChange.table_name == "jobs", SyncChange.position > since,
                       in_set(session, SyncChange.record_id, sorted(versions)))):
            field_versions = field_versions or {}
            assigned = (field_versions.get("technician_id") or [None])[0]
            version = versions.get(record_id)
            if (field_versions.get(RESTORED) or [None])[0] == version:
                continue
            if version == 1 or (assigned is not None and assigned >= version):
                arrived.add(record_id)
    held = {"jobs": set(), "tickets": set(), "customers": set(), "sites": set(), "assets": set()}
    for job_id, _version, ticket_id, customer_id, site_id, asset_id in rows:
        if str(job_id) in arrived:
            continue
        held["jobs"].add(str(job_id))
        held["tickets"].add(str(ticket_id))
        held["customers"].add(str(customer_id))
        held["sites"].add(str(site_id))
        if asset_id is not None:
            held["assets"].add(str(asset_id))
    held_jobs = held["jobs"]
    restored = _restored(session, received) | _own_photos(session, device_id, received)

    def is_new(change) -> bool:
        table = change.table
        if (table, change.id) in restored:
            return False
        if table in held:
            return change.id not in held[table]
        spec = registry.TABLES[table]
        if spec.scope == "job":
            job_id = (change.fields or {}).get("job_id")
            return str(job_id) not in held_jobs or not spec.versioned or change.version == 1
        if spec.fact:
            return True
        return spec.versioned and change.version == 1

    return is_new


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


def to_operations(session: Session, pusher: Pusher, changes: dict, last_pulled_at, pulled_since=None) -> list:
    """The engine operations for a WatermelonDB push, in a safe order:
    creates, then updates, then deletes, table by table. ``pulled_since``:
    the ``last_pulled_at`` of the pull that answered this push's
    ``last_pulled_at``, when known (see :func:`_bases_before_the_pull`)."""
    ops: list = []
    merged: list[Operation] = []  # updates naming their changed columns
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
                                                "generator to make UUIDs)", {"id": ["Not a UUID."]}, table=table,
                                                record_id=str(record["id"])[:80]))
                    continue
                writable = spec.writable if spec is not None else {}
                action = listed_as
                known = existing.get((table, str(record["id"])))
                if action == "create" and known is not None:
                    # Created on an earlier push whose answer was lost: the
                    # protocol says to take it as an update (a fact: as done).
                    if spec.fact or not spec.versioned:
                        if table in EDITED_UNTIL_SYNCED:
                            _put_back_if_edited(session, spec, record, pusher)
                        continue
                    action, record = "update", {**record, "version": known}
                if action == "create":
                    names = [n for n in record if n not in _META and n in writable]
                elif record.get("_changed"):
                    # Every changed column goes to the engine, which applies those a device may write
                    # and refuses the others visibly (the record then comes back as the server has it).
                    names = [n for n in str(record["_changed"]).split(",") if n and n not in _META]
                else:
                    names = [n for n in record if n not in _META and n in writable
                             and n not in getattr(spec, "create_only", ())]
                fields = {n: _wire_value(spec, n, record.get(n)) for n in names} if spec else {}
                base = record.get("version") if action == "update" else None
                ops.append(Operation(index=len(ops), op_id=_op_id(pusher.device_id, last_pulled_at, table, action,
                                                                  record),
                                     table=table, record_id=str(record["id"]), action=action,
                                     base_version=base if isinstance(base, int) and base > 0 else 1,
                                     fields=fields))
                if action == "update" and record.get("_changed"):
                    merged.append(ops[-1])
        for record_id in bucket.get("deleted") or []:
            deletes.append((table, str(record_id)))
    for table, record_id in deletes:
        spec = registry.TABLES.get(table)
        version = None
        if spec is not None and spec.key_columns == ("id",):
            # Unversioned records (facts) too: deleting one is refused, and the device gets it back.
            column = spec.table.c.version if spec.versioned else spec.table.c.id
            try:
                version = session.scalar(select(column).where(spec.table.c.id == uuid.UUID(record_id)))
            except ValueError:
                version = None
        if version is None:
            continue  # deleting what the server does not have: nothing to do
        version = version if spec.versioned else 1
        ops.append(Operation(index=len(ops), op_id=_op_id(pusher.device_id, last_pulled_at, table, DELETE, record_id),
                             table=table, record_id=record_id, action=DELETE, base_version=version, fields={}))
    if pulled_since is not None and merged:
        _bases_before_the_pull(session, pusher, merged, pulled_since, last_pulled_at)
    return ops


# Facts a device lets its user edit until they have synced (the handheld's expenses).
EDITED_UNTIL_SYNCED = ("job_expenses",)


def _put_back_if_edited(session: Session, spec: registry.SyncTable, record: dict, pusher: Pusher) -> None:
    """A fact created again with other values: its first push applied but the answer was lost, and the
    device's user edited it before the retry. A fact is written once, so the first values stand; the
    record goes back to the device with its next pull, so both hold the same again (never silently apart)."""
    row = session.execute(select(spec.table).where(spec.table.c.id == uuid.UUID(record["id"]))).mappings().first()
    if row is None:
        return
    for name, parse in spec.writable.items():
        if name not in record:
            continue
        try:
            value = parse(_wire_value(spec, name, record.get(name)))
        except registry.FieldError:
            value = record.get(name)
        stored = row[name]
        if isinstance(stored, datetime) and isinstance(value, datetime):
            same = abs((stored - value).total_seconds()) < 0.001
        else:
            same = (str(stored) if isinstance(stored, uuid.UUID) else stored) == (
                str(value) if isinstance(value, uuid.UUID) else value)
        if not same:
            restore(session, spec.name, record["id"], pusher.device_id)
            return


def _bases_before_the_pull(session: Session, pusher: Pusher, ops: list[Operation], since: int, through: int) -> None:
    """Two writers, one field: WatermelonDB pulls first and merges on the
    device (its changed columns over the server's record, whose ``version``
    it takes), so the push names a base that hides what the device never saw.

    What the server can tell: a record whose latest change came in the pull
    just before this push (position after that pull's ``last_pulled_at``, at
    or before its timestamp) was edited on the device before it arrived; the
    columns another writer changed in that latest change (their version is
    the record's) the device never saw. Such an update's base becomes the
    version before that change, so the engine records the clash and settles
    it by the field's owner. What it cannot tell: an earlier change by
    another writer, followed by a further change before the pull (the base
    stays as sent: the later value wins silently); edits made on the device
    between the pull and the push (a few milliseconds inside synchronize())
    are taken as made before it.
    """
    by_table: dict[str, list[Operation]] = {}
    for op in ops:
        spec = registry.TABLES.get(op.table)
        if spec is not None and spec.versioned and spec.key_columns == ("id",):
            by_table.setdefault(op.table, []).append(op)
    device = str(pusher.device_id) if pusher.device_id else None
    for table, table_ops in by_table.items():
        rows = {record_id: (position, version, field_versions or {}) for record_id, position, version, field_versions
                in session.execute(select(SyncChange.record_id, SyncChange.position, SyncChange.version,
                                          SyncChange.field_versions)
                                   .where(SyncChange.table_name == table,
                                          in_set(session, SyncChange.record_id, [op.record_id for op in table_ops])))}
        for op in table_ops:
            position, version, field_versions = rows.get(op.record_id, (None, None, {}))
            if position is None or not since < position <= through or op.base_version != version:
                continue
            unseen = [name for name in op.fields
                      if (field_versions.get(name) or [None, None])[0] == version
                      and (field_versions.get(name) or [None, None])[1] != device]
            if unseen:
                op.base_version = version - 1


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


def push_changes(session: Session, pusher: Pusher, changes: dict, *, last_pulled_at, now) -> dict:
    """Apply a WatermelonDB push through the engine; the answer's body. Each
    record stands on its own: the caller commits whatever the answer says."""
    pusher = replace(pusher, own_facts=True)
    device = session.get(SyncWatermelonDevice, pusher.device_id) if pusher.device_id is not None else None
    pulled_since = None
    if device is not None and last_pulled_at and device.pulled_through == last_pulled_at and device.pulled_since:
        # (After a first sync the device held no server record to edit before it: nothing to look for.)
        pulled_since = device.pulled_since
    result = push(session, pusher, to_operations(session, pusher, changes, last_pulled_at, pulled_since), now=now)
    if device is not None and last_pulled_at and last_pulled_at > device.pushed_through:
        # How far this device's pushes have come: held-back tombstones may go (_hold_back_exits).
        device.pushed_before, device.pushed_through = device.pushed_through, last_pulled_at
        device.updated_at = now
    rejected_ids: dict[str, list[str]] = {}
    rejected, refused = [], []
    for r in result.results:
        outcome = r.get("outcome") or r
        table, record_id = outcome.get("table") or "", outcome.get("id") or ""
        if outcome["status"] == REJECTED:
            error = outcome["error"]
            entry = {"table": table, "id": record_id, "code": error["code"], "message": error["message"]}
            if error.get("fields"):
                entry["fields"] = error["fields"]
            if error["code"] in ("action_not_allowed", "not_writable"):
                # A delete of what cannot be deleted (a fact), or an update of nothing a device may write:
                # the device takes its change as synced, and the next pull puts the server's record back.
                restore(session, table, record_id, pusher.device_id)
                refused.append(entry)
            else:
                rejected.append(entry)
                if record_id:
                    rejected_ids.setdefault(table, []).append(record_id)
        elif outcome.get("refused"):
            refused.append({"table": table, "id": record_id, "code": "not_writable",
                            "message": "fields a device may not write were refused; the rest applied",
                            "fields": outcome["refused"]})
    return {"ok": True, "experimentalRejectedIds": rejected_ids, "rejected": rejected, "refused": refused,
            "missing_blobs": result.missing_blobs}
