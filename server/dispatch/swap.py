"""Spare-unit swaps (备用机): when a job has been on site longer than the
repair may take (4 hours by default) without completion, suggest the nearest
available spare unit of the asset's model and who can bring it.

Who can bring it: the technician whose van holds the unit, or the on-shift
technicians nearest to the unit's location; the best pairing is the one that
gets the unit to the site first (fetch + handling at the source + drive to the
site). The technician already on site stays on site and is not asked.

Sending the unit (:func:`send_spare_unit`): it goes into transit to the site
(``ship_to_site``) and is lent when it arrives (:func:`spare_unit_arrived`,
``loan``); both steps are in the unit's history and the ticket's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from server.customers.models import Asset, Site
from server.dispatch import availability
from server.dispatch.settings import DispatchSettings
from server.dispatch.spatial import FRESH_SINCE, STOCK_LOCATIONS, TECHNICIANS, SpatialIndex, index_for
from server.exceptions import Conflict, InvalidInput
from server.jobs.models import Job, JobStatus
from server.stock.models import LocationKind, SpareUnit, SpareUnitStatus, StockLocation
from server.technicians.models import Technician
from server.tickets import history
from server.tickets.models import Ticket, TicketEvent

COURIER_REASONS = ("off_shift", "on_leave", "overloaded")  # certification is not needed to carry a unit


@dataclass
class Courier:
    technician_id: uuid.UUID
    name: str
    holds_unit_in_van: bool
    to_pickup_km: float
    delivery_minutes: float
    delivered_at: datetime


@dataclass
class SwapOption:
    location_id: uuid.UUID
    location_code: str
    location_kind: str
    distance_km: float
    spare_unit_id: uuid.UUID
    serial_number: str
    couriers: list[Courier] = field(default_factory=list)


@dataclass
class SwapSuggestion:
    job_id: uuid.UUID
    ticket_id: uuid.UUID
    technician_id: uuid.UUID | None
    model: str | None
    on_site_since: datetime
    on_site_hours: float
    options: list[SwapOption]
    note: str | None = None
    note_code: str | None = None  # the note for people: swaps.note_code.<code> in the catalogue
    on_its_way: list[SpareUnit] = field(default_factory=list)  # units already sent to the site


def overdue_jobs(session: Session, *, now: datetime, settings: DispatchSettings):
    """Jobs on site longer than ``swap_after`` and not completed."""
    return session.scalars(select(Job).where(Job.status == JobStatus.on_site, Job.completed_at.is_(None),
                                             Job.arrived_at.is_not(None),
                                             Job.arrived_at <= now - settings.swap_after)
                           .order_by(Job.arrived_at, Job.id)).all()


def suggest_swaps(session: Session, *, now: datetime, settings: DispatchSettings,
                  index: SpatialIndex | None = None, options: int = 3) -> list[SwapSuggestion]:
    index = index or index_for(session, start_radius_m=settings.search_start_km * 1000)
    return [suggest_swap(session, job, now=now, settings=settings, index=index, options=options)
            for job in overdue_jobs(session, now=now, settings=settings)]


def _without_option(suggestion: SwapSuggestion, why: str, text: str) -> SwapSuggestion:
    """Why there is no option: a code for pages (swaps.note_code.<why>) and the same in English."""
    suggestion.note, suggestion.note_code = text, why
    return suggestion


def suggest_swap(session: Session, job: Job, *, now: datetime, settings: DispatchSettings,
                 index: SpatialIndex | None = None, options: int = 3) -> SwapSuggestion:
    index = index or index_for(session, start_radius_m=settings.search_start_km * 1000)
    ticket = session.get(Ticket, job.ticket_id)
    asset = session.get(Asset, ticket.asset_id) if ticket.asset_id else None
    site = session.get(Site, ticket.site_id)
    since = job.arrived_at
    hours = round((now - since).total_seconds() / 3600, 2) if since else 0.0
    suggestion = SwapSuggestion(job.id, ticket.id, job.technician_id, asset.model if asset else None,
                                since, hours, [])
    suggestion.on_its_way = list(session.scalars(
        select(SpareUnit).where(SpareUnit.site_id == ticket.site_id, SpareUnit.status == SpareUnitStatus.in_transit)
        .order_by(SpareUnit.serial_number)))
    if job.status is not JobStatus.on_site or since is None or now - since < settings.swap_after:
        return _without_option(suggestion, "not_due",
                               f"no swap needed: not on site for more than {settings.swap_after} yet")
    if asset is None:
        return _without_option(suggestion, "no_asset", "the ticket has no asset, so no model to swap")
    if site is None or site.latitude is None or site.longitude is None:
        return _without_option(suggestion, "no_coordinates", "the site has no coordinates")
    holding = exists().where(SpareUnit.location_id == StockLocation.id, SpareUnit.model == asset.model,
                             SpareUnit.status == SpareUnitStatus.available)
    for n in index.nearest(session, STOCK_LOCATIONS, site.latitude, site.longitude, options, where=holding):
        location = session.get(StockLocation, n.id)
        unit = session.scalars(select(SpareUnit).where(SpareUnit.location_id == n.id,
                                                       SpareUnit.model == asset.model,
                                                       SpareUnit.status == SpareUnitStatus.available)
                               .order_by(SpareUnit.serial_number).limit(1)).one()
        option = SwapOption(n.id, location.code, location.kind.value, round(n.distance_km, 3), unit.id,
                            unit.serial_number)
        option.couriers = _couriers(session, index, location, n.distance_km, asset.product_line, job, now, settings)
        suggestion.options.append(option)
    suggestion.options.sort(key=lambda o: (o.couriers[0].delivery_minutes if o.couriers else float("inf"),
                                           o.distance_km))
    if not suggestion.options:
        _without_option(suggestion, "no_unit", f"no spare unit of model {asset.model} is available anywhere")
    return suggestion


def _couriers(session, index, location: StockLocation, to_site_km: float, product_line: str, job: Job,
              now: datetime, settings: DispatchSettings, count: int = 5) -> list[Courier]:
    candidates: dict[uuid.UUID, float] = {}
    if location.kind is LocationKind.van:
        owner = session.scalar(select(Technician).where(Technician.van_location_id == location.id))
        if owner is not None:
            candidates[owner.id] = 0.0
    # From where each would set off: the last fix while fresh, else the home base (as ranking measures).
    for n in index.nearest(session, TECHNICIANS, location.latitude, location.longitude, count,
                           where=Technician.active.is_(True), params={FRESH_SINCE: now - settings.stale_after}):
        candidates.setdefault(n.id, n.distance_km)
    candidates.pop(job.technician_id, None)
    facts = availability.load_facts(session, candidates, product_line=product_line, window_start=now,
                                    window_end=now + timedelta(days=1))
    handling = timedelta(hours=settings.handling_hours.get(location.kind.value, 0.0))
    couriers = []
    for technician_id, pickup_km in candidates.items():
        # Only who can set off now: on shift, off leave, under their job limit.
        verdict = availability.assess(facts[technician_id], product_line=product_line, now=now, due=now,
                                      travel=timedelta(0))
        if any(r.code in COURIER_REASONS for r in verdict.reasons):
            continue
        tech = facts[technician_id].technician
        delivery = settings.travel_time(pickup_km) + handling + settings.travel_time(to_site_km)
        couriers.append(Courier(tech.id, tech.name, pickup_km == 0.0 and location.id == tech.van_location_id,
                                round(pickup_km, 3), round(delivery.total_seconds() / 60, 1), now + delivery))
    couriers.sort(key=lambda c: (c.delivery_minutes, str(c.technician_id)))
    return couriers[:3]



def send_spare_unit(session: Session, job: Job, *, spare_unit_id: uuid.UUID, courier_id: uuid.UUID | None,
                    now: datetime, by_user_id=None) -> SpareUnit:
    """Send a spare unit to the job's site: in transit until it arrives. Never commits."""
    from server.stock import serials

    ticket = session.get(Ticket, job.ticket_id)
    asset = session.get(Asset, ticket.asset_id) if ticket.asset_id else None
    unit = session.get(SpareUnit, spare_unit_id)
    if unit is None:
        raise InvalidInput("no such spare unit", code="unknown_spare_unit",
                           details={"fields": {"json": {"spare_unit_id": ["Unknown spare unit."]}}})
    if asset is not None and unit.model != asset.model:
        raise InvalidInput(f"a swap needs a unit of model {asset.model}, this one is {unit.model}",
                           code="spare_unit_wrong_model")
    if job.status not in (JobStatus.on_site, JobStatus.incomplete, JobStatus.assigned, JobStatus.accepted,
                          JobStatus.en_route):
        raise Conflict(f"a {job.status.value} job gets no spare unit", code="job_not_open",
                       details={"status": job.status.value})
    courier = None
    if courier_id is not None:
        courier = session.get(Technician, courier_id)
        if courier is None or not courier.active:
            raise InvalidInput("no such active technician", code="unknown_technician",
                               details={"fields": {"json": {"courier_id": ["Unknown or inactive technician."]}}})
    source = session.get(StockLocation, unit.location_id) if unit.location_id else None
    note = history.note("spare_unit_sent_by" if courier else "spare_unit_sent", serial=unit.serial_number,
                        source=source.code if source else None, **({"courier": courier.name} if courier else {}))
    serials.spare_unit_action(session, unit, "ship_to_site", job_id=job.id, at=now, by_user_id=by_user_id,
                              note=note.english)
    session.add(TicketEvent(ticket_id=ticket.id, kind="spare_unit_sent", at=now, by_user_id=by_user_id,
                            **history.columns(note)))
    session.flush()
    return unit


def spare_unit_arrived(session: Session, job: Job, *, spare_unit_id: uuid.UUID, now: datetime,
                       by_user_id=None) -> SpareUnit:
    """The unit sent to the site arrived: it is lent to the customer. Never commits."""
    from server.stock import serials

    unit = session.get(SpareUnit, spare_unit_id)
    if unit is None:
        raise InvalidInput("no such spare unit", code="unknown_spare_unit",
                           details={"fields": {"json": {"spare_unit_id": ["Unknown spare unit."]}}})
    serials.spare_unit_action(session, unit, "loan", job_id=job.id, at=now, by_user_id=by_user_id,
                              note="arrived at the site")
    session.add(TicketEvent(ticket_id=job.ticket_id, kind="spare_unit_lent", at=now, by_user_id=by_user_id,
                            **history.columns(history.note("spare_unit_lent", serial=unit.serial_number))))
    session.flush()
    return unit
