"""A technician's scope: their jobs, those jobs' tickets, customers, sites and
assets, the parts catalogue, their van's stock, and the facts of their jobs.

The same rules decide what a technician pulls and what they may push."""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass, field

from sqlalchemy import event, inspect, or_, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.jobs.models import Job
from server.stock.models import SpareUnit, StockLevel
from server.technicians.models import Technician
from server.tickets.models import Ticket
from sync import changelog, registry
from sync.models import SyncChange, SyncFormerJob
from sync.registry import valid_uuids


@dataclass
class Scope:
    technician_id: uuid.UUID
    van_id: uuid.UUID | None
    job_ids: list[uuid.UUID] = field(default_factory=list)
    ticket_ids: list[uuid.UUID] = field(default_factory=list)
    customer_ids: list[uuid.UUID] = field(default_factory=list)
    site_ids: list[uuid.UUID] = field(default_factory=list)
    asset_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def job_ids_text(self) -> set[str]:
        return {str(i) for i in self.job_ids}

    def related_ids(self, table: str) -> set[str]:
        return {str(i) for i in self._related(table)}

    def _related(self, table: str) -> list[uuid.UUID]:
        return {"tickets": self.ticket_ids, "customers": self.customer_ids, "sites": self.site_ids,
                "assets": self.asset_ids}[table]


def technician_scope(session: Session, technician_id: uuid.UUID) -> Scope:
    van_id = session.scalar(select(Technician.van_location_id).where(Technician.id == technician_id))
    scope = Scope(technician_id=technician_id, van_id=van_id)
    rows = session.execute(
        select(Job.id, Ticket.id, Ticket.customer_id, Ticket.site_id, Ticket.asset_id)
        .join(Ticket, Ticket.id == Job.ticket_id)
        .where(Job.technician_id == technician_id)
    ).all()
    tickets, customers, sites, assets = set(), set(), set(), set()
    for job_id, ticket_id, customer_id, site_id, asset_id in rows:
        scope.job_ids.append(job_id)
        tickets.add(ticket_id)
        customers.add(customer_id)
        sites.add(site_id)
        if asset_id is not None:
            assets.add(asset_id)
    # UUIDs in their own order (UUID.__lt__ compares .int), compared as integers in C:
    # the same lists, without a Python-level comparison per pair (a quarter of a pull's time).
    scope.ticket_ids, scope.customer_ids = sorted(tickets, key=_AS_INT), sorted(customers, key=_AS_INT)
    scope.site_ids, scope.asset_ids = sorted(sites, key=_AS_INT), sorted(assets, key=_AS_INT)
    return scope


_AS_INT = operator.attrgetter("int")


def former_jobs(session: Session, technician_id: uuid.UUID, job_ids: list[str]) -> set[str]:
    """Which of these jobs left this technician's hands (reassigned away):
    work done on them offline is still taken, however late it comes (the
    record is never pruned), and a job update raises a conflict."""
    keys = valid_uuids(job_ids)
    if not keys:
        return set()
    return {str(job_id) for job_id in session.scalars(
        select(SyncFormerJob.job_id).where(SyncFormerJob.technician_id == technician_id,
                                           SyncFormerJob.job_id.in_(keys)))}


# ---- scope changes other than a job changing hands ---------------------------------
#
# Caught wherever they are made (ORM or Core through a session) and expanded
# set-wise at commit, from ``changelog.write_pending``:
#
# - a technician's van changes (or is cleared): the new van's stock levels and
#   spare units are re-logged so their devices get them, and scope exits for
#   the old van's;
# - a ticket's customer, site or asset changes, or a job moves to another
#   ticket: the new records are re-logged; the technicians of the ticket's jobs
#   get scope exits for the old ones unless another of their jobs needs them;
# - a spare unit moves out of a van: a scope exit for that van's technician;
# - a job leaves a technician: remembered in ``sync_former_jobs`` (never
#   pruned), so work done on it offline is taken however late it is pushed.

_TICKET_COLUMNS = {"customer_id": "customers", "site_id": "sites", "asset_id": "assets"}


def _queue(session: Session) -> list:
    return session.info.setdefault(changelog.RESCOPES, [])


_UNCHANGED = object()
_CURRENT = object()


def _old(obj, key: str):
    history = inspect(obj).attrs[key].history
    if not history.has_changes():
        return _UNCHANGED
    old = history.deleted[0] if history.deleted else None
    return _UNCHANGED if old == getattr(obj, key) else old


