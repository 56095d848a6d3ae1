"""Dispatch: candidates and stock for a ticket, assigning it, spare-unit swaps."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from schemas.dispatch import (
    AssignmentSchema,
    AssignSchema,
    CandidateReportSchema,
    CandidatesQuerySchema,
    DispatchActionPageSchema,
    DispatchActionQuerySchema,
    SendSpareUnitSchema,
    SpareUnitArrivedSchema,
    StockOptionsQuerySchema,
    StockOptionsReportSchema,
    SwapSuggestionListSchema,
    SwapSuggestionSchema,
)
from schemas.stock import StockSpareUnitSchema
from server.accounts.models import Role
from server.api.jobs import get_visible_job
from server.api.security import current_principal, requires
from server.db import utcnow
from server.dispatch import assign, ranking, stock_options, swap
from server.dispatch.models import DispatchAction
from server.dispatch.settings import DispatchSettings
from server.extensions import db
from server.pagination import paginate

blp = Blueprint("dispatch", __name__, url_prefix="/api/v1", description="Dispatch: who goes, with what")

OFFICE = (Role.admin, Role.dispatcher)


def settings() -> DispatchSettings:
    return DispatchSettings.from_config(current_app.config)


@blp.record_once
def _check_settings(state) -> None:
    # Unworkable dispatch settings stop the app from starting, not every dispatch request.
    DispatchSettings.from_config(state.app.config)


def end_read() -> None:
    """End a read-only request's transaction with COMMIT rather than the ROLLBACK
    of the session's teardown: psycopg forgets its prepared statements on every
    ROLLBACK, so a pooled connection would re-plan the dispatch searches on every
    request; after a COMMIT they stay prepared. (The answer is plain data: nothing
    expired by the commit is read again.)"""
    db.session.commit()


@blp.route("/tickets/<uuid:ticket_id>/candidates")
class Candidates(MethodView):
    @requires(*OFFICE)
    @blp.arguments(CandidatesQuerySchema, location="query")
    @blp.response(200, CandidateReportSchema)
    @blp.alt_response(409, description="The ticket is closed, resolved or cancelled.")
    @blp.alt_response(422, description="The site has no coordinates, or no product line is known.")
    def get(self, args, ticket_id):
        """The nearest available qualified technicians, ranked, and the nearest filtered out with why."""
        now = utcnow()
        # Office roles see every ticket: no scope to apply, so one round trip loads it all.
        context = ranking.ticket_context(db.session, ticket_id, now=now, product_line=args.get("product_line"),
                                         with_spare_unit=args["with_spare_unit"])
        report = ranking.find_candidates(db.session, context, settings=settings(), now=now, limit=args.get("limit"))
        end_read()
        return report


@blp.route("/tickets/<uuid:ticket_id>/stock-options")
class StockOptions(MethodView):
    @requires(*OFFICE)
    @blp.arguments(StockOptionsQuerySchema, location="query")
    @blp.response(200, StockOptionsReportSchema)
    @blp.alt_response(422, description="The site has no coordinates, or there is nothing to look for.")
    def get(self, args, ticket_id):
        """The nearest stock of a part or spare unit the ticket needs, with what is available there."""
        now = utcnow()
        context = ranking.ticket_context(db.session, ticket_id, now=now, require_product_line=False)
        needs = stock_options.resolve_needs(db.session, context, part_number=args.get("part_number"),
                                            model=args.get("model"), quantity=args.get("quantity"))
        items = stock_options.stock_options(db.session, context, needs, settings=settings(),
                                            limit=args.get("limit"))
        end_read()
        return {"ticket_id": ticket_id, "under_warranty": context.under_warranty, "items": items}


@blp.route("/tickets/<uuid:ticket_id>/assign")
class Assign(MethodView):
    @requires(*OFFICE)
    @blp.arguments(AssignSchema)
    @blp.response(201, AssignmentSchema)
    @blp.alt_response(409, description="Someone else took the ticket, the technician's slot or the stock.")
    @blp.alt_response(422, description="Unknown technician, part, location or spare unit.")
    def post(self, data, ticket_id):
        """Assign the ticket: create the job, reserve the chosen stock, mark the ticket dispatched (a technician
        off shift, on leave or at their job limit only with an override_reason, which is recorded)."""
        parts = [assign.PartChoice(p["part_id"], p["location_id"], p["quantity"]) for p in data["parts"]]
        result = assign.assign(db.session, ticket_id, technician_id=data["technician_id"], parts=parts,
                               spare_unit_id=data["spare_unit_id"], settings=settings(), now=utcnow(),
                               by_user_id=current_principal().user_id, product_line=data.get("product_line"),
                               planned_start=data["planned_start"], instructions=data["instructions"],
                               override_reason=data["override_reason"])
        db.session.commit()
        return result


@blp.route("/dispatch/actions")
class DispatchActions(MethodView):
    @requires(*OFFICE)
    @blp.arguments(DispatchActionQuerySchema, location="query")
    @blp.response(200, DispatchActionPageSchema)
    def get(self, args):
        """Dispatchers' recorded decisions, oldest first: overrides (late, overtime, on leave, over the job limit),
        reassignments and cancellations, each with its reason (the monthly statistics count them)."""
        stmt = select(DispatchAction)
        if "kind" in args:
            stmt = stmt.where(DispatchAction.kind == args["kind"])
        if "since" in args:
            stmt = stmt.where(DispatchAction.at >= args["since"])
        if "until" in args:
            stmt = stmt.where(DispatchAction.at < args["until"])
        return paginate(db.session, stmt, order_by=[DispatchAction.at, DispatchAction.id], limit=args["limit"],
                        cursor=args.get("cursor"))


@blp.route("/dispatch/swap-suggestions")
class SwapSuggestions(MethodView):
    @requires(*OFFICE)
    @blp.response(200, SwapSuggestionListSchema)
    def get(self):
        """Jobs on site too long without completion, each with the nearest spare unit and who can bring it."""
        return {"items": swap.suggest_swaps(db.session, now=utcnow(), settings=settings())}


@blp.route("/jobs/<uuid:job_id>/swap-suggestion")
class SwapSuggestionForJob(MethodView):
    @requires(*OFFICE)
    @blp.response(200, SwapSuggestionSchema)
    def get(self, job_id):
        """A spare-unit swap for one job (says why none is needed yet, if so)."""
        job = get_visible_job(job_id)
        return swap.suggest_swap(db.session, job, now=utcnow(), settings=settings())


@blp.route("/jobs/<uuid:job_id>/spare-unit")
class SendSpareUnit(MethodView):
    @requires(*OFFICE)
    @blp.arguments(SendSpareUnitSchema)
    @blp.response(200, StockSpareUnitSchema)
    @blp.alt_response(409, description="The unit is not available, or the job is finished.")
    @blp.alt_response(422, description="Unknown unit or courier, or a unit of another model.")
    def post(self, data, job_id):
        """Send a spare unit to the job's site (备用机): in transit until it arrives; the unit's history and the
        ticket's say who sent it, from where, and who brings it."""
        job = get_visible_job(job_id)
        unit = swap.send_spare_unit(db.session, job, spare_unit_id=data["spare_unit_id"],
                                    courier_id=data["courier_id"], now=utcnow(),
                                    by_user_id=current_principal().user_id)
        db.session.commit()
        return unit


@blp.route("/jobs/<uuid:job_id>/spare-unit/arrived")
class SpareUnitArrived(MethodView):
    @requires(*OFFICE)
    @blp.arguments(SpareUnitArrivedSchema)
    @blp.response(200, StockSpareUnitSchema)
    @blp.alt_response(409, description="The unit is not on its way to this job's site.")
    def post(self, data, job_id):
        """The spare unit sent to the site arrived: it is lent to the customer (loaned)."""
        job = get_visible_job(job_id)
        unit = swap.spare_unit_arrived(db.session, job, spare_unit_id=data["spare_unit_id"], now=utcnow(),
                                       by_user_id=current_principal().user_id)
        db.session.commit()
        return unit
