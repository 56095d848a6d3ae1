"""Candidates for a ticket: the nearest available technicians, ranked, each
with its score broken down by criterion, and the nearest filtered-out ones
with their reasons.

Search: the spatial index walks technicians in exact geodesic order, carrying
each one's facts (certifications, shifts, leave, open jobs, van stock) in the
same query; the availability filters run in Python. First only those certified
for the product line (prefiltered in SQL, so a rare line never scans the
fleet) until the pool holds the nearest ``pool_size`` available technicians;
then everyone, certified or not, out to the farthest of the pool, for the
filtered-out list: the nearest ``excluded_limit`` technicians who were passed
over (whatever the reason: not certified, expired, off shift, on leave,
overloaded), nearest first. The pool is ranked; ranking never looks further
than that pool, so the answer equals what brute force over the whole fleet
gives for the same pool (bench/bench_dispatch.py checks it).

Never a dead end: when no ranked technician meets the on-site deadline,
``late_candidates`` ranks who could arrive soonest — the available ones and
the certified ones passed over only for being off shift (as overtime), on
leave (from its end) or at their job limit — each with how late and what
assigning them overrides (``needs_override``: the assignment then needs a
recorded reason, see assign.py). Without a valid certification nobody is ever
offered; ``outcome`` says so plainly.

On call (值班, ``technicians.on_call_periods``): someone off shift but on call
when they would set off is flagged ``on_call`` instead of ``overtime``; calling
them out needs no override reason (the duty is for it; it is recorded all the
same). The late candidates are ordered by arrival, where an overtime call-out
counts as arriving ``overtime_penalty`` later (``DISPATCH_OVERTIME_PENALTY_MINUTES``,
60 by default): so among the late, someone on call outside their shift comes
before someone who would need overtime, unless the overtime one would be there
more than that much sooner; then fewer flags, nearer, id. On call never makes
anyone an in-time candidate: those are on shift. Each candidate's ``on_call``
says whether they are on call when they would set off.

Positions: distance is measured from the last fix while it is fresh, from the
home base once it is stale (``position.explanation`` says which), and the
spatial search walks technicians by that same position (``spatial_fresh_since``
= now − ``stale_after``; the index holds both places, see spatial.py): a
technician whose stale fix is far away but whose home base is near the site is
met as early as the home base places them.

Score (higher is better), points per criterion, weights configurable:

* ``eta``: weight × h / (h + ETA), h = ``eta_half_score_minutes``; ETA is the
  geodesic distance × road factor / speed (plus the wait for the shift to start).
* ``deadline``: the full weight when the arrival meets the on-site deadline.
* ``parts``: the share of the needed parts (and spare unit) the van holds, unreserved
  (each need counts by the fraction of its quantity on board).
* ``workload``: weight × (1 − open jobs / max open jobs).
"""

from __future__ import annotations

import functools
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.orm import Session

from server.customers.models import Asset, Site
from server.dispatch import availability
from server.dispatch.settings import DispatchSettings
from server.dispatch.spatial import FRESH_SINCE, TECHNICIANS, Neighbour, SpatialIndex, geodesic_m, index_for
from server.exceptions import Conflict, InvalidInput, NotFound
from server.stock.models import Part, SpareUnit, SpareUnitStatus, StockLevel
from server.technicians.models import Certification, Technician
from server.tickets.models import Ticket, TicketPart, TicketStatus
from sync.memory import no_cyclic_gc

# On-call duty is looked up this far ahead (a leave ending later sets off later still).
ON_CALL_LOOKAHEAD = timedelta(days=30)
DISPATCHABLE = (TicketStatus.new, TicketStatus.acknowledged, TicketStatus.dispatched, TicketStatus.on_site)


@dataclass(frozen=True)
class Need:
    """Something the ticket needs brought: ``quantity`` of a part, or one spare unit of a model."""

    kind: str  # "part" or "spare_unit"
    key: str  # part id, or spare-unit model
    label: str  # part number, or model
    quantity: int = 1
    part_id: uuid.UUID | None = None


@dataclass
class TicketContext:
    ticket_id: uuid.UUID
    latitude: float
    longitude: float
    product_line: str
    asset_model: str | None  # None: the ticket has no asset
    due: datetime
    under_warranty: bool
    needs: list[Need]


