"""Things tracked one by one: serialised parts (``SerialItem``) and spare
(loaner) units (``SpareUnit``). Their current state is a row; their history is
``serial_events``, append-only and read in id order. Never commits.

Spare units (备用机) move through a small state machine::

    available/reserved --ship_to_site--> in_transit (to a job's site) --loan--> loaned (at the site)
    available/reserved in the job technician's own van --loan--> loaned (it is on site already)
    loaned --return--> available | defective
    available/reserved --report_defective--> defective --send_to_repair--> in_repair --repaired--> available
    available --ship--> in_transit --receive--> available (at the destination)
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import Conflict, InvalidInput, InvalidTransition, NotFound
from server.stock.models import (
    DiscrepancyKind,
    Reservation,
    ReservationStatus,
    SerialEvent,
    SerialItem,
    SerialStatus,
    SpareUnit,
    SpareUnitStatus,
    StockDiscrepancy,
    StockLocation,
    StockMovement,
)


def record_event(session: Session, *, serial_number: str, event: str, status: str, at: datetime,
                 part_id=None, spare_unit_id=None, location_id=None, site_id=None, job_id=None,
                 movement_id=None, by_user_id=None, note: str | None = None) -> SerialEvent:
    row = SerialEvent(serial_number=serial_number, event=event, status=status, at=at, part_id=part_id,
                      spare_unit_id=spare_unit_id, location_id=location_id, site_id=site_id, job_id=job_id,
                      movement_id=movement_id, by_user_id=by_user_id, note=note)
    session.add(row)
    return row


def history(session: Session, serial_number: str) -> list[SerialEvent]:
    """Every step of one serial number's life, oldest first."""
    return list(session.scalars(select(SerialEvent).where(SerialEvent.serial_number == serial_number)
                                .order_by(SerialEvent.id)))


def _check_serials(part_id, serial_numbers, quantity: int) -> list[str]:
    serials = [s.strip() for s in serial_numbers or []]
    if len(set(serials)) != len(serials) or any(not s for s in serials):
        raise InvalidInput("serial numbers must be distinct and not blank", code="invalid_serials")
    if len(serials) != quantity:
        raise InvalidInput(f"a serialised part needs one serial number per unit ({quantity})",
                           code="serials_required", details={"part_id": str(part_id), "quantity": quantity,
                                                             "serial_numbers": len(serials)})
    return serials


def receive_serials(session: Session, *, part_id, serial_numbers, location_id, movement: StockMovement,
                    at: datetime, by_user_id=None) -> None:
    """New units passed inspection: in stock at the location."""
    serials = _check_serials(part_id, serial_numbers, movement.quantity)
    known = set(session.scalars(select(SerialItem.serial_number).where(SerialItem.serial_number.in_(serials))))
    if known:
        raise Conflict("these serial numbers are already known", code="duplicate_serials",
                       details={"serial_numbers": sorted(known)})
    for serial in serials:
        session.add(SerialItem(part_id=part_id, serial_number=serial, status=SerialStatus.in_stock,
                               location_id=location_id))
        record_event(session, serial_number=serial, part_id=part_id, event="received", status="in_stock",
                     location_id=location_id, movement_id=movement.id, at=at, by_user_id=by_user_id)


def _items(session: Session, part_id, serials: list[str]) -> dict[str, SerialItem]:
    return {item.serial_number: item for item in session.scalars(
        select(SerialItem).where(SerialItem.serial_number.in_(serials), SerialItem.part_id == part_id)
        .with_for_update())}


def move_serials(session: Session, *, part_id, serial_numbers, quantity: int, from_location_id,
                 from_status: SerialStatus, to_status: SerialStatus, to_location_id, event: str, at: datetime,
                 movement_id=None, job_id=None, by_user_id=None, note=None) -> None:
    """Warehouse moves of serialised units: each must be where the books say."""
    serials = _check_serials(part_id, serial_numbers, quantity)
    items = _items(session, part_id, serials)
    wrong = [s for s in serials if s not in items or items[s].status is not from_status
             or items[s].location_id != from_location_id]
    if wrong:
        raise Conflict("these serial numbers are not in that place and state", code="serials_not_here",
                       details={"serial_numbers": wrong, "expected_status": from_status.value,
                                "expected_location_id": str(from_location_id)})
    for serial in serials:
        item = items[serial]
        item.status, item.location_id, item.site_id, item.job_id = to_status, to_location_id, None, job_id
        record_event(session, serial_number=serial, part_id=part_id, event=event, status=to_status.value,
                     location_id=to_location_id, movement_id=movement_id, job_id=job_id, at=at,
                     by_user_id=by_user_id, note=note)


