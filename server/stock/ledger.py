"""The stock ledger's core: movements, the quantity projection, reservations
(with the warranty first-claim rule) and field consumption. Plain functions
over a session; never commit.

Derived, never edited
    ``stock_movements`` is the truth: append-only, signed quantities, one row
    per change. ``stock_levels`` (on hand, reserved, in transit, defective per
    location and part) is a projection of it, written only here, in the same
    transaction as the movement or reservation that changes it.
    :func:`rebuild_levels` recomputes it from the ledger to check it.

Concurrency
    Every change to a (location, part) goes through one conditional
    ``UPDATE ... SET on_hand = on_hand + :q`` of its ``stock_levels`` row, so
    concurrent writers queue on that row's lock and no update is ever lost.
    Operations that touch several rows take their locks first, in key order
    (:func:`lock_levels`), so two of them can never deadlock each other.

Field facts versus warehouse decisions
    Stock the field reports used is never refused: the balance may go below
    zero, and each movement that takes it there raises a ``negative_balance``
    discrepancy for warehouse staff. Warehouse decisions (shipping, issuing)
    are refused instead when the stock is not available (``insufficient_stock``).

Warranty first claim (三包: parts go first to repairs under warranty)
    A reservation for a warranty repair that finds too little available stock
    takes it from active *non-warranty* reservations of the same part at the
    same location, youngest first (the least planning is lost), whole
    reservations only. Those become ``preempted`` (``preempted_by_id`` names
    the warranty reservation) and their jobs must be re-planned. A warranty
    reservation never preempts another warranty reservation, and a
    non-warranty one never preempts anything: if preempting every
    non-warranty reservation still would not free enough, nothing changes and
    ``insufficient_stock`` is raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.bulk import CompiledQuery, bulk_insert, in_param
from server.db import new_uuid
from server.exceptions import Conflict, InvalidInput, NotFound
from server.stock.models import (
    DiscrepancyKind,
    DiscrepancyStatus,
    MovementKind,
    Reservation,
    ReservationStatus,
    SpareUnit,
    SpareUnitStatus,
    StockCondition,
    StockDiscrepancy,
    StockLevel,
    StockMovement,
)


class InvalidQuantity(InvalidInput, ValueError):
    """A zero or negative quantity where a positive one is needed (also a
    ValueError, as it always was for callers that catch that)."""

    code = "invalid_quantity"


@dataclass(frozen=True)
class Quantity:
    on_hand: int
    reserved: int
    in_transit: int = 0
    defective: int = 0

    @property
    def available(self) -> int:
        """What may still be reserved or shipped (never below zero)."""
        return max(self.on_hand - self.reserved, 0)


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _ensure_level_row(session: Session, location_id: uuid.UUID, part_id: uuid.UUID) -> None:
    stmt = _insert(session)(StockLevel).values(location_id=location_id, part_id=part_id, on_hand=0, reserved=0,
                                               in_transit=0, defective=0)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["location_id", "part_id"]))


def lock_levels(session: Session, keys: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Create the (location, part) rows if missing and lock them, in key order.

    Multi-row operations (a transfer, a count's close) call this first so that
    two of them always lock in the same order and never deadlock. On SQLite
    the whole database is locked by ``BEGIN IMMEDIATE`` already.
    """
    ordered = sorted(set(keys))
    if not ordered:
        return
    for location_id, part_id in ordered:
        _ensure_level_row(session, location_id, part_id)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(StockLevel.location_id)
            .where(tuple_(StockLevel.location_id, StockLevel.part_id).in_(ordered))
            .order_by(StockLevel.location_id, StockLevel.part_id)
            .with_for_update()
        ).all()


