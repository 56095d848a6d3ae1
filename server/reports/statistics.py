"""The monthly statistics (月度统计) behind the service supervision report.

Every figure is named in :data:`FIGURES` with its written definition (the same
text is in docs/monthly-statistics.md, which also says which vendor's
definition was followed and why). A month is a calendar month in the
company's zone (``COMPANY_TIMEZONE``), ``[1st 00:00, next 1st 00:00)``.

Figures are grouped per month in total, per region (the site's city) or per
technician; each value keeps the tickets behind it, so a manager can go from
a figure to the tickets (:func:`tickets_behind`).

The queries read only the rows of the month (indexed time columns) and a
little context; the sums are made here, in one pass, so that every figure
and its drill-down come from the same rows. bench/bench_monthly_report.py
measures it against plain SQL over the same rows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.customers.models import Site
from server.exceptions import InvalidInput
from server.jobs.models import Job, JobStatus, PartUsage
from server.reports.models import ExpenseKind, JobExpense
from server.stock.models import Part, SerialEvent, Transfer, TransferLine
from server.technicians.models import Technician
from server.tickets.models import Ticket

GROUPINGS = ("total", "region", "technician")


def _id(column):
    """An id column read as the database's own text: turning tens of thousands of
    ids into UUID objects costs more than the rest of the month's sums. Ids read
    this way compare with each other; :func:`_uuid` makes a UUID of one for output."""
    return sa.type_coerce(column, sa.String)


@lru_cache(maxsize=8192)  # a technician's id comes back on every row of theirs
def _uuid(raw) -> uuid.UUID | None:
    return None if raw is None else raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))
REPEAT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Figure:
    key: str
    unit: str  # count | rate (0..1) | hours | days | money (CNY) | distribution
    definition: str


FIGURES: dict[str, Figure] = {f.key: f for f in (
    Figure("tickets_received", "count", "Tickets received in the month (reception time in the month)."),
    Figure("tickets_by_channel", "distribution", "Tickets received in the month, by intake channel."),
    Figure("tickets_by_category", "distribution", "Tickets received in the month, by category."),
    Figure("tickets_by_complaint_class", "distribution",
           "Complaint tickets received in the month, by complaint class (quality / non-quality / other)."),
    Figure("response_attainment", "rate",
           "Of tickets received in the month whose response clock has an outcome (responded, or due and not "
           "responded), the share responded by the due time. Due times are the ticket's own (the contract's, "
           "else 2 h). Clocks still running are left out."),
    Figure("on_site_attainment", "rate",
           "As response_attainment, for the on-site clock (contract, else 24 h): first arrival on site."),
    Figure("resolve_attainment", "rate",
           "As response_attainment, for the resolution clock (contract, else 72 h)."),
    Figure("first_time_fix_rate", "rate",
           "Of tickets resolved in the month that had at least one visit (a job with an arrival), the share "
           "resolved with exactly one visit."),
    Figure("mean_time_to_repair_hours", "hours",
           "Mean of (resolved - received) over tickets resolved in the month: the customer's time without "
           "service, from reception to resolution (ITIL's mean time to restore service)."),
    Figure("repeat_visit_rate", "rate",
           "Of tickets with an asset received in the month, the share whose asset had another ticket resolved "
           "in the 30 days before this one was received."),
    Figure("installation_trips", "count",
           "Person-trips for installation and commissioning: jobs on installation tickets with an arrival in "
           "the month (one technician, one arrival = one trip)."),
    Figure("installation_person_days", "days",
           "Distinct (technician, local calendar day of arrival) pairs over installation trips."),
    Figure("installation_cost", "money",
           "Labour (hours on site + recorded travel minutes, at LABOUR_COST_PER_HOUR) of installation trips, plus "
           "travel, lodging, meals and other expenses recorded in the month on installation jobs."),
    Figure("service_trips", "count", "As installation_trips, for every other category (after-sales dispatches)."),
    Figure("service_person_days", "days", "As installation_person_days, for after-sales dispatches."),
    Figure("service_cost", "money", "As installation_cost, for after-sales dispatches."),
    Figure("parts_cost_warranty", "money",
           "Parts used under warranty on jobs completed in the month: quantity x the part's unit cost."),
    Figure("parts_cost_chargeable", "money", "As parts_cost_warranty, for parts charged to the customer."),
    Figure("transport_cost", "money", "Transport (freight, courier) expenses recorded in the month."),
    Figure("total_cost", "money",
           "installation_cost + service_cost + parts_cost_warranty + parts_cost_chargeable + transport_cost."),
    Figure("dispatch_overrides", "count",
           "Assignments in the month that overrode availability or missed the on-site deadline, with a reason "
           "(dispatch actions of kind override)."),
    Figure("spare_unit_swaps", "count", "Spare units loaned to a customer's site in the month."),
    Figure("van_fill_rate", "rate",
           "Of part lines used on jobs completed in the month, the share that came from the technician's van "
           "stock (no transfer was made for that job and part)."),
    Figure("satisfaction", "distribution",
           "Sign-off ratings (满意 / 尚可 / 不满意 / 极差) of jobs completed in the month."),
    Figure("satisfaction_rate", "rate",
           "Of rated jobs completed in the month, the share rated satisfied or acceptable."),
    Figure("survey_satisfaction", "distribution",
           "Answers to the satisfaction survey (《顾客满意度调查表》, every rated question) of invitations answered "
           "in the month, by rating."),
    Figure("survey_satisfaction_rate", "rate",
           "Of those answers, the share rated satisfied or acceptable."),
    Figure("return_visits_due", "count",
           "Scheduled return-visit calls (客服部管理制度) due on a day of the month."),
    Figure("return_visits_done", "count", "Of return_visits_due, those called (status done)."),
    Figure("return_visit_rate", "rate", "return_visits_done / return_visits_due."),
)}

# Figures that are counts of rows: their drill-down is the tickets counted. Rates drill into their
# denominator's tickets (the outcome is shown per ticket on the ticket pages).
RATES = {k: f for k, f in FIGURES.items() if f.unit == "rate"}
NOT_YET_AVAILABLE: dict[str, str] = {}


def month_bounds(month: str, tz: str) -> tuple[datetime, datetime]:
    """``"2026-11"`` -> the month's start and end as aware datetimes in ``tz``."""
    try:
        year, number = (int(x) for x in month.split("-"))
        start = datetime(year, number, 1, tzinfo=ZoneInfo(tz))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("month must be YYYY-MM", code="invalid_period",
                           details={"fields": {"month": ["Use YYYY-MM."]}}) from exc
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return start, end


