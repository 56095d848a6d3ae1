"""Tours (主动应急 巡回服务): pick a region and dates where the installed base
is, contact its customers 3-5 days ahead (name, model, symptoms, estimated
work and cost), and turn the agreed visits into jobs on a planned route.
Plain functions; never commit."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.customers.models import Asset, Customer, Site
from server.exceptions import InvalidInput, InvalidTransition
from server.jobs.models import Job, JobStatus
from server.quality.proactive_models import StopStatus, Tour, TourStop
from server.records import field_error, referenced
from server.technicians.models import Technician
from server.tickets import history
from server.tickets.models import TicketStatus
from server.tickets.states import transition

CONTACT_DAYS = (3, 5)  # the pre-contact: between 5 and 3 days before the tour starts
DAY_STARTS = time(9, 0)
SPEED_KMH = 40.0  # for the route's planned times; dispatch has the real travel estimates


def regions(session: Session, *, limit: int = 50) -> list[dict]:
    """Where the installed base is: per city, how many assets and customers."""
    rows = session.execute(
        select(Site.city, func.count(Asset.id), func.count(func.distinct(Site.customer_id)))
        .join(Asset, Asset.site_id == Site.id).where(Site.city.is_not(None))
        .group_by(Site.city).order_by(func.count(Asset.id).desc(), Site.city).limit(limit)).all()
    return [{"city": city, "assets": assets, "customers": customers} for city, assets, customers in rows]


def create_tour(session: Session, data: dict, *, created_by_id, now: datetime) -> Tour:
    """A tour of a city: a stop for every site there with installed assets."""
    if data["ends_on"] < data["starts_on"]:
        raise InvalidInput("a tour cannot end before it starts", details=field_error("ends_on", "Before starts_on."))
    if data.get("technician_id"):
        referenced(session, Technician, data["technician_id"], "technician_id", "technician")
    tour = Tour(id=uuid.uuid4(), created_by_id=created_by_id, created_at=now, **data)
    session.add(tour)
    sites = session.execute(select(Site.id, Site.customer_id).join(Asset, Asset.site_id == Site.id)
                            .where(Site.city == data["city"]).group_by(Site.id, Site.customer_id)).all()
    if not sites:
        raise InvalidInput("no installed assets in this city", code="no_installed_base",
                           details=field_error("city", "No installed assets here."))
    for site_id, customer_id in sites:
        session.add(TourStop(id=uuid.uuid4(), tour_id=tour.id, site_id=site_id, customer_id=customer_id,
                             status=StopStatus.pending))
    session.flush()
    return tour


def contact_window(tour: Tour) -> tuple[date, date]:
    return tour.starts_on - timedelta(days=CONTACT_DAYS[1]), tour.starts_on - timedelta(days=CONTACT_DAYS[0])


def record_contact(session: Session, stop: TourStop, data: dict, *, by_user_id, now: datetime) -> TourStop:
    """The pre-contact: whom we spoke to, the model and its symptoms, the
    estimated work and cost, and whether (and which day) they want the visit."""
    tour = stop.tour
    if tour.planned_at is not None:
        raise InvalidTransition("this tour's route is planned already", code="tour_planned")
    if data.get("asset_id"):
        asset = session.get(Asset, data["asset_id"])
        if asset is None or asset.site_id != stop.site_id:
            raise InvalidInput("not an asset at this site", details=field_error("asset_id", "Not at this site."))
        data.setdefault("model", asset.model)
    if data["agreed"]:
        visit_on = data.get("visit_on")
        if visit_on is None or not tour.starts_on <= visit_on <= tour.ends_on:
            raise InvalidInput("an agreed visit needs a day within the tour",
                               details=field_error("visit_on", "A day between the tour's first and last."))
    stop.status = StopStatus.agreed if data["agreed"] else StopStatus.declined
    stop.contacted_at, stop.contacted_by_id = now, by_user_id
    for name in ("contact_name", "asset_id", "model", "symptoms", "estimated_hours", "estimated_cost", "visit_on"):
        if name in data:
            setattr(stop, name, data[name])
    if not data["agreed"]:
        stop.visit_on = None
    session.flush()
    return stop


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def plan(session: Session, tour: Tour, *, technician_id, owner_id, now: datetime, open_ticket,
         timezone: str) -> list[TourStop]:
    """Turn the agreed visits into jobs for the technician: per day, the
    nearest next site first from the technician's home (a greedy route),
    each planned to start after the previous one's estimated work and the
    drive between them. Each visit gets a maintenance ticket (so its clocks,
    history and report work as for any job) already dispatched."""
    if tour.planned_at is not None:
        raise InvalidTransition("this tour's route is planned already", code="tour_planned")
    tech = referenced(session, Technician, technician_id, "technician_id", "technician")
    agreed = [s for s in tour.stops if s.status is StopStatus.agreed]
    if not agreed:
        raise InvalidTransition("no customer agreed to a visit yet", code="nothing_agreed")
    zone = ZoneInfo(timezone)
    order = 0
    for day in sorted({s.visit_on for s in agreed}):
        left = [s for s in agreed if s.visit_on == day]
        here = (tech.home_latitude, tech.home_longitude)
        clock = datetime.combine(day, DAY_STARTS, tzinfo=zone)
        while left:
            def distance(stop, here=here):
                site = stop.site
                if None in (site.latitude, site.longitude) or None in here:
                    return math.inf
                return _km(here, (site.latitude, site.longitude))
            stop = min(left, key=lambda s: (distance(s), str(s.id)))
            left.remove(stop)
            drive = distance(stop)
            if math.isfinite(drive):
                clock += timedelta(hours=drive / SPEED_KMH)
                here = (stop.site.latitude, stop.site.longitude)
            ticket = open_ticket({"customer_id": stop.customer_id, "site_id": stop.site_id, "asset_id": stop.asset_id,
                                  "channel": "visit", "category": "maintenance",
                                  "summary": f"巡回服务：{stop.symptoms or tour.name}"[:300],
                                  "description": f"{tour.name}，预计工时 {stop.estimated_hours or '—'} h，"
                                                 f"预计费用 {stop.estimated_cost or '—'}"})
            session.flush()
            job = Job(id=uuid.uuid4(), ticket_id=ticket.id, technician_id=tech.id, status=JobStatus.assigned,
                      planned_start=clock, planned_end=clock + timedelta(hours=stop.estimated_hours or 2),
                      instructions=f"{tour.name}: {stop.symptoms or ''}".strip(), priority="normal")
            session.add(job)
            transition(ticket, TicketStatus.dispatched, at=now, by_user_id=owner_id,
                       note=history.note("tour", name=tour.name))
            order += 1
            stop.route_order, stop.job_id, stop.status = order, job.id, StopStatus.planned
            clock = job.planned_end
    tour.technician_id, tour.planned_at = tech.id, now
    session.flush()
    return sorted(agreed, key=lambda s: s.route_order)


def stops_with_names(session: Session, tour: Tour) -> list[tuple[TourStop, Customer, Site]]:
    return session.execute(select(TourStop, Customer, Site).join(Customer, Customer.id == TourStop.customer_id)
                           .join(Site, Site.id == TourStop.site_id).where(TourStop.tour_id == tour.id)
                           .order_by(TourStop.route_order.is_(None), TourStop.route_order, Customer.name,
                                     TourStop.id)).all()