@functools.lru_cache(maxsize=4)
def _context_statement(dialect: str):
    """Ticket, site, asset and needed parts in one round trip, as plain columns
    (no ORM objects: dispatch only reads them), built once per engine."""
    ticket_id = bindparam("dispatch_ticket_id")
    parts = availability.json_rows(dialect, TicketPart.part_id, Part.part_number, TicketPart.quantity)
    needed = (select(parts).select_from(TicketPart).join(Part, Part.id == TicketPart.part_id)
              .where(TicketPart.ticket_id == ticket_id).scalar_subquery())
    tickets, sites, assets = Ticket.__table__, Site.__table__, Asset.__table__
    return (select(tickets.c.status, tickets.c.on_site_due_at, tickets.c.site_id, sites.c.latitude,
                   sites.c.longitude, assets.c.id, assets.c.product_line, assets.c.model, assets.c.warranty_end,
                   needed)
            .select_from(tickets.join(sites, sites.c.id == tickets.c.site_id)
                         .outerjoin(assets, assets.c.id == tickets.c.asset_id))
            .where(tickets.c.id == ticket_id))


def ticket_context(session: Session, ticket: Ticket | uuid.UUID, *, now: datetime, product_line: str | None = None,
                   with_spare_unit: bool = False, require_product_line: bool = True) -> TicketContext:
    """What dispatch needs to know about a ticket (given, or by id), in one
    round trip, or a clear error why it cannot be dispatched."""
    ticket_id = ticket.id if isinstance(ticket, Ticket) else ticket
    if session.autoflush:
        session.flush()  # as the ORM would before reading
    row = session.connection().execute(_context_statement(session.get_bind().dialect.name),
                                       {"dispatch_ticket_id": ticket_id}).one_or_none()
    if row is None:
        raise NotFound("no such ticket")
    status, due, site_id, latitude, longitude, asset_id, asset_line, asset_model, warranty_end, needed_rows = row
    status = TicketStatus(status)
    if status not in DISPATCHABLE:
        raise Conflict(f"a {status.value} ticket is not dispatched", code="ticket_not_open",
                       details={"status": status.value})
    if latitude is None or longitude is None:
        raise InvalidInput("the ticket's site has no coordinates: geocode its address before dispatching",
                           code="site_without_coordinates", details={"site_id": str(site_id)})
    has_asset = asset_id is not None
    line = product_line or (asset_line if has_asset else None)
    if not line and require_product_line:
        raise InvalidInput("the ticket has no asset: name the product_line to dispatch for",
                           code="product_line_unknown",
                           details={"fields": {"query": {"product_line": ["Required when the ticket has no asset."]}}})
    needs = sorted((Need("part", str(uuid.UUID(str(part_id))), part_number, int(quantity), uuid.UUID(str(part_id)))
                    for part_id, part_number, quantity in availability.json_list(needed_rows)),
                   key=lambda n: (n.label, n.key))
    if with_spare_unit:
        if not has_asset:
            raise InvalidInput("a spare unit is of the asset's model, and the ticket has no asset",
                               code="spare_unit_without_asset")
        needs.append(Need("spare_unit", asset_model, asset_model))
    # Asset.under_warranty, on the plain columns.
    under_warranty = has_asset and warranty_end is not None and now.date() <= warranty_end
    return TicketContext(ticket_id, latitude, longitude, line or "", asset_model if has_asset else None, due,
                         under_warranty, needs)


@dataclass
class Criterion:
    weight: float
    points: float
    value: object
    explanation: str


