"""A customer's service history (客户360): its tickets, newest first, each
with the completed visits that fixed it — who came, when they were sent,
arrived and finished, what was found and done, the parts used, the
customer's rating and the signed report. Plain functions over a session;
never commit.

The visits are read with the asset visits' own statement
(``service.completed_visits``), and a page of tickets costs one query per
kind whatever its size: tickets, visits (with their tickets and technicians),
the tickets' dispatches, parts used, signatures."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.customers.service import completed_visits
from server.tickets.models import Ticket, TicketEvent, TicketStatus


def history_tickets(customer_id: uuid.UUID, asset_id: uuid.UUID | None = None):
    """The customer's tickets (or one asset's), for the one pagination scheme
    (ordered by reception time, newest first)."""
    stmt = select(Ticket).where(Ticket.customer_id == customer_id)
    if asset_id is not None:
        stmt = stmt.where(Ticket.asset_id == asset_id)
    return stmt


def _dispatched_at(job, dispatches: list):
    """When the visit was dispatched: the ticket's latest move to ``dispatched``
    before the technician arrived (or finished); else the job's creation, unless
    that came after the visit (a record entered afterwards); else unknown."""
    until = job.arrived_at or job.completed_at
    before = [at for at in dispatches if at <= until]
    if before:
        return before[-1]
    return job.created_at if job.created_at and job.created_at <= until else None


def with_visits(session: Session, tickets: list[Ticket]) -> list[dict]:
    """Each ticket with its completed visits (oldest first), their parts used
    and their latest signature: one query per kind for the whole list."""
    from media.models import Signature
    from server.jobs.models import Job, PartUsage
    from server.stock.models import Part

    ids = [t.id for t in tickets]
    visits: dict[uuid.UUID, list] = {i: [] for i in ids}
    if not ids:
        return []
    jobs = session.scalars(completed_visits(Ticket.id.in_(ids)).order_by(Job.completed_at, Job.id)).all()
    dispatches: dict[uuid.UUID, list] = {i: [] for i in ids}
    for ticket_id, at in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.at)
            .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind == "transition",
                   TicketEvent.to_status == TicketStatus.dispatched.value)
            .order_by(TicketEvent.at, TicketEvent.id)):
        dispatches[ticket_id].append(at)
    job_ids = [j.id for j in jobs]
    parts: dict[uuid.UUID, list] = {j: [] for j in job_ids}
    signed: dict[uuid.UUID, Signature] = {}
    if job_ids:
        rows = session.execute(
            select(PartUsage.job_id, Part.part_number, Part.name, PartUsage.quantity)
            .join(Part, Part.id == PartUsage.part_id).where(PartUsage.job_id.in_(job_ids))
            .order_by(PartUsage.job_id, PartUsage.created_at, PartUsage.id)).all()
        for job_id, number, name, quantity in rows:
            parts[job_id].append({"part_number": number, "name": name, "quantity": quantity})
        for signature in session.scalars(select(Signature).where(Signature.job_id.in_(job_ids))
                                         .order_by(Signature.received_at, Signature.id)):
            signed[signature.job_id] = signature  # the latest one wins
    for job in jobs:
        signature = signed.get(job.id)
        visits[job.ticket_id].append({
            "id": job.id, "ticket": job.ticket, "technician": job.technician,
            "dispatched_at": _dispatched_at(job, dispatches[job.ticket_id]),
            "arrived_at": job.arrived_at, "departed_at": job.departed_at,
            "completed_at": job.completed_at, "fault_cause": job.fault_cause, "solution": job.solution,
            "work_done": job.work_done, "customer_rating": job.customer_rating,
            "customer_opinion": job.customer_opinion, "no_signature_reason": job.no_signature_reason,
            "parts": parts[job.id],
            "signed_at": signature.received_at if signature else None,
            "signer_name": signature.signer_name if signature else None,
        })
    return [{"ticket": t, "visits": visits[t.id]} for t in tickets]
