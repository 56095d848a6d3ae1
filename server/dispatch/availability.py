"""Who may be dispatched: the hard filters, each with a reason when it fails.

A technician is available for a ticket when they are

* certified (持证上岗) for the asset's product line, valid on the visit date
  (the local date of their estimated arrival);
* on shift now, or starting a shift early enough to reach the site before the
  ticket's on-site deadline — shifts are weekly local-time windows in the
  technician's own time zone, leave is cut out of them;
* not on leave at the time they would set off;
* under their limit of open jobs.

Facts are loaded in bulk for a batch of technicians (a few queries, whatever
the batch size); the decision itself is plain Python, so the SQLite and
PostgreSQL paths decide identically.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from sqlalchemy import Integer, Text, Time, bindparam, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from server.bulk import in_param
from server.jobs.models import Job, JobStatus
from server.technicians.models import Certification, OnCallPeriod, ShiftException, ShiftSlot, Technician

# Jobs that still hold a technician: everything not finished or cancelled
# (an incomplete job waits for a second visit).
OPEN_JOB_STATUSES = (JobStatus.assigned, JobStatus.accepted, JobStatus.en_route, JobStatus.on_site,
                     JobStatus.incomplete)
UTC_ZONE = ZoneInfo("UTC")  # for unknown zones
# The same, written into the SQL of the searches (constants of the code; SQLAlchemy's
# Enum stores the names): an IN list of bound values is re-rendered by SQLAlchemy on
# every execution.
_OPEN_STATUS_LITERALS = tuple(literal_column(f"'{status.name}'") for status in OPEN_JOB_STATUSES)


@dataclass(frozen=True)
class Reason:
    code: str  # not_certified, certification_expired, off_shift, on_leave, overloaded
    message: str


class Cert(NamedTuple):
    certified_on: date
    expires_on: date


class Slot(NamedTuple):
    weekday: int
    starts: time
    ends: time


class Leave(NamedTuple):
    starts_at: datetime
    ends_at: datetime


@dataclass
class TechnicianFacts:
    """Plain rows (no ORM identity): a candidates query reads hundreds of them."""

    technician: Any  # a row of the technicians table
    certifications: list = field(default_factory=list)  # rows: product_line, certified_on, expires_on
    shifts: list = field(default_factory=list)  # rows: weekday, starts, ends
    leaves: list = field(default_factory=list)  # rows: starts_at, ends_at
    open_jobs: int = 0
    # On-call duty (Leave-like spans). Loaded by :func:`load_facts`; the spatial
    # search leaves it empty and ranking reads it for those it lists (:func:`on_call_spans`).
    on_call: list = field(default_factory=list)


@dataclass(frozen=True)
class Availability:
    available: bool
    reasons: tuple[Reason, ...]
    departs_at: datetime | None  # earliest moment on shift and off leave, from now
    on_shift_now: bool
    arrival_at: datetime | None
    visit_date: date


def open_jobs_count(session: Session, technician_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    ids = list(technician_ids)
    if not ids:
        return {}
    # Only technician_id in WHERE: the planner then takes its index, never the
    # status index (which would visit every open job of the whole fleet).
    open_ = func.sum(case((Job.status.in_(OPEN_JOB_STATUSES), 1), else_=0))
    rows = session.execute(select(Job.technician_id, open_).where(Job.technician_id.in_(ids))
                           .group_by(Job.technician_id))
    return {technician_id: int(count or 0) for technician_id, count in rows}


def load_facts(session: Session, technician_ids: Iterable[uuid.UUID], *, product_line: str,
               window_start: datetime, window_end: datetime) -> dict[uuid.UUID, TechnicianFacts]:
    """Everything the filters need, for many technicians, in five queries."""
    ids = list(dict.fromkeys(technician_ids))
    if not ids:
        return {}
    technicians, certifications = Technician.__table__, Certification.__table__
    slots, leaves = ShiftSlot.__table__, ShiftException.__table__
    facts = {t.id: TechnicianFacts(t) for t in session.execute(select(technicians)
                                                                .where(technicians.c.id.in_(ids)))}
    for cert in session.execute(select(certifications).where(certifications.c.technician_id.in_(ids),
                                                             certifications.c.product_line == product_line)):
        facts[cert.technician_id].certifications.append(Cert(cert.certified_on, cert.expires_on))
    for slot in session.execute(select(slots.c.technician_id, slots.c.weekday, slots.c.starts, slots.c.ends)
                                .where(slots.c.technician_id.in_(ids))):
        facts[slot.technician_id].shifts.append(Slot(slot.weekday, slot.starts, slot.ends))
    for leave in session.execute(select(leaves.c.technician_id, leaves.c.starts_at, leaves.c.ends_at)
                                 .where(leaves.c.technician_id.in_(ids), leaves.c.ends_at > window_start,
                                        leaves.c.starts_at < window_end)):
        facts[leave.technician_id].leaves.append(Leave(leave.starts_at, leave.ends_at))
    for technician_id, count in open_jobs_count(session, ids).items():
        facts[technician_id].open_jobs = count
    for technician_id, spans in on_call_spans(session, ids, window_start, window_end).items():
        facts[technician_id].on_call = spans
    return facts


def on_call_spans(session: Session, technician_ids: Iterable[uuid.UUID], window_start: datetime,
                  window_end: datetime) -> dict[uuid.UUID, list[Leave]]:
    """On-call duty overlapping the window, by technician, in one query."""
    ids = list(dict.fromkeys(technician_ids))
    if not ids:
        return {}
    found: dict[uuid.UUID, list[Leave]] = {}
    if session.autoflush:
        session.flush()  # as the ORM would before reading
    rows = session.connection().execute(_on_call_statement(session.get_bind().dialect),
                                        {"on_call_ids": ids, "on_call_from": window_start,
                                         "on_call_until": window_end})
    for technician_id, starts_at, ends_at in rows:
        found.setdefault(_uuid(technician_id), []).append(Leave(starts_at, ends_at))
    return found


@functools.lru_cache(maxsize=4)
def _on_call_statement_for(dialect_name: str, dialect):
    periods = OnCallPeriod.__table__
    return (select(periods.c.technician_id, periods.c.starts_at, periods.c.ends_at)
            .where(in_param(periods.c.technician_id, "on_call_ids", dialect),
                   periods.c.ends_at > bindparam("on_call_from", type_=periods.c.ends_at.type),
                   periods.c.starts_at < bindparam("on_call_until", type_=periods.c.starts_at.type)))


def _on_call_statement(dialect):
    """Built once per engine; the ids bound as one parameter (server.bulk), so a
    list of any length reuses the statement (and PostgreSQL its prepared plan)."""
    return _on_call_statement_for(dialect.name, dialect)


def on_call_at(facts: TechnicianFacts, moment: datetime) -> bool:
    return any(span.starts_at <= moment < span.ends_at for span in facts.on_call)


# --- the same facts as columns of the spatial search (one round trip) ---------------------------------------------

TECHNICIAN_FIELDS = ("id", "name", "timezone", "max_open_jobs", "van_location_id", "last_latitude",
                     "last_longitude", "last_position_at", "home_latitude", "home_longitude")


def json_rows(dialect: str, *columns):
    """A JSON array of arrays, one per row, as text: json_agg on PostgreSQL,
    json_group_array on SQLite. Text, so that the driver does not decode every
    row fetched; :func:`json_list` decodes those that are read (orjson).

    On PostgreSQL, rows of integers and times only are written by
    concatenation: json_build_array looks up how to write each value's type on
    every call, and a technician's weekly slots (six rows) cost a candidates
    query half a millisecond that way. Same JSON (NULL for no row), less spacing."""
    if dialect == "postgresql":
        if all(isinstance(c.type, (Integer, Time)) for c in columns):
            def sql(text):
                return literal_column(f"'{text}'", Text)

            # A time as a JSON string: "08:00:00" (digits, colons, a dot).
            values = [cast(c, Text) if isinstance(c.type, Integer) else sql('"') + cast(c, Text) + sql('"')
                      for c in columns]
            row = sql("[") + values[0]
            for value in values[1:]:
                row = row + sql(",") + value
            return sql("[") + func.string_agg(row + sql("]"), sql(",")) + sql("]")
        return cast(func.json_agg(func.json_build_array(*columns)), Text)
    return func.json_group_array(func.json_array(*columns))


def fact_columns(dialect: str, *, product_line, window_start, window_end) -> list:
    """Correlated subqueries on ``technicians`` that carry every fact the filters
    need, so the spatial search returns them with each technician it finds."""
    certifications, slots, leaves = Certification.__table__, ShiftSlot.__table__, ShiftException.__table__
    technicians = Technician.__table__
    return [
        *(technicians.c[name] for name in TECHNICIAN_FIELDS),
        select(json_rows(dialect, certifications.c.certified_on, certifications.c.expires_on))
        .where(certifications.c.technician_id == technicians.c.id,
               certifications.c.product_line == product_line).scalar_subquery(),
        select(json_rows(dialect, slots.c.weekday, slots.c.starts, slots.c.ends))
        .where(slots.c.technician_id == technicians.c.id).scalar_subquery(),
        select(json_rows(dialect, leaves.c.starts_at, leaves.c.ends_at))
        .where(leaves.c.technician_id == technicians.c.id, leaves.c.ends_at > window_start,
               leaves.c.starts_at < window_end).scalar_subquery(),
        select(func.count()).select_from(Job.__table__)
        .where(Job.technician_id == technicians.c.id, Job.status.in_(_OPEN_STATUS_LITERALS)).scalar_subquery(),
    ]


@dataclass
class TechnicianRecord:
    id: uuid.UUID
    name: str
    timezone: str
    max_open_jobs: int
    van_location_id: uuid.UUID | None
    last_latitude: float | None
    last_longitude: float | None
    last_position_at: datetime | None
    home_latitude: float
    home_longitude: float


def json_list(value) -> list:
    if value is None:
        return []
    rows = orjson.loads(value) if isinstance(value, (str, bytes)) else value
    return [r for r in rows if r is not None and any(v is not None for v in r)]


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _uuid(value):
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _certs(value) -> list[Cert]:
    return [Cert(date.fromisoformat(a[:10]), date.fromisoformat(b[:10])) for a, b in json_list(value)]


def _slots(value) -> tuple[Slot, ...]:
    return tuple(Slot(int(w), time.fromisoformat(a), time.fromisoformat(b)) for w, a, b in json_list(value))


# The same JSON text always reads back the same: technicians share a few weekly
# patterns and certification dates, so most of a query's texts were read before.
# (Immutable results only: the certifications are copied into each technician's list.)
@functools.lru_cache(maxsize=4096)
def _cached_certs(text) -> tuple[Cert, ...]:
    return tuple(_certs(text))


_cached_slots = functools.lru_cache(maxsize=4096)(_slots)


def facts_from_columns(extra: tuple) -> TechnicianFacts:
    """Read back what :func:`fact_columns` selected."""
    n = len(TECHNICIAN_FIELDS)
    fields = dict(zip(TECHNICIAN_FIELDS, extra[:n], strict=True))
    fields["id"], fields["van_location_id"] = _uuid(fields["id"]), _uuid(fields["van_location_id"])
    certs, shifts, leaves, open_jobs = extra[n:]
    texts = isinstance(certs, (str, bytes, type(None))) and isinstance(shifts, (str, bytes, type(None)))
    return TechnicianFacts(
        TechnicianRecord(**fields),
        certifications=list(_cached_certs(certs)) if texts else _certs(certs),
        shifts=_cached_slots(shifts) if texts else _slots(shifts),
        leaves=[Leave(_instant(a), _instant(b)) for a, b in json_list(leaves)],
        open_jobs=int(open_jobs or 0),
    )


def zone_of(technician) -> ZoneInfo:
    try:
        return ZoneInfo(technician.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE


def shift_windows(slots: Iterable, zone: ZoneInfo, start: datetime, end: datetime):
    """The weekly slots as UTC intervals overlapping [start, end], in order of start.

    Lazy, day by day: finding the first free moment usually needs one day.
    A slot ending at or before it starts runs past midnight; one ending at
    23:59 or later runs to midnight (a "whole day" written as 00:00-23:59).
    """
    by_weekday: dict[int, list] = {}
    for slot in slots:
        by_weekday.setdefault(slot.weekday, []).append(slot)
    if not by_weekday:
        return
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        windows = []
        for slot in by_weekday.get(day.weekday(), ()):
            begins = datetime.combine(day, slot.starts, zone)
            if slot.ends >= time(23, 59):
                ends = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
            elif slot.ends <= slot.starts:
                ends = datetime.combine(day + timedelta(days=1), slot.ends, zone)
            else:
                ends = datetime.combine(day, slot.ends, zone)
            begins, ends = begins.astimezone(UTC), ends.astimezone(UTC)
            if ends > start and begins <= end:
                windows.append((begins, ends))
        yield from sorted(windows)
        day += timedelta(days=1)


def earliest_free(windows, leaves, now: datetime, horizon: datetime) -> datetime | None:
    """The first moment at or after ``now`` (and not after ``horizon``) inside a
    shift window and outside every leave."""
    spans = sorted((leave.starts_at, leave.ends_at) for leave in leaves)
    for begins, ends in windows:
        if begins > horizon:
            return None
        moment = max(begins, now)
        moved = True
        while moved:
            moved = False
            for leave_start, leave_end in spans:
                if leave_start <= moment < leave_end:
                    moment, moved = leave_end, True
        if moment < ends and moment <= horizon:
            return moment
    return None


def assess(facts: TechnicianFacts, *, product_line: str, now: datetime, due: datetime,
           travel: timedelta, windows_cache: dict | None = None) -> Availability:
    """Apply every filter; all failing ones are reported, not just the first.

    ``windows_cache``: a dict kept by the caller for one ``now`` and ``due`` (one
    query), in which technicians with the same weekly slots in the same time zone
    share their shift windows, worked out once."""
    tech = facts.technician
    zone = zone_of(tech)
    horizon = max(due - travel, now)
    if windows_cache is None:
        def windows():
            return shift_windows(facts.shifts, zone, now, max(due, now))
    else:
        key = (tuple(facts.shifts), zone.key)
        known = windows_cache.get(key)
        if known is None:
            known = windows_cache[key] = (now, due, list(shift_windows(facts.shifts, zone, now, max(due, now))))
        if known[0] != now or known[1] != due:
            raise ValueError("a windows cache serves one now and one due")

        def windows():
            return iter(known[2])

    departs = earliest_free(windows(), facts.leaves, now, horizon)
    on_shift_now = departs == now
    reasons: list[Reason] = []
    if departs is None:
        without_leave = earliest_free(windows(), (), now, horizon)
        if without_leave is not None:
            reasons.append(Reason("on_leave", "on leave until too late to reach the site before the deadline"))
        elif earliest_free(windows(), (), now, max(due, now)) is not None:
            reasons.append(Reason("off_shift", "the next shift starts too late to reach the site by "
                                               f"{due.isoformat()}"))
        else:
            reasons.append(Reason("off_shift", "not on shift before the on-site deadline"))
    arrival = (departs + travel) if departs is not None else None
    visit_date = (arrival or now).astimezone(zone).date()
    if not facts.certifications:
        reasons.append(Reason("not_certified", f"not certified for {product_line}"))
    elif not any(c.certified_on <= visit_date <= c.expires_on for c in facts.certifications):
        latest = max(facts.certifications, key=lambda c: c.expires_on)
        reasons.append(Reason("certification_expired",
                              f"certification for {product_line} is not valid on {visit_date.isoformat()} "
                              f"(valid {latest.certified_on.isoformat()} to {latest.expires_on.isoformat()})"))
    if facts.open_jobs >= tech.max_open_jobs:
        reasons.append(Reason("overloaded", f"{facts.open_jobs} open jobs, limit {tech.max_open_jobs}"))
    return Availability(not reasons, tuple(reasons), departs, on_shift_now, arrival, visit_date)



# --- when nobody can meet the deadline -------------------------------------------------------------------------

# Reasons a dispatcher may override with a recorded reason; a certification never is.
OVERRIDABLE = frozenset({"off_shift", "on_leave", "overloaded"})
LATE_HORIZON = timedelta(days=7)  # how far ahead the next shift is looked for


@dataclass(frozen=True)
class LateOption:
    """The soonest a certified technician could arrive, whatever the deadline:
    set off now (off shift: called out while on call, else as overtime), or
    when their leave ends."""

    departs_at: datetime
    arrival_at: datetime
    flags: tuple[Reason, ...]  # on_call or overtime, on_leave, overloaded
    next_shift_at: datetime | None  # when off shift: the next shift's start (within LATE_HORIZON)
    on_call: bool = False  # on call when setting off

    @property
    def needs_reason(self) -> bool:
        """Whether giving them the job needs an override reason: everything but a
        call-out of someone on call (what the duty is for)."""
        return any(flag.code != "on_call" for flag in self.flags)


def late_option(facts: TechnicianFacts, *, now: datetime, travel: timedelta) -> LateOption:
    zone = zone_of(facts.technician)
    spans = sorted((leave.starts_at, leave.ends_at) for leave in facts.leaves)
    departs, moved = now, True
    while moved:  # leave that covers the moment pushes it to the leave's end (back-to-back leaves chain)
        moved = False
        for starts, ends in spans:
            if starts <= departs < ends:
                departs, moved = ends, True
    flags: list[Reason] = []
    if departs > now:
        flags.append(Reason("on_leave", f"on leave until {departs.isoformat()}"))
    horizon = departs + LATE_HORIZON
    next_shift = earliest_free(shift_windows(facts.shifts, zone, departs, horizon), facts.leaves, departs, horizon)
    on_call = on_call_at(facts, departs)
    if next_shift != departs:
        later = (f" (next shift {next_shift.isoformat()})" if next_shift else " (no shift in the next 7 days)")
        if on_call:
            flags.append(Reason("on_call", "off shift, on call: called out" + later))
        else:
            flags.append(Reason("overtime", "off shift: would work overtime" + later))
    if facts.open_jobs >= facts.technician.max_open_jobs:
        flags.append(Reason("overloaded", f"{facts.open_jobs} open jobs, limit {facts.technician.max_open_jobs}"))
    return LateOption(departs, departs + travel, tuple(flags), next_shift if next_shift != departs else None,
                      on_call)
