"""Technicians: profile, certifications, weekly shifts, leave, on-call duty. Their last
known position is read-only here: it comes from the handhelds through sync."""

from __future__ import annotations

from datetime import date

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from schemas.technicians import (
    CertificationCreateSchema,
    CertificationSchema,
    LeaveCreateSchema,
    LeavePageSchema,
    LeaveQuerySchema,
    LeaveSchema,
    OnCallCreateSchema,
    OnCallPageSchema,
    OnCallQuerySchema,
    OnCallSchema,
    ShiftPatternSchema,
    TechnicianCreateSchema,
    TechnicianDetailSchema,
    TechnicianPageSchema,
    TechnicianQuerySchema,
    TechnicianUpdateSchema,
)
from server.access import scope_technicians
from server.accounts.models import Role, User
from server.api.lookup import like, visible_or_404
from server.api.security import current_principal, requires
from server.extensions import db
from server.pagination import paginate
from server.technicians import service
from server.technicians.models import OnCallPeriod, ShiftException, Technician

blp = Blueprint("technicians", __name__, url_prefix="/api/v1/technicians",
                description="Technicians: certifications, shifts, leave, on-call duty, home base and van")

READERS = (Role.admin, Role.dispatcher, Role.warehouse, Role.technician)
EDITORS = (Role.admin, Role.dispatcher)


def _technician(technician_id, *, for_edit: bool = False) -> Technician:
    return visible_or_404(Technician, technician_id, None if for_edit else scope_technicians, "technician")


