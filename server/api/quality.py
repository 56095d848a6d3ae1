"""Service quality for the office: sign-off rating statistics, survey
campaigns and their results, follow-up tasks. The customer's side of a
survey is in ``server/api/survey.py``."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from schemas.base import PageArgsSchema
from schemas.quality import (
    CampaignCreateSchema,
    CampaignPageSchema,
    CampaignResultsSchema,
    CampaignSchema,
    CampaignSendSchema,
    CampaignSentSchema,
    ComplaintHandoverSchema,
    ComplaintPageSchema,
    ComplaintQuerySchema,
    ComplaintSchema,
    ComplaintStepCreateSchema,
    FollowUpCloseSchema,
    FollowUpPageSchema,
    FollowUpQuerySchema,
    FollowUpSchema,
    InvitationPageSchema,
    InvitationQuerySchema,
    RatedJobPageSchema,
    RatedJobQuerySchema,
    RatingQuerySchema,
    RatingSummarySchema,
    ReturnVisitCallCreateSchema,
    ReturnVisitPageSchema,
    ReturnVisitQuerySchema,
    ReturnVisitSchema,
    ScheduleResultSchema,
    ScheduleRunSchema,
)
from server.accounts.models import Role, User
from server.api.security import current_principal, requires
from server.customers.models import Asset, Site
from server.db import utcnow
from server.exceptions import NotFound
from server.extensions import db
from server.jobs.models import Job
from server.pagination import paginate
from server.quality import complaints, return_visits, surveys
from server.quality.models import (
    Complaint,
    ComplaintStage,
    FollowUpTask,
    ReturnVisit,
    SurveyCampaign,
    SurveyInvitation,
)
from server.records import get_or_404
from server.tickets.models import Category, Ticket

blp = Blueprint("quality", __name__, url_prefix="/api/v1/quality",
                description="Service quality: sign-off ratings, survey campaigns, follow-up tasks, return visits")

OFFICE = (Role.admin, Role.dispatcher)


def _with_counts(campaign: SurveyCampaign) -> SurveyCampaign:
    campaign.invited, campaign.answered = db.session.execute(
        select(func.count(), func.count(SurveyInvitation.answered_at))
        .where(SurveyInvitation.campaign_id == campaign.id)).one()
    return campaign


@blp.route("/ratings/summary")
class RatingSummary(MethodView):
    @requires(*OFFICE)
    @blp.arguments(RatingQuerySchema, location="query")
    @blp.response(200, RatingSummarySchema)
    def get(self, args):
        """How many sign-offs were rated 满意 / 尚可 / 不满意 / 极差, by the jobs' completion time."""
        return surveys.rating_summary(db.session, since=args.get("since"), until=args.get("until"))


@blp.route("/ratings")
class RatedJobs(MethodView):
    @requires(*OFFICE)
    @blp.arguments(RatedJobQuerySchema, location="query")
    @blp.response(200, RatedJobPageSchema)
    def get(self, args):
        """The rated jobs with the customer's opinion, latest completion first."""
        stmt = select(Job).where(Job.customer_rating.is_not(None), Job.completed_at.is_not(None)).options(
            selectinload(Job.ticket).selectinload(Ticket.customer))
        if "rating" in args:
            stmt = stmt.where(Job.customer_rating == args["rating"])
        if "since" in args:
            stmt = stmt.where(Job.completed_at >= args["since"])
        if "until" in args:
            stmt = stmt.where(Job.completed_at < args["until"])
        return paginate(db.session, stmt, order_by=[Job.completed_at, Job.id], descending=True,
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/surveys")
class Campaigns(MethodView):
    @requires(*OFFICE)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CampaignPageSchema)
    def get(self, args):
        """Survey campaigns, latest first, with how many were invited and answered."""
        page = paginate(db.session, select(SurveyCampaign),
                        order_by=[SurveyCampaign.created_at, SurveyCampaign.id], descending=True,
                        limit=args["limit"], cursor=args.get("cursor"))
        for campaign in page.items:
            _with_counts(campaign)
        return page

    @requires(*OFFICE)
    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data):
        """Start a campaign of the 《顾客满意度调查表》 (the procedures ask for at least two a year)."""
        campaign = surveys.create_campaign(db.session, data, created_by_id=current_principal().user_id,
                                           now=utcnow())
        db.session.commit()
        return _with_counts(campaign)


@blp.route("/surveys/<uuid:campaign_id>/send")
class CampaignSend(MethodView):
    @requires(*OFFICE)
    @blp.arguments(CampaignSendSchema)
    @blp.response(201, CampaignSentSchema)
    def post(self, data, campaign_id):
        """Invite customers' contacts with single-use links; each link also goes to the outbox
        (email, and the webhooks that carry SMS or WeChat). Customers already invited are skipped."""
        campaign = get_or_404(db.session, SurveyCampaign, campaign_id, "survey campaign")
        sent = surveys.send_campaign(
            db.session, campaign, data.get("customer_ids"), ttl_days=data["ttl_days"], now=utcnow(),
            link_url=lambda token: url_for("survey_page.page", token=token, _external=True))
        db.session.commit()
        return {"invited": [{"id": i.id, "customer_id": i.customer_id, "customer_name": i.customer.name, "url": url}
                            for i, url in sent]}