def score(settings: DispatchSettings, *, eta: timedelta, meets_deadline: bool, needs: list[Need],
          held: dict[str, int], open_jobs: int, max_open_jobs: int) -> tuple[float, dict[str, Criterion]]:
    """The total and its breakdown by criterion (see the module docstring)."""
    minutes = eta.total_seconds() / 60
    half = settings.eta_half_score_minutes
    breakdown = {
        "eta": Criterion(settings.weight("eta"), settings.weight("eta") * half / (half + minutes), round(minutes, 1),
                         f"arrives in about {minutes:.0f} min"),
        "deadline": Criterion(settings.weight("deadline"), settings.weight("deadline") if meets_deadline else 0.0,
                              meets_deadline,
                              "meets the on-site deadline" if meets_deadline else "misses the on-site deadline"),
    }
    if needs:
        # Partial quantities count partly: a van with one of two valves saves half the trip to a store.
        covered = [n.label for n in needs if held.get(n.key, 0) >= n.quantity]
        share = sum(min(held.get(n.key, 0), n.quantity) / n.quantity for n in needs) / len(needs)
        text = f"van holds {len(covered)} of {len(needs)} needed item(s) in full" + (
            f": {', '.join(covered)}" if covered else "")
        breakdown["parts"] = Criterion(settings.weight("parts"), settings.weight("parts") * share,
                                       round(share, 3), text)
    else:
        breakdown["parts"] = Criterion(settings.weight("parts"), 0.0, None, "the ticket needs no parts")
    load = min(open_jobs / max_open_jobs, 1.0) if max_open_jobs > 0 else 1.0
    breakdown["workload"] = Criterion(settings.weight("workload"), settings.weight("workload") * (1 - load),
                                      open_jobs, f"{open_jobs} of {max_open_jobs} open jobs")
    return round(sum(c.points for c in breakdown.values()), 4), breakdown


@dataclass
class Position:
    """The position distance was measured from, and why that one."""

    latitude: float
    longitude: float
    source: str  # "last_known" or "home_base"
    recorded_at: datetime | None  # of the last fix, if there is one
    stale: bool  # the last fix is older than ``stale_after``
    age_minutes: float | None  # of the last fix
    explanation: str = ""


def position_of(tech, *, now: datetime, settings: DispatchSettings) -> Position:
    """The better-founded position: the last fix while it is fresh; once it is
    stale, the home base (where a technician off the road starts from)."""
    if tech.last_latitude is not None and tech.last_longitude is not None:
        age = (now - tech.last_position_at) if tech.last_position_at else None
        stale = age is None or age > settings.stale_after
        minutes = round(age.total_seconds() / 60, 1) if age is not None else None
        if not stale:
            return Position(tech.last_latitude, tech.last_longitude, "last_known", tech.last_position_at, False,
                            minutes, f"last known position, {minutes:.0f} min old")
        if tech.home_latitude is not None and tech.home_longitude is not None:
            old = f"{minutes:.0f} min old" if minutes is not None else "of unknown age"
            return Position(tech.home_latitude, tech.home_longitude, "home_base", tech.last_position_at, True,
                            minutes, f"home base: the last known position is stale ({old})")
        return Position(tech.last_latitude, tech.last_longitude, "last_known", tech.last_position_at, True,
                        minutes, "last known position, stale, and no home base to use instead")
    return Position(tech.home_latitude, tech.home_longitude, "home_base", None, False, None,
                    "home base: no position known")


def distance_from(position: Position, n: Neighbour, latitude: float, longitude: float) -> float:
    """The distance from the position used: the one the search measured, which
    walks by the same position (measured again only should the two ever differ)."""
    if (position.latitude, position.longitude) == (n.latitude, n.longitude):
        return n.distance_km
    return geodesic_m(position.latitude, position.longitude, latitude, longitude) / 1000


@dataclass
class Candidate:
    technician_id: uuid.UUID
    name: str
    distance_km: float
    position: Position
    eta_minutes: float
    departs_at: datetime
    arrival_at: datetime
    on_shift_now: bool
    meets_deadline: bool
    open_jobs: int
    max_open_jobs: int
    van_location_id: uuid.UUID | None
    van_holds: dict[str, int]
    score: float = 0.0
    score_breakdown: dict[str, Criterion] = field(default_factory=dict)
    rank: int = 0
    notes: list[str] = field(default_factory=list)
    # Set when the arrival misses the deadline: by how much, and what assigning would override.
    late_by_minutes: float | None = None
    flags: list[availability.Reason] = field(default_factory=list)
    needs_override: bool = False
    on_call: bool = False  # on call-out duty when setting off


@dataclass
class Excluded:
    technician_id: uuid.UUID
    name: str
    distance_km: float
    position: Position
    reasons: list[availability.Reason]


@dataclass
class CandidateReport:
    ticket_id: uuid.UUID
    latitude: float
    longitude: float
    product_line: str
    on_site_due_at: datetime
    under_warranty: bool
    evaluated_at: datetime
    needs: list[Need]
    weights: dict[str, float]
    candidates: list[Candidate]
    excluded: list[Excluded]
    examined: int
    search: str
    # in_time: someone meets the deadline; late_only: nobody can, ``late_candidates``
    # ranks who could come soonest; none_certified: nobody holds a valid certification.
    outcome: str = "in_time"
    message: str = ""
    late_candidates: list[Candidate] = field(default_factory=list)