@blp.route("")
class Technicians(MethodView):
    @requires(*READERS)
    @blp.arguments(TechnicianQuerySchema, location="query")
    @blp.response(200, TechnicianPageSchema)
    def get(self, args):
        """List technicians by name; a technician sees only themself."""
        stmt = scope_technicians(select(Technician), current_principal()).options(
            selectinload(Technician.certifications), selectinload(Technician.shifts),
            selectinload(Technician.user))
        if "q" in args:
            pattern = like(args["q"])
            stmt = stmt.where(or_(Technician.name.ilike(pattern, escape="\\"),
                                  Technician.phone.ilike(pattern, escape="\\"),
                                  Technician.user_id.in_(select(User.id).where(
                                      User.username.ilike(pattern, escape="\\")))))
        if "product_line" in args:
            stmt = stmt.where(Technician.id.in_(service.valid_certification_filter(args["product_line"],
                                                                                   date.today())))
        if "active" in args:
            stmt = stmt.where(Technician.active.is_(args["active"]))
        return paginate(db.session, stmt, order_by=[Technician.name, Technician.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(TechnicianCreateSchema)
    @blp.response(201, TechnicianDetailSchema)
    def post(self, data):
        """Give a technician account its profile (home base, van, certifications, shifts)."""
        technician = service.create_technician(db.session, data)
        db.session.commit()
        return technician


@blp.route("/<uuid:technician_id>")
class TechnicianById(MethodView):
    @requires(*READERS)
    @blp.response(200, TechnicianDetailSchema)
    def get(self, technician_id):
        """One technician with certifications, weekly shifts and leave."""
        return _technician(technician_id)

    @requires(*EDITORS)
    @blp.arguments(TechnicianUpdateSchema)
    @blp.response(200, TechnicianDetailSchema)
    def patch(self, data, technician_id):
        """Change a technician's profile: home base, van, load limit, active."""
        technician = _technician(technician_id, for_edit=True)
        service.update_technician(db.session, technician, data)
        db.session.commit()
        return technician


@blp.route("/<uuid:technician_id>/certifications")
class Certifications(MethodView):
    @requires(*EDITORS)
    @blp.arguments(CertificationCreateSchema)
    @blp.response(201, CertificationSchema)
    def post(self, data, technician_id):
        """Record a certification for a product line (持证上岗)."""
        cert = service.add_certification(db.session, _technician(technician_id, for_edit=True), data)
        db.session.commit()
        return cert


@blp.route("/<uuid:technician_id>/certifications/<uuid:certification_id>")
class CertificationById(MethodView):
    @requires(*EDITORS)
    @blp.response(204)
    def delete(self, technician_id, certification_id):
        """Withdraw a certification."""
        service.remove_certification(db.session, _technician(technician_id, for_edit=True), certification_id)
        db.session.commit()


@blp.route("/<uuid:technician_id>/shifts")
class Shifts(MethodView):
    @requires(*READERS)
    @blp.response(200, ShiftPatternSchema)
    def get(self, technician_id):
        """The weekly shift pattern."""
        return {"slots": _technician(technician_id).shifts}

    @requires(*EDITORS)
    @blp.arguments(ShiftPatternSchema)
    @blp.response(200, ShiftPatternSchema)
    def put(self, data, technician_id):
        """Replace the weekly shift pattern."""
        technician = service.replace_shifts(db.session, _technician(technician_id, for_edit=True), data["slots"])
        db.session.commit()
        return {"slots": technician.shifts}


def _periods_page(model, technician, args):
    """A technician's periods (leave, on-call duty), soonest first; ``ends_after`` leaves out past ones."""
    stmt = select(model).where(model.technician_id == technician.id)
    if "ends_after" in args:
        stmt = stmt.where(model.ends_at > args["ends_after"])
    return paginate(db.session, stmt, order_by=[model.starts_at, model.id], limit=args["limit"],
                    cursor=args.get("cursor"))


@blp.route("/<uuid:technician_id>/leave")
class Leave(MethodView):
    @requires(*READERS)
    @blp.arguments(LeaveQuerySchema, location="query")
    @blp.response(200, LeavePageSchema)
    def get(self, args, technician_id):
        """Time off the weekly pattern (leave, sickness, training), soonest first."""
        return _periods_page(ShiftException, _technician(technician_id), args)

    @requires(*EDITORS)
    @blp.arguments(LeaveCreateSchema)
    @blp.response(201, LeaveSchema)
    def post(self, data, technician_id):
        """Record leave: the technician is not dispatched while it runs."""
        leave = service.add_leave(db.session, _technician(technician_id, for_edit=True), data)
        db.session.commit()
        return leave


@blp.route("/<uuid:technician_id>/leave/<uuid:leave_id>")
class LeaveById(MethodView):
    @requires(*EDITORS)
    @blp.response(204)
    def delete(self, technician_id, leave_id):
        """Cancel leave."""
        service.remove_leave(db.session, _technician(technician_id, for_edit=True), leave_id)
        db.session.commit()


@blp.route("/<uuid:technician_id>/on-call")
class OnCall(MethodView):
    @requires(*READERS)
    @blp.arguments(OnCallQuerySchema, location="query")
    @blp.response(200, OnCallPageSchema)
    def get(self, args, technician_id):
        """On-call duty (值班), soonest first."""
        return _periods_page(OnCallPeriod, _technician(technician_id), args)

    @requires(*EDITORS)
    @blp.arguments(OnCallCreateSchema)
    @blp.response(201, OnCallSchema)
    def post(self, data, technician_id):
        """Put a technician on call: outside their shifts they stand by to be called out. When nobody can meet a
        ticket's deadline, dispatch ranks calling them out before asking someone for overtime, and assigning them
        then needs no override reason (the call-out is recorded)."""
        period = service.add_on_call(db.session, _technician(technician_id, for_edit=True), data)
        db.session.commit()
        return period


@blp.route("/<uuid:technician_id>/on-call/<uuid:period_id>")
class OnCallById(MethodView):
    @requires(*EDITORS)
    @blp.response(204)
    def delete(self, technician_id, period_id):
        """Cancel on-call duty."""
        service.remove_on_call(db.session, _technician(technician_id, for_edit=True), period_id)
        db.session.commit()
