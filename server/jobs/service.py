"""Dispatcher actions on jobs: cancel, reassign. Plain functions over a
session; never commit. Changes go through the ORM, so they are versioned
and reach the technicians' devices on their next pull (the old technician
gets tombstones, the new one the job and everything it needs)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import InvalidInput, InvalidTransition, NotFound, PreconditionFailed
from server.jobs.models import Job, JobStatus
from server.stock.ledger import release
from server.stock.models import Reservation, ReservationStatus
from server.technicians.models import Technician

FINISHED = (JobStatus.completed, JobStatus.cancelled)


def _job(session: Session, job_id: uuid.UUID, expected_version: int | None) -> Job:
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound("no such job")
    if expected_version is not None and job.version != expected_version:
        raise PreconditionFailed("the job changed since you read it", details={"current_version": job.version})
    return job


def cancel_job(session: Session, job_id: uuid.UUID, *, reason: str | None = None,
               expected_version: int | None = None, now: datetime) -> Job:
    """Cancel a job that is not finished; its reserved stock goes back.

    If the technician has meanwhile finished it offline, their push keeps
    every fact and raises a conflict for a dispatcher (see ``sync``)."""
    job = _job(session, job_id, expected_version)
    if job.status in FINISHED:
        raise InvalidTransition(f"a {job.status.value} job cannot be cancelled",
                                details={"status": job.status.value})
    job.status = JobStatus.cancelled
    if reason:
        job.instructions = ((job.instructions or "") + f"\n[cancelled {now:%Y-%m-%d %H:%M}Z] {reason}").strip()
    for reservation in session.scalars(select(Reservation).where(Reservation.job_id == job.id,
                                                                 Reservation.status == ReservationStatus.active)):
        release(session, reservation)
    session.flush()
    return job


def reassign_job(session: Session, job_id: uuid.UUID, *, technician_id: uuid.UUID,
                 expected_version: int | None = None, now: datetime) -> Job:
    """Give a job to another technician; it leaves the first one's device."""
    job = _job(session, job_id, expected_version)
    if job.status in FINISHED:
        raise InvalidTransition(f"a {job.status.value} job cannot be reassigned",
                                details={"status": job.status.value})
    technician = session.get(Technician, technician_id)
    if technician is None or not technician.active:
        raise InvalidInput("no such active technician",
                           details={"fields": {"json": {"technician_id": ["Unknown or inactive technician."]}}})
    if job.technician_id == technician.id:
        raise InvalidInput("the job is this technician's already",
                           details={"fields": {"json": {"technician_id": ["Already assigned."]}}})
    job.technician_id = technician.id
    job.status = JobStatus.assigned
    session.flush()
    return job