def certified_prefilter(product_line):
    """SQL: active and holding a certification for the line. Its dates are
    checked in Python against the visit date (an expired one is listed with its
    reason). Dates left out of SQL on purpose: with them the planner misjudges
    the join on a prepared statement's generic plan and re-plans every query."""
    return and_(Technician.active.is_(True),
                exists().where(Certification.technician_id == Technician.id,
                               Certification.product_line == product_line))


def van_columns(needs: list[Need]) -> list:
    """Correlated subqueries: how much of each need the technician's van holds,
    unreserved. Need ``i`` binds its part id or model as ``dispatch_need_<i>``."""
    van = Technician.__table__.c.van_location_id
    columns = []
    for i, need in enumerate(needs):
        value = bindparam(f"dispatch_need_{i}")
        if need.kind == "part":
            columns.append(select(StockLevel.on_hand - StockLevel.reserved)
                           .where(StockLevel.location_id == van, StockLevel.part_id == value)
                           .scalar_subquery())
        else:
            columns.append(select(func.count()).select_from(SpareUnit)
                           .where(SpareUnit.location_id == van, SpareUnit.model == value,
                                  SpareUnit.status == SpareUnitStatus.available).scalar_subquery())
    return columns


@functools.lru_cache(maxsize=32)
def search_shape(dialect: str, need_kinds: tuple[str, ...]):
    """The SQL of a candidates search, built once per engine and kinds of needs,
    its values bound at execution (:func:`search_params`): the statements and
    their cache keys are reused from one query to the next."""
    columns = availability.fact_columns(dialect, product_line=bindparam("dispatch_product_line"),
                                        window_start=bindparam("dispatch_window_start"),
                                        window_end=bindparam("dispatch_window_end"))
    columns += van_columns([Need(kind, "", "") for kind in need_kinds])
    prefilter = certified_prefilter(bindparam("dispatch_product_line"))
    return tuple(columns), prefilter, Technician.active.is_(True)


def search_params(context: TicketContext, window_start: datetime, window_end: datetime) -> dict:
    params = {"dispatch_product_line": context.product_line, "dispatch_window_start": window_start,
              "dispatch_window_end": window_end}
    for i, need in enumerate(context.needs):
        params[f"dispatch_need_{i}"] = need.part_id if need.kind == "part" else need.key
    return params


def find_candidates(session: Session, context: TicketContext, *, settings: DispatchSettings, now: datetime,
                    limit: int | None = None, index: SpatialIndex | None = None) -> CandidateReport:
    """Rank the nearest available technicians for a ticket (see the module docstring).

    Each technician's facts (certifications, shifts, leave, open jobs, van stock)
    arrive with the spatial search itself, as correlated subqueries: a query
    costs a handful of round trips however many technicians it examines.
    Without the cyclic GC: a query builds thousands of short-lived, cycle-free
    objects (rows, facts, datetimes), and a collection in the middle of one
    (up to a few milliseconds) was a good part of the slowest queries."""
    with no_cyclic_gc():
        return _find_candidates(session, context, settings=settings, now=now, limit=limit, index=index)