def install_serials(session: Session, *, part_id, serial_numbers, from_location_id, job_id, movement, at) -> None:
    """Field fact: these units were fitted on a job. Never refused; a serial
    number the books do not know (or thought elsewhere) raises a discrepancy."""
    from server.jobs.models import Job
    from server.tickets.models import Ticket

    site_id = session.scalar(select(Ticket.site_id).join(Job, Job.ticket_id == Ticket.id).where(Job.id == job_id))
    serials = [s.strip() for s in serial_numbers if s and s.strip()]
    items = _items(session, part_id, serials)
    for serial in serials:
        item = items.get(serial)
        note = None
        if item is None or item.status is not SerialStatus.in_stock or item.location_id != from_location_id:
            note = "not in stock at this location in the books"
            session.add(StockDiscrepancy(kind=DiscrepancyKind.unknown_serial, location_id=from_location_id,
                                         part_id=part_id, quantity=0, movement_id=movement.id, job_id=job_id,
                                         serial_number=serial, detected_at=at))
        if item is None:
            item = SerialItem(part_id=part_id, serial_number=serial)
            session.add(item)
        item.status, item.location_id, item.site_id, item.job_id = SerialStatus.installed, None, site_id, job_id
        record_event(session, serial_number=serial, part_id=part_id, event="installed", status="installed",
                     location_id=from_location_id, site_id=site_id, job_id=job_id, movement_id=movement.id, at=at,
                     note=note)
    session.flush()


def return_serials(session: Session, *, part_id, serial_numbers, quantity: int, to_location_id, defective: bool,
                   at: datetime, movement_id=None, job_id=None, by_user_id=None, note=None) -> None:
    """Units come back into stock (unused from a van, or removed from a machine)."""
    serials = _check_serials(part_id, serial_numbers, quantity)
    items = _items(session, part_id, serials)
    status = SerialStatus.defective if defective else SerialStatus.in_stock
    for serial in serials:
        item = items.get(serial)
        if item is None:
            item = SerialItem(part_id=part_id, serial_number=serial)
            session.add(item)
        item.status, item.location_id, item.site_id, item.job_id = status, to_location_id, None, None
        record_event(session, serial_number=serial, part_id=part_id, event="returned", status=status.value,
                     location_id=to_location_id, movement_id=movement_id, job_id=job_id, at=at,
                     by_user_id=by_user_id, note=note)


# --- spare units ------------------------------------------------------------------------------------------------

SPARE_UNIT_ACTIONS: dict[str, tuple[frozenset[SpareUnitStatus], SpareUnitStatus | None]] = {
    # action: (allowed from, to; None = decided by the call)
    "ship_to_site": (frozenset({SpareUnitStatus.available, SpareUnitStatus.reserved}), SpareUnitStatus.in_transit),
    "loan": (frozenset({SpareUnitStatus.available, SpareUnitStatus.reserved, SpareUnitStatus.in_transit}),
             SpareUnitStatus.loaned),
    "return": (frozenset({SpareUnitStatus.loaned}), None),
    "report_defective": (frozenset({SpareUnitStatus.available, SpareUnitStatus.reserved}),
                         SpareUnitStatus.defective),
    "send_to_repair": (frozenset({SpareUnitStatus.defective}), SpareUnitStatus.in_repair),
    "repaired": (frozenset({SpareUnitStatus.in_repair}), SpareUnitStatus.available),
}


