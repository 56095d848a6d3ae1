"""Proactive service and incidents: tours, inspections (巡检), incidents and rescue."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from schemas.base import PageArgsSchema
from schemas.proactive import (
    AffectedCreateSchema,
    AssetInspectionCompleteSchema,
    AssetInspectionPageSchema,
    AssetInspectionQuerySchema,
    AssetInspectionSchema,
    IncidentCreateSchema,
    IncidentPageSchema,
    IncidentQuerySchema,
    IncidentSchema,
    InspectionScheduleCreateSchema,
    InspectionScheduleSchema,
    IssuePartsSchema,
    NoticeCreateSchema,
    PlanSchema,
    RegionListSchema,
    ReportSchema,
    StopContactSchema,
    TourCreateSchema,
    TourPageSchema,
    TourPlanSchema,
    TourSchema,
)
from server.accounts.models import Role, User
from server.api.security import current_principal, requires
from server.customers.models import Asset, Site
from server.db import utcnow
from server.exceptions import NotFound
from server.extensions import db
from server.jobs.models import Job
from server.pagination import paginate
from server.quality import incidents, inspections, tours
from server.quality.proactive_models import AssetInspection, Incident, IncidentAffected, Tour, TourStop
from server.records import get_or_404

blp = Blueprint("proactive", __name__, url_prefix="/api/v1/quality",
                description="Proactive service (tours, inspections) and incidents with their rescue")

OFFICE = (Role.admin, Role.dispatcher)


def _opener(user_id, now):
    from server.api.tickets import default_clocks
    from server.tickets.service import open_ticket

    return lambda data: open_ticket(db.session, data, owner_id=user_id, defaults=default_clocks(), now=now)


def _company_today():
    from server.api.quality import company_today

    return company_today()


# --- tours ------------------------------------------------------------------------------------------------------

def _tour_view(tour: Tour) -> dict:
    start, by = tours.contact_window(tour)
    jobs = {j.id: j for j in db.session.scalars(select(Job).where(Job.id.in_(
        [s.job_id for s in tour.stops if s.job_id])))}
    stops = []
    for stop, customer, site in tours.stops_with_names(db.session, tour):
        contacted = stop.contacted_at.date() if stop.contacted_at else None
        stops.append({**{c: getattr(stop, c) for c in (
            "id", "site_id", "customer_id", "status", "contacted_at", "contact_name", "asset_id", "model", "symptoms",
            "estimated_hours", "estimated_cost", "visit_on", "route_order", "job_id")},
            "site_name": site.name, "address": site.address, "customer_name": customer.name, "phone": customer.phone,
            "contact_in_window": (start <= contacted <= by) if contacted else None,
            "planned_start": jobs[stop.job_id].planned_start if stop.job_id in jobs else None})
    return {**{c: getattr(tour, c) for c in ("id", "name", "city", "starts_on", "ends_on", "technician_id",
                                              "planned_at", "created_at")},
            "contact_from": start, "contact_by": by, "stops": stops}


@blp.route("/tours/regions")
class TourRegions(MethodView):
    @requires(*OFFICE)
    @blp.response(200, RegionListSchema)
    def get(self):
        """Where the installed base is: cities by number of installed assets (and customers)."""
        return {"items": tours.regions(db.session)}


@blp.route("/tours")
class Tours(MethodView):
    @requires(*OFFICE)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, TourPageSchema)
    def get(self, args):
        """Tours, soonest first."""
        return paginate(db.session, select(Tour), order_by=[Tour.starts_on, Tour.id], limit=args["limit"],
                        cursor=args.get("cursor"))

    @requires(*OFFICE)
    @blp.arguments(TourCreateSchema)
    @blp.response(201, TourSchema)
    def post(self, data):
        """Plan a tour of a city: every customer site there with installed assets becomes a stop to contact."""
        tour = tours.create_tour(db.session, data, created_by_id=current_principal().user_id, now=utcnow())
        db.session.commit()
        return _tour_view(tour)


@blp.route("/tours/<uuid:tour_id>")
class TourById(MethodView):
    @requires(*OFFICE)
    @blp.response(200, TourSchema)
    def get(self, tour_id):
        """A tour with its stops, the pre-contact window and, once planned, the route."""
        return _tour_view(get_or_404(db.session, Tour, tour_id, "tour"))


@blp.route("/tours/<uuid:tour_id>/stops/<uuid:stop_id>/contact")
class TourStopContact(MethodView):
    @requires(*OFFICE)
    @blp.arguments(StopContactSchema)
    @blp.response(200, TourSchema)
    def post(self, data, tour_id, stop_id):
        """Record the pre-contact (3-5 days ahead): name, model, symptoms, estimated work and cost, and
        whether the customer wants the visit and on which day of the tour."""
        stop = db.session.scalar(select(TourStop).where(TourStop.id == stop_id, TourStop.tour_id == tour_id))
        if stop is None:  # found by the fuzzer: looking up id None answered 500
            raise NotFound("no such tour stop")
        tours.record_contact(db.session, stop, data, by_user_id=current_principal().user_id, now=utcnow())
        db.session.commit()
        return _tour_view(stop.tour)


@blp.route("/tours/<uuid:tour_id>/plan")
class TourPlan(MethodView):
    @requires(*OFFICE)
    @blp.arguments(TourPlanSchema)
    @blp.response(200, TourSchema)
    def post(self, data, tour_id):
        """Turn the agreed visits into jobs for a technician, day by day on a nearest-next route."""
        tour = get_or_404(db.session, Tour, tour_id, "tour")
        user_id, now = current_principal().user_id, utcnow()
        tours.plan(db.session, tour, technician_id=data["technician_id"], owner_id=user_id, now=now,
                   open_ticket=_opener(user_id, now),
                   timezone=current_app.config.get("COMPANY_TIMEZONE") or "Asia/Shanghai")
        db.session.commit()
        return _tour_view(tour)


# --- inspections ------------------------------------------------------------------------------------------------

def _inspection_options(stmt):
    return stmt.options(selectinload(AssetInspection.findings),
                        selectinload(AssetInspection.asset).selectinload(Asset.site).selectinload(Site.customer))


@blp.route("/inspection-schedules")
class InspectionSchedules(MethodView):
    @requires(*OFFICE)
    @blp.arguments(InspectionScheduleCreateSchema)
    @blp.response(201, InspectionScheduleSchema)
    def post(self, data):
        """Inspect an asset on a schedule (every interval_days, the first on first_due_on)."""
        schedule = inspections.create_schedule(db.session, data, now=utcnow())
        db.session.commit()
        return schedule


@blp.route("/inspections")
class Inspections(MethodView):
    @requires(*OFFICE)
    @blp.arguments(AssetInspectionQuerySchema, location="query")
    @blp.response(200, AssetInspectionPageSchema)
    def get(self, args):
        """Inspections due (on or before a day), or one asset's inspections."""
        if "asset_id" in args:
            stmt = select(AssetInspection).where(AssetInspection.asset_id == args["asset_id"])
        else:
            stmt = inspections.due(args.get("due_by") or _company_today())
        return paginate(db.session, _inspection_options(stmt), order_by=[AssetInspection.due_on, AssetInspection.id],
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/inspections/<uuid:inspection_id>/complete")
class InspectionComplete(MethodView):
    @requires(*OFFICE)
    @blp.arguments(AssetInspectionCompleteSchema)
    @blp.response(200, AssetInspectionSchema)
    def post(self, data, inspection_id):
        """Record an inspection and its findings (a finding with open_ticket opens a maintenance ticket);
        the next one is scheduled."""
        inspection = get_or_404(db.session, AssetInspection, inspection_id, "inspection")
        user_id, now = current_principal().user_id, utcnow()
        inspections.complete(db.session, inspection, data, by_user_id=user_id, now=now,
                             open_ticket=_opener(user_id, now))
        db.session.commit()
        return db.session.scalar(_inspection_options(select(AssetInspection).where(
            AssetInspection.id == inspection_id)))


# --- incidents --------------------------------------------------------------------------------------------------

def _incident(incident_id) -> Incident:
    return db.session.scalar(select(Incident).where(Incident.id == incident_id).options(
        selectinload(Incident.notices),
        selectinload(Incident.affected).selectinload(IncidentAffected.customer),
        selectinload(Incident.affected).selectinload(IncidentAffected.asset))) or get_or_404(
            db.session, Incident, incident_id, "incident")


@blp.route("/incidents")
class Incidents(MethodView):
    @requires(*OFFICE)
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentPageSchema)
    def get(self, args):
        """Incidents, latest first."""
        stmt = select(Incident).options(selectinload(Incident.notices), selectinload(Incident.affected))
        if "status" in args:
            stmt = stmt.where(Incident.status == args["status"])
        return paginate(db.session, stmt, order_by=[Incident.occurred_at, Incident.id], descending=True,
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*OFFICE)
    @blp.arguments(IncidentCreateSchema)
    @blp.response(201, IncidentSchema)
    def post(self, data):
        """Report a major fault or incident: its level and the customers and assets it hits; the managers
        are told at once (the outbox)."""
        incident = incidents.report_incident(db.session, data, by_user_id=current_principal().user_id, now=utcnow())
        db.session.commit()
        return _incident(incident.id)


