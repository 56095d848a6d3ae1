"""Technicians' profiles, certifications, weekly shifts, leave and on-call duty. Plain
functions over a session; never commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import Role, User
from server.exceptions import Conflict, InvalidInput, NotFound
from server.records import ensure_unique, field_error, flush_or_conflict, referenced, update_record
from server.stock.models import LocationKind, StockLocation
from server.technicians.models import Certification, OnCallPeriod, ShiftException, ShiftSlot, Technician


def _check_van(session: Session, van_id, technician_id=None) -> None:
    if van_id is None:
        return
    van = referenced(session, StockLocation, van_id, "van_location_id", "stock location")
    if van.kind is not LocationKind.van:
        raise InvalidInput("a technician's van must be a stock location of kind van",
                           details=field_error("van_location_id", "Not a van."))
    holder = session.scalar(select(Technician.id).where(Technician.van_location_id == van_id))
    if holder is not None and holder != technician_id:
        raise Conflict("this van already belongs to another technician", code="van_taken",
                       details=field_error("van_location_id", "Already assigned to another technician."))


def _check_certification(data: dict) -> None:
    if data["expires_on"] <= data["certified_on"]:
        raise InvalidInput("a certification expires after it is granted",
                           details=field_error("expires_on", "Must be after certified_on."))


def _shift_slots(slots: list[dict]) -> list[ShiftSlot]:
    """Validate a weekly pattern: each window ends after it starts; windows of a day do not overlap."""
    by_day: dict[int, list[dict]] = {}
    for slot in slots:
        if slot["ends"] <= slot["starts"]:
            raise InvalidInput("a shift ends after it starts (split a night shift at midnight)",
                               details=field_error("shifts", "Each slot must end after it starts."))
        by_day.setdefault(slot["weekday"], []).append(slot)
    for day, windows in by_day.items():
        windows.sort(key=lambda s: s["starts"])
        for before, after in zip(windows, windows[1:], strict=False):
            if after["starts"] < before["ends"]:
                raise InvalidInput("shifts on the same day overlap",
                                   details=field_error("shifts", f"Overlapping slots on weekday {day}."))
    return [ShiftSlot(**slot) for slot in slots]


def create_technician(session: Session, data: dict) -> Technician:
    user = referenced(session, User, data["user_id"], "user_id", "user")
    if user.role is not Role.technician:
        raise InvalidInput("only a user with role technician can have a technician profile",
                           details=field_error("user_id", "Not a technician account."))
    ensure_unique(session, Technician.user_id, user.id, field="user_id")
    _check_van(session, data.get("van_location_id"))
    certifications = data.pop("certifications", [])
    for cert in certifications:
        _check_certification(cert)
    shifts = _shift_slots(data.pop("shifts", []))
    technician = Technician(**data)
    technician.certifications = [Certification(**cert) for cert in certifications]
    technician.shifts = shifts
    session.add(technician)
    flush_or_conflict(session, "the technician could not be saved")
    return technician


def update_technician(session: Session, technician: Technician, data: dict) -> Technician:
    if "van_location_id" in data:
        _check_van(session, data["van_location_id"], technician.id)
    update_record(technician, data)
    flush_or_conflict(session, "the technician could not be saved")
    return technician


def add_certification(session: Session, technician: Technician, data: dict) -> Certification:
    _check_certification(data)
    cert = Certification(technician_id=technician.id, **data)
    session.add(cert)
    technician.version += 1
    session.flush()
    return cert


def remove_certification(session: Session, technician: Technician, certification_id) -> None:
    _remove_own(session, technician, Certification, certification_id, "certification")


def replace_shifts(session: Session, technician: Technician, slots: list[dict]) -> Technician:
    """Replace the whole weekly pattern at once (a pattern is read and written whole)."""
    technician.shifts = _shift_slots(slots)
    technician.version += 1
    session.flush()
    return technician


def add_leave(session: Session, technician: Technician, data: dict) -> ShiftException:
    return _add_period(session, technician, ShiftException, data, "leave")


def remove_leave(session: Session, technician: Technician, leave_id) -> None:
    _remove_own(session, technician, ShiftException, leave_id, "leave")


def add_on_call(session: Session, technician: Technician, data: dict) -> OnCallPeriod:
    """On-call duty (值班) from ``starts_at`` to ``ends_at``."""
    return _add_period(session, technician, OnCallPeriod, data, "on-call duty")


def remove_on_call(session: Session, technician: Technician, period_id) -> None:
    _remove_own(session, technician, OnCallPeriod, period_id, "on-call duty")


def _add_period(session: Session, technician: Technician, model, data: dict, what: str):
    """A period of the technician's (leave, on-call duty) from ``starts_at`` to ``ends_at``."""
    if data["ends_at"] <= data["starts_at"]:
        raise InvalidInput(f"{what} ends after it starts", details=field_error("ends_at", "Must be after starts_at."))
    period = model(technician_id=technician.id, **data)
    session.add(period)
    technician.version += 1
    session.flush()
    return period


def _remove_own(session: Session, technician: Technician, model, row_id, what: str) -> None:
    """Delete one of the technician's own rows (a certification, leave, on-call duty); another's is not found."""
    row = session.get(model, row_id)
    if row is None or row.technician_id != technician.id:
        raise NotFound(f"no such {what}")
    session.delete(row)
    technician.version += 1


def valid_certification_filter(product_line: str, on: date):
    """Technicians holding a certification for ``product_line`` valid on ``on`` (a subquery of ids)."""
    return select(Certification.technician_id).where(
        Certification.product_line == product_line, Certification.certified_on <= on,
        Certification.expires_on >= on)
