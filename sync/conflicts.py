"""Conflict records: what both sides changed, what was kept, and settling them.

A conflict is raised when an update names a base version older than the
record's and a field it changes was changed on the server since (by someone
else): the field's owner wins (on-site facts follow the technician;
assignment, schedule, priority and cancellation follow the dispatcher) and
the loser's value is kept here. A job cancelled or reassigned while its
technician worked on it offline raises one per job and clash ("episode"):
every later operation of that technician on the job joins it with the
device's latest values, so settling it with ``keep: device`` applies the
device's final state. A former holder's values never replace the current
holder's: they wait in the conflict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import Conflict, InvalidInput, NotFound
from sync import registry
from sync.models import SyncConflict
from sync.registry import FieldError

OPEN, RESOLVED = "open", "resolved"
# One conflict per job and clash (episode), whatever the number of operations and pushes reporting it.
WHILE_WORKED = ("cancelled_while_worked", "reassigned_while_worked")


@dataclass
class ConflictDraft:
    table: str
    record_id: str
    kind: str
    fields: dict
    op_id: str | uuid.UUID | None
    device_id: uuid.UUID | None
    technician_id: uuid.UUID | None
    base_version: int | None
    version: int | None
    created_at: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    stored: bool = False  # an open conflict read back to join more of the same clash

    def row(self) -> dict:
        return {"id": self.id, "table_name": self.table, "record_id": self.record_id, "kind": self.kind,
                "status": OPEN, "fields": self.fields, "op_id": self.op_id, "device_id": self.device_id,
                "technician_id": self.technician_id, "base_version": self.base_version, "version": self.version,
                "created_at": self.created_at}


def open_conflicts_query(status: str = OPEN):
    stmt = select(SyncConflict)
    if status != "all":
        stmt = stmt.where(SyncConflict.status == status)
    return stmt


# Values a dispatcher may set when settling a job's conflict: the device's
# fields, plus the status the dispatcher decides on.
def _parser(spec: registry.SyncTable, name: str):
    if spec.name == "jobs" and name == "status":
        from server.jobs.models import JobStatus

        return registry._enum(JobStatus, required=True)
    return spec.writable.get(name)


def resolve(session: Session, conflict_id: uuid.UUID, *, keep: str, values: dict | None, by_user_id: uuid.UUID,
            now: datetime, note: str | None = None) -> SyncConflict:
    """Settle a conflict: keep the server's values, the device's, or set values.

    Whatever changes goes through the ORM, so it is versioned and logged and
    reaches the device on its next pull. Never commits.
    """
    conflict = session.get(SyncConflict, conflict_id, with_for_update=True)
    if conflict is None:
        raise NotFound("no such conflict")
    if conflict.status != OPEN:
        raise Conflict("this conflict is settled already", code="conflict_resolved")
    spec = registry.TABLES[conflict.table_name]
    # Fields whose kept side is not the one chosen get the other side's value
    # back; the assignment itself is the dispatcher's to change (reassign).
    if keep == "server" and conflict.kind in WHILE_WORKED:
        # The cancellation or reassignment stands; the work done on site that was kept stays recorded.
        chosen = {}
    elif keep in ("server", "device"):
        # A clash lists the device's final value of every field it changed: keeping the device's side
        # applies its final state (a job finished offline: completed, with its report).
        chosen = {name: side[keep] for name, side in conflict.fields.items()
                  if side.get("kept") != keep and name != "technician_id"}
    else:
        if not values:
            raise InvalidInput("keep=values needs values", details={"fields": {"json": {"values": ["Required."]}}})
        chosen = dict(values)
    parsed, errors = {}, {}
    for name, raw in chosen.items():
        parser = _parser(spec, name)
        if parser is None:
            errors[name] = ["Not a field this conflict can set."]
            continue
        try:
            parsed[name] = parser(raw)
        except FieldError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise InvalidInput("some values are invalid", details={"fields": {"json": {"values": errors}}})
    # Locked: a push racing the settlement cannot compute the same next version.
    record = session.get(spec.model, registry.parse_key(spec, conflict.record_id)["id"], with_for_update=True)
    if record is None and parsed:
        raise NotFound("the record is gone")
    for name, value in parsed.items():
        setattr(record, name, value)
    if spec.name == "jobs" and "status" in parsed:
        from server.jobs.service import require_signoff

        require_signoff(session, record)  # a job completes with sign-off, whichever way
    conflict.status = RESOLVED
    conflict.resolved_at = now
    conflict.resolved_by = by_user_id
    conflict.resolution = {"keep": keep, "values": {k: registry.to_wire(v) for k, v in parsed.items()}}
    conflict.note = note
    session.flush()
    return conflict
