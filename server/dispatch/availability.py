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

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.jobs.models import Job, JobStatus
from server.technicians.models import Certification, ShiftException, ShiftSlot, Technician

# Jobs that still hold a technician: everything not finished or cancelled
# (an incomplete job waits for a second visit).
OPEN_JOB_STATUSES = (JobStatus.assigned, JobStatus.accepted, JobStatus.en_route, JobStatus.on_site,
                     JobStatus.incomplete)
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Reason:
    code: str  # not_certified, certification_expired, off_shift, on_leave, overloaded
    message: str


@dataclass
class TechnicianFacts:
    technician: Technician
    certifications: list[Certification] = field(default_factory=list)
    shifts: list[ShiftSlot] = field(default_factory=list)
    leaves: list[ShiftException] = field(default_factory=list)
    open_jobs: int = 0


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
    rows = session.execute(
        select(Job.technician_id, func.count()).where(Job.technician_id.in_(ids), Job.status.in_(OPEN_JOB_STATUSES))
        .group_by(Job.technician_id)
    )
    return dict(rows.all())


def load_facts(session: Session, technician_ids: Iterable[uuid.UUID], *, product_line: str,
               window_start: datetime, window_end: datetime) -> dict[uuid.UUID, TechnicianFacts]:
    """Everything the filters need, for many technicians, in five queries."""
    ids = list(dict.fromkeys(technician_ids))
    if not ids:
        return {}
    facts = {t.id: TechnicianFacts(t) for t in session.scalars(select(Technician).where(Technician.id.in_(ids)))}
    for cert in session.scalars(select(Certification).where(Certification.technician_id.in_(ids),
                                                            Certification.product_line == product_line)):
        facts[cert.technician_id].certifications.append(cert)
    for slot in session.scalars(select(ShiftSlot).where(ShiftSlot.technician_id.in_(ids))):
        facts[slot.technician_id].shifts.append(slot)
    for leave in session.scalars(select(ShiftException).where(ShiftException.technician_id.in_(ids),
                                                              ShiftException.ends_at > window_start,
                                                              ShiftException.starts_at < window_end)):
        facts[leave.technician_id].leaves.append(leave)
    for technician_id, count in open_jobs_count(session, ids).items():
        facts[technician_id].open_jobs = count
    return facts


def zone_of(technician: Technician) -> ZoneInfo:
    try:
        return ZoneInfo(technician.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE


def shift_windows(slots: Iterable[ShiftSlot], zone: ZoneInfo, start: datetime, end: datetime):
    """The weekly slots as UTC intervals overlapping [start, end], sorted.

    A slot ending at or before it starts runs past midnight; one ending at
    23:59 or later runs to midnight (a "whole day" written as 00:00-23:59).
    """
    windows = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    slots = list(slots)
    while day <= last:
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            begins = datetime.combine(day, slot.starts, zone)
            if slot.ends >= time(23, 59):
                ends = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
            elif slot.ends <= slot.starts:
                ends = datetime.combine(day + timedelta(days=1), slot.ends, zone)
            else:
                ends = datetime.combine(day, slot.ends, zone)
            begins, ends = begins.astimezone(UTC_ZONE), ends.astimezone(UTC_ZONE)
            if ends > start and begins <= end:
                windows.append((begins, ends))
        day += timedelta(days=1)
    return sorted(windows)


def earliest_free(windows, leaves, now: datetime, horizon: datetime) -> datetime | None:
    """The first moment at or after ``now`` (and not after ``horizon``) inside a
    shift window and outside every leave."""
    spans = sorted((leave.starts_at, leave.ends_at) for leave in leaves)
    for begins, ends in windows:
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
           travel: timedelta) -> Availability:
    """Apply every filter; all failing ones are reported, not just the first."""
    tech = facts.technician
    zone = zone_of(tech)
    horizon = max(due - travel, now)
    windows = shift_windows(facts.shifts, zone, now, max(due, now))
    departs = earliest_free(windows, facts.leaves, now, horizon)
    on_shift_now = departs == now
    reasons: list[Reason] = []
    if departs is None:
        without_leave = earliest_free(windows, (), now, horizon)
        if without_leave is not None:
            reasons.append(Reason("on_leave", "on leave until too late to reach the site before the deadline"))
        elif windows and earliest_free(windows, (), now, max(due, now)) is not None:
            reasons.append(Reason("off_shift", "the next shift starts too late to reach the site by "
                                               f"{due.isoformat()}"))
        else:
            reasons.append(Reason("off_shift", "not on shift before the on-site deadline"))
    arrival = (departs + travel) if departs is not None else None
    visit_date = (arrival or now).astimezone(zone).date()
    if not facts.certifications:
        reasons.append(Reason("not_certified", f"not certified for {product_line}"))
    elif not any(c.valid_on(visit_date) for c in facts.certifications):
        latest = max(facts.certifications, key=lambda c: c.expires_on)
        reasons.append(Reason("certification_expired",
                              f"certification for {product_line} is not valid on {visit_date.isoformat()} "
                              f"(valid {latest.certified_on.isoformat()} to {latest.expires_on.isoformat()})"))
    if facts.open_jobs >= tech.max_open_jobs:
        reasons.append(Reason("overloaded", f"{facts.open_jobs} open jobs, limit {tech.max_open_jobs}"))
    return Availability(not reasons, tuple(reasons), departs, on_shift_now, arrival, visit_date)

