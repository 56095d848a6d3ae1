"""Dispatcher actions on jobs: cancel, reassign. Plain functions over a
session; never commit. Changes go through the ORM, so they are versioned
and reach the technicians' devices on their next pull (the old technician
gets tombstones, the new one the job and everything it needs)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.dispatch.models import CANCEL, REASSIGN
from server.exceptions import InvalidInput, InvalidTransition, NotFound, PreconditionFailed
from server.jobs.models import Job, JobStatus, NoSignatureReason
from server.stock.ledger import release
from server.stock.models import Reservation, ReservationStatus
from server.technicians.models import Technician
from server.tickets import history

FINISHED = (JobStatus.completed, JobStatus.cancelled)
TICKET_CANCELLED = "ticket cancelled"  # the reason its jobs are cancelled with when a ticket is cancelled without one
# Why a job's reservation was released (``Reservation.release_reason``).
CANCELLED, REASSIGNED = "job_cancelled", "job_reassigned"


SIGNOFF_REQUIRED = "signoff_required"
SIGNOFF_MESSAGE = ("a job completes with the customer's signature or a recorded reason it is missing "
                   "(no_signature_reason: " + ", ".join(r.value for r in NoSignatureReason) + ")")


def has_signoff(session: Session, job: Job) -> bool:
    """The work report procedure's sign-off: the customer signed, or why not is recorded."""
    from media.models import Signature

    if job.no_signature_reason is not None:
        return True
    return session.scalar(select(Signature.id).where(Signature.job_id == job.id).limit(1)) is not None


def require_signoff(session: Session, job: Job) -> None:
    """Refuse completing a job without sign-off (REST: settling a conflict; sync checks the same set-wise)."""
    if job.status is JobStatus.completed and not has_signoff(session, job):
        raise InvalidInput(SIGNOFF_MESSAGE, code=SIGNOFF_REQUIRED,
                           details={"fields": {"json": {"status": ["Needs a signature or no_signature_reason."]}}})


def _job(session: Session, job_id: uuid.UUID, expected_version: int | None) -> Job:
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound("no such job")
    if expected_version is not None and job.version != expected_version:
        raise PreconditionFailed("the job changed since you read it", details={"current_version": job.version})
    return job


def cancel_job(session: Session, job_id: uuid.UUID, *, reason: str | None = None,
               expected_version: int | None = None, now: datetime, by_user_id=None) -> Job:
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
    for reservation in _active_reservations(session, job.id):
        release(session, reservation, reason=CANCELLED)
    _record(session, CANCEL, job, technician_id=job.technician_id, reason=reason, by_user_id=by_user_id, now=now,
            note=history.note("job_cancelled_ticket") if reason == TICKET_CANCELLED
            else history.note("job_cancelled_reason", reason=reason) if reason else history.note("job_cancelled"))
    _status_event(session, job, now)
    session.flush()
    return job


def _status_event(session: Session, job: Job, now: datetime) -> None:
    """The office changed a job's status: other systems hear it as a sync push's change would tell them."""
    from server.notifications.events import jobs_changed

    jobs_changed(session, [{"id": job.id, "status": job.status, "ticket_id": job.ticket_id,
                            "technician_id": job.technician_id}], now=now)


def cancel_open_jobs(session: Session, ticket_id: uuid.UUID, *, reason: str | None, now: datetime,
                     by_user_id=None) -> list[Job]:
    """Cancel every unfinished job of a ticket (the ticket was cancelled)."""
    job_ids = session.scalars(select(Job.id).where(Job.ticket_id == ticket_id, Job.status.not_in(FINISHED))
                              .order_by(Job.id)).all()
    return [cancel_job(session, job_id, reason=reason, now=now, by_user_id=by_user_id) for job_id in job_ids]


def _record(session: Session, kind: str, job: Job, *, technician_id, reason, by_user_id, now, note,
            from_technician_id=None) -> None:
    """The dispatcher's decision and its reason: a dispatch action (counted
    monthly) and a line in the ticket's history."""
    from server.dispatch.models import DispatchAction
    from server.tickets.models import TicketEvent

    session.add(DispatchAction(kind=kind, ticket_id=job.ticket_id, job_id=job.id, technician_id=technician_id,
                               from_technician_id=from_technician_id, reason=reason, by_user_id=by_user_id, at=now))
    session.add(TicketEvent(ticket_id=job.ticket_id, kind=f"job_{kind}", at=now, by_user_id=by_user_id,
                            **history.columns(note)))


