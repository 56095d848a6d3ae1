"""Stock moving between locations: transfers (ship, then receive), issues to
vans, a van restocked from the nearest warehouse, and returns. Never commits.

A transfer from a warehouse to a van is an *issue*: the ledger writes
``issued_out``/``issued_in`` so reconciliation shows what a van was issued.
Between shipping and receiving the stock belongs to neither end and shows as
``in_transit`` at the destination.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from geopy.distance import geodesic
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import Conflict, InvalidInput, InvalidTransition, NotFound
from server.stock import serials
from server.stock.ledger import add_in_transit, lock_levels, record_movement, release, reserve_part
from server.stock.models import (
    DiscrepancyKind,
    LocationKind,
    MovementKind,
    Part,
    Reservation,
    ReservationStatus,
    SerialStatus,
    SpareUnit,
    StockCondition,
    StockDiscrepancy,
    StockLevel,
    StockLocation,
    Transfer,
    TransferLine,
    TransferStatus,
)

WAREHOUSE_KINDS = (LocationKind.central_warehouse, LocationKind.regional_warehouse, LocationKind.service_station)


def get_location(session: Session, location_id) -> StockLocation:
    location = session.get(StockLocation, location_id)
    if location is None:
        raise NotFound("no such stock location", details={"location_id": str(location_id)})
    return location


def get_part(session: Session, part_id) -> Part:
    part = session.get(Part, part_id)
    if part is None:
        raise NotFound("no such part", details={"part_id": str(part_id)})
    return part


def check_job(session: Session, job_id) -> None:
    if job_id is None:
        return
    from server.jobs.models import Job

    if session.get(Job, job_id) is None:
        raise NotFound("no such job", details={"job_id": str(job_id)})


def _job_reservation(session: Session, *, job_id, part_id, location_id) -> Reservation | None:
    if job_id is None:
        return None
    return session.scalars(select(Reservation).where(
        Reservation.job_id == job_id, Reservation.part_id == part_id, Reservation.location_id == location_id,
        Reservation.status == ReservationStatus.active).order_by(Reservation.created_at)).first()


def create_transfer(session: Session, *, from_location_id, to_location_id, lines: list[dict], at: datetime,
                    by_user_id=None, note=None, job_id=None, explanation=None) -> Transfer:
    """Plan a transfer. Each line: ``part_id`` + ``quantity`` (+ ``serial_numbers``
    for a serialised part), or ``spare_unit_id``."""
    if from_location_id == to_location_id:
        raise InvalidInput("a transfer goes between two different locations", code="same_location")
    source, destination = get_location(session, from_location_id), get_location(session, to_location_id)
    check_job(session, job_id)
    if not lines:
        raise InvalidInput("a transfer moves at least one line", code="no_lines")
    transfer = Transfer(id=uuid.uuid4(), from_location_id=source.id, to_location_id=destination.id,
                        is_issue=destination.kind is LocationKind.van and source.kind is not LocationKind.van,
                        job_id=job_id, note=note, explanation=explanation, created_at=at,
                        created_by_user_id=by_user_id)
    for position, line in enumerate(lines, start=1):
        if line.get("spare_unit_id"):
            unit = session.get(SpareUnit, line["spare_unit_id"])
            if unit is None:
                raise NotFound("no such spare unit", details={"spare_unit_id": str(line["spare_unit_id"])})
            if unit.location_id != source.id:
                raise InvalidInput("this spare unit is not at the source", code="spare_unit_not_here",
                                   details={"spare_unit_id": str(unit.id)})
            transfer.lines.append(TransferLine(position=position, spare_unit_id=unit.id, quantity=1))
            continue
        part = get_part(session, line["part_id"])
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0:
            raise InvalidInput("a line moves a positive quantity", code="invalid_quantity")
        serial_numbers = list(line.get("serial_numbers") or [])
        if part.serialised:
            serial_numbers = serials._check_serials(part.id, serial_numbers, quantity)
        transfer.lines.append(TransferLine(position=position, part_id=part.id, quantity=quantity,
                                           serial_numbers=serial_numbers))
    session.add(transfer)
    session.flush()
    return transfer


def _kinds(transfer: Transfer) -> tuple[MovementKind, MovementKind]:
    if transfer.is_issue:
        return MovementKind.issued_out, MovementKind.issued_in
    return MovementKind.transfer_out, MovementKind.transfer_in


def _level_keys(transfer: Transfer):
    for line in transfer.lines:
        if line.part_id is not None:
            yield transfer.from_location_id, line.part_id
            yield transfer.to_location_id, line.part_id


def ship_transfer(session: Session, transfer: Transfer, *, at: datetime, by_user_id=None) -> Transfer:
    """The stock leaves the source (refused if not available there) and is in transit."""
    session.refresh(transfer, with_for_update=True)  # two clerks shipping at once: one wins
    if transfer.status is not TransferStatus.planned:
        raise InvalidTransition(f"a {transfer.status.value} transfer cannot be shipped",
                                details={"status": transfer.status.value})
    lock_levels(session, _level_keys(transfer))
    out_kind, _ = _kinds(transfer)
    for line in transfer.lines:
        if line.spare_unit_id is not None:
            serials.ship_spare_unit(session, line.spare_unit_id, from_location_id=transfer.from_location_id,
                                    to_location_id=transfer.to_location_id, at=at, by_user_id=by_user_id,
                                    transfer_id=transfer.id)
            continue
        # Stock held for the transfer's job travels with it: the hold is
        # released here and taken again at the destination on receipt.
        held = _job_reservation(session, job_id=transfer.job_id, part_id=line.part_id,
                                location_id=transfer.from_location_id)
        if held is not None:
            release(session, held)
        movement = record_movement(
            session, kind=out_kind, location_id=transfer.from_location_id, part_id=line.part_id,
            quantity=-line.quantity, at=at, source=f"transfer_line:{line.id}:out", by_user_id=by_user_id,
            serial_numbers=line.serial_numbers or None, counterpart_location_id=transfer.to_location_id,
            job_id=transfer.job_id, require_available=True)
        add_in_transit(session, location_id=transfer.to_location_id, part_id=line.part_id, quantity=line.quantity)
        if line.serial_numbers:
            serials.move_serials(session, part_id=line.part_id, serial_numbers=line.serial_numbers,
                                 quantity=line.quantity, from_location_id=transfer.from_location_id,
                                 from_status=SerialStatus.in_stock, to_status=SerialStatus.in_transit,
                                 to_location_id=transfer.from_location_id, event="shipped", at=at,
                                 movement_id=movement.id, by_user_id=by_user_id)
    transfer.status, transfer.shipped_at, transfer.shipped_by_user_id = TransferStatus.shipped, at, by_user_id
    session.flush()
    return transfer


def receive_transfer(session: Session, transfer: Transfer, *, at: datetime, by_user_id=None,
                     received: dict | None = None) -> list[StockDiscrepancy]:
    """The stock arrives. ``received`` maps a line id to the quantity that
    actually arrived (default: all of it); any shortfall raises a
    ``transit_shortfall`` discrepancy at the destination. Returns those."""
    session.refresh(transfer, with_for_update=True)
    if transfer.status is not TransferStatus.shipped:
        raise InvalidTransition(f"a {transfer.status.value} transfer cannot be received",
                                details={"status": transfer.status.value})
    received = {uuid.UUID(str(k)): v for k, v in (received or {}).items()}
    unknown = set(received) - {line.id for line in transfer.lines}
    if unknown:
        raise InvalidInput("these lines are not on this transfer", code="unknown_lines",
                           details={"line_ids": sorted(str(u) for u in unknown)})
    lock_levels(session, _level_keys(transfer))
    _, in_kind = _kinds(transfer)
    shortfalls = []
    for line in transfer.lines:
        if line.spare_unit_id is not None:
            serials.receive_spare_unit(session, line.spare_unit_id, to_location_id=transfer.to_location_id, at=at,
                                       by_user_id=by_user_id)
            line.received_quantity = 1
            continue
        arrived = received.get(line.id, line.quantity)
        if not 0 <= arrived <= line.quantity:
            raise InvalidInput("a line receives between 0 and the quantity shipped", code="invalid_quantity",
                               details={"line_id": str(line.id), "shipped": line.quantity, "received": arrived})
        if line.serial_numbers and arrived != line.quantity:
            raise InvalidInput("serialised lines are received whole", code="serials_received_whole")
        line.received_quantity = arrived
        add_in_transit(session, location_id=transfer.to_location_id, part_id=line.part_id, quantity=-line.quantity)
        movement = None
        if arrived:
            movement = record_movement(
                session, kind=in_kind, location_id=transfer.to_location_id, part_id=line.part_id,
                quantity=arrived, at=at, source=f"transfer_line:{line.id}:in", by_user_id=by_user_id,
                serial_numbers=line.serial_numbers or None, counterpart_location_id=transfer.from_location_id,
                job_id=transfer.job_id)
        if arrived and transfer.job_id is not None:
            _hold_for_job(session, transfer, line.part_id, arrived)
        if line.serial_numbers:
            serials.move_serials(session, part_id=line.part_id, serial_numbers=line.serial_numbers,
                                 quantity=line.quantity, from_location_id=transfer.from_location_id,
                                 from_status=SerialStatus.in_transit, to_status=SerialStatus.in_stock,
                                 to_location_id=transfer.to_location_id, event="received", at=at,
                                 movement_id=movement.id if movement else None, by_user_id=by_user_id)
        if arrived < line.quantity:
            discrepancy = StockDiscrepancy(kind=DiscrepancyKind.transit_shortfall,
                                           location_id=transfer.to_location_id, part_id=line.part_id,
                                           quantity=arrived - line.quantity, transfer_id=transfer.id,
                                           movement_id=movement.id if movement else None, detected_at=at)
            session.add(discrepancy)
            shortfalls.append(discrepancy)
    transfer.status, transfer.received_at, transfer.received_by_user_id = TransferStatus.received, at, by_user_id
    session.flush()
    return shortfalls


def _hold_for_job(session: Session, transfer: Transfer, part_id, quantity: int) -> None:
    """Reserve what arrived for the transfer's job, as far as the destination's
    books allow (a van already below zero keeps no hold)."""
    try:
        with session.begin_nested():
            reserve_part(session, location_id=transfer.to_location_id, part_id=part_id, quantity=quantity,
                         job_id=transfer.job_id)
    except Conflict:
        pass


def cancel_transfer(session: Session, transfer: Transfer) -> Transfer:
    session.refresh(transfer, with_for_update=True)
    if transfer.status is not TransferStatus.planned:
        raise InvalidTransition("only a planned transfer can be cancelled", details={"status": transfer.status.value})
    transfer.status = TransferStatus.cancelled
    session.flush()
    return transfer


def issue_to_van(session: Session, *, from_location_id, van_id, lines: list[dict], at: datetime, by_user_id=None,
                 job_id=None, note=None) -> Transfer:
    """Hand parts over the counter to a van: planned, shipped and received at once."""
    van = get_location(session, van_id)
    if van.kind is not LocationKind.van:
        raise InvalidInput("an issue goes to a van", code="not_a_van")
    transfer = create_transfer(session, from_location_id=from_location_id, to_location_id=van_id, lines=lines,
                               at=at, by_user_id=by_user_id, note=note, job_id=job_id)
    ship_transfer(session, transfer, at=at, by_user_id=by_user_id)
    receive_transfer(session, transfer, at=at, by_user_id=by_user_id)
    return transfer


@dataclass(frozen=True)
class SourceChoice:
    location: StockLocation
    distance_km: float
    available: int


def nearest_sources(session: Session, *, to_location: StockLocation, part_id, quantity: int,
                    kinds=WAREHOUSE_KINDS) -> list[SourceChoice]:
    """Warehouses holding ``quantity`` of the part available, nearest first (geodesic)."""
    rows = session.execute(
        select(StockLocation, StockLevel.on_hand - StockLevel.reserved)
        .join(StockLevel, StockLevel.location_id == StockLocation.id)
        .where(StockLevel.part_id == part_id, StockLocation.kind.in_(kinds), StockLocation.id != to_location.id,
               StockLevel.on_hand - StockLevel.reserved >= quantity)
    ).all()
    here = (to_location.latitude, to_location.longitude)
    choices = [SourceChoice(loc, geodesic(here, (loc.latitude, loc.longitude)).km, available)
               for loc, available in rows]
    return sorted(choices, key=lambda c: (c.distance_km, c.location.code))


def restock_van(session: Session, *, van_id, lines: list[dict], at: datetime, by_user_id=None, job_id=None,
                ship: bool = False) -> list[Transfer]:
    """Plan a van's restock: each part from the nearest warehouse holding enough of it.

    Lines sharing a warehouse share a transfer; each transfer explains its
    choice. Raises Conflict ``insufficient_stock`` naming the parts no
    warehouse can supply (and then plans nothing).
    """
    van = get_location(session, van_id)
    if van.kind is not LocationKind.van:
        raise InvalidInput("a restock goes to a van", code="not_a_van")
    plan: dict[uuid.UUID, tuple[SourceChoice, list[dict], list[str]]] = {}
    missing = []
    for line in lines:
        part = get_part(session, line["part_id"])
        choices = nearest_sources(session, to_location=van, part_id=part.id, quantity=line["quantity"])
        if not choices:
            missing.append({"part_id": str(part.id), "part_number": part.part_number, "quantity": line["quantity"]})
            continue
        best = choices[0]
        entry = plan.setdefault(best.location.id, (best, [], []))
        entry[1].append(line)
        entry[2].append(f"{part.part_number}: nearest warehouse with {line['quantity']} available "
                        f"({best.location.code}, {best.distance_km:.1f} km, {best.available} available; "
                        f"{len(choices) - 1} farther)")
    if missing:
        raise Conflict("no warehouse holds enough of these parts", code="insufficient_stock",
                       details={"missing": missing})
    transfers = []
    for choice, chosen_lines, reasons in plan.values():
        transfer = create_transfer(session, from_location_id=choice.location.id, to_location_id=van.id,
                                   lines=chosen_lines, at=at, by_user_id=by_user_id, job_id=job_id,
                                   note="van restock", explanation="; ".join(reasons))
        if ship:
            ship_transfer(session, transfer, at=at, by_user_id=by_user_id)
        transfers.append(transfer)
    return transfers


def return_stock(session: Session, *, to_location_id, part_id, quantity: int, at: datetime,
                 defective: bool = False, reason: str | None = None, from_location_id=None, job_id=None,
                 serial_numbers=None, by_user_id=None, source: str | None = None) -> list:
    """Parts come back: unused, or defective (with a reason). ``from_location_id``
    is where they come from (a van); None for a part removed from a customer's
    machine. Defective parts land in the destination's defective stock, never
    available. A return is a physical fact: never refused for the source's
    books (a negative balance raises a discrepancy)."""
    if quantity <= 0:
        raise InvalidInput("a return moves a positive quantity", code="invalid_quantity")
    if defective and not (reason or "").strip():
        raise InvalidInput("a defective return needs a reason", code="reason_required",
                           details={"fields": {"reason": ["Required for a defective return."]}})
    if from_location_id == to_location_id:
        raise InvalidInput("a return goes between two different locations", code="same_location")
    part = get_part(session, part_id)
    get_location(session, to_location_id)
    check_job(session, job_id)
    keys = [(to_location_id, part_id)] + ([(from_location_id, part_id)] if from_location_id else [])
    lock_levels(session, keys)
    movements = []
    key = source or f"return:{uuid.uuid4()}"
    if from_location_id is not None:
        get_location(session, from_location_id)
        movements.append(record_movement(
            session, kind=MovementKind.returned, location_id=from_location_id, part_id=part_id, quantity=-quantity,
            at=at, job_id=job_id, source=f"{key}:out", serial_numbers=serial_numbers, by_user_id=by_user_id,
            reason=reason, counterpart_location_id=to_location_id))
    movements.append(record_movement(
        session, kind=MovementKind.returned, location_id=to_location_id, part_id=part_id, quantity=quantity, at=at,
        job_id=job_id, source=f"{key}:in", serial_numbers=serial_numbers, by_user_id=by_user_id, reason=reason,
        condition=StockCondition.defective if defective else StockCondition.good,
        counterpart_location_id=from_location_id))
    if part.serialised:
        serials.return_serials(session, part_id=part_id, serial_numbers=serial_numbers, quantity=quantity,
                               to_location_id=to_location_id, defective=defective, at=at,
                               movement_id=movements[-1].id, job_id=job_id, by_user_id=by_user_id, note=reason)
    session.flush()
    return movements
