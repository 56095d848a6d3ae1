"""Scope rules: what a principal may see. Used by the REST resources and the
sync's pulls alike, so the two can never disagree.

A technician sees only their own jobs and what those jobs need; office roles
see everything their role allows."""

from __future__ import annotations

from sqlalchemy import false, select

from server.accounts.service import Principal
from server.jobs.models import Job, JobStatus
from server.tickets.models import Ticket

ACTIVE_JOB_STATUSES = (JobStatus.assigned, JobStatus.accepted, JobStatus.en_route, JobStatus.on_site,
                       JobStatus.incomplete, JobStatus.completed)


def owns_job(principal: Principal):
    """``Job.technician_id == <theirs>``; nothing at all for a technician
    account whose profile does not exist yet (``== None`` would be SQL's
    ``IS NULL``: every job no one holds)."""
    if principal.technician_id is None:
        return false()
    return Job.technician_id == principal.technician_id


def technician_job_ids(principal: Principal):
    """A subquery of the job ids this technician may see."""
    return select(Job.id).where(owns_job(principal))


def technician_ticket_ids(principal: Principal):
    return select(Job.ticket_id).where(owns_job(principal))


def scope_jobs(stmt, principal: Principal):
    if principal.is_technician:
        return stmt.where(owns_job(principal))
    return stmt


def scope_tickets(stmt, principal: Principal):
    if principal.is_technician:
        return stmt.where(Ticket.id.in_(technician_ticket_ids(principal)))
    return stmt


# --- What a technician's jobs need: the customers, sites and assets of their
# tickets, their own technician record, their van and what it carries. ---


def technician_site_ids(principal: Principal):
    return select(Ticket.site_id).join(Job, Job.ticket_id == Ticket.id).where(owns_job(principal))


def technician_customer_ids(principal: Principal):
    return select(Ticket.customer_id).join(Job, Job.ticket_id == Ticket.id).where(owns_job(principal))


def scope_customers(stmt, principal: Principal):
    from server.customers.models import Customer

    if principal.is_technician:
        return stmt.where(Customer.id.in_(technician_customer_ids(principal)))
    return stmt


def scope_sites(stmt, principal: Principal):
    from server.customers.models import Site

    if principal.is_technician:
        return stmt.where(Site.id.in_(technician_site_ids(principal)))
    return stmt


def technician_asset_ids(principal: Principal):
    return select(Ticket.asset_id).join(Job, Job.ticket_id == Ticket.id).where(owns_job(principal))


def scope_assets(stmt, principal: Principal):
    """The assets named on the technician's tickets: what their jobs need
    (the design's scope rule), exactly what their handheld syncs. Machines
    beside it at the same site are not theirs to see."""
    from server.customers.models import Asset

    if principal.is_technician:
        return stmt.where(Asset.id.in_(technician_asset_ids(principal)))
    return stmt


def scope_technicians(stmt, principal: Principal):
    from server.technicians.models import Technician

    if principal.is_technician:
        return stmt.where(Technician.id == principal.technician_id)
    return stmt


def technician_van_ids(principal: Principal):
    from server.technicians.models import Technician

    return select(Technician.van_location_id).where(Technician.id == principal.technician_id,
                                                    Technician.van_location_id.is_not(None))


def scope_locations(stmt, principal: Principal):
    """Warehouses and service stations are public to staff; of the vans, a
    technician sees only their own."""
    from server.stock.models import LocationKind, StockLocation

    if principal.is_technician:
        return stmt.where((StockLocation.kind != LocationKind.van)
                          | StockLocation.id.in_(technician_van_ids(principal)))
    return stmt


def scope_spare_units(stmt, principal: Principal):
    from server.stock.models import SpareUnit

    if principal.is_technician:
        return stmt.where(SpareUnit.location_id.in_(technician_van_ids(principal)))
    return stmt
