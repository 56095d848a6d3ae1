"""Part usages consumed set-wise leave the same ledger as the ledger's own
``record_field_consumption`` one at a time, reservations included."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.db import utcnow
from server.extensions import db
from server.stock.ledger import record_field_consumption, record_movement, reserve_part
from server.stock.models import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockDiscrepancy,
    StockLevel,
    StockMovement,
)
from sync import facts
from tests import factories as f


def _world():
    tech = f.technician()
    job = f.job(tech=tech)
    parts = [f.part(), f.part()]
    record_movement(db.session, kind=MovementKind.issued_in, location_id=tech.van_location_id,
                    part_id=parts[0].id, quantity=3, at=utcnow())
    db.session.commit()
    return tech, job, parts


def _usages(tech, job, parts):
    return [{"id": uuid.uuid4(), "job_id": job.id, "part_id": p.id, "location_id": tech.van_location_id,
             "quantity": q, "under_warranty": w, "serial_numbers": s}
            for p, q, w, s in ((parts[0], 2, True, ["S1", "S2"]), (parts[0], 4, False, []), (parts[1], 1, False, []))]


def _ledger_state(usages):
    names = {}
    for usage in usages:  # the same roles in both worlds, whatever their ids
        names.setdefault(usage["part_id"], f"part{len(names)}")
    movements = sorted(
        (m.kind.value, m.quantity, m.location_id == usages[0]["location_id"], names[m.part_id],
         m.job_id == usages[0]["job_id"], m.under_warranty, tuple(m.serial_numbers or ()), m.source.split(":")[0])
        for m in db.session.scalars(select(StockMovement).where(StockMovement.kind == MovementKind.consumed)))
    levels = sorted((lvl.on_hand, lvl.reserved) for lvl in db.session.scalars(select(StockLevel)))
    discrepancies = sorted(
        (d.kind.value, d.quantity, d.balance_after, names.get(d.part_id), d.job_id == usages[0]["job_id"],
         d.movement_id is not None)
        for d in db.session.scalars(select(StockDiscrepancy)))
    return movements, levels, discrepancies


def test_set_wise_consumption_matches_the_ledger(app):
    tech, job, parts = _world()
    usages = _usages(tech, job, parts)
    at = utcnow()
    for usage in usages:
        record_field_consumption(db.session, usage_id=usage["id"], job_id=usage["job_id"], part_id=usage["part_id"],
                                 location_id=usage["location_id"], quantity=usage["quantity"], at=at,
                                 under_warranty=usage["under_warranty"], serial_numbers=usage["serial_numbers"])
    db.session.commit()
    by_ledger = _ledger_state(usages)
    from tests.conftest import empty_all_tables

    db.session.rollback()
    empty_all_tables(app)
    tech, job, parts = _world()
    usages = _usages(tech, job, parts)
    facts.consume(db.session, usages, at=at)
    facts.consume(db.session, usages, at=at)  # idempotent per usage
    db.session.commit()
    assert _ledger_state(usages) == by_ledger
    assert by_ledger[1] == [(-3, 0), (-1, 0)]
    # Each usage that took a balance below zero raised a discrepancy, on either path.
    assert ("negative_balance", -1, -1, "part1", True, True) in by_ledger[2]
    assert ("negative_balance", -3, -3, "part0", True, True) in by_ledger[2]


def test_a_reserved_part_is_consumed_through_the_ledger(app):
    tech, job, parts = _world()
    reservation = reserve_part(db.session, location_id=tech.van_location_id, part_id=parts[0].id, quantity=2,
                               job_id=job.id)
    db.session.commit()
    usage = {"id": uuid.uuid4(), "job_id": job.id, "part_id": parts[0].id, "location_id": tech.van_location_id,
             "quantity": 2, "under_warranty": False, "serial_numbers": []}
    facts.consume(db.session, [usage], at=utcnow())
    db.session.commit()
    assert db.session.get(Reservation, reservation.id).status is ReservationStatus.consumed
    level = db.session.get(StockLevel, (tech.van_location_id, parts[0].id))
    assert (level.on_hand, level.reserved) == (1, 0)
