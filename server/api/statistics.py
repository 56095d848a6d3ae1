"""The monthly statistics (JSON, CSV, the tickets behind a figure, the
service supervision report PDF) and the cost inputs recorded against jobs."""

from __future__ import annotations

import csv
import io

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from schemas.statistics import (
    BehindPageSchema,
    BehindQuerySchema,
    ExpenseInSchema,
    ExpenseListSchema,
    ExpenseSchema,
    MonthlyQuerySchema,
    MonthlySchema,
)
from server import i18n
from server.accounts.models import Role
from server.api.jobs import get_visible_job
from server.api.security import current_principal, requires
from server.db import utcnow
from server.extensions import db
from server.pagination import paginate
from server.reports import statistics
from server.reports.models import ExpenseKind, JobExpense
from server.tickets.models import Ticket

blp = Blueprint("statistics", __name__, url_prefix="/api/v1", description="Monthly statistics and cost inputs")

MANAGERS = (Role.admin, Role.dispatcher)


def _month(args, by=None):
    c = current_app.config
    return statistics.Month(db.session, args["month"], tz=c["COMPANY_TIMEZONE"], by=by or args["by"],
                            now=utcnow(), labour_cost_per_hour=c["LABOUR_COST_PER_HOUR"])


def _locale(args) -> str:
    from server.pages.locale import current_locale

    return args.get("lang") or current_locale()


@blp.route("/statistics/monthly")
class Monthly(MethodView):
    @requires(*MANAGERS)
    @blp.arguments(MonthlyQuerySchema, location="query")
    @blp.response(200, MonthlySchema)
    def get(self, args):
        """The month's figures in total, per region or per technician, with each figure's definition."""
        result = _month(args).result()
        result["definitions"] = {k: f.definition for k, f in statistics.FIGURES.items()}
        result["units"] = {k: f.unit for k, f in statistics.FIGURES.items()}
        db.session.commit()
        return result


@blp.route("/statistics/monthly.csv")
class MonthlyCsv(MethodView):
    @requires(*MANAGERS)
    @blp.arguments(MonthlyQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "One row per group", "content": {"text/csv": {}}}})
    def get(self, args):
        """The same figures as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
        result = _month(args).result()
        db.session.commit()
        rows = statistics.csv_rows(result)
        locale = _locale(args)
        rows[0] = [i18n.t(f"stat.{h}", locale) if f"stat.{h}" in i18n.catalogue(locale) else h for h in rows[0]]
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="statistics-{args["month"]}-{args["by"]}.csv"'})


@blp.route("/statistics/monthly/tickets")
class MonthlyTickets(MethodView):
    @requires(*MANAGERS)
    @blp.arguments(BehindQuerySchema, location="query")
    @blp.response(200, BehindPageSchema)
    def get(self, args):
        """The tickets behind one figure of one group: from a chart to the work."""
        ids = _month(args).tickets_behind(args["figure"], args.get("group"))
        stmt = select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.customer),
                                                                 selectinload(Ticket.site))
        return paginate(db.session, stmt, order_by=[Ticket.received_at, Ticket.id], limit=args["limit"],
                        cursor=args.get("cursor"))


@blp.route("/statistics/monthly/report.pdf")
class MonthlyReportPdf(MethodView):
    @requires(*MANAGERS)
    @blp.arguments(MonthlyQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "服务监督报告", "content": {"application/pdf": {}}}})
    def get(self, args):
        """The monthly service supervision report (服务监督报告) as a PDF, Chinese by default."""
        from media.supervision_pdf import render_supervision_pdf

        total = _month(args, "total").result()
        regions = _month(args, "region").result()
        technicians = _month(args, "technician").result()
        db.session.commit()
        body = render_supervision_pdf(total, regions, technicians, locale=_locale(args),
                                      tz=current_app.config["COMPANY_TIMEZONE"], now=utcnow())
        return Response(body, content_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="supervision-report-{args["month"]}.pdf"'})


@blp.route("/jobs/<uuid:job_id>/expenses")
class JobExpenses(MethodView):
    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.response(200, ExpenseListSchema)
    def get(self, job_id):
        """Cost inputs recorded on a job (travel, transport, lodging, meals, other)."""
        job = get_visible_job(job_id)
        items = db.session.scalars(select(JobExpense).where(JobExpense.job_id == job.id)
                                   .order_by(JobExpense.incurred_at, JobExpense.id)).all()
        return {"items": items}

    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.arguments(ExpenseInSchema)
    @blp.response(201, ExpenseSchema)
    def post(self, data, job_id):
        """Record a cost where it happens: from the office, or the technician on their own job."""
        job = get_visible_job(job_id)
        now = utcnow()
        expense = JobExpense(job_id=job.id, kind=ExpenseKind(data["kind"]), amount=data["amount"],
                             travel_minutes=data.get("travel_minutes"), distance_km=data.get("distance_km"),
                             incurred_at=data.get("incurred_at") or now, note=data.get("note"),
                             receipt_ref=data.get("receipt_ref"), recorded_at=now,
                             recorded_by_user_id=current_principal().user_id)
        db.session.add(expense)
        db.session.commit()
        return expense
