"""Jobs (visits), read by dispatchers and by their own technician."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from schemas.jobs import (
    JobActionResultSchema,
    JobCancelSchema,
    JobDetailSchema,
    JobPageSchema,
    JobQuerySchema,
    JobReassignSchema,
    JobUpdateSchema,
)
from server.access import scope_jobs
from server.accounts.models import Role
from server.api.security import current_principal, requires
from server.db import utcnow
from server.dispatch.settings import DispatchSettings
from server.exceptions import InvalidInput, NotFound, PreconditionFailed
from server.extensions import db
from server.jobs import service as job_service
from server.jobs.models import Job
from server.pagination import paginate

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Jobs: visits to fix a ticket")


def get_visible_job(job_id, *, lock: bool = False) -> Job:
    """The job if this principal may see it. ``lock``: read it ``FOR UPDATE``
    (PostgreSQL; SQLite's writers are serialised anyway), so a version check
    made on it holds until the commit: no other writer (a PATCH, a push, a
    cancellation) can slip in between the check and the write."""
    stmt = scope_jobs(select(Job).where(Job.id == job_id), current_principal())
    if lock:
        stmt = stmt.with_for_update(of=Job).execution_options(populate_existing=True)
    job = db.session.scalar(stmt)
    if job is None:
        raise NotFound("no such job")
    return job


def check_if_match(version: int) -> None:
    """Honour ``If-Match: "<version>"``: an edit made from a stale copy gets 412."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return
    wanted = header.strip().strip('"').removeprefix("W/").strip('"')
    if wanted != str(version):
        raise PreconditionFailed("the job changed since you read it", details={"current_version": version})


@blp.route("")
class Jobs(MethodView):
    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.arguments(JobQuerySchema, location="query")
    @blp.response(200, JobPageSchema)
    def get(self, args):
        """List jobs; a technician sees only their own."""
        stmt = scope_jobs(select(Job), current_principal())
        if args.get("status"):
            stmt = stmt.where(Job.status.in_(args["status"]))
        for name in ("technician_id", "ticket_id"):
            if name in args:
                stmt = stmt.where(getattr(Job, name) == args[name])
        return paginate(db.session, stmt, order_by=[Job.created_at, Job.id],
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/<uuid:job_id>")
class JobById(MethodView):
    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.response(200, JobDetailSchema)
    def get(self, job_id):
        """One job with its work report; ETag is its version."""
        job = get_visible_job(job_id)
        return job, 200, {"ETag": f'"{job.version}"'}

    @requires(Role.admin, Role.dispatcher)
    @blp.arguments(JobUpdateSchema)
    @blp.response(200, JobDetailSchema)
    @blp.alt_response(412, description="If-Match names an older version.")
    def patch(self, data, job_id):
        """Reschedule or re-prioritise a job (send If-Match to guard against lost updates)."""
        job = get_visible_job(job_id, lock=True)  # the If-Match check holds to the commit
        check_if_match(job.version)
        start = data.get("planned_start", job.planned_start)
        end = data.get("planned_end", job.planned_end)
        if start and end and end <= start:
            raise InvalidInput("planned_end must come after planned_start",
                               details={"fields": {"json": {"planned_end": ["Must be after planned_start."]}}})
        for name, value in data.items():
            setattr(job, name, value)
        if data:
            job.version += 1
        db.session.commit()
        return job, 200, {"ETag": f'"{job.version}"'}


def _if_match_version() -> int | None:
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise PreconditionFailed("If-Match must be a version this API gave out") from None


@blp.route("/<uuid:job_id>/cancel")
class CancelJob(MethodView):
    @requires(Role.admin, Role.dispatcher)
    @blp.arguments(JobCancelSchema)
    @blp.response(200, JobActionResultSchema)
    @blp.alt_response(409, description="The job is finished already.")
    def post(self, data, job_id):
        """Cancel a job; its reserved stock goes back (the answer lists it); the technician's device learns it
        on its next pull."""
        job = job_service.cancel_job(db.session, job_id, reason=data.get("reason"),
                                     expected_version=_if_match_version(), now=utcnow(),
                                     by_user_id=current_principal().user_id)
        db.session.commit()
        return _with_reservations(job), 200, {"ETag": f'"{job.version}"'}


@blp.route("/<uuid:job_id>/reassign")
class ReassignJob(MethodView):
    @requires(Role.admin, Role.dispatcher)
    @blp.arguments(JobReassignSchema)
    @blp.response(200, JobActionResultSchema)
    @blp.alt_response(409, description="The job is finished already, or the technician cannot take it "
                                       "(technician_unavailable: not certified, or unavailable without an "
                                       "override_reason).")
    @blp.alt_response(422, description="Unknown technician, or the job is theirs already.")
    def post(self, data, job_id):
        """Give a job to another technician; it leaves the first one's device. The same checks as an assignment:
        certification always, availability unless an override_reason is given (recorded as an override). Stock
        reserved in the former technician's van goes back to it (``release_reason: job_reassigned``); reservations
        at warehouses and stations stay with the job. The answer lists every reservation of the job."""
        job = job_service.reassign_job(db.session, job_id, technician_id=data["technician_id"],
                                       expected_version=_if_match_version(), now=utcnow(),
                                       reason=data.get("reason"), by_user_id=current_principal().user_id,
                                       settings=DispatchSettings.from_config(current_app.config),
                                       override_reason=data["override_reason"],
                                       product_line=data.get("product_line"))
        db.session.commit()
        return _with_reservations(job), 200, {"ETag": f'"{job.version}"'}


class _JobWithReservations:
    """A job as the action answers show it: its fields and its reservations."""

    def __init__(self, job: Job, reservations: list):
        self._job, self.reservations = job, reservations

    def __getattr__(self, name):
        return getattr(self._job, name)


def _with_reservations(job: Job) -> _JobWithReservations:
    return _JobWithReservations(job, job_service.reservations_of(db.session, job.id))