@blp.route("/surveys/<uuid:campaign_id>/results")
class CampaignResults(MethodView):
    @requires(*OFFICE)
    @blp.response(200, CampaignResultsSchema)
    def get(self, campaign_id):
        """Per question, how many customers chose each answer."""
        campaign = get_or_404(db.session, SurveyCampaign, campaign_id, "survey campaign")
        return surveys.campaign_results(db.session, campaign)


@blp.route("/surveys/<uuid:campaign_id>/invitations")
class CampaignInvitations(MethodView):
    @requires(*OFFICE)
    @blp.arguments(InvitationQuerySchema, location="query")
    @blp.response(200, InvitationPageSchema)
    def get(self, args, campaign_id):
        """Each invited customer with their answers, per question, and their comment."""
        get_or_404(db.session, SurveyCampaign, campaign_id, "survey campaign")
        stmt = select(SurveyInvitation).where(SurveyInvitation.campaign_id == campaign_id).options(
            selectinload(SurveyInvitation.answers), selectinload(SurveyInvitation.customer))
        if "answered" in args:
            stmt = stmt.where(SurveyInvitation.answered_at.is_not(None) if args["answered"]
                              else SurveyInvitation.answered_at.is_(None))
        return paginate(db.session, stmt, order_by=[SurveyInvitation.sent_at, SurveyInvitation.id],
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/follow-ups")
class FollowUps(MethodView):
    @requires(*OFFICE)
    @blp.arguments(FollowUpQuerySchema, location="query")
    @blp.response(200, FollowUpPageSchema)
    def get(self, args):
        """Customer service's follow-up tasks (a bad survey answer or sign-off rating), oldest first."""
        stmt = select(FollowUpTask).options(selectinload(FollowUpTask.customer))
        for name in ("status", "customer_id"):
            if name in args:
                stmt = stmt.where(getattr(FollowUpTask, name) == args[name])
        return paginate(db.session, stmt, order_by=[FollowUpTask.created_at, FollowUpTask.id],
                        limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/follow-ups/<uuid:task_id>/close")
class FollowUpClose(MethodView):
    @requires(*OFFICE)
    @blp.arguments(FollowUpCloseSchema)
    @blp.response(200, FollowUpSchema)
    def post(self, data, task_id):
        """Record what the call back achieved and close the task."""
        task = get_or_404(db.session, FollowUpTask, task_id, "follow-up task")
        surveys.close_follow_up(db.session, task, outcome=data["outcome"], by_user_id=current_principal().user_id,
                                now=utcnow())
        db.session.commit()
        return task


def company_today():
    """Today in the company's zone (a call list is a working day there)."""
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(current_app.config.get("COMPANY_TIMEZONE") or "Asia/Shanghai")).date()


def _visit_options(stmt):
    return stmt.options(selectinload(ReturnVisit.calls),
                        selectinload(ReturnVisit.asset).selectinload(Asset.site).selectinload(Site.customer))


@blp.route("/return-visits")
class ReturnVisits(MethodView):
    @requires(*OFFICE)
    @blp.arguments(ReturnVisitQuerySchema, location="query")
    @blp.response(200, ReturnVisitPageSchema)
    def get(self, args):
        """Customer service's call list for a day (oldest due first), or one asset's schedule."""
        if "asset_id" in args:
            stmt = select(ReturnVisit).where(ReturnVisit.asset_id == args["asset_id"])
            order = [ReturnVisit.due_on, ReturnVisit.id]
        else:
            stmt = return_visits.call_list(args.get("day") or company_today())
            order = [ReturnVisit.next_call_on, ReturnVisit.id]
        return paginate(db.session, _visit_options(stmt), order_by=order, limit=args["limit"],
                        cursor=args.get("cursor"))


@blp.route("/return-visits/schedule")
class ReturnVisitSchedule(MethodView):
    @requires(*OFFICE)
    @blp.arguments(ScheduleRunSchema)
    @blp.response(200, ScheduleResultSchema)
    def post(self, data):
        """Extend every installed asset's return-visit schedule to the horizon (also `flask return-visits-schedule`,
        daily). Assets get theirs when created and when their installation date changes."""
        totals = return_visits.schedule_all(db.session, today=company_today(), horizon_days=data["horizon_days"])
        db.session.commit()
        return totals


@blp.route("/return-visits/<uuid:visit_id>/calls")
class ReturnVisitCalls(MethodView):
    @requires(*OFFICE)
    @blp.arguments(ReturnVisitCallCreateSchema)
    @blp.response(201, ReturnVisitSchema)
    def post(self, data, visit_id):
        """Record a call: satisfied; problem (opens a ticket in the same step, owned by the caller);
        call back or unreachable (moves the visit to the call-back day)."""
        from server.api.tickets import default_clocks
        from server.tickets.service import open_ticket

        visit = get_or_404(db.session, ReturnVisit, visit_id, "return visit")
        user_id, now = current_principal().user_id, utcnow()
        return_visits.record_call(
            db.session, visit, data, by_user_id=user_id, now=now,
            open_ticket=lambda t: open_ticket(db.session, t, owner_id=user_id, defaults=default_clocks(), now=now))
        db.session.commit()
        return db.session.scalar(_visit_options(select(ReturnVisit).where(ReturnVisit.id == visit_id)))


def _complaint_view(ticket: Ticket, complaint: Complaint | None) -> dict:
    names = {}
    wanted = {ticket.owner_id}
    if complaint is not None:
        wanted |= {s.by_user_id for s in complaint.steps} | {
            s.to_user_id for s in complaint.steps if s.to_user_id}
    for user in db.session.scalars(select(User).where(User.id.in_(wanted))):
        names[user.id] = user.display_name
    stage = complaint.stage if complaint else ComplaintStage.received
    following = complaints.ORDER[complaints.ORDER.index(stage) + 1] if stage is not ComplaintStage.closed else None
    accountable = ticket.owner_id  # 首问负责: the owner, who took the report, until handed over
    view = {"ticket_id": ticket.id, "reference": ticket.reference, "summary": ticket.summary,
            "customer_name": ticket.customer.name, "complaint_class": ticket.complaint_class.value,
            "ticket_status": ticket.status.value, "received_at": ticket.received_at, "stage": stage,
            "next_step": following.value if following else None, "accountable_user_id": accountable,
            "accountable_name": names.get(accountable), "steps": []}
    if complaint is not None:
        for name in ("cause", "responsible_department", "responsible_person", "remedy", "follow_up_result",
                     "closed_at"):
            view[name] = getattr(complaint, name)
        view["steps"] = [{"id": s.id, "step": s.step, "at": s.at, "by_user_id": s.by_user_id,
                          "by_name": names.get(s.by_user_id), "note": s.note, "to_user_id": s.to_user_id,
                          "to_name": names.get(s.to_user_id)} for s in complaint.steps]
    return view


def _complaint_ticket(ticket_id) -> Ticket:
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id, Ticket.category == Category.complaint))
    if ticket is None:
        raise NotFound("no such complaint")
    return ticket