def spare_unit_action(session: Session, unit: SpareUnit, action: str, *, at: datetime, by_user_id=None,
                      job_id=None, site_id=None, location_id=None, defective: bool = False,
                      note: str | None = None) -> SpareUnit:
    """Move a spare unit through its life; every step lands in its history.

    ``ship_to_site`` and ``loan`` need the job (the site is the job's): a loan
    goes through transit to the site — shipped there first, lent on arrival —
    unless the unit is in the van of the job's technician, who is on site
    with it. ``return`` needs the location it comes back to and whether it
    came back defective.
    """
    if action not in SPARE_UNIT_ACTIONS:
        raise InvalidInput(f"unknown action {action!r}", code="unknown_action")
    allowed, target = SPARE_UNIT_ACTIONS[action]
    if location_id is not None and session.get(StockLocation, location_id) is None:
        raise NotFound("no such stock location", details={"location_id": str(location_id)})
    session.refresh(unit, with_for_update=True)
    if unit.status not in allowed:
        raise InvalidTransition(f"a {unit.status.value} spare unit cannot be {action}",
                                details={"status": unit.status.value,
                                         "allowed_from": sorted(s.value for s in allowed)})
    event_location = unit.location_id
    if action in ("loan", "ship_to_site"):
        if job_id is None:
            raise InvalidInput(f"a {action} names the job", code="job_required",
                               details={"fields": {"job_id": [f"Required for {action}."]}})
        from server.jobs.models import Job
        from server.technicians.models import Technician
        from server.tickets.models import Ticket

        found = session.execute(select(Ticket.site_id, Technician.van_location_id)
                                .join(Job, Job.ticket_id == Ticket.id)
                                .outerjoin(Technician, Technician.id == Job.technician_id)
                                .where(Job.id == job_id)).one_or_none()
        if found is None:
            raise NotFound("no such job")
        site_id, job_van = site_id or found[0], found[1]
    if action == "ship_to_site":
        unit.site_id = site_id  # where it is going; it leaves its location when it arrives
    elif action == "loan":
        on_its_way = unit.status is SpareUnitStatus.in_transit
        if on_its_way and unit.site_id != site_id:
            raise Conflict("this spare unit is in transit elsewhere", code="spare_unit_unavailable",
                           details={"status": unit.status.value})
        if not on_its_way and (job_van is None or unit.location_id != job_van):
            raise Conflict("a spare unit goes through transit to the site: ship it there first (ship_to_site)",
                           code="spare_unit_not_at_site", details={"status": unit.status.value})
        reservation = session.scalars(select(Reservation).where(
            Reservation.spare_unit_id == unit.id, Reservation.status == ReservationStatus.active)).first()
        if reservation is not None:
            reservation.status = ReservationStatus.consumed
        unit.location_id, unit.site_id = None, site_id
    elif action == "return":
        if location_id is None:
            raise InvalidInput("a return names the location it comes back to", code="location_required",
                               details={"fields": {"location_id": ["Required for a return."]}})
        target = SpareUnitStatus.defective if defective else SpareUnitStatus.available
        unit.location_id, unit.site_id = location_id, None
        event_location = location_id
    elif location_id is not None:
        unit.location_id = location_id
        event_location = location_id
    unit.status = target
    unit.version += 1
    record_event(session, serial_number=unit.serial_number, spare_unit_id=unit.id, event=action,
                 status=target.value, location_id=event_location, site_id=unit.site_id or site_id, job_id=job_id,
                 at=at, by_user_id=by_user_id, note=note)
    session.flush()
    return unit


def ship_spare_unit(session: Session, unit_id: uuid.UUID, *, from_location_id, to_location_id, at, by_user_id=None,
                    transfer_id=None) -> SpareUnit:
    unit = session.get(SpareUnit, unit_id, with_for_update=True)
    if unit is None:
        raise NotFound("no such spare unit")
    if unit.status is not SpareUnitStatus.available or unit.location_id != from_location_id:
        raise Conflict("this spare unit is not available at the source", code="spare_unit_unavailable",
                       details={"spare_unit_id": str(unit_id), "status": unit.status.value})
    unit.status = SpareUnitStatus.in_transit
    unit.version += 1
    record_event(session, serial_number=unit.serial_number, spare_unit_id=unit.id, event="shipped",
                 status="in_transit", location_id=from_location_id, at=at, by_user_id=by_user_id,
                 note=f"to {to_location_id}" + (f", transfer {transfer_id}" if transfer_id else ""))
    return unit


def receive_spare_unit(session: Session, unit_id: uuid.UUID, *, to_location_id, at, by_user_id=None) -> SpareUnit:
    unit = session.get(SpareUnit, unit_id, with_for_update=True)
    unit.status, unit.location_id = SpareUnitStatus.available, to_location_id
    unit.version += 1
    record_event(session, serial_number=unit.serial_number, spare_unit_id=unit.id, event="received",
                 status="available", location_id=to_location_id, at=at, by_user_id=by_user_id)
    return unit