def _find_candidates(session: Session, context: TicketContext, *, settings: DispatchSettings, now: datetime,
                     limit: int | None, index: SpatialIndex | None) -> CandidateReport:
    index = index or index_for(session, start_radius_m=settings.search_start_km * 1000)
    limit = limit or settings.limit
    pool_size = max(settings.pool_size, limit)
    # Certification dates are local dates: the window is a day wider either side.
    window_start, window_end = now - timedelta(days=1), max(context.due, now) + timedelta(days=1)
    columns, prefilter, active = search_shape(session.get_bind().dialect.name,
                                              tuple(need.kind for need in context.needs))
    params = search_params(context, window_start, window_end)
    params[FRESH_SINCE] = now - settings.stale_after  # the search walks by the position ranked from
    n_facts = len(columns) - len(context.needs)
    windows: dict = {}  # shift windows by weekly slots and zone, for this query's now and due

    def evaluate(n: Neighbour):
        facts = availability.facts_from_columns(n.extra[:n_facts])
        held = {need.key: int(v or 0) for need, v in zip(context.needs, n.extra[n_facts:], strict=True)}
        position = position_of(facts.technician, now=now, settings=settings)
        distance_km = distance_from(position, n, context.latitude, context.longitude)
        travel = settings.travel_time(distance_km)
        verdict = availability.assess(facts, product_line=context.product_line, now=now, due=context.due,
                                      travel=travel, windows_cache=windows)
        return Seen(n, facts, held, verdict, travel, position, distance_km)

    pool: list[Seen] = []
    excluded: dict[uuid.UUID, Excluded] = {}
    late_pool: list[Seen] = []  # certified, unavailable only for reasons a dispatcher may override
    seen: set[uuid.UUID] = set()

    def consider(n: Neighbour) -> None:
        seen.add(n.id)
        entry = evaluate(n)
        if entry.verdict.available:
            pool.append(entry)
        else:
            excluded[n.id] = Excluded(n.id, entry.facts.technician.name, round(entry.distance_km, 3),
                                      entry.position, list(entry.verdict.reasons))
            if all(r.code in availability.OVERRIDABLE for r in entry.verdict.reasons):
                late_pool.append(entry)

    # Two searches from the site, whose first steps an engine may fetch in one round trip:
    # 1. only those certified for the product line (prefiltered in SQL: a rare
    #    line never scans the fleet), nearest first, until the pool is full;
    # 2. everyone, certified or not, nearest first, up to the farthest of the
    #    pool: the nearest ``excluded_limit`` filtered out on the way are
    #    listed with their reasons, so a dispatcher sees why someone close was
    #    not suggested. (Beyond the pool no one was passed over.)
    certified, nearby = index.iter_nearest_many(
        session, TECHNICIANS, context.latitude, context.longitude,
        [(prefilter, pool_size), (active, max(2 * settings.excluded_limit, 1))], columns=columns, params=params)
    if pool_size > 0:
        for n in certified:
            consider(n)
            if len(pool) >= pool_size or len(seen) >= settings.scan_limit:
                break
    pool = sorted(pool, key=lambda e: (e.distance_km, str(e.n.id)))[:pool_size]
    reach = max(e.n.distance_m for e in pool) if len(pool) >= pool_size else math.inf
    listed = 0  # filtered-out technicians met by search 2 (which meets everyone, in order)
    if settings.excluded_limit > 0:
        for n in nearby:
            if n.distance_m > reach or len(seen) >= settings.scan_limit:
                break
            if n.id not in seen:
                consider(n)
            listed += n.id in excluded
            if listed >= settings.excluded_limit:
                break
    examined = len(seen)

    ranked = sorted(((_candidate(e, context, settings, now), e) for e in pool),
                    key=lambda ce: (-ce[0].score, ce[0].distance_km, str(ce[0].technician_id)))[:limit]
    candidates = [c for c, _ in ranked]
    for rank, candidate in enumerate(candidates, start=1):
        candidate.rank = rank
    dead_end = not any(c.meets_deadline for c in candidates)
    # On-call duty, in one query, for those listed (and, when nobody is in time,
    # those who could be called out); the search itself does not carry it.
    on_call = availability.on_call_spans(
        session, [e.n.id for _, e in ranked] + ([e.n.id for e in pool + late_pool] if dead_end else []),
        now - timedelta(days=1), now + ON_CALL_LOOKAHEAD)
    for e in pool + late_pool:
        e.facts.on_call = on_call.get(e.n.id, [])
    for candidate, e in ranked:
        candidate.on_call = availability.on_call_at(e.facts, candidate.departs_at)
    nearest_excluded = sorted(excluded.values(), key=lambda e: (e.distance_km, str(e.technician_id)))
    report = CandidateReport(
        ticket_id=context.ticket_id, latitude=context.latitude, longitude=context.longitude,
        product_line=context.product_line, on_site_due_at=context.due, under_warranty=context.under_warranty,
        evaluated_at=now, needs=context.needs, weights={c: settings.weight(c) for c in ("eta", "deadline", "parts",
                                                                                       "workload")},
        candidates=candidates, excluded=nearest_excluded[:settings.excluded_limit], examined=examined,
        search=index.name)
    if dead_end:
        _never_a_dead_end(report, pool, late_pool, excluded, context, settings, now, limit)
    return report