@blp.route("/incidents/<uuid:incident_id>")
class IncidentById(MethodView):
    @requires(*OFFICE)
    @blp.response(200, IncidentSchema)
    def get(self, incident_id):
        """One incident with who was told, the rescue plan and the report."""
        return _incident(incident_id)


def _act(incident_id, action):
    incident = get_or_404(db.session, Incident, incident_id, "incident")
    action(incident)
    db.session.commit()
    db.session.expire_all()
    return _incident(incident_id)


@blp.route("/incidents/<uuid:incident_id>/affected")
class IncidentAffectedAdd(MethodView):
    @requires(*OFFICE)
    @blp.arguments(AffectedCreateSchema)
    @blp.response(200, IncidentSchema)
    def post(self, data, incident_id):
        """More customers or assets found affected."""
        return _act(incident_id, lambda i: incidents.add_affected(db.session, i, data))


@blp.route("/incidents/<uuid:incident_id>/notices")
class IncidentNotices(MethodView):
    @requires(*OFFICE)
    @blp.arguments(NoticeCreateSchema)
    @blp.response(201, IncidentSchema)
    def post(self, data, incident_id):
        """Record who was told, how and when."""
        return _act(incident_id, lambda i: incidents.record_notice(
            db.session, i, data, by_user_id=current_principal().user_id, now=utcnow()))