def record_movement(session: Session, *, kind: MovementKind, location_id: uuid.UUID, part_id: uuid.UUID,
                    quantity: int, at: datetime, job_id=None, source: str | None = None,
                    under_warranty: bool | None = None, serial_numbers=None, by_user_id=None,
                    note: str | None = None, condition: StockCondition = StockCondition.good,
                    reason: str | None = None, counterpart_location_id=None,
                    require_available: bool = False) -> StockMovement:
    """Append a movement of a part and move the projection with it, atomically.

    ``quantity`` is signed (into the location when positive). ``condition``
    says which bucket moves: usable stock or defective stock held apart.
    With ``require_available`` an outgoing movement is refused
    (``insufficient_stock``) unless that many are on hand and unreserved;
    otherwise it always applies, and a usable balance taken below zero raises
    a ``negative_balance`` discrepancy naming this movement and its job.
    """
    if quantity == 0:
        raise InvalidQuantity("a movement moves something", details={"fields": {"quantity": ["Must not be 0."]}})
    _ensure_level_row(session, location_id, part_id)
    column = StockLevel.on_hand if condition is StockCondition.good else StockLevel.defective
    stmt = (update(StockLevel)
            .where(StockLevel.location_id == location_id, StockLevel.part_id == part_id)
            .values({column.key: column + quantity})
            .returning(column)
            .execution_options(synchronize_session=False))
    if require_available and quantity < 0:
        floor = StockLevel.on_hand - StockLevel.reserved if condition is StockCondition.good else column
        stmt = stmt.where(floor + quantity >= 0)
    balance_after = session.execute(stmt).scalar()
    if balance_after is None:
        level = session.get(StockLevel, (location_id, part_id), populate_existing=True)
        have = (level.on_hand - level.reserved if condition is StockCondition.good else level.defective) if level else 0
        raise Conflict("not enough stock available", code="insufficient_stock",
                       details={"location_id": str(location_id), "part_id": str(part_id),
                                "requested": -quantity, "available": max(have, 0)})
    movement = StockMovement(kind=kind, location_id=location_id, part_id=part_id, quantity=quantity, at=at,
                             job_id=job_id, source=source, under_warranty=under_warranty,
                             serial_numbers=serial_numbers or None, by_user_id=by_user_id, note=note,
                             condition=condition, reason=reason, counterpart_location_id=counterpart_location_id)
    session.add(movement)
    session.flush()
    if condition is StockCondition.good and quantity < 0 and balance_after < 0:
        # The part of this movement the books could not cover.
        shortfall = min(-quantity, -balance_after)
        session.add(StockDiscrepancy(kind=DiscrepancyKind.negative_balance, location_id=location_id,
                                     part_id=part_id, quantity=-shortfall, balance_after=balance_after,
                                     movement_id=movement.id, job_id=job_id, detected_at=at))
        session.flush()
    return movement


def add_in_transit(session: Session, *, location_id: uuid.UUID, part_id: uuid.UUID, quantity: int) -> None:
    """Stock shipped towards (positive) or arrived at (negative) a location."""
    _ensure_level_row(session, location_id, part_id)
    session.execute(update(StockLevel)
                    .where(StockLevel.location_id == location_id, StockLevel.part_id == part_id)
                    .values(in_transit=StockLevel.in_transit + quantity)
                    .execution_options(synchronize_session=False))


def quantities(session: Session, part_id: uuid.UUID, location_ids=None) -> dict[uuid.UUID, Quantity]:
    """On-hand, reserved, in-transit and defective of one part, per location that has ever held it."""
    stmt = select(StockLevel).where(StockLevel.part_id == part_id).execution_options(populate_existing=True)
    if location_ids is not None:
        stmt = stmt.where(StockLevel.location_id.in_(list(location_ids)))
    return {row.location_id: Quantity(row.on_hand, row.reserved, row.in_transit, row.defective)
            for row in session.scalars(stmt)}


