"""Applying a pushed batch exactly once.

A batch is applied in one transaction, set-wise: the records it touches are
read (and, on PostgreSQL, locked) with one query per table, every operation
is applied in order to that in-memory state (so later operations see what
earlier ones did), and the result is written with one statement per table
and kind of write, with the change-log rows and the ``sync_ops`` rows that
record each operation's outcome. Nothing commits here: the caller commits,
and a replay of an ``op_id`` (a retry, a second connection, a retry after the
server died between commit and answer) finds its outcome in ``sync_ops`` and
gets it back as ``duplicate``. Two connections pushing the same batch at
once both try to insert the same ``sync_ops`` keys: the loser's commit fails
on the primary key and the caller retries it, which then finds duplicates.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, literal_column, select, union_all
from sqlalchemy.orm import Session

from media.models import Blob, Signature
from server.bulk import CompiledQuery, bulk_insert, bulk_update, in_param
from server.jobs.models import Job, JobStatus
from server.stock.models import LocationKind, Part, StockLocation
from server.technicians.models import Technician
from sync import changelog, facts, registry
from sync.conflicts import ConflictDraft
from sync.memory import no_cyclic_gc
from sync.models import SyncChange, SyncConflict, SyncOp
from sync.registry import CREATE, DELETE, DEVICE, SERVER, UPDATE, FieldError, to_wire
from sync.registry import valid_uuids as _uuids
from sync.scope import former_jobs

APPLIED, MERGED, REJECTED, DUPLICATE = "applied", "merged", "rejected", "duplicate"
SKIP = {changelog.SKIP: True}


@dataclass(slots=True)
class Operation:
    index: int
    op_id: str  # the device's UUID, as canonical text
    table: str
    record_id: str
    action: str
    base_version: int | None
    fields: dict
    device_time: datetime | None = None


@dataclass(slots=True)
class InvalidOperation:
    index: int
    op_id: str | None  # canonical text
    message: str
    errors: dict
    table: str | None = None
    record_id: str | None = None


@dataclass(frozen=True)
class Pusher:
    """Who pushes: the technician, their account, their device and van."""

    technician_id: uuid.UUID
    user_id: uuid.UUID
    device_id: uuid.UUID | None
    van_location_id: uuid.UUID | None
    # Facts come back to the device with what the server added (protocol 1);
    # a WatermelonDB device keeps its own copy (its next pull brings nothing).
    own_facts: bool = False


@dataclass
class PushResult:
    results: list[dict]
    missing_blobs: list[str]


class _Rejected(Exception):
    def __init__(self, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


def _rejected(op, code: str, message: str, fields: dict | None = None, table=None, record_id=None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"op_id": op.op_id, "status": REJECTED,
            "table": getattr(op, "table", None) or table, "id": getattr(op, "record_id", None) or record_id,
            "error": error}


def push(session: Session, pusher: Pusher, ops: list[Operation | InvalidOperation], *, now: datetime) -> PushResult:
    """Apply ``ops`` in order; one result per operation. Never commits."""
    with no_cyclic_gc():
        return _push(session, pusher, ops, now=now)


def _push(session: Session, pusher: Pusher, ops: list[Operation | InvalidOperation], *, now: datetime) -> PushResult:
    changelog.set_origin_device(session, pusher.device_id)
    results: list[dict | None] = [None] * len(ops)
    first_index: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    valid: list[Operation] = []
    to_record: list[tuple[Operation | InvalidOperation, dict]] = []
    for i, op in enumerate(ops):
        if op.op_id is not None and op.op_id in first_index:
            repeats.append((i, first_index[op.op_id]))
            continue
        if op.op_id is not None:
            first_index[op.op_id] = i
        if isinstance(op, InvalidOperation):
            results[i] = _rejected(op, "validation_error", op.message, op.errors, op.table, op.record_id)
            if op.op_id is not None:
                to_record.append((op, results[i]))
            continue
        valid.append(op)

    known = _recorded_outcomes(session, list(first_index))
    todo = []
    for op in valid:
        if op.op_id in known:
            results[op.index] = _duplicate(known[op.op_id])
        else:
            todo.append(op)
    for i, op in enumerate(ops):
        if isinstance(op, InvalidOperation) and op.op_id in known and results[i] is not None:
            results[i] = _duplicate(known[op.op_id])
            to_record = [(o, r) for o, r in to_record if o.op_id != op.op_id]

    # Signatures first (they only add, and depend on nothing a batch changes): a completion signed off by a
    # signature anywhere in the same push holds whatever order the client sent (WatermelonDB's is by table).
    todo.sort(key=lambda op: op.table != "signatures")
    batch = _Batch(session, pusher, now)
    batch.load(todo)
    for op in todo:
        try:
            outcome = batch.apply(op)
        except _Rejected as exc:
            outcome = _rejected(op, exc.code, exc.message, exc.fields)
        results[op.index] = outcome
        to_record.append((op, outcome))
    batch.write()
    _rated(session, batch, now)
    _record_ops(session, pusher, to_record, now)
    for i, first in repeats:
        results[i] = _duplicate(results[first]) if results[first]["status"] != DUPLICATE else results[first]
    return PushResult(results=results, missing_blobs=batch.missing_blobs(valid))


def _rated(session: Session, batch: _Batch, now: datetime) -> None:
    """Sign-off ratings this push wrote (a bad one opens customer service's
    follow-up and tells the managers) and job status changes (webhooks for
    other systems), in this same transaction."""
    changed = batch.updates.get("jobs") or {}
    rated = [batch.rows[("jobs", record_id)] for record_id, columns in changed.items() if "customer_rating" in columns]
    if rated:
        from server.quality.surveys import on_job_ratings

        on_job_ratings(session, rated, now=now)
    moved = [batch.rows[("jobs", record_id)] for record_id, columns in changed.items() if "status" in columns]
    if moved:
        from server.notifications.events import jobs_changed

        jobs_changed(session, moved, now=now)


def _duplicate(outcome: dict) -> dict:
    return {"op_id": outcome.get("op_id"), "status": DUPLICATE, "table": outcome.get("table"),
            "id": outcome.get("id"), "version": outcome.get("version"), "conflict_id": outcome.get("conflict_id"),
            "outcome": outcome}


_OUTCOMES = CompiledQuery(lambda dialect: select(SyncOp.__table__.c.op_id, SyncOp.__table__.c.outcome)
                  .where(in_param(SyncOp.__table__.c.op_id, "ids", dialect)))


def _recorded_outcomes(session: Session, op_ids: list[str]) -> dict[str, dict]:
    """The first outcomes of the operations among these that were applied before."""
    if not op_ids:
        return {}
    return {str(op_id): outcome for op_id, outcome in _OUTCOMES.rows(session.connection(), ids=op_ids)}


def _record_ops(session: Session, pusher: Pusher, done: list, now: datetime) -> None:
    rows = [{
        "op_id": op.op_id, "user_id": pusher.user_id, "device_id": pusher.device_id,
        "table_name": (getattr(op, "table", None) or "")[:40] or None,
        "record_id": (getattr(op, "record_id", None) or "")[:80] or None,
        "action": getattr(op, "action", None), "status": outcome["status"], "outcome": outcome,
        "device_time": getattr(op, "device_time", None), "received_at": now,
    } for op, outcome in done]
    bulk_insert(session.connection(), SyncOp.__table__, rows)


class _Batch:
    """The in-memory state a batch is applied to, and the writes it makes."""

    def __init__(self, session: Session, pusher: Pusher, now: datetime):
        self.session, self.pusher, self.now = session, pusher, now
        self.rows: dict[tuple[str, str], dict] = {}  # current state of touched records
        self.exists: set[tuple[str, str]] = set()  # records already in the database
        self.jobs: dict[int, dict] = {}  # the jobs the batch names, by their UUID's int (rows also in self.rows)
        self.mine: set[int] = set()  # those of them held by the pusher
        self.deleted: set[tuple[str, str]] = set()
        self.inserts: dict[str, dict[str, dict]] = defaultdict(dict)
        self.updates: dict[str, dict[str, set]] = defaultdict(dict)  # table -> id -> changed columns
        self.deletes: dict[str, set[str]] = defaultdict(set)
        self.field_versions: dict[tuple[str, str], dict] = {}
        self.changes: dict[tuple[str, str], changelog.Pending] = {}
        self.conflicts: list[ConflictDraft] = []
        self.former: set[str] = set()
        # (job, kind) -> the one open conflict of this clash ("episode"): a job cancelled or reassigned while
        # the technician worked on it offline gets one, however many operations and pushes report the work.
        self.episodes: dict[tuple[str, str], ConflictDraft] = {}
        self.signed: set[str] = set()  # jobs with a customer signature (stored, or created in the batch)
        self.orphans: list[tuple] = []  # (technician, table, id): facts created on a job that left them
        self.parts: set[str] = set()
        self.locations: set[str] = set()
        self.warranty: dict = {}  # job id -> under warranty (jobs with an asset), for part usages
        self.usages: list[dict] = []
        self.last_check_in: dict | None = None
        self.device = str(pusher.device_id) if pusher.device_id else None
        # {field: [version, device]} of a record this device created: one shared
        # (never mutated: an update builds a new pair) list for every field.
        self.created_by_device = [1, self.device]

    # ---- reading -------------------------------------------------------------
    def load(self, ops: list[Operation]) -> None:
        # Records that are updated or deleted are read whole (and locked);
        # records that are only created are only looked for (a create of an
        # id that exists is refused), by key alone: most of a batch is new
        # facts, and reading their absence whole costs as much as writing them.
        # A handful of statements whatever the batch holds (server.bulk.CompiledQuery).
        whole: dict[str, set[str]] = defaultdict(set)
        created: dict[str, set[str]] = defaultdict(set)
        job_ids: set[str] = set()  # jobs the batch updates (read whole) or names (read narrow)
        updated_jobs: set[str] = set()
        part_ids, location_ids = set(), set()
        usages = False
        completing: set[str] = set()  # jobs the batch completes: their sign-off is looked for
        texts: dict = {}  # the same few jobs named by most facts: each text made once
        for op in ops:
            table = op.table
            if table not in registry.TABLES:
                continue
            values = op.fields
            if table == "jobs":
                updated_jobs.add(op.record_id)
                if isinstance(values, dict) and values.get("status") == JobStatus.completed.value:
                    completing.add(op.record_id)
            elif op.action == CREATE:
                created[table].add(op.record_id)
            else:
                whole[table].add(op.record_id)
            raw_job = values.get("job_id") if isinstance(values, dict) else None
            if raw_job is not None:
                text = texts.get(raw_job) if type(raw_job) is str else None
                if text is None:
                    text = _uuid_text(raw_job)
                    if type(raw_job) is str:
                        texts[raw_job] = text
                job_ids.add(text)
            if table == "part_usages":
                usages = True
                part_ids.add(_uuid_text(values.get("part_id")))
                if values.get("location_id"):
                    location_ids.add(_uuid_text(values["location_id"]))
        connection = self.session.connection()
        for table, record_ids in whole.items():
            spec = registry.TABLES[table]
            if not spec.actions or table == "jobs":
                continue
            for row in _whole_rows(connection, spec, record_ids):
                key = (table, str(row["id"]))
                self.exists.add(key)
                self.rows[key] = row
                if row.get("job_id") is not None:
                    job_ids.add(str(row["job_id"]))
        lookups = {}
        for table, record_ids in created.items():
            if table not in _CREATABLE:
                continue
            # Canonical texts (parse_operation): bound as they are (server.bulk).
            lookups[table] = list(record_ids - whole.get(table, set()))
        if any(lookups.values()):
            self.exists.update((table, str(key)) for table, key in _EXISTING.rows(
                connection, **{table: lookups.get(table, ()) for table in _CREATABLE}))
            if any(lookups.get(table) for table in _DELETABLE):
                # A deleted id stays deleted: its tombstone is kept for good (changelog.prune).
                self.deleted.update((table, key) for table, key in _DELETED.rows(
                    connection, **{table: lookups.get(table, ()) for table in _DELETABLE}))
        job_ids.discard(None)
        job_ids |= updated_jobs
        # Every job the batch touches locked by one statement, in key order (two batches cannot
        # deadlock); those it updates then read whole, those it only names are enough as they are.
        names = _JOB_FACTS_COLUMNS
        narrow = {row[0]: dict(zip(names, row, strict=True))
                  for row in _JOB_FACTS.rows(connection, ids=_uuids(job_ids))} if job_ids else {}
        for row in _whole_rows(connection, registry.TABLES["jobs"], updated_jobs):
            narrow[row["id"]] = row
        for row in narrow.values():
            key = ("jobs", str(row["id"]))
            self.exists.add(key)
            self.rows[key] = self.jobs[row["id"].int] = row
            if row["technician_id"] == self.pusher.technician_id:
                self.mine.add(row["id"].int)
        self.former = former_jobs(self.session, self.pusher.technician_id, sorted(
            str(row["id"]) for job_int, row in self.jobs.items() if job_int not in self.mine))
        self._load_episodes()
        completing_keys = _uuids(completing)
        if completing_keys:
            self.signed = {str(i) for (i,) in _SIGNED.rows(connection, ids=completing_keys)}
        self._load_field_versions([(op.table, op.record_id) for op in ops if op.action in (UPDATE, DELETE)])
        part_keys = _uuids(part_ids)
        if part_keys:
            self.parts = {str(i) for (i,) in _PARTS.rows(connection, ids=part_keys)}
        location_keys = _uuids(location_ids)
        if location_keys:
            # Scope: parts come off the technician's own van or a warehouse/station, never another's van.
            self.locations = {str(i) for (i,) in _LOCATIONS.rows(connection, ids=location_keys,
                                                                 van=self.pusher.van_location_id)}
        usage_jobs = [row["id"] for (t, _r), row in self.rows.items() if t == "jobs"]
        if usages and usage_jobs:
            from server.stock.ledger import warranty_for_jobs

            self.warranty = warranty_for_jobs(connection, usage_jobs)

    def _load_episodes(self) -> None:
        """The open while-worked conflicts this technician already has on the batch's jobs that left them
        or were cancelled: later operations of the same clash join them instead of raising new ones."""
        clashing = [str(row["id"]) for job_int, row in self.jobs.items()
                    if job_int not in self.mine or row["status"] is JobStatus.cancelled]
        if not clashing:
            return
        table = SyncConflict.__table__
        # Rare (a clash): a plain statement. Locked, so an office settlement cannot race the merge.
        for row in self.session.connection().execute(select(
                table.c.id, table.c.record_id, table.c.kind, table.c.fields, table.c.op_id, table.c.device_id,
                table.c.base_version, table.c.version, table.c.created_at).where(
                table.c.table_name == "jobs", table.c.record_id.in_(clashing),
                table.c.technician_id == self.pusher.technician_id, table.c.status == "open",
                table.c.kind.in_(("cancelled_while_worked", "reassigned_while_worked")))
                .order_by(table.c.created_at, table.c.id).with_for_update()):
            (conflict_id, record_id, kind, fields, op_id, device_id, base_version, version, created_at) = row
            draft = ConflictDraft(table="jobs", record_id=str(record_id), kind=kind, fields=dict(fields or {}),
                                  op_id=op_id, device_id=device_id, technician_id=self.pusher.technician_id,
                                  base_version=base_version, version=version, created_at=created_at,
                                  id=conflict_id)
            draft.stored = True
            self.episodes.setdefault((draft.record_id, kind), draft)

    def _load_field_versions(self, keys: list[tuple[str, str]]) -> None:
        by_table = {table: [] for table in _VERSIONED}
        for table, rid in keys:
            if table in by_table:
                by_table[table].append(rid)
        if not any(by_table.values()):
            return
        for table, rid, versions in _FIELD_VERSIONS.rows(self.session.connection(), **by_table):
            self.field_versions[(table, rid)] = dict(versions or {})

    # ---- applying ----------------------------------------------------------
    def apply(self, op: Operation) -> dict:
        spec = registry.TABLES.get(op.table)
        if spec is None or not spec.actions:
            raise _Rejected("unknown_table", f"{op.table!r} cannot be written from a device",
                            {"table": ["Writable: " + ", ".join(sorted(t.name for t in registry.TABLES.values()
                                                                        if t.actions)) + "."]})
        if op.action not in spec.actions:
            raise _Rejected("action_not_allowed", f"{op.table} only take: {', '.join(sorted(spec.actions))}"
                            + (" (facts only add)" if spec.fact else ""))
        values, refused = self._parse(spec, op)
        if op.action == CREATE:
            return self._create(spec, op, values)
        if op.action == UPDATE:
            return self._update(spec, op, values, refused)
        return self._delete(spec, op)

    def _parse(self, spec: registry.SyncTable, op: Operation) -> tuple[dict, dict]:
        """The op's values, and (updates) the fields it may not write: those are
        refused while the rest applies, never taking a valid field down with them."""
        errors, values, refused = {}, {}, {}
        writable = spec.writable
        updating = op.action == UPDATE
        for name, raw in op.fields.items():
            parser = writable.get(name)
            if parser is None:
                (refused if updating else errors)[name] = ["Not writable from a device."]
                continue
            if updating and name in spec.create_only:
                refused[name] = ["Set on create only."]
                continue
            try:
                values[name] = parser(raw)
            except FieldError as exc:
                errors[name] = [str(exc)]
        if op.action == CREATE and not values.keys() >= spec.required:
            for name in spec.required - set(values):
                errors.setdefault(name, ["Required."])
        if errors:
            raise _Rejected("validation_error", "some fields are invalid", errors)
        if refused and not values:
            raise _Rejected("not_writable", "none of these fields may be written from a device", refused)
        return values, refused

    def _job_for(self, job_id) -> dict:
        # By the UUID's int: its hash and equality are C's, a UUID's are Python's.
        job = self.jobs.get(job_id.int) if type(job_id) is uuid.UUID else self.rows.get(("jobs", str(job_id)))
        # Another technician's job answers exactly as an unknown one (REST's 404): a push never
        # tells a device that a record it may not see exists.
        if job is None or (job["id"].int not in self.mine and str(job["id"]) not in self.former):
            raise _Rejected("not_found", "no such job", {"job_id": ["Unknown job."]})
        return job

    def _create(self, spec, op, values) -> dict:
        name = spec.name
        key = (name, op.record_id)
        if key in self.deleted:
            raise _Rejected("record_deleted", "a record with this id was deleted; a deleted id stays deleted "
                            "(make a new id)")
        if key in self.exists or key in self.rows:
            raise _Rejected("already_exists", "a record with this id exists already")
        row = dict.fromkeys(spec.column_names)
        row["id"] = op.record_id  # the canonical text: the bulk writers take it for a UUID column
        job = None
        if name == "check_ins":
            row["technician_id"] = self.pusher.technician_id
            row["received_at"] = self.now
            if values.get("job_id") is not None:
                job = self._job_for(values["job_id"])
        else:
            job = self._job_for(values["job_id"])
        row.update(values)
        for column, make in _DEFAULTS[name]:
            if row[column] is None and column not in values:
                row[column] = make()
        if name == "part_usages":
            if str(values["part_id"]) not in self.parts:
                raise _Rejected("not_found", "no such part", {"part_id": ["Unknown part."]})
            if values.get("location_id") is None:
                if self.pusher.van_location_id is None:
                    raise _Rejected("validation_error", "you have no van: say which location the part came from",
                                    {"location_id": ["Required: no van."]})
                row["location_id"] = self.pusher.van_location_id
            elif str(values["location_id"]) not in self.locations:
                raise _Rejected("not_found", "no such stock location", {"location_id": ["Unknown location."]})
            # The ledger's rule (docs/stock.md): judged from the asset; the device's flag only where
            # the job has no asset to judge by.
            judged = self.warranty.get(job["id"])
            row["under_warranty"] = judged if judged is not None else bool(values.get("under_warranty"))
            row["serial_numbers"] = values.get("serial_numbers") or []
            row["created_at"] = self.now
            self.usages.append(row)
        elif name == "photos":
            row["kind"] = values.get("kind") or "other"
            row["created_at"] = self.now
        elif name == "signatures":
            row["received_at"] = self.now
            self.signed.add(str(job["id"]))
        elif name == "check_ins":
            self.last_check_in = row
        elif name == "job_expenses":
            # Who recorded it and when the server took it; when it was spent is the device's (default: now).
            row["recorded_by_user_id"] = self.pusher.user_id
            row["recorded_at"] = self.now
            if values.get("incurred_at") is None:
                row["incurred_at"] = self.now
        if spec.versioned:
            row["version"] = 1
            row["created_at"] = row["updated_at"] = self.now
            versions = dict.fromkeys(spec.field_names, self.created_by_device)
        else:
            versions = None
        self.rows[key] = row
        self.inserts[name][op.record_id] = row
        self.field_versions[key] = versions or {}
        # Facts come back to the device with what the server added (receipt
        # time, van, warranty); they can never be deleted, so nothing is
        # resurrected. Other records are exactly what the device sent.
        self._log(spec, op.record_id, row, origin=None if spec.fact and not self.pusher.own_facts
                  else self.pusher.device_id, versions=versions)
        outcome = {"op_id": op.op_id, "status": APPLIED, "table": name, "id": op.record_id,
                   "version": row.get("version") or 1}
        if job is not None and job["id"].int not in self.mine:
            # Work on a job that left this technician: kept, and the dispatcher told (sync.scope.former_jobs).
            outcome.update(status=MERGED, conflict_id=str(self._former_work(job, op).id))
            if spec.scope == "job":
                # It stays with the job, not on their device, which no longer has the job: a scope exit
                # tombstones it there (check-ins are the technician's own and stay).
                self.orphans.append((self.pusher.technician_id, name, op.record_id))
        return outcome

    def _former_work(self, job: dict, op: Operation) -> ConflictDraft:
        """What a former technician creates on a job (parts used, photos, ...) joins the job's one
        ``reassigned_while_worked`` conflict of this hand-over."""
        return self._episode(job, "reassigned_while_worked", op, {})

    def _episode(self, job: dict, kind: str, op: Operation, fields: dict) -> ConflictDraft:
        """The one conflict of this clash (job, kind, this technician, still open), with ``fields`` merged
        in: each field keeps the server's value from when the clash was first recorded and takes the
        device's latest value, so the conflict lists the device's final state."""
        key = (str(job["id"]), kind)
        draft = self.episodes.get(key)
        if draft is None:
            draft = ConflictDraft(table="jobs", record_id=key[0], kind=kind, fields={}, op_id=op.op_id,
                                  device_id=self.pusher.device_id, technician_id=self.pusher.technician_id,
                                  base_version=op.base_version, version=job["version"], created_at=self.now)
            self.episodes[key] = draft
            self.conflicts.append(draft)
        elif draft.stored and draft not in self.conflicts:
            draft.fields = {name: dict(side) for name, side in draft.fields.items()}
            self.conflicts.append(draft)
        if kind == "reassigned_while_worked" and "technician_id" not in draft.fields:
            draft.fields["technician_id"] = {"server": to_wire(job["technician_id"]),
                                             "device": to_wire(self.pusher.technician_id), "kept": SERVER}
        for name, side in fields.items():
            earlier = draft.fields.get(name)
            draft.fields[name] = side if earlier is None else {**side, "server": earlier["server"]}
        draft.version = job["version"]
        draft.device_id = self.pusher.device_id
        return draft

    def _existing(self, spec, op) -> dict:
        key = (spec.name, op.record_id)
        if key in self.deleted:
            raise _Rejected("record_deleted", "this record has been deleted")
        row = self.rows.get(key)
        try:
            if row is None:
                raise _Rejected("not_found", "no such record")
            self._job_for(row["id"] if spec.name == "jobs" else row["job_id"])
        except _Rejected:
            raise _Rejected("not_found", "no such record") from None  # unknown and not yours: one answer
        if op.base_version > row["version"]:
            raise _Rejected("invalid_base_version",
                            f"base_version {op.base_version} is ahead of the server's {row['version']}",
                            {"base_version": [f"At most {row['version']}."]})
        return row

    def _update(self, spec, op, values, refused=None) -> dict:
        row = self._existing(spec, op)
        key = (spec.name, op.record_id)
        versions = self.field_versions.setdefault(key, {})
        before_version = row["version"]
        changes: dict = {}
        lost: dict = {}
        kind = None
        is_job = spec.name == "jobs"
        former = is_job and row["technician_id"] != self.pusher.technician_id
        cancelled = is_job and row["status"] is JobStatus.cancelled
        for name, value in values.items():
            current = row.get(name)
            if current == value:
                continue
            if former or (cancelled and name == "status"):
                # On-site facts follow the technician who holds the job: a former holder's values never
                # replace the current holder's, and the dispatcher's cancellation stands. The device's
                # values go to the conflict record for a dispatcher to decide.
                lost[name] = {"server": to_wire(current), "device": to_wire(value), "kept": SERVER}
                continue
            seen = versions.get(name)
            server_changed = bool(seen) and seen[0] > op.base_version and seen[1] != self.device
            if not server_changed:
                changes[name] = value
                if cancelled:  # the work done on a cancelled job is kept, and listed in its conflict
                    lost[name] = {"server": to_wire(current), "device": to_wire(value), "kept": DEVICE}
                continue
            winner = spec.owner(name)
            lost[name] = {"server": to_wire(current), "device": to_wire(value), "kept": winner}
            if winner == DEVICE:
                changes[name] = value
        if is_job and changes.get("status") is JobStatus.completed and str(row["id"]) not in self.signed \
                and changes.get("no_signature_reason", row.get("no_signature_reason")) is None:
            # The work report procedure: no completion without the customer's signature (in this push or an
            # earlier one) or a recorded reason it is missing.
            from server.jobs.service import SIGNOFF_MESSAGE, SIGNOFF_REQUIRED

            raise _Rejected(SIGNOFF_REQUIRED, SIGNOFF_MESSAGE,
                            {"status": ["Needs a signature or no_signature_reason."]})
        if former:
            kind = "reassigned_while_worked"
        elif cancelled and (changes or lost):
            kind = "cancelled_while_worked"
        elif lost:
            kind = "field_conflict"
        if changes:
            row.update(changes)
            row["version"] = before_version + 1
            row["updated_at"] = self.now
            for name in changes:
                versions[name] = [row["version"], self.device]
            if op.record_id in self.inserts[spec.name]:
                pass  # created in this batch: the insert carries the final state
            else:
                self.updates[spec.name].setdefault(op.record_id, set()).update(changes, {"version", "updated_at"})
        # Refused fields: the device's copy holds values the server does not, so
        # the record goes back to it (a change not marked as its own).
        plain = not lost and kind is None and op.base_version == before_version and not refused
        # Applied over changes the device has not seen: its copy is not the
        # server's new version, so it keeps its base version; the merged record
        # reaches it on the next pull (it is not marked as the device's own write).
        outcome = {"op_id": op.op_id, "status": APPLIED, "table": spec.name, "id": op.record_id,
                   "version": row["version"] if plain else op.base_version}
        self._log(spec, op.record_id, row, origin=self.pusher.device_id if plain else None, versions=versions)
        if refused:
            outcome["refused"] = refused
        if kind == "field_conflict":
            draft = ConflictDraft(table=spec.name, record_id=op.record_id, kind=kind, fields=lost, op_id=op.op_id,
                                  device_id=self.pusher.device_id, technician_id=self.pusher.technician_id,
                                  base_version=op.base_version, version=row["version"], created_at=self.now)
            self.conflicts.append(draft)
            outcome.update(status=MERGED, conflict_id=str(draft.id))
        elif kind is not None:
            draft = self._episode(row, kind, op, lost)
            outcome.update(status=MERGED, conflict_id=str(draft.id))
        return outcome

    def _delete(self, spec, op) -> dict:
        row = self._existing(spec, op)
        key = (spec.name, op.record_id)
        self.deleted.add(key)
        del self.rows[key]
        self.updates[spec.name].pop(op.record_id, None)
        if self.inserts[spec.name].pop(op.record_id, None) is not None:
            self.changes.pop(key, None)  # never reached the database: nothing to tell anyone
            return {"op_id": op.op_id, "status": APPLIED, "table": spec.name, "id": op.record_id,
                    "version": row["version"] + 1}
        self.deletes[spec.name].add(op.record_id)
        version = row["version"] + 1
        self.changes[key] = changelog.Pending(
            spec.name, op.record_id, deleted=True, origin=self.pusher.device_id, version=version,
            scope=(row.get("job_id"), None, None), field_versions=self.field_versions.get(key), complete=True)
        return {"op_id": op.op_id, "status": APPLIED, "table": spec.name, "id": op.record_id,
                "version": version}

    def _log(self, spec, record_id, row, *, origin, versions) -> None:
        scope_value = row.get(spec.scope_column) if spec.scope_column else None
        scope = (scope_value if spec.scope == "job" else None, None,
                 scope_value if spec.scope == "technician" else None)
        self.changes[(spec.name, record_id)] = changelog.Pending(
            spec.name, record_id, origin=origin, version=row.get("version") or 1, scope=scope,
            field_versions=dict(versions) if versions else None, complete=True)

    # ---- writing -----------------------------------------------------------
    def write(self) -> None:
        session = self.session
        connection = session.connection()  # Core executemany: the change log is written by us, below
        for table, rows in self.inserts.items():
            bulk_insert(connection, registry.TABLES[table].table, list(rows.values()))
        for table, records in self.updates.items():
            groups: dict[tuple, list[dict]] = defaultdict(list)
            for record_id, columns in records.items():
                row = self.rows[(table, record_id)]
                names = tuple(sorted(columns))
                groups[names].append({"id": row["id"], **{c: row[c] for c in names}})
            for rows in groups.values():
                bulk_update(connection, registry.TABLES[table].table, rows)
        for table, record_ids in self.deletes.items():
            if record_ids:
                spec = registry.TABLES[table]
                connection.execute(delete(spec.table).where(spec.table.c.id.in_([uuid.UUID(r) for r in record_ids])))
        facts.consume(session, self.usages, at=self.now, warranty=self.warranty)
        if self.last_check_in is not None:
            # Ordered by when the server received it, never by the device's clock.
            _MOVE_TECHNICIAN.run(connection, id=self.pusher.technician_id, latitude=self.last_check_in["latitude"],
                                 longitude=self.last_check_in["longitude"], at=self.now)
        if self.conflicts:
            from sync.models import SyncConflict

            table = SyncConflict.__table__
            bulk_insert(connection, table, [c.row() for c in self.conflicts if not c.stored])
            for draft in self.conflicts:
                if draft.stored:  # an open conflict of the same clash, now with this push's work
                    connection.execute(table.update().where(table.c.id == draft.id).values(
                        fields=draft.fields, version=draft.version, device_id=draft.device_id))
        changelog.record_complete(session, self.changes)
        if self.orphans:
            changelog.exit_scope(session, [o for o in self.orphans if (o[1], o[2]) in self.changes])

    def missing_blobs(self, ops: list[Operation]) -> list[str]:
        wanted = set()
        for op in ops:
            spec = registry.TABLES.get(op.table)
            if spec is None or not spec.blob_fields or not isinstance(op.fields, dict):
                continue
            for name in spec.blob_fields:
                value = op.fields.get(name)
                if isinstance(value, str) and len(value) == 64:
                    wanted.add(value)
        if not wanted:
            return []
        present = {sha for (sha,) in _BLOBS.rows(self.session.connection(), ids=sorted(wanted))}
        return sorted(wanted - present)




# ---- the batch's reads, compiled once per dialect ---------------------------------------

_CREATABLE = tuple(name for name, spec in registry.TABLES.items() if CREATE in spec.actions)
_DELETABLE = registry.CREATED_AND_DELETED
# Python-side column defaults a created row still needs (the push sets ids,
# versions and its own timestamps itself).
_DEFAULTS = {name: tuple((column, make) for column, make in spec.column_defaults
                         if column not in ("id", "version", "created_at", "updated_at", "received_at"))
             for name, spec in registry.TABLES.items()}
_VERSIONED = tuple(name for name, spec in registry.TABLES.items() if spec.actions and spec.versioned)


def _existing_keys(dialect):
    """Which of the ids a batch creates exist already: every creatable table in one statement."""
    return union_all(*(
        select(literal_column(f"'{name}'"), registry.TABLES[name].table.c.id)
        .where(in_param(registry.TABLES[name].table.c.id, name, dialect)) for name in _CREATABLE))


def _deleted_keys(dialect):
    """Which of the ids a batch creates were deleted: their tombstones in the change log."""
    changes = SyncChange.__table__
    return union_all(*(
        select(changes.c.table_name, changes.c.record_id)
        .where(changes.c.table_name == literal_column(f"'{name}'"), in_param(changes.c.record_id, name, dialect),
               changes.c.deleted.is_(True))
        for name in _DELETABLE))


def _field_versions(dialect):
    changes = SyncChange.__table__
    return union_all(*(
        select(changes.c.table_name, changes.c.record_id, changes.c.field_versions)
        .where(changes.c.table_name == literal_column(f"'{name}'"), in_param(changes.c.record_id, name, dialect))
        for name in _VERSIONED))


def _whole_rows_query(spec: registry.SyncTable) -> CompiledQuery:
    # In key order, locked where the database can: two batches locking the same rows cannot deadlock.
    return CompiledQuery(lambda dialect: select(spec.table).where(in_param(spec.table.c.id, "ids", dialect))
                 .order_by(spec.table.c.id).with_for_update())


_EXISTING = CompiledQuery(_existing_keys)
_SIGNED = CompiledQuery(lambda dialect: select(Signature.__table__.c.job_id).where(
    in_param(Signature.__table__.c.job_id, "ids", dialect)).distinct())
_DELETED = CompiledQuery(_deleted_keys)
# What the batch needs of a job it only names (its facts, its adjustments): not the whole row.
_JOB_FACTS_COLUMNS = ("id", "technician_id", "status", "version")
_JOB_FACTS = CompiledQuery(lambda dialect: select(*(Job.__table__.c[name] for name in _JOB_FACTS_COLUMNS)).where(
    in_param(Job.__table__.c.id, "ids", dialect)).order_by(Job.__table__.c.id).with_for_update())
_technicians = Technician.__table__
_MOVE_TECHNICIAN = CompiledQuery(lambda dialect: _technicians.update().where(
    _technicians.c.id == bindparam("id")).values(
    last_latitude=bindparam("latitude"), last_longitude=bindparam("longitude"), last_position_at=bindparam("at"),
    version=_technicians.c.version + 1))
_FIELD_VERSIONS = CompiledQuery(_field_versions)

_WHOLE = {name: _whole_rows_query(spec) for name, spec in registry.TABLES.items() if spec.actions}
_PARTS = CompiledQuery(lambda dialect: select(Part.__table__.c.id).where(in_param(Part.__table__.c.id, "ids", dialect)))
_LOCATIONS = CompiledQuery(lambda dialect: select(StockLocation.__table__.c.id).where(
    in_param(StockLocation.__table__.c.id, "ids", dialect),
    (StockLocation.__table__.c.kind != LocationKind.van) | (StockLocation.__table__.c.id == bindparam("van"))))
_BLOBS = CompiledQuery(lambda dialect: select(Blob.__table__.c.sha256).where(in_param(Blob.__table__.c.sha256, "ids",
                                                                                dialect)))


def _whole_rows(connection, spec: registry.SyncTable, record_ids) -> list[dict]:
    """Whole rows of these records, as dicts of column values."""
    keys = _uuids(record_ids)
    if not keys:
        return []
    names = spec.column_names
    return [dict(zip(names, row, strict=True)) for row in _WHOLE[spec.name].rows(connection, ids=keys)]


def _uuid_text(value) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None
