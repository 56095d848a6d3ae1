"""The stock catalogue: locations, parts (and the product lines they fit) and
spare units. Quantities move only through :mod:`server.stock.ledger`. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.exceptions import Conflict, InvalidInput
from server.records import ensure_unique, field_error, flush_or_conflict, referenced, update_record
from server.stock.models import Part, PartFitment, SpareUnit, SpareUnitStatus, StockLocation
from server.stock.serials import record_event

HAND_SET_STATUSES = (SpareUnitStatus.available, SpareUnitStatus.defective, SpareUnitStatus.in_repair)


def _new_id(session: Session, model, data: dict):
    record_id = data.pop("id", None) or uuid.uuid4()
    ensure_unique(session, model.id, record_id, field="id")
    return record_id


def create_location(session: Session, data: dict) -> StockLocation:
    ensure_unique(session, StockLocation.code, data["code"], field="code")
    location = StockLocation(id=_new_id(session, StockLocation, data), **data)
    session.add(location)
    flush_or_conflict(session, "the location could not be saved")
    return location


def update_location(session: Session, location: StockLocation, data: dict) -> StockLocation:
    if "code" in data:
        ensure_unique(session, StockLocation.code, data["code"], field="code", exclude_id=location.id)
    update_record(location, data)
    flush_or_conflict(session, "the location could not be saved")
    return location


def _fitments(product_lines: list[str]) -> list[PartFitment]:
    return [PartFitment(product_line=line) for line in sorted(set(product_lines))]


def create_part(session: Session, data: dict) -> Part:
    ensure_unique(session, Part.part_number, data["part_number"], field="part_number")
    lines = data.pop("product_lines", [])
    part = Part(id=_new_id(session, Part, data), **data)
    part.fits = _fitments(lines)
    session.add(part)
    flush_or_conflict(session, "the part could not be saved")
    return part


def update_part(session: Session, part: Part, data: dict) -> Part:
    if "part_number" in data:
        ensure_unique(session, Part.part_number, data["part_number"], field="part_number", exclude_id=part.id)
    lines = data.pop("product_lines", None)
    changed = update_record(part, data)
    if lines is not None and sorted(set(lines)) != part.product_lines:
        part.fits = []
        session.flush()  # drop the old rows before their primary keys come back
        part.fits = _fitments(lines)
        if not changed:
            part.version += 1
    flush_or_conflict(session, "the part could not be saved")
    return part


def create_spare_unit(session: Session, data: dict, *, at: datetime, by_user_id=None) -> SpareUnit:
    """Register a unit; its serial number's history starts here."""
    referenced(session, StockLocation, data["location_id"], "location_id", "stock location")
    ensure_unique(session, SpareUnit.serial_number, data["serial_number"], field="serial_number")
    unit = SpareUnit(id=_new_id(session, SpareUnit, data), **data)
    session.add(unit)
    flush_or_conflict(session, "the spare unit could not be saved")
    record_event(session, serial_number=unit.serial_number, spare_unit_id=unit.id, event="registered",
                 status=unit.status.value, location_id=unit.location_id, at=at, by_user_id=by_user_id)
    return unit


def update_spare_unit(session: Session, unit: SpareUnit, data: dict, *, at: datetime, by_user_id=None) -> SpareUnit:
    if "serial_number" in data:
        ensure_unique(session, SpareUnit.serial_number, data["serial_number"], field="serial_number",
                      exclude_id=unit.id)
    if "status" in data and data["status"] != unit.status:
        if unit.status not in HAND_SET_STATUSES:
            raise Conflict(f"a {unit.status.value} spare unit changes status through its reservation or swap",
                           code="spare_unit_busy", details={"status": unit.status.value})
        if data["status"] not in HAND_SET_STATUSES:
            raise InvalidInput("that status is set by reservations and swaps",
                               details=field_error("status", "Only available, defective or in_repair."))
        record_event(session, serial_number=data.get("serial_number", unit.serial_number), spare_unit_id=unit.id,
                     event="status_set", status=data["status"].value, location_id=unit.location_id, at=at,
                     by_user_id=by_user_id)
    update_record(unit, data)
    flush_or_conflict(session, "the spare unit could not be saved")
    return unit


def delete_unused(session: Session, record, what: str) -> None:
    """Delete a catalogue record entered by mistake. Anything the ledger, a
    ticket, a job or a van refers to stays (history is never rewritten): 409."""
    try:
        with session.begin_nested():
            session.delete(record)
            session.flush()
    except IntegrityError:
        raise Conflict(f"this {what} is in use (stock, tickets, jobs or a van refer to it) and stays",
                       code="in_use") from None
