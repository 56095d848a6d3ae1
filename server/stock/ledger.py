"""The stock ledger's core: movements, the on-hand/reserved projection,
reservations and field consumption. Plain functions over a session; never commit.

Concurrency: every change to a (location, part) goes through a single
conditional UPDATE of its ``stock_levels`` row, so concurrent writers queue on
that row's lock and no update is lost; a reservation that would take the
available quantity below zero matches no row and is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.exceptions import Conflict, NotFound
from server.stock.models import (
    MovementKind,
    Reservation,
    ReservationStatus,
    SpareUnit,
    SpareUnitStatus,
    StockLevel,
    StockMovement,
)


@dataclass(frozen=True)
class Quantity:
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _ensure_level_row(session: Session, location_id: uuid.UUID, part_id: uuid.UUID) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(StockLevel).values(location_id=location_id, part_id=part_id, on_hand=0, reserved=0)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["location_id", "part_id"]))


def record_movement(session: Session, *, kind: MovementKind, location_id: uuid.UUID, part_id: uuid.UUID,
                    quantity: int, at: datetime, job_id=None, source: str | None = None,
                    under_warranty: bool | None = None, serial_numbers=None, by_user_id=None,
                    note: str | None = None) -> StockMovement:
    """Append a movement of a (non-unit) part and move the on-hand figure with it."""
    if quantity == 0:
        raise ValueError("a movement moves something")
    _ensure_level_row(session, location_id, part_id)
    session.execute(
        update(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.part_id == part_id)
        .values(on_hand=StockLevel.on_hand + quantity)
    )
    movement = StockMovement(kind=kind, location_id=location_id, part_id=part_id, quantity=quantity, at=at,
                             job_id=job_id, source=source, under_warranty=under_warranty,
                             serial_numbers=serial_numbers, by_user_id=by_user_id, note=note)
    session.add(movement)
    session.flush()
    return movement


def quantities(session: Session, part_id: uuid.UUID, location_ids=None) -> dict[uuid.UUID, Quantity]:
    """On-hand and reserved of one part, per location that has ever held it."""
    stmt = select(StockLevel).where(StockLevel.part_id == part_id)
    if location_ids is not None:
        stmt = stmt.where(StockLevel.location_id.in_(list(location_ids)))
    return {row.location_id: Quantity(row.on_hand, row.reserved) for row in session.scalars(stmt)}


def reserve_part(session: Session, *, location_id: uuid.UUID, part_id: uuid.UUID, quantity: int,
                 job_id=None, under_warranty: bool = False) -> Reservation:
    """Hold ``quantity`` of a part at a location, or raise Conflict when not that many are available."""
    if quantity <= 0:
        raise ValueError("reserve a positive quantity")
    _ensure_level_row(session, location_id, part_id)
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.part_id == part_id,
               StockLevel.on_hand - StockLevel.reserved >= quantity)
        .values(reserved=StockLevel.reserved + quantity)
    )
    if result.rowcount != 1:
        level = session.get(StockLevel, (location_id, part_id), populate_existing=True)
        available = level.on_hand - level.reserved if level else 0
        raise Conflict("not enough stock available to reserve", code="insufficient_stock",
                       details={"location_id": str(location_id), "part_id": str(part_id),
                                "requested": quantity, "available": available})
    reservation = Reservation(location_id=location_id, part_id=part_id, quantity=quantity, job_id=job_id,
                              under_warranty=under_warranty)
    session.add(reservation)
    session.flush()
    return reservation


def reserve_spare_unit(session: Session, *, spare_unit_id: uuid.UUID, job_id=None) -> Reservation:
    """Hold one spare unit, or raise Conflict when someone else already holds it."""
    unit = session.get(SpareUnit, spare_unit_id)
    if unit is None:
        raise NotFound("no such spare unit")
    result = session.execute(
        update(SpareUnit)
        .where(and_(SpareUnit.id == spare_unit_id, SpareUnit.status == SpareUnitStatus.available))
        .values(status=SpareUnitStatus.reserved, version=SpareUnit.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("this spare unit is no longer available", code="spare_unit_unavailable",
                       details={"spare_unit_id": str(spare_unit_id)})
    session.refresh(unit)
    reservation = Reservation(location_id=unit.location_id, spare_unit_id=unit.id, quantity=1, job_id=job_id)
    session.add(reservation)
    session.flush()
    return reservation


def release(session: Session, reservation: Reservation) -> None:
    """Give reserved stock back (job cancelled, plan changed)."""
    if reservation.status is not ReservationStatus.active:
        return
    reservation.status = ReservationStatus.released
    if reservation.part_id is not None:
        session.execute(
            update(StockLevel)
            .where(StockLevel.location_id == reservation.location_id, StockLevel.part_id == reservation.part_id)
            .values(reserved=StockLevel.reserved - reservation.quantity)
        )
    else:
        session.execute(update(SpareUnit).where(SpareUnit.id == reservation.spare_unit_id,
                                                SpareUnit.status == SpareUnitStatus.reserved)
                        .values(status=SpareUnitStatus.available, version=SpareUnit.version + 1))


def record_field_consumption(session: Session, *, usage_id: uuid.UUID, job_id: uuid.UUID, part_id: uuid.UUID,
                             location_id: uuid.UUID, quantity: int, at: datetime, under_warranty: bool,
                             serial_numbers=None) -> StockMovement:
    """Consume stock for a part used on a job, as reported from the field.

    Never refused for lack of stock: the balance may go negative, which is a
    discrepancy for warehouse staff, not an error for the technician. A
    matching active reservation for the job is consumed first. Idempotent per
    ``usage_id`` (the movement's ``source`` is unique).
    """
    source = f"part_usage:{usage_id}"
    existing = session.scalar(select(StockMovement).where(StockMovement.source == source))
    if existing is not None:
        return existing
    reservation = session.scalars(
        select(Reservation).where(Reservation.job_id == job_id, Reservation.part_id == part_id,
                                  Reservation.location_id == location_id,
                                  Reservation.status == ReservationStatus.active)
    ).first()
    if reservation is not None:
        release(session, reservation)
        reservation.status = ReservationStatus.consumed
    return record_movement(session, kind=MovementKind.consumed, location_id=location_id, part_id=part_id,
                           quantity=-quantity, at=at, job_id=job_id, source=source,
                           under_warranty=under_warranty, serial_numbers=serial_numbers)
