"""A technician's scope: their jobs, those jobs' tickets, customers, sites and
assets, the parts catalogue, their van's stock, and the facts of their jobs.

The same rules decide what a technician pulls and what they may push."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.jobs.models import Job
from server.technicians.models import Technician
from server.tickets.models import Ticket
from sync import registry
from sync.models import SyncScopeExit


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
    scope.ticket_ids, scope.customer_ids = sorted(tickets), sorted(customers)
    scope.site_ids, scope.asset_ids = sorted(sites), sorted(assets)
    return scope


def job_fact_ids(session: Session, job_ids: list[uuid.UUID]) -> list[tuple[str, str]]:
    """(table, id) of every record that hangs off these jobs."""
    found = []
    for name in registry.JOB_FACT_TABLES:
        table = registry.TABLES[name].table
        for (record_id,) in session.execute(select(table.c.id).where(table.c.job_id.in_(job_ids))):
            found.append((name, str(record_id)))
    return found


def former_jobs(session: Session, technician_id: uuid.UUID, job_ids: list[str]) -> set[str]:
    """Which of these jobs left this technician's hands (reassigned away):
    work done on them offline is still taken, and raises a conflict."""
    if not job_ids:
        return set()
    return set(session.scalars(
        select(SyncScopeExit.record_id).where(SyncScopeExit.technician_id == technician_id,
                                              SyncScopeExit.table_name == "jobs",
                                              SyncScopeExit.record_id.in_(job_ids))
    ))