def rebuild_levels(session: Session, location_id: uuid.UUID | None = None) -> dict[tuple, tuple[int, int]]:
    """On hand and defective per (location, part) summed from the ledger itself.

    The check that the projection is derived: compare it with ``stock_levels``.
    """
    good = func.sum(case((StockMovement.condition == StockCondition.good, StockMovement.quantity), else_=0))
    bad = func.sum(case((StockMovement.condition == StockCondition.defective, StockMovement.quantity), else_=0))
    stmt = (select(StockMovement.location_id, StockMovement.part_id, good, bad)
            .where(StockMovement.part_id.is_not(None))
            .group_by(StockMovement.location_id, StockMovement.part_id))
    if location_id is not None:
        stmt = stmt.where(StockMovement.location_id == location_id)
    return {(loc, part): (int(g or 0), int(b or 0)) for loc, part, g, b in session.execute(stmt)}


# --- warranty -------------------------------------------------------------------------------------------------

def warranty_for_job(session: Session, job_id: uuid.UUID | None) -> bool | None:
    """Whether a job's repair is under warranty, from its asset's warranty end date.

    The date judged is the day the customer reported the fault (the ticket's
    ``received_at``): a fault reported in warranty is repaired in warranty even
    if the visit falls after the end date. ``None`` when the job has no asset
    (nothing to judge by).
    """
    if job_id is None:
        return None
    from server.customers.models import Asset
    from server.jobs.models import Job
    from server.tickets.models import Ticket

    row = session.execute(
        select(Ticket.received_at, Asset.warranty_end)
        .select_from(Job).join(Ticket, Ticket.id == Job.ticket_id).join(Asset, Asset.id == Ticket.asset_id)
        .where(Job.id == job_id)
    ).first()
    if row is None:
        return None
    received_at, warranty_end = row
    return warranty_end is not None and received_at.date() <= warranty_end


# --- reservations ---------------------------------------------------------------------------------------------

def _take_reserved(session: Session, location_id, part_id, quantity: int) -> bool:
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.part_id == part_id,
               StockLevel.on_hand - StockLevel.reserved >= quantity)
        .values(reserved=StockLevel.reserved + quantity)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def reserve_part(session: Session, *, location_id: uuid.UUID, part_id: uuid.UUID, quantity: int,
                 job_id=None, under_warranty: bool | None = None) -> Reservation:
    """Hold ``quantity`` of a part at a location for a job.

    ``under_warranty`` left out is judged from the job's asset. A warranty
    repair has first claim (see the module's docstring): it may preempt
    non-warranty reservations. Raises Conflict ``insufficient_stock`` when not
    that many can be had.
    """
    if quantity <= 0:
        raise InvalidQuantity("reserve a positive quantity", details={"fields": {"quantity": ["Must be > 0."]}})
    if under_warranty is None:
        under_warranty = bool(warranty_for_job(session, job_id))
    _ensure_level_row(session, location_id, part_id)
    reservation = Reservation(id=uuid.uuid4(), location_id=location_id, part_id=part_id, quantity=quantity,
                              job_id=job_id, under_warranty=under_warranty)
    if not _take_reserved(session, location_id, part_id, quantity):
        if not (under_warranty and _preempt_for(session, reservation)):
            level = session.get(StockLevel, (location_id, part_id), populate_existing=True)
            raise Conflict("not enough stock available to reserve", code="insufficient_stock",
                           details={"location_id": str(location_id), "part_id": str(part_id),
                                    "requested": quantity,
                                    "available": max(level.on_hand - level.reserved, 0) if level else 0})
        if not _take_reserved(session, location_id, part_id, quantity):  # pragma: no cover - row is locked
            raise Conflict("not enough stock available to reserve", code="insufficient_stock")
    session.add(reservation)
    session.flush()
    return reservation


