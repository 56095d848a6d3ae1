"""Assigning a ticket: one job for the chosen technician, the chosen stock
reserved, the ticket moved to ``dispatched`` — all or nothing. Never commits.

Races: two dispatchers may act at once. Locks are taken in one order — the
ticket, then the technician, then stock (parts in (location, part) order, then
the spare unit) — so they queue instead of deadlocking:

* the same ticket: the second finds it dispatched (409 ``ticket_already_dispatched``);
* the technician's last free slot: the second counts the first's job, committed
  while it waited on the technician's row (409 ``technician_unavailable``);
* the last units of a part or the last spare unit: the ledger's conditional
  updates refuse the second (409 ``insufficient_stock`` / ``spare_unit_unavailable``).

On SQLite ``BEGIN IMMEDIATE`` (server/database.py) serialises writers anyway;
``FOR UPDATE`` is what does it on PostgreSQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.dispatch import availability
from server.dispatch.models import OVERRIDE, DispatchAction
from server.dispatch.ranking import TicketContext, position_of, ticket_context
from server.dispatch.settings import DispatchSettings
from server.dispatch.spatial import geodesic_m
from server.exceptions import Conflict, InvalidInput, NotFound
from server.jobs.models import Job, JobStatus
from server.stock import ledger
from server.stock.models import Part, Reservation, SpareUnit, StockLevel, StockLocation
from server.technicians.models import Technician
from server.tickets import history
from server.tickets.models import Ticket, TicketStatus
from server.tickets.states import transition


@dataclass
class Assignment:
    job: Job
    ticket: Ticket
    reservations: list[Reservation]
    arrival_at: datetime
    meets_deadline: bool
    override: DispatchAction | None = None


@dataclass(frozen=True)
class PartChoice:
    part_id: uuid.UUID
    location_id: uuid.UUID
    quantity: int = 1


def assign(session: Session, ticket_id: uuid.UUID, *, technician_id: uuid.UUID, parts: list[PartChoice],
           spare_unit_id: uuid.UUID | None, settings: DispatchSettings, now: datetime, by_user_id=None,
           product_line: str | None = None, planned_start: datetime | None = None,
           instructions: str | None = None, override_reason: str | None = None) -> Assignment:
    """Assign a ticket. A technician off shift, on leave or at their job limit
    may be assigned with an ``override_reason``; one without a valid
    certification never. An override, or an arrival after the on-site
    deadline, is recorded (:class:`DispatchAction`) and noted in the ticket's history."""
    ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update()
                            .execution_options(populate_existing=True))
    if ticket is None:
        raise NotFound("no such ticket")
    open_job = session.scalar(select(Job.id).where(Job.ticket_id == ticket.id,
                                                   Job.status.in_(availability.OPEN_JOB_STATUSES)).limit(1))
    if ticket.status is TicketStatus.dispatched or open_job is not None:
        raise Conflict("this ticket has already been dispatched", code="ticket_already_dispatched",
                       details={"status": ticket.status.value, "job_id": str(open_job) if open_job else None})
    if ticket.status not in (TicketStatus.new, TicketStatus.acknowledged):
        raise Conflict(f"a {ticket.status.value} ticket cannot be dispatched", code="ticket_not_open",
                       details={"status": ticket.status.value})
    context = ticket_context(session, ticket, now=now, product_line=product_line)

    technician = session.scalar(select(Technician).where(Technician.id == technician_id).with_for_update()
                                .execution_options(populate_existing=True))
    if technician is None or not technician.active:
        raise InvalidInput("no such active technician", code="unknown_technician",
                           details={"fields": {"json": {"technician_id": ["Unknown or inactive technician."]}}})
    vetted = vet(session, technician, context, settings=settings, now=now, override_reason=override_reason)

    job = Job(id=uuid.uuid4(), ticket_id=ticket.id, technician_id=technician.id, status=JobStatus.assigned,
              priority=ticket.priority.value, planned_start=planned_start or vetted.arrival_at,
              instructions=instructions)
    session.add(job)
    session.flush()
    reservations = _reserve(session, context, job, parts, spare_unit_id, settings)
    override = record_override(session, vetted, ticket_id=ticket.id, job_id=job.id, technician_id=technician.id,
                               reason=override_reason, by_user_id=by_user_id, now=now)
    note = history.note("assigned", name=technician.name, override=override_note(vetted, override_reason))
    transition(ticket, TicketStatus.dispatched, at=now, by_user_id=by_user_id, note=note)
    session.flush()
    from server.notifications import events

    events.job_assigned(session, job, ticket, technician, now=now)
    return Assignment(job, ticket, reservations, vetted.arrival_at, vetted.meets_deadline, override)


@dataclass(frozen=True)
class Vetted:
    """A technician checked for a ticket: when they would set off and arrive, and
    what giving them the job overrides (``late``, ``overtime``, ``on_leave``,
    ``overloaded``, ``on_call``: called out of on-call duty; empty when nothing)."""

    departs_at: datetime
    arrival_at: datetime
    late_by: timedelta  # negative or zero: in time
    flags: tuple[str, ...]

    @property
    def meets_deadline(self) -> bool:
        return self.late_by <= timedelta(0)