def _capture_flush(session: Session, _context) -> None:
    queue = None
    for obj in session.dirty:
        if isinstance(obj, Technician):
            old = _old(obj, "van_location_id")
            if old is not _UNCHANGED:
                queue = queue if queue is not None else _queue(session)
                queue.append(("van", obj.id, old, obj.van_location_id))
        elif isinstance(obj, Ticket):
            olds = {_TICKET_COLUMNS[k]: v for k in _TICKET_COLUMNS if (v := _old(obj, k)) is not _UNCHANGED}
            if olds:
                queue = queue if queue is not None else _queue(session)
                queue.append(("ticket", obj.id, olds))
        elif isinstance(obj, Job):
            old = _old(obj, "ticket_id")
            if old is not _UNCHANGED:
                queue = queue if queue is not None else _queue(session)
                queue.append(("job_ticket", obj.id, old))


_WATCHED = {"technicians": ("van_location_id",), "tickets": tuple(_TICKET_COLUMNS), "jobs": ("ticket_id",)}


def _capture_statement(state) -> None:
    """Core ``UPDATE technicians/tickets/jobs SET <scope column>`` through a
    session: read the old values of the rows it touches, before it runs."""
    if not state.is_update or state.execution_options.get(changelog.SKIP):
        return None
    table = getattr(state.statement, "table", None)
    watched = _WATCHED.get(getattr(table, "name", None))
    if not watched:
        return None
    params = state.parameters or {}
    many = isinstance(params, list)  # ORM bulk UPDATE by primary key: one dict per row
    if many:
        setting = set().union(*params) if params else set()
    elif getattr(state.statement, "_values", None):
        setting = set(changelog._insert_values(state.statement))
    else:
        setting = set(params)
    columns = [c for c in watched if c in setting]
    if not columns:
        return None
    query = select(table.c.id, *[table.c[c] for c in columns])
    if many:
        query = query.where(table.c.id.in_([p["id"] for p in params if "id" in p]))
    elif state.statement.whereclause is not None:
        query = query.where(state.statement.whereclause)
    rows = state.session.execute(query.execution_options(**{changelog.SKIP: True}), {} if many else params).all()
    queue = _queue(state.session)
    for row in rows:
        if table.name == "technicians":
            queue.append(("van", row[0], row[1], _CURRENT))  # the new value: read at commit
        elif table.name == "tickets":
            queue.append(("ticket", row[0], {_TICKET_COLUMNS[c]: v for c, v in zip(columns, row[1:], strict=True)}))
        else:
            queue.append(("job_ticket", row[0], row[1]))
    return None


def expand_changes(session: Session, buf: dict, exits: list[tuple]) -> list[tuple]:
    """At commit: re-log what entered a scope (queued in ``buf``), and return
    ``exits`` with the scope exits of these changes added. Set-wise: a few
    queries per kind of change, whatever the number of records."""
    queued = session.info.get(changelog.RESCOPES) or []
    session.info[changelog.RESCOPES] = []
    out = list(exits)
    vans = [item for item in queued if item[0] == "van"]
    if vans:
        out.extend(_van_changes(session, buf, vans))
    related = [item for item in queued if item[0] in ("ticket", "job_ticket")]
    if related:
        out.extend(_related_changes(session, buf, related))
    out.extend(_spare_units_leaving_vans(session, buf))
    _remember_former_jobs(session, out)
    return out


def expand_assignments(session: Session, buf: dict, assignments: list[tuple]) -> list[tuple]:
    """Jobs that changed hands, ``(job, old technician, new technician)``: the
    new technician's devices get each job, its facts, ticket, customer, site
    and asset (re-logged, even if logged long before); the old technician's
    get scope exits for the job, its facts and whatever no other job of theirs
    still needs. A few queries for all the jobs together."""
    assignments = [(_as_uuid(job), _as_uuid(old), _as_uuid(new)) for job, old, new in assignments]
    job_ids = sorted({job_id for job_id, _old, _new in assignments})
    related: dict[uuid.UUID, tuple] = {}
    facts: dict[str, list[tuple[str, str]]] = {}
    for start in range(0, len(job_ids), 500):
        chunk = job_ids[start:start + 500]
        for row in session.execute(select(Job.id, Ticket.id, Ticket.customer_id, Ticket.site_id, Ticket.asset_id)
                                   .join(Ticket, Ticket.id == Job.ticket_id).where(Job.id.in_(chunk))):
            related[row[0]] = tuple(row[1:])
        for name in registry.JOB_FACT_TABLES:
            table = registry.TABLES[name].table
            for record_id, job_id in session.execute(select(table.c.id, table.c.job_id)
                                                     .where(table.c.job_id.in_(chunk))):
                facts.setdefault(str(job_id), []).append((name, str(record_id)))
    leaving = sorted({old for _job, old, new in assignments if old is not None and old != new}, key=str)
    jobs_now: dict[uuid.UUID, set[str]] = {}
    for start in range(0, len(leaving), 500):
        for job_id, tech in session.execute(select(Job.id, Job.technician_id)
                                            .where(Job.technician_id.in_(leaving[start:start + 500]))):
            jobs_now.setdefault(tech, set()).add(str(job_id))
    still = _related_in_scope(session, leaving) if leaving else {}
    exits: list[tuple] = []
    for job_id, old, new in assignments:
        job_facts = facts.get(str(job_id), [])
        values = related.get(job_id)
        if new is not None:
            for table, record_id in job_facts:
                _touch(buf, table, record_id)
            _touch(buf, "jobs", str(job_id))
            if values is not None:
                for table, value in zip(registry.RELATED_TABLES, values, strict=True):
                    if value is not None:
                        _touch(buf, table, str(value))
        if old is not None and old != new:
            if str(job_id) not in jobs_now.get(old, ()):
                exits.append((old, "jobs", str(job_id)))
                exits.extend((old, table, record_id) for table, record_id in job_facts)
            if values is not None:
                for table, value in zip(registry.RELATED_TABLES, values, strict=True):
                    if value is not None and str(value) not in still.get((old, table), ()):
                        exits.append((old, table, str(value)))
    return exits