def due_date(month: str) -> date:
    """The report is due by the 4th of the next month."""
    year, number = (int(x) for x in month.split("-"))
    return date(year + (number == 12), number % 12 + 1, 4)


class _Group:
    __slots__ = ("n", "tickets", "days")

    def __init__(self):
        self.n: dict[str, float] = defaultdict(float)
        self.tickets: dict[str, set] = defaultdict(set)
        self.days: dict[str, set] = defaultdict(set)

    def add(self, key: str, ticket_id, amount: float = 1.0) -> None:
        self.n[key] += amount
        if ticket_id is not None:
            self.tickets[key].add(ticket_id)


def _ratio(g: _Group, num: str, den: str):
    return round(g.n[num] / g.n[den], 4) if g.n[den] else None


def _attained(done, due, now) -> bool | None:
    if done is not None:
        return done <= due
    return False if due <= now else None  # running: no outcome yet


class Month:
    """One month's rows, summed per group."""

    def __init__(self, session: Session, month: str, *, tz: str, by: str = "total", now: datetime,
                 labour_cost_per_hour: float = 0.0):
        if by not in GROUPINGS:
            raise InvalidInput(f"by must be one of {', '.join(GROUPINGS)}", code="invalid",
                               details={"fields": {"by": [f"One of {', '.join(GROUPINGS)}."]}})
        self.session, self.month, self.tz, self.by, self.now = session, month, tz, by, now
        self.rate = float(labour_cost_per_hour)
        self.start, self.end = month_bounds(month, tz)
        self.groups: dict = defaultdict(_Group)
        self.labels: dict = {}
        self._run()

    # -- grouping --------------------------------------------------------------------------------------------

    def _key(self, city, technician_id):
        if self.by == "total":
            return "total"
        if self.by == "region":
            return city or "—"
        return _uuid(technician_id)

    def _g(self, city, technician_id) -> _Group:
        return self.groups[self._key(city, technician_id)]

    # -- the queries -----------------------------------------------------------------------------------------

    def _received(self):
        return sa.select(Ticket.id).where(Ticket.received_at >= self.start, Ticket.received_at < self.end)

    def _resolved(self):
        return sa.select(Ticket.id).where(Ticket.resolved_at >= self.start, Ticket.resolved_at < self.end)

    def _technician_of_tickets(self) -> dict:
        """The technician a ticket counts for: its latest visit's (else its latest job's). The month's
        tickets are named by subqueries, not lists of ids (a month can hold tens of thousands)."""
        rows = self.session.execute(
            sa.select(_id(Job.ticket_id), _id(Job.technician_id), Job.arrived_at)
            .where(sa.or_(Job.ticket_id.in_(self._received()), Job.ticket_id.in_(self._resolved())),
                   Job.status != JobStatus.cancelled)).all()
        best: dict = {}
        for ticket_id, technician_id, arrived in rows:
            rank = arrived or datetime.min.replace(tzinfo=self.start.tzinfo)
            if ticket_id not in best or rank >= best[ticket_id][0]:
                best[ticket_id] = (rank, technician_id)
        return {k: v[1] for k, v in best.items()}

    def _run(self) -> None:
        s, start, end, now = self.session, self.start, self.end, self.now
        # Tickets received in the month
        received = s.execute(
            sa.select(_id(Ticket.id).label("id"), Ticket.channel, Ticket.category, Ticket.complaint_class,
                      Ticket.received_at, Ticket.response_due_at, Ticket.responded_at, Ticket.on_site_due_at,
                      Ticket.on_site_at, Ticket.resolve_due_at, Ticket.resolved_at,
                      _id(Ticket.asset_id).label("asset_id"), Site.city)
            .join(Site, Site.id == Ticket.site_id)
            .where(Ticket.received_at >= start, Ticket.received_at < end)).all()
        resolved = s.execute(
            sa.select(_id(Ticket.id).label("id"), Ticket.received_at, Ticket.resolved_at, Site.city)
            .join(Site, Site.id == Ticket.site_id)
            .where(Ticket.resolved_at >= start, Ticket.resolved_at < end)).all()
        owner = self._technician_of_tickets()

        prior = self._resolved_before()
        for r in received:
            g = self._g(r.city, owner.get(r.id))
            g.add("tickets_received", r.id)
            g.add(f"tickets_by_channel.{_v(r.channel)}", r.id)
            g.add(f"tickets_by_category.{_v(r.category)}", r.id)
            if r.complaint_class is not None:
                g.add(f"tickets_by_complaint_class.{_v(r.complaint_class)}", r.id)
            for clock, done, due in (("response", r.responded_at, r.response_due_at),
                                     ("on_site", r.on_site_at, r.on_site_due_at),
                                     ("resolve", r.resolved_at, r.resolve_due_at)):
                outcome = _attained(done, due, now)
                if outcome is not None:
                    g.add(f"{clock}_attainment.den", r.id)
                    if outcome:
                        g.add(f"{clock}_attainment.num", r.id)
            if r.asset_id:
                g.add("repeat_visit_rate.den", r.id)
                if any(r.received_at - REPEAT_WINDOW <= at < r.received_at and other != r.id
                       for other, at in prior.get(r.asset_id, ())):
                    g.add("repeat_visit_rate.num", r.id)

        visits = defaultdict(int)
        if resolved:
            for ticket_id, n in s.execute(
                    sa.select(_id(Job.ticket_id), sa.func.count()).where(
                        Job.ticket_id.in_(self._resolved()), Job.arrived_at.is_not(None),
                        Job.status != JobStatus.cancelled).group_by(Job.ticket_id)):
                visits[ticket_id] = n
        for r in resolved:
            g = self._g(r.city, owner.get(r.id))
            g.add("mean_time_to_repair_hours.sum", r.id, (r.resolved_at - r.received_at).total_seconds() / 3600)
            g.add("mean_time_to_repair_hours.den", r.id)
            if visits[r.id]:
                g.add("first_time_fix_rate.den", r.id)
                if visits[r.id] == 1:
                    g.add("first_time_fix_rate.num", r.id)

        self._trips_and_costs()
        self._parts()
        self._ratings_overrides_swaps()
        self._return_visits()
        self._surveys()
        self._names()

    def _resolved_before(self) -> dict:
        assets = sa.select(Ticket.asset_id).where(Ticket.received_at >= self.start, Ticket.received_at < self.end,
                                                  Ticket.asset_id.is_not(None))
        rows = self.session.execute(
            sa.select(_id(Ticket.asset_id), _id(Ticket.id), Ticket.resolved_at)
            .where(Ticket.asset_id.in_(assets), Ticket.resolved_at >= self.start - REPEAT_WINDOW,
                   Ticket.resolved_at < self.end)).all()
        out = defaultdict(list)
        for asset_id, ticket_id, at in rows:
            out[asset_id].append((ticket_id, at))
        return out

    def _trips_and_costs(self) -> None:
        s, zone = self.session, ZoneInfo(self.tz)
        trips = s.execute(
            sa.select(_id(Job.ticket_id).label("ticket_id"), _id(Job.technician_id).label("technician_id"),
                      Job.arrived_at, Job.departed_at, Ticket.category, Site.city)
            .join(Ticket, Ticket.id == Job.ticket_id).join(Site, Site.id == Ticket.site_id)
            .where(Job.arrived_at >= self.start, Job.arrived_at < self.end, Job.status != JobStatus.cancelled)).all()
        for j in trips:
            kind = "installation" if _v(j.category) == "installation" else "service"
            g = self._g(j.city, j.technician_id)
            g.add(f"{kind}_trips", j.ticket_id)
            day = (j.technician_id, j.arrived_at.astimezone(zone).date())
            if day not in g.days[kind]:
                g.days[kind].add(day)
                g.add(f"{kind}_person_days", j.ticket_id)
            if j.departed_at and j.departed_at > j.arrived_at:
                hours = (j.departed_at - j.arrived_at).total_seconds() / 3600
                g.add(f"{kind}_cost", j.ticket_id, hours * self.rate)
        expenses = s.execute(
            sa.select(JobExpense.kind, JobExpense.amount, JobExpense.travel_minutes,
                      _id(Job.ticket_id).label("ticket_id"), _id(Job.technician_id).label("technician_id"),
                      Ticket.category, Site.city)
            .join(Job, Job.id == JobExpense.job_id).join(Ticket, Ticket.id == Job.ticket_id)
            .join(Site, Site.id == Ticket.site_id)
            .where(JobExpense.incurred_at >= self.start, JobExpense.incurred_at < self.end)).all()
        for e in expenses:
            g = self._g(e.city, e.technician_id)
            if _v(e.kind) == ExpenseKind.transport.value:
                g.add("transport_cost", e.ticket_id, float(e.amount))
                continue
            kind = "installation" if _v(e.category) == "installation" else "service"
            labour = (e.travel_minutes or 0) / 60 * self.rate
            g.add(f"{kind}_cost", e.ticket_id, float(e.amount) + labour)

    def _parts(self) -> None:
        s = self.session
        brought = (sa.select(TransferLine.id).join(Transfer, Transfer.id == TransferLine.transfer_id)
                   .where(Transfer.job_id == PartUsage.job_id, TransferLine.part_id == PartUsage.part_id)
                   .exists())
        rows = s.execute(
            sa.select(PartUsage.quantity, PartUsage.under_warranty, sa.func.coalesce(Part.unit_cost, 0),
                      _id(Job.ticket_id), _id(Job.technician_id), Site.city, brought.label("brought"))
            .join(Job, Job.id == PartUsage.job_id).join(Part, Part.id == PartUsage.part_id)
            .join(Ticket, Ticket.id == Job.ticket_id).join(Site, Site.id == Ticket.site_id)
            .where(Job.completed_at >= self.start, Job.completed_at < self.end)).all()
        for quantity, warranty, cost, ticket_id, technician_id, city, was_brought in rows:
            g = self._g(city, technician_id)
            g.add("parts_cost_warranty" if warranty else "parts_cost_chargeable", ticket_id, quantity * float(cost))
            g.add("van_fill_rate.den", ticket_id)
            if not was_brought:
                g.add("van_fill_rate.num", ticket_id)

    def _ratings_overrides_swaps(self) -> None:
        from server.dispatch.models import OVERRIDE, DispatchAction

        s = self.session
        for rating, ticket_id, technician_id, city in s.execute(
                sa.select(Job.customer_rating, _id(Job.ticket_id), _id(Job.technician_id), Site.city)
                .join(Ticket, Ticket.id == Job.ticket_id).join(Site, Site.id == Ticket.site_id)
                .where(Job.completed_at >= self.start, Job.completed_at < self.end,
                       Job.customer_rating.is_not(None))):
            g = self._g(city, technician_id)
            g.add(f"satisfaction.{_v(rating)}", ticket_id)
            g.add("satisfaction_rate.den", ticket_id)
            if _v(rating) in ("satisfied", "acceptable"):
                g.add("satisfaction_rate.num", ticket_id)
        for ticket_id, technician_id, city in s.execute(
                sa.select(_id(DispatchAction.ticket_id), _id(DispatchAction.technician_id), Site.city)
                .join(Ticket, Ticket.id == DispatchAction.ticket_id).join(Site, Site.id == Ticket.site_id)
                .where(DispatchAction.kind == OVERRIDE, DispatchAction.at >= self.start,
                       DispatchAction.at < self.end)):
            self._g(city, technician_id).add("dispatch_overrides", ticket_id)
        for ticket_id, technician_id, city in s.execute(
                sa.select(_id(Job.ticket_id), _id(Job.technician_id), Site.city)
                .select_from(SerialEvent).join(Job, Job.id == SerialEvent.job_id)
                .join(Ticket, Ticket.id == Job.ticket_id).join(Site, Site.id == Ticket.site_id)
                .where(SerialEvent.event == "loan", SerialEvent.spare_unit_id.is_not(None),
                       SerialEvent.at >= self.start, SerialEvent.at < self.end)):
            self._g(city, technician_id).add("spare_unit_swaps", ticket_id)

    def _surveys(self) -> None:
        """Survey answers are the customer's, not a site's or a technician's: they count under "—"
        per region and per technician."""
        from server.quality.models import SurveyAnswer, SurveyInvitation

        for (rating,) in self.session.execute(
                sa.select(SurveyAnswer.rating).join(SurveyInvitation, SurveyInvitation.id == SurveyAnswer.invitation_id)
                .where(SurveyInvitation.answered_at >= self.start, SurveyInvitation.answered_at < self.end)):
            g = self._g(None, None)
            g.add(f"survey_satisfaction.{_v(rating)}", None)
            g.add("survey_satisfaction_rate.den", None)
            if _v(rating) in ("satisfied", "acceptable"):
                g.add("survey_satisfaction_rate.num", None)

    def _return_visits(self) -> None:
        """Return visits have no technician: per technician they count under "—"."""
        from server.customers.models import Asset
        from server.quality.models import ReturnVisit, ReturnVisitStatus

        first, last = self.start.date(), (self.end - timedelta(days=1)).date()
        for status, ticket_id, city in self.session.execute(
                sa.select(ReturnVisit.status, _id(ReturnVisit.ticket_id), Site.city)
                .join(Asset, Asset.id == ReturnVisit.asset_id).join(Site, Site.id == Asset.site_id)
                .where(ReturnVisit.due_on >= first, ReturnVisit.due_on <= last)):
            g = self._g(city, None)
            g.add("return_visits_due", ticket_id)
            g.add("return_visit_rate.den", ticket_id)
            if _v(status) == ReturnVisitStatus.done.value:
                g.add("return_visits_done", ticket_id)
                g.add("return_visit_rate.num", ticket_id)

    def _names(self) -> None:
        if self.by != "technician":
            self.labels = {k: k for k in self.groups}
            return
        ids = [k for k in self.groups if k is not None]
        names = dict(self.session.execute(sa.select(Technician.id, Technician.name)
                                          .where(Technician.id.in_(ids))).all())
        self.labels = {k: names.get(k, "—") if k is not None else "—" for k in self.groups}

    # -- results ---------------------------------------------------------------------------------------------

    def figures(self, g: _Group) -> dict:
        out: dict = {}
        for key, figure in FIGURES.items():
            if figure.unit == "distribution":
                prefix = key + "."
                out[key] = {k[len(prefix):]: int(v) for k, v in sorted(g.n.items()) if k.startswith(prefix)}
            elif figure.unit == "rate":
                out[key] = _ratio(g, f"{key}.num", f"{key}.den")
            elif key == "mean_time_to_repair_hours":
                out[key] = round(g.n[f"{key}.sum"] / g.n[f"{key}.den"], 2) if g.n[f"{key}.den"] else None
            elif figure.unit == "money":
                out[key] = round(g.n[key], 2)
            else:
                out[key] = int(g.n[key])
        out["total_cost"] = round(sum(out[k] for k in ("installation_cost", "service_cost", "parts_cost_warranty",
                                                        "parts_cost_chargeable", "transport_cost")), 2)
        return out

    def result(self) -> dict:
        groups = sorted(self.groups.items(), key=lambda kv: str(self.labels.get(kv[0], "")))
        return {
            "month": self.month, "by": self.by, "timezone": self.tz, "due_by": due_date(self.month).isoformat(),
            "from": self.start, "to": self.end,
            "groups": [{"key": str(k) if k is not None else None, "label": self.labels.get(k, "—"),
                        "figures": self.figures(g)} for k, g in groups],
            "not_yet_available": NOT_YET_AVAILABLE,
        }

    def tickets_behind(self, figure: str, group: str | None) -> list:
        """The ticket ids behind one figure (``"tickets_by_channel.phone"``, ``"first_time_fix_rate"``, ...)
        in one group (its key as text; None for the total)."""
        base, _, part = figure.partition(".")
        if base not in FIGURES:
            raise InvalidInput(f"unknown figure {figure!r}", code="invalid",
                               details={"fields": {"figure": ["Unknown figure."]}})
        found = set()
        for key, g in self.groups.items():
            if group is not None and str(key) != group:
                continue
            if FIGURES[base].unit == "rate":
                names = [f"{base}.{part}"] if part in ("num", "den") else [f"{base}.den"]
            elif base == "mean_time_to_repair_hours":
                names = [f"{base}.den"]
            elif base == "total_cost":
                names = ["installation_cost", "service_cost", "parts_cost_warranty", "parts_cost_chargeable",
                         "transport_cost"]
            else:
                names = [figure] if part else [k for k in g.tickets if k == base or k.startswith(base + ".")]
            for name in names:
                found |= g.tickets.get(name, set())
        return sorted((_uuid(x) for x in found), key=str)