def vet(session: Session, technician: Technician, context: TicketContext, *, settings: DispatchSettings,
        now: datetime, override_reason: str | None) -> Vetted:
    """The checks of giving a ticket's job to a technician, shared by assigning
    and reassigning (the technician's row locked by the caller): a missing or
    expired certification is refused whatever the reason given (409
    ``technician_unavailable``, ``overridable: false``); off shift, on leave or at
    the job limit only with an ``override_reason`` — except someone off shift but
    on call, called out without one (flagged ``on_call``); an arrival after the
    on-site deadline is flagged ``late``. Every flag is recorded (:func:`record_override`)."""
    departs, travel, flags = _check_available(session, technician, context, settings, now, override_reason)
    arrival = departs + travel
    late_by = arrival - context.due
    if late_by > timedelta(0):
        flags = ["late", *flags]
    return Vetted(departs, arrival, late_by, tuple(flags))


def record_override(session: Session, vetted: Vetted, *, ticket_id, job_id, technician_id, reason, by_user_id,
                    now: datetime) -> DispatchAction | None:
    """The dispatch record of a decision against the rules (none when it overrides nothing)."""
    if not vetted.flags:
        return None
    override = DispatchAction(kind=OVERRIDE, ticket_id=ticket_id, job_id=job_id, technician_id=technician_id,
                              flags=" ".join(vetted.flags), reason=reason, by_user_id=by_user_id, at=now,
                              late_by_minutes=max(0, round(vetted.late_by.total_seconds() / 60))
                              if "late" in vetted.flags else None)
    session.add(override)
    return override


def override_note(vetted: Vetted, reason: str | None) -> history.Note | str:
    """What the ticket's history says about an override, after the assignment (empty without one)."""
    if not vetted.flags:
        return ""
    if reason:
        return history.note("override_reason", flags=list(vetted.flags), reason=reason)
    return history.note("override", flags=list(vetted.flags))


def _check_available(session, technician, context: TicketContext, settings, now, override_reason):
    """When the technician sets off, the travel time, and what assigning them overrides."""
    position = position_of(technician, now=now, settings=settings)
    travel = settings.travel_time(geodesic_m(position.latitude, position.longitude, context.latitude,
                                             context.longitude) / 1000)
    # Counted under the technician's row lock: a job another dispatcher just
    # committed for them is seen here.
    facts = availability.load_facts(session, [technician.id], product_line=context.product_line,
                                    window_start=now - timedelta(days=1),
                                    window_end=max(context.due, now) + availability.LATE_HORIZON)[technician.id]
    verdict = availability.assess(facts, product_line=context.product_line, now=now, due=context.due,
                                  travel=travel)
    if verdict.available:
        return verdict.departs_at, travel, []
    overridable = all(r.code in availability.OVERRIDABLE for r in verdict.reasons)
    option = availability.late_option(facts, now=now, travel=travel) if overridable else None
    # Someone on call, off shift (and nothing else), is called out without a reason: the duty is for it.
    if not overridable or (option.needs_reason and not override_reason):
        raise Conflict("this technician cannot take the job" + (
            ": give an override_reason to assign them anyway" if overridable else ""),
            code="technician_unavailable",
            details={"technician_id": str(technician.id), "overridable": overridable,
                     "reasons": [{"code": r.code, "message": r.message} for r in verdict.reasons]})
    return option.departs_at, travel, [flag.code for flag in option.flags]


def _reserve(session, context: TicketContext, job: Job, parts: list[PartChoice], spare_unit_id, settings):
    reservations = []
    merged: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for choice in parts:
        merged[(choice.location_id, choice.part_id)] = merged.get((choice.location_id, choice.part_id), 0) \
            + choice.quantity
    for (location_id, part_id), quantity in sorted(merged.items(), key=lambda item: (str(item[0][0]),
                                                                                      str(item[0][1]))):
        if session.get(Part, part_id) is None or session.get(StockLocation, location_id) is None:
            raise InvalidInput("unknown part or stock location", code="unknown_stock",
                               details={"part_id": str(part_id), "location_id": str(location_id)})
        reservation = ledger.reserve_part(session, location_id=location_id, part_id=part_id, quantity=quantity,
                                          job_id=job.id, under_warranty=context.under_warranty)
        if not context.under_warranty and settings.warranty_holdback:
            # The row is ours (locked by the reservation's update): what is left is exact.
            left = session.scalar(select(StockLevel.on_hand - StockLevel.reserved).where(
                StockLevel.location_id == location_id, StockLevel.part_id == part_id))
            if left < settings.warranty_holdback:
                raise Conflict("the last units here are held for warranty repairs", code="held_for_warranty",
                               details={"location_id": str(location_id), "part_id": str(part_id),
                                        "claimable": left + quantity - settings.warranty_holdback,
                                        "requested": quantity})
        reservations.append(reservation)
    if spare_unit_id is not None:
        unit = session.get(SpareUnit, spare_unit_id)
        if unit is None:
            raise InvalidInput("no such spare unit", code="unknown_spare_unit",
                               details={"fields": {"json": {"spare_unit_id": ["Unknown spare unit."]}}})
        if context.asset_model is not None and unit.model != context.asset_model:
            raise InvalidInput(f"a swap needs a unit of model {context.asset_model}, this one is {unit.model}",
                               code="spare_unit_wrong_model")
        reservations.append(ledger.reserve_spare_unit(session, spare_unit_id=spare_unit_id, job_id=job.id))
    return reservations