def _as_uuid(value) -> uuid.UUID | None:
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _touch(buf: dict, table: str, record_id: str) -> None:
    """``changelog.touch`` into the very buffer being written (which may not be
    in ``session.info`` when nothing syncable changed: a van, say)."""
    if (table, record_id) not in buf:
        buf[(table, record_id)] = changelog.Pending(table, record_id, fields=set())


def _van_changes(session: Session, buf: dict, queued: list) -> list[tuple]:
    seen: dict[uuid.UUID, set] = {}
    for _kind, tech, old, new in queued:
        seen.setdefault(tech, set()).update((old, new))
    current = dict(session.execute(select(Technician.id, Technician.van_location_id)
                                   .where(Technician.id.in_(list(seen)))).all())
    left: dict[uuid.UUID, set] = {}  # location -> technicians it left
    entered = set()
    for tech, locations in seen.items():
        now = current.get(tech)
        for location in locations - {None, now, _CURRENT}:
            left.setdefault(location, set()).add(tech)
        if now is not None and (now in locations or (_CURRENT in locations and locations - {_CURRENT, now})):
            entered.add(now)
    for table, record_id in _location_records(session, sorted(entered)):
        _touch(buf, table, record_id)
    exits = []
    if left:
        for (table, record_id), location in _location_records(session, sorted(left), with_location=True):
            exits.extend((tech, table, record_id) for tech in sorted(left[location]))
    return exits


def _location_records(session: Session, locations: list, with_location: bool = False):
    """(table, record id) of every stock level and spare unit at these locations."""
    levels = registry.TABLES["stock_levels"]
    for start in range(0, len(locations), 500):
        chunk = locations[start:start + 500]
        for row in session.execute(select(StockLevel.location_id, StockLevel.part_id)
                                   .where(StockLevel.location_id.in_(chunk))).mappings():
            key = ("stock_levels", levels.record_id(row))
            yield (key, row["location_id"]) if with_location else key
        for unit_id, location in session.execute(select(SpareUnit.id, SpareUnit.location_id)
                                                 .where(SpareUnit.location_id.in_(chunk))):
            key = ("spare_units", str(unit_id))
            yield (key, location) if with_location else key


