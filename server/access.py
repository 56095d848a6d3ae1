"""Scope rules: what a principal may see. Used by the REST resources and the
sync's pulls alike, so the two can never disagree.

A technician sees only their own jobs and what those jobs need; office roles
see everything their role allows."""

from __future__ import annotations

from sqlalchemy import select

from server.accounts.service import Principal
from server.jobs.models import Job, JobStatus
from server.tickets.models import Ticket

ACTIVE_JOB_STATUSES = (JobStatus.assigned, JobStatus.accepted, JobStatus.en_route, JobStatus.on_site,
                       JobStatus.incomplete, JobStatus.completed)


def technician_job_ids(principal: Principal):
    """A subquery of the job ids this technician may see."""
    return select(Job.id).where(Job.technician_id == principal.technician_id)


def technician_ticket_ids(principal: Principal):
    return select(Job.ticket_id).where(Job.technician_id == principal.technician_id)


def scope_jobs(stmt, principal: Principal):
    if principal.is_technician:
        return stmt.where(Job.technician_id == principal.technician_id)
    return stmt


def scope_tickets(stmt, principal: Principal):
    if principal.is_technician:
        return stmt.where(Ticket.id.in_(technician_ticket_ids(principal)))
    return stmt