@blp.route("/incidents/<uuid:incident_id>/plan")
class IncidentPlan(MethodView):
    @requires(*OFFICE)
    @blp.arguments(PlanSchema)
    @blp.response(200, IncidentSchema)
    def put(self, data, incident_id):
        """Submit (or replace) the rescue plan: estimated repair time, people, lead, tools, parts, cost.
        It needs an admin's approval before its parts go out."""
        return _act(incident_id, lambda i: incidents.submit_plan(
            db.session, i, data, by_user_id=current_principal().user_id, now=utcnow()))


@blp.route("/incidents/<uuid:incident_id>/plan/approval")
class IncidentPlanApproval(MethodView):
    @requires(Role.admin)
    @blp.response(200, IncidentSchema)
    def post(self, incident_id):
        """Approve the submitted rescue plan (admins)."""
        return _act(incident_id, lambda i: incidents.approve_plan(
            db.session, i, by_user=db.session.get(User, current_principal().user_id), now=utcnow()))


@blp.route("/incidents/<uuid:incident_id>/parts-issue")
class IncidentPartsIssue(MethodView):
    @requires(*OFFICE, Role.warehouse)
    @blp.arguments(IssuePartsSchema)
    @blp.response(200, IncidentSchema)
    def post(self, data, incident_id):
        """Issue the plan's parts from a warehouse (stock ledger): refused before the plan's approval."""
        return _act(incident_id, lambda i: incidents.issue_parts(
            db.session, i, location_id=data["location_id"], to_location_id=data["to_location_id"],
            by_user_id=current_principal().user_id, now=utcnow()))


@blp.route("/incidents/<uuid:incident_id>/resolve")
class IncidentResolve(MethodView):
    @requires(*OFFICE)
    @blp.response(200, IncidentSchema)
    def post(self, incident_id):
        """The fault is repaired."""
        return _act(incident_id, lambda i: incidents.resolve(db.session, i, now=utcnow()))


@blp.route("/incidents/<uuid:incident_id>/report")
class IncidentReport(MethodView):
    @requires(*OFFICE)
    @blp.arguments(ReportSchema)
    @blp.response(200, IncidentSchema)
    def put(self, data, incident_id):
        """The fault analysis report (cause, actions, prevention), after the fault is resolved; closes it."""
        return _act(incident_id, lambda i: incidents.write_report(
            db.session, i, data, by_user_id=current_principal().user_id, now=utcnow()))