def _active_reservations(session: Session, job_id: uuid.UUID, location_id: uuid.UUID | None = None):
    stmt = (select(Reservation).where(Reservation.job_id == job_id, Reservation.status == ReservationStatus.active)
            .order_by(Reservation.created_at, Reservation.id))
    if location_id is not None:
        stmt = stmt.where(Reservation.location_id == location_id)
    return session.scalars(stmt).all()


def reservations_of(session: Session, job_id: uuid.UUID) -> list[Reservation]:
    """Every reservation made for a job, oldest first (what the dispatcher's answer shows)."""
    return list(session.scalars(select(Reservation).where(Reservation.job_id == job_id)
                                .order_by(Reservation.created_at, Reservation.id)))


def reassign_job(session: Session, job_id: uuid.UUID, *, technician_id: uuid.UUID,
                 expected_version: int | None = None, now: datetime, reason: str | None = None,
                 by_user_id=None, settings=None, override_reason: str | None = None,
                 product_line: str | None = None) -> Job:
    """Give a job to another technician; it leaves the first one's device.

    The new technician passes the same checks as an assignment
    (``server.dispatch.assign.vet``): without a valid certification for the
    asset's product line never (409 ``technician_unavailable``); off shift, on
    leave or at their job limit only with an ``override_reason``; an arrival
    after the on-site deadline is flagged ``late``. An override is recorded as
    an assignment's is (a dispatch action of kind ``override``, counted monthly)
    next to the reassignment and its ``reason``.

    Reservations: those held in the former technician's van are released
    (``release_reason`` ``job_reassigned``); those at warehouses, stations or
    the new technician's van stay with the job. See docs/stock.md."""
    from server.dispatch import assign
    from server.dispatch.ranking import ticket_context
    from server.dispatch.settings import DispatchSettings

    settings = settings or DispatchSettings()
    job = _job(session, job_id, expected_version)
    if job.status in FINISHED:
        raise InvalidTransition(f"a {job.status.value} job cannot be reassigned",
                                details={"status": job.status.value})
    # Locks in assign's order: the job (its ticket's), then the technician.
    technician = session.scalar(select(Technician).where(Technician.id == technician_id).with_for_update()
                                .execution_options(populate_existing=True))
    if technician is None or not technician.active:
        raise InvalidInput("no such active technician", code="unknown_technician",
                           details={"fields": {"json": {"technician_id": ["Unknown or inactive technician."]}}})
    if job.technician_id == technician.id:
        raise InvalidInput("the job is this technician's already",
                           details={"fields": {"json": {"technician_id": ["Already assigned."]}}})
    try:
        context = ticket_context(session, job.ticket_id, now=now, product_line=product_line)
    except InvalidInput as error:
        if error.code != "product_line_unknown":
            raise
        # Named in the body here, not the query string.
        raise InvalidInput(error.message, code=error.code,
                           details={"fields": {"json": {"product_line": ["Required when the ticket has no asset."]}}}
                           ) from None
    vetted = assign.vet(session, technician, context, settings=settings, now=now, override_reason=override_reason)
    former_van, former_name = None, None
    if job.technician_id is not None:
        former_van, former_name = session.execute(select(Technician.van_location_id, Technician.name)
                                                  .where(Technician.id == job.technician_id)).one()
    _record(session, REASSIGN, job, technician_id=technician.id, from_technician_id=job.technician_id,
            reason=reason, by_user_id=by_user_id, now=now,
            note=history.note("reassigned_reason" if reason else "reassigned", former=former_name, to=technician.name,
                              override=assign.override_note(vetted, override_reason),
                              **({"reason": reason} if reason else {})))
    assign.record_override(session, vetted, ticket_id=job.ticket_id, job_id=job.id, technician_id=technician.id,
                           reason=override_reason, by_user_id=by_user_id, now=now)
    job.technician_id = technician.id
    job.status = JobStatus.assigned
    if former_van is not None and former_van != technician.van_location_id:
        # Stock held in the former technician's van stays in that van: only its
        # technician can take parts from it (sync refuses another's van), so the
        # hold would dangle. It goes back to their available stock; holds at
        # warehouses and stations stay with the job for the new technician.
        for reservation in _active_reservations(session, job.id, former_van):
            release(session, reservation, reason=REASSIGNED)
    _status_event(session, job, now)
    session.flush()
    return job