def _preempt_for(session: Session, warranty: Reservation) -> bool:
    """Free stock for a warranty reservation by preempting non-warranty ones."""
    lock_levels(session, [(warranty.location_id, warranty.part_id)])
    level = session.get(StockLevel, (warranty.location_id, warranty.part_id), populate_existing=True)
    needed = warranty.quantity - (level.on_hand - level.reserved)
    candidates = session.scalars(
        select(Reservation)
        .where(Reservation.location_id == warranty.location_id, Reservation.part_id == warranty.part_id,
               Reservation.status == ReservationStatus.active, Reservation.under_warranty.is_(False))
        .order_by(Reservation.created_at.desc(), Reservation.id.desc())
        .with_for_update()
    ).all()
    chosen, freed = [], 0
    for candidate in candidates:
        if freed >= needed:
            break
        chosen.append(candidate)
        freed += candidate.quantity
    if freed < needed:
        return False
    session.add(warranty)
    session.flush()
    for victim in chosen:
        release(session, victim)
        victim.status = ReservationStatus.preempted
        victim.preempted_by_id = warranty.id
    session.flush()
    return True


def reserve_spare_unit(session: Session, *, spare_unit_id: uuid.UUID, job_id=None) -> Reservation:
    """Hold one spare unit for a job, or raise Conflict when it cannot be had.

    First claim holds here too: a warranty job may take a unit reserved for
    a non-warranty job (that reservation becomes ``preempted``); nothing else
    takes a reserved unit.
    """
    unit = session.get(SpareUnit, spare_unit_id)
    if unit is None:
        raise NotFound("no such spare unit")
    under_warranty = bool(warranty_for_job(session, job_id))
    reservation = Reservation(id=uuid.uuid4(), location_id=unit.location_id, spare_unit_id=unit.id, quantity=1,
                              job_id=job_id, under_warranty=under_warranty)
    result = session.execute(
        update(SpareUnit)
        .where(and_(SpareUnit.id == spare_unit_id, SpareUnit.status == SpareUnitStatus.available))
        .values(status=SpareUnitStatus.reserved, version=SpareUnit.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        holder = None
        if under_warranty:
            session.refresh(unit, with_for_update=True)
            holder = session.scalars(select(Reservation).where(
                Reservation.spare_unit_id == unit.id, Reservation.status == ReservationStatus.active,
                Reservation.under_warranty.is_(False)).with_for_update()).first()
        if holder is None or unit.status is not SpareUnitStatus.reserved:
            raise Conflict("this spare unit is no longer available", code="spare_unit_unavailable",
                           details={"spare_unit_id": str(spare_unit_id)})
        session.add(reservation)
        session.flush()
        holder.status, holder.preempted_by_id = ReservationStatus.preempted, reservation.id
    session.refresh(unit)
    reservation.location_id = unit.location_id
    session.add(reservation)
    session.flush()
    return reservation


def release(session: Session, reservation: Reservation, *, reason: str | None = None) -> None:
    """Give reserved stock back (job cancelled, plan changed). Idempotent.
    ``reason`` is kept on the reservation (``job_cancelled``, ``job_reassigned``)."""
    if reservation.status is not ReservationStatus.active:
        return
    reservation.status = ReservationStatus.released
    reservation.release_reason = reason
    if reservation.part_id is not None:
        session.execute(
            update(StockLevel)
            .where(StockLevel.location_id == reservation.location_id, StockLevel.part_id == reservation.part_id)
            .values(reserved=StockLevel.reserved - reservation.quantity)
            .execution_options(synchronize_session=False)
        )
    else:
        session.execute(update(SpareUnit).where(SpareUnit.id == reservation.spare_unit_id,
                                                SpareUnit.status == SpareUnitStatus.reserved)
                        .values(status=SpareUnitStatus.available, version=SpareUnit.version + 1)
                        .execution_options(synchronize_session=False))


# --- field consumption ----------------------------------------------------------------------------------------

def _van_of_job(session: Session, job_id: uuid.UUID) -> uuid.UUID | None:
    from server.jobs.models import Job
    from server.technicians.models import Technician

    return session.scalar(select(Technician.van_location_id).join(Job, Job.technician_id == Technician.id)
                          .where(Job.id == job_id))


def record_field_consumptions(session: Session, usages: list[dict], *, at: datetime,
                              warranty: dict | None = None) -> list[tuple]:
    """:func:`record_field_consumption` for a whole batch of part usages, set-wise.

    Each usage is a dict with ``id``, ``job_id``, ``part_id``, ``location_id``
    (None: the technician's van), ``quantity``, ``under_warranty`` and
    ``serial_numbers``. The same rules hold: idempotent per usage, never
    refused for lack of stock, warranty judged from the job's asset, a
    ``negative_balance`` discrepancy for every usage that takes a balance
    below zero. Usages that touch a reservation or carry serial numbers take
    the one-by-one path, so those rules live in one place only. Returns the
    (location_id, part_id) pairs whose levels moved: the set-wise writes go
    through the connection, so the caller puts those levels in the change log
    (``sync.facts.consume`` does).
    """
    from server.jobs.models import Job
    from server.technicians.models import Technician

    if not usages:
        return []
    for usage in usages:
        if usage["quantity"] <= 0:
            raise InvalidQuantity("a part usage uses a positive quantity",
                                  details={"fields": {"quantity": ["Must be > 0."]}})
    sources = {f"part_usage:{u['id']}": u for u in usages}
    # The reads below go straight to the session's connection (plain columns,
    # statements compiled once: server.bulk); what the session holds
    # unflushed first goes to the database, as its autoflush would.
    if session.autoflush:
        session.flush()
    connection = session.connection()
    done = {source for source, _id in _MOVEMENTS_BY_SOURCE.rows(connection, sources=list(sources))}
    todo = [u for source, u in sources.items() if source not in done]
    if not todo:
        return []
    job_ids = list({u["job_id"] for u in todo})
    vanless = list({u["job_id"] for u in todo if not u.get("location_id")})  # sync always names the location
    vans = dict(connection.execute(select(Job.id, Technician.van_location_id)
                                   .join(Technician, Job.technician_id == Technician.id)
                                   .where(Job.id.in_(vanless))).all()) if vanless else {}
    if warranty is None:  # else the caller's warranty_for_jobs() answer for these jobs
        warranty = warranty_for_jobs(connection, job_ids)
    reserved = set(_ACTIVE_PART_RESERVATIONS.rows(connection, jobs=job_ids))

    plain = []
    touched = set()
    for usage in todo:
        location_id = usage.get("location_id") or vans.get(usage["job_id"])
        if location_id is None:
            raise InvalidInput("the part usage names no location and the job's technician has no van",
                               code="no_stock_location")
        judged = warranty.get(usage["job_id"])
        row = {**usage, "location_id": location_id,
               "under_warranty": judged if judged is not None else bool(usage.get("under_warranty"))}
        touched.add((location_id, usage["part_id"]))
        if usage.get("serial_numbers") or (usage["job_id"], usage["part_id"], location_id) in reserved:
            record_field_consumption(session, usage_id=usage["id"], job_id=usage["job_id"], part_id=usage["part_id"],
                                     location_id=location_id, quantity=usage["quantity"], at=at,
                                     under_warranty=row["under_warranty"], serial_numbers=usage.get("serial_numbers"))
        else:
            plain.append(row)
    if plain:
        _consume_plain(session, plain, at=at)
    return sorted(touched, key=str)


def _warranty_dates(dialect):
    from server.customers.models import Asset
    from server.jobs.models import Job
    from server.tickets.models import Ticket

    return (select(Job.id, Ticket.received_at, Asset.warranty_end)
            .select_from(Job).join(Ticket, Ticket.id == Job.ticket_id).join(Asset, Asset.id == Ticket.asset_id)
            .where(in_param(Job.__table__.c.id, "jobs", dialect)))


_WARRANTY_DATES = CompiledQuery(_warranty_dates)


def warranty_for_jobs(connection, job_ids: list) -> dict:
    """:func:`warranty_for_job` for many jobs in one query (jobs without an asset are left out);
    ``connection`` is a Connection or a Session.

    The one warranty rule for usages too: sync's part-usage rows and their
    ledger movements are both judged here, so they never disagree."""
    rows = _WARRANTY_DATES.rows(connection if not isinstance(connection, Session) else connection.connection(),
                                jobs=list(job_ids))
    return {job_id: end is not None and received.date() <= end for job_id, received, end in rows}


def _consume_plain(session: Session, usages: list[dict], *, at: datetime) -> None:
    """Consume usages with no reservation and no serial numbers: one UPDATE per
    (location, part), in one lock order for every writer, and one bulk insert
    for the movements; then discrepancies where a balance went below zero.
    Everything goes through the connection (server.bulk): the caller logs the
    levels that moved (see :func:`record_field_consumptions`)."""
    deltas: dict[tuple, int] = {}
    for usage in usages:
        key = (usage["location_id"], usage["part_id"])
        deltas[key] = deltas.get(key, 0) - usage["quantity"]
    ordered = sorted(deltas, key=lambda k: (str(k[0]), str(k[1])))
    connection = session.connection()
    # Missing level rows first, in the same key order as the updates.
    bulk_insert(connection, _ensure_level(session), [
        {"location_id": loc, "part_id": part, "on_hand": 0, "reserved": 0, "in_transit": 0, "defective": 0}
        for loc, part in ordered])
    connection.execute(_ADD_TO_LEVEL, [{"k_location": loc, "k_part": part, "k_delta": deltas[(loc, part)]}
                                       for loc, part in ordered])
    bulk_insert(connection, StockMovement.__table__, [{
        "kind": MovementKind.consumed, "location_id": u["location_id"], "part_id": u["part_id"],
        "spare_unit_id": None, "quantity": -u["quantity"], "at": at, "job_id": u["job_id"],
        "source": f"part_usage:{u['id']}", "under_warranty": u["under_warranty"], "serial_numbers": None,
        "by_user_id": None, "note": None, "condition": StockCondition.good, "reason": None,
        "counterpart_location_id": None,
    } for u in usages])

    # Balances after each usage, walking back from the level each key ends at.
    final = {(location, part): on_hand for location, part, on_hand in _LEVELS.rows(
        connection, locations=list({loc for loc, _p in ordered}), parts=list({part for _l, part in ordered}))}
    short = []
    running = {key: final[key] for key in ordered}
    for usage in reversed(usages):
        key = (usage["location_id"], usage["part_id"])
        balance_after = running[key]
        running[key] = balance_after + usage["quantity"]
        if balance_after < 0:
            short.append((usage, balance_after))
    if not short:
        return
    movement_ids = dict(_MOVEMENTS_BY_SOURCE.rows(connection, sources=[f"part_usage:{u['id']}" for u, _ in short]))
    # In the order the one-by-one path would raise them.
    bulk_insert(connection, StockDiscrepancy.__table__, [{
        "id": new_uuid(), "kind": DiscrepancyKind.negative_balance, "status": DiscrepancyStatus.open,
        "location_id": usage["location_id"], "part_id": usage["part_id"],
        "quantity": -min(usage["quantity"], -balance_after), "balance_after": balance_after,
        "movement_id": movement_ids[f"part_usage:{usage['id']}"], "job_id": usage["job_id"],
        "count_session_id": None, "transfer_id": None, "serial_number": None, "detected_at": at,
        "resolved_at": None, "resolved_by_user_id": None, "resolution_note": None,
    } for usage, balance_after in reversed(short)])


# The set-wise consumption's statements, built once (server.bulk).
_MOVEMENTS_BY_SOURCE = CompiledQuery(lambda dialect: select(StockMovement.__table__.c.source,
                                                            StockMovement.__table__.c.id).where(
    in_param(StockMovement.__table__.c.source, "sources", dialect)))
_ACTIVE_PART_RESERVATIONS = CompiledQuery(lambda dialect: select(
    Reservation.__table__.c.job_id, Reservation.__table__.c.part_id, Reservation.__table__.c.location_id).where(
    Reservation.__table__.c.status == bindparam("active", ReservationStatus.active,
                                                type_=Reservation.__table__.c.status.type),
    Reservation.__table__.c.part_id.is_not(None), in_param(Reservation.__table__.c.job_id, "jobs", dialect)))
_LEVELS = CompiledQuery(lambda dialect: select(
    StockLevel.__table__.c.location_id, StockLevel.__table__.c.part_id, StockLevel.__table__.c.on_hand).where(
    in_param(StockLevel.__table__.c.location_id, "locations", dialect),
    in_param(StockLevel.__table__.c.part_id, "parts", dialect)))
_levels = StockLevel.__table__
_ADD_TO_LEVEL = (_levels.update()
                 .where(_levels.c.location_id == bindparam("k_location"), _levels.c.part_id == bindparam("k_part"))
                 .values(on_hand=_levels.c.on_hand + bindparam("k_delta")))
_ENSURE_LEVEL: dict = {}


def _ensure_level(session: Session):
    """INSERT a level row unless it exists, built once per dialect."""
    dialect = session.get_bind().dialect.name
    if dialect not in _ENSURE_LEVEL:
        _ENSURE_LEVEL[dialect] = _insert(session)(_levels).on_conflict_do_nothing(
            index_elements=["location_id", "part_id"])
    return _ENSURE_LEVEL[dialect]


def record_field_consumption(session: Session, *, usage_id: uuid.UUID, job_id: uuid.UUID, part_id: uuid.UUID,
                             location_id: uuid.UUID | None, quantity: int, at: datetime,
                             under_warranty: bool | None = None, serial_numbers=None) -> StockMovement:
    """Consume stock for a part used on a job, as reported from the field.

    Never refused for lack of stock: the balance may go negative, which raises
    a discrepancy for warehouse staff, not an error for the technician. A
    matching active reservation for the job is consumed first. Idempotent per
    ``usage_id`` (the movement's ``source`` is unique), also when the same
    usage arrives twice at once. ``location_id`` None means the technician's
    van. Warranty is judged by the server from the asset's warranty end date
    (:func:`warranty_for_job`); the reported flag counts only for a job
    without an asset. Serial numbers are tracked to the job's site; one the
    books do not know raises an ``unknown_serial`` discrepancy.
    """
    if quantity <= 0:
        raise InvalidQuantity("a part usage uses a positive quantity",
                              details={"fields": {"quantity": ["Must be > 0."]}})
    source = f"part_usage:{usage_id}"
    existing = session.scalar(select(StockMovement).where(StockMovement.source == source))
    if existing is not None:
        return existing
    if location_id is None:
        location_id = _van_of_job(session, job_id)
        if location_id is None:
            raise InvalidInput("the part usage names no location and the job's technician has no van",
                               code="no_stock_location")
    judged = warranty_for_job(session, job_id)
    flag = judged if judged is not None else bool(under_warranty)
    try:
        with session.begin_nested():
            reservation = session.scalars(
                select(Reservation).where(Reservation.job_id == job_id, Reservation.part_id == part_id,
                                          Reservation.location_id == location_id,
                                          Reservation.status == ReservationStatus.active)
                .order_by(Reservation.created_at)
            ).first()
            if reservation is not None:
                release(session, reservation)
                reservation.status = ReservationStatus.consumed
            movement = record_movement(session, kind=MovementKind.consumed, location_id=location_id,
                                       part_id=part_id, quantity=-quantity, at=at, job_id=job_id, source=source,
                                       under_warranty=flag, serial_numbers=list(serial_numbers or []) or None)
            if serial_numbers:
                from server.stock import serials

                serials.install_serials(session, part_id=part_id, serial_numbers=serial_numbers,
                                        from_location_id=location_id, job_id=job_id, movement=movement, at=at)
    except IntegrityError:
        # The same usage applied by a concurrent transaction: its outcome stands.
        existing = session.scalar(select(StockMovement).where(StockMovement.source == source))
        if existing is None:
            raise
        return existing
    return movement