def _v(value):
    return getattr(value, "value", value)


def monthly(session: Session, month: str, *, tz: str, by: str = "total", now: datetime,
            labour_cost_per_hour: float = 0.0) -> dict:
    """The month's figures per group (see :data:`FIGURES`)."""
    return Month(session, month, tz=tz, by=by, now=now, labour_cost_per_hour=labour_cost_per_hour).result()


def tickets_behind(session: Session, month: str, figure: str, *, tz: str, by: str = "total",
                   group: str | None = None, now: datetime, labour_cost_per_hour: float = 0.0) -> list[uuid.UUID]:
    return Month(session, month, tz=tz, by=by, now=now,
                 labour_cost_per_hour=labour_cost_per_hour).tickets_behind(figure, group)


CSV_FIGURES = [k for k, f in FIGURES.items() if f.unit != "distribution"]


def csv_rows(result: dict) -> list[list]:
    """One row per group; distributions spread into one column per value."""
    dist_keys = sorted({f"{k}.{v}" for g in result["groups"] for k, f in FIGURES.items()
                        if f.unit == "distribution" for v in g["figures"][k]})
    header = ["month", "by", "group", *CSV_FIGURES, *dist_keys]
    rows = [header]
    for g in result["groups"]:
        rows.append([result["month"], result["by"], g["label"], *[g["figures"][k] for k in CSV_FIGURES],
                     *[g["figures"][k.split(".")[0]].get(k.split(".", 1)[1], 0) for k in dist_keys]])
    return rows