@blp.route("/complaints")
class Complaints(MethodView):
    @requires(*OFFICE)
    @blp.arguments(ComplaintQuerySchema, location="query")
    @blp.response(200, ComplaintPageSchema)
    def get(self, args):
        """Complaint tickets with where each stands, oldest report first."""
        stmt = (select(Ticket).outerjoin(Complaint, Complaint.ticket_id == Ticket.id)
                .where(Ticket.category == Category.complaint).options(selectinload(Ticket.customer)))
        if "open" in args:
            closed = Complaint.stage == ComplaintStage.closed
            stmt = stmt.where(or_(Complaint.stage.is_(None), ~closed) if args["open"] else closed)
        page = paginate(db.session, stmt, order_by=[Ticket.received_at, Ticket.id], limit=args["limit"],
                        cursor=args.get("cursor"))
        found = {c.ticket_id: c for c in db.session.scalars(
            select(Complaint).where(Complaint.ticket_id.in_([t.id for t in page.items]))
            .options(selectinload(Complaint.steps)))}
        page.items = [_complaint_view(t, found.get(t.id)) for t in page.items]
        return page


@blp.route("/complaints/<uuid:ticket_id>")
class ComplaintById(MethodView):
    @requires(*OFFICE)
    @blp.response(200, ComplaintSchema)
    def get(self, ticket_id):
        """One complaint with every step: who, when, what."""
        ticket = _complaint_ticket(ticket_id)
        return _complaint_view(ticket, db.session.get(Complaint, ticket.id))


@blp.route("/complaints/<uuid:ticket_id>/steps")
class ComplaintSteps(MethodView):
    @requires(*OFFICE)
    @blp.arguments(ComplaintStepCreateSchema)
    @blp.response(201, ComplaintSchema)
    def post(self, data, ticket_id):
        """The complaint's next step: confirmed, analysed (cause), responsibility (department, person),
        remedy_agreed (remedy), followed_up (result), closed. In order; closing before the follow-up is a 409."""
        ticket = _complaint_ticket(ticket_id)
        complaint = complaints.take_step(db.session, ticket, data, by_user_id=current_principal().user_id,
                                         now=utcnow())
        db.session.commit()
        return _complaint_view(ticket, complaint)


@blp.route("/complaints/<uuid:ticket_id>/handover")
class ComplaintHandover(MethodView):
    @requires(*OFFICE)
    @blp.arguments(ComplaintHandoverSchema)
    @blp.response(201, ComplaintSchema)
    def post(self, data, ticket_id):
        """Hand the complaint and its ticket to another office user (首问负责: only the accountable person or an
        admin may; otherwise the first responder stays accountable)."""
        ticket = _complaint_ticket(ticket_id)
        complaint = complaints.hand_over(db.session, ticket, to_user_id=data["to_user_id"], note=data["note"],
                                         by_user=db.session.get(User, current_principal().user_id), now=utcnow())
        db.session.commit()
        return _complaint_view(ticket, complaint)