@dataclass
class Seen:
    """A technician the search met, with what was worked out about them."""

    n: Neighbour
    facts: availability.TechnicianFacts
    held: dict[str, int]
    verdict: availability.Availability
    travel: timedelta
    position: Position
    distance_km: float


def _candidate(e: Seen, context: TicketContext, settings: DispatchSettings, now: datetime, *,
               late: availability.LateOption | None = None) -> Candidate:
    tech = e.facts.technician
    departs = late.departs_at if late else e.verdict.departs_at
    arrival = departs + e.travel
    meets = arrival <= context.due
    total, breakdown = score(settings, eta=arrival - now, meets_deadline=meets, needs=context.needs,
                             held=e.held, open_jobs=e.facts.open_jobs, max_open_jobs=tech.max_open_jobs)
    notes = [e.position.explanation] if e.position.source == "home_base" or e.position.stale else []
    flags = list(late.flags) if late else []
    on_shift_now = e.verdict.on_shift_now if late is None else (departs == now and not flags)
    on_call = late.on_call if late else availability.on_call_at(e.facts, departs)
    if late is None and not e.verdict.on_shift_now:
        notes.append(f"off shift now; sets off at {departs.isoformat()}")
    candidate = Candidate(
        technician_id=tech.id, name=tech.name, distance_km=round(e.distance_km, 3), position=e.position,
        eta_minutes=round((arrival - now).total_seconds() / 60, 1), departs_at=departs,
        arrival_at=arrival, on_shift_now=on_shift_now, meets_deadline=meets,
        open_jobs=e.facts.open_jobs, max_open_jobs=tech.max_open_jobs, van_location_id=tech.van_location_id,
        van_holds={need.label: e.held.get(need.key, 0) for need in context.needs},
        score=total, score_breakdown=breakdown, notes=notes, flags=flags,
        needs_override=late.needs_reason if late else False, on_call=on_call)
    if not meets:
        candidate.late_by_minutes = round((arrival - context.due).total_seconds() / 60, 1)
    return candidate


def _never_a_dead_end(report: CandidateReport, pool: list[Seen], late_pool: list[Seen],
                      excluded: dict[uuid.UUID, Excluded], context: TicketContext, settings: DispatchSettings,
                      now: datetime, limit: int) -> None:
    """Nobody meets the deadline: rank who could arrive soonest (those on shift,
    then as overtime, after their leave, over their job limit), each with how
    late and what assigning them overrides. Arrival is never before now + travel,
    so walking by distance stops once the next one cannot beat the ``limit``-th."""
    soonest = functools.partial(_soonest, settings.overtime_penalty)
    options: list[Candidate] = [_candidate(e, context, settings, now) for e in pool]
    for e in sorted(late_pool, key=lambda e: (e.distance_km, str(e.n.id))):
        if len(options) >= limit:
            options.sort(key=soonest)
            # Nobody further can rank before now + travel (setting off now, no penalty).
            if now + e.travel > soonest(options[limit - 1])[0]:
                break
        option = availability.late_option(e.facts, now=now, travel=e.travel)
        options.append(_candidate(e, context, settings, now, late=option))
    options.sort(key=soonest)
    report.late_candidates = options[:limit]
    for rank, candidate in enumerate(report.late_candidates, start=1):
        candidate.rank = rank
    if report.late_candidates:
        report.outcome = "late_only"
        report.message = ("nobody can reach the site before the on-site deadline: these could come soonest; "
                          "assigning one needs a reason (calling out someone on call does not)")
        return
    report.outcome = "none_certified"
    expired = sum(any(r.code == "certification_expired" for r in x.reasons) for x in excluded.values())
    report.message = (f"nobody holds a valid certification for {context.product_line or 'this product line'}"
                      + (f" ({expired} nearby hold an expired one)" if expired else ""))


def _soonest(overtime_penalty: timedelta, c: Candidate):
    """The late candidates' order: arrival, an overtime call-out counting as
    ``overtime_penalty`` later (so someone on call comes first unless overtime
    would arrive that much sooner); then fewer flags, nearer, id."""
    penalty = overtime_penalty if any(flag.code == "overtime" for flag in c.flags) else timedelta(0)
    return (c.arrival_at + penalty, len(c.flags), c.distance_km, str(c.technician_id))