def _related_changes(session: Session, buf: dict, queued: list) -> list[tuple]:
    """Tickets whose customer/site/asset changed, jobs moved to another ticket."""
    ticket_ids = {item[1] for item in queued if item[0] == "ticket"}
    moved_jobs = {item[1]: item[2] for item in queued if item[0] == "job_ticket"}  # job -> old ticket
    ticket_ids |= {t for t in moved_jobs.values() if t is not None}
    holders: dict[uuid.UUID, set] = {}  # ticket -> technicians with a job on it
    job_rows = session.execute(select(Job.id, Job.ticket_id, Job.technician_id).where(
        or_(Job.ticket_id.in_(list(ticket_ids)), Job.id.in_(list(moved_jobs))))).all()
    job_holder = {}
    for job_id, ticket_id, tech in job_rows:
        job_holder[job_id] = (ticket_id, tech)
        if tech is not None:
            holders.setdefault(ticket_id, set()).add(tech)
    ticket_ids |= {ticket_id for ticket_id, _tech in job_holder.values()}
    values = {row[0]: dict(zip(registry.RELATED_TABLES, row, strict=True)) for row in session.execute(
        select(Ticket.id, Ticket.customer_id, Ticket.site_id, Ticket.asset_id)
        .where(Ticket.id.in_(list(ticket_ids)))).all()}
    # What may have left someone's scope: (technician, table, id).
    candidates: set[tuple] = set()
    entering: set[tuple] = set()
    for item in queued:
        if item[0] == "ticket":
            _kind, ticket_id, olds = item
            for table, old in olds.items():
                new = values.get(ticket_id, {}).get(table)
                if new is not None:
                    entering.add((table, str(new)))
                if old is not None:
                    candidates.update((tech, table, str(old)) for tech in holders.get(ticket_id, ()))
        else:
            _kind, job_id, old_ticket = item
            new_ticket, tech = job_holder.get(job_id, (None, None))
            entering.update((t, str(v)) for t, v in values.get(new_ticket, {}).items() if v is not None)
            if tech is not None and old_ticket is not None:
                candidates.update((tech, t, str(v)) for t, v in values.get(old_ticket, {}).items() if v is not None)
    for table, record_id in sorted(entering):
        _touch(buf, table, record_id)
    if not candidates:
        return []
    still = _related_in_scope(session, sorted({tech for tech, _t, _r in candidates}))
    return [c for c in sorted(candidates, key=str) if c[2] not in still.get((c[0], c[1]), ())]


def _related_in_scope(session: Session, technicians: list) -> dict[tuple, set[str]]:
    """{(technician, table): ids} of the tickets, customers, sites and assets
    these technicians' jobs need now: one query for all of them."""
    out: dict[tuple, set[str]] = {}
    for start in range(0, len(technicians), 500):
        for row in session.execute(
            select(Job.technician_id, Ticket.id, Ticket.customer_id, Ticket.site_id, Ticket.asset_id)
            .join(Ticket, Ticket.id == Job.ticket_id).where(Job.technician_id.in_(technicians[start:start + 500]))
        ):
            for table, value in zip(registry.RELATED_TABLES, row[1:], strict=True):
                if value is not None:
                    out.setdefault((row[0], table), set()).add(str(value))
    return out


def _spare_units_leaving_vans(session: Session, buf: dict) -> list[tuple]:
    """Spare units changed in this transaction that were last logged at a van
    they are no longer at: that van's technician gets a scope exit."""
    ids = [rid for (table, rid) in buf if table == "spare_units"]
    if not ids:
        return []
    was: dict[str, uuid.UUID] = {}
    for start in range(0, len(ids), 500):
        was.update(session.execute(
            select(SyncChange.record_id, SyncChange.scope_location)
            .where(SyncChange.table_name == "spare_units", SyncChange.record_id.in_(ids[start:start + 500]),
                   SyncChange.deleted.is_(False), SyncChange.scope_location.is_not(None))
            .execution_options(**{changelog.SKIP: True})).all())
    if not was:
        return []
    now: dict[str, uuid.UUID | None] = {}
    keys = [uuid.UUID(rid) for rid in was]
    for start in range(0, len(keys), 500):
        now.update((str(i), loc) for i, loc in session.execute(
            select(SpareUnit.id, SpareUnit.location_id).where(SpareUnit.id.in_(keys[start:start + 500]))))
    moved = {rid: loc for rid, loc in was.items() if rid in now and now[rid] != loc}  # deleted: a tombstone
    if not moved:
        return []
    vans = dict(session.execute(select(Technician.van_location_id, Technician.id)
                                .where(Technician.van_location_id.in_(sorted(set(moved.values()))))).all())
    return [(vans[loc], "spare_units", rid) for rid, loc in sorted(moved.items()) if loc in vans]


def _remember_former_jobs(session: Session, exits: list[tuple]) -> None:
    """Jobs that left a technician's hands, kept past the exits' retention."""
    rows = {(tech, rid) for tech, table, rid in exits if table == "jobs"}
    if not rows:
        return
    now = utcnow()
    insert = changelog._insert_for(session)(SyncFormerJob.__table__)
    session.execute(
        insert.on_conflict_do_update(index_elements=["technician_id", "job_id"], set_={"left_at": now})
        .execution_options(**{changelog.SKIP: True}),
        [{"technician_id": tech, "job_id": uuid.UUID(rid), "left_at": now} for tech, rid in sorted(rows, key=str)])


_installed = False


def install() -> None:
    """Listen on every SQLAlchemy session (idempotent; done on import, and
    ``changelog`` imports this module)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _capture_flush)
    event.listen(Session, "do_orm_execute", _capture_statement)
    _installed = True


install()
