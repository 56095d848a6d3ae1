"""The stock ledger, on SQLite and PostgreSQL: every movement kind and the
quantities derived from them, transfers in transit, field consumption going
negative, counts, serial numbers' histories, warranty, parallel writers, and
a week of a van's activity reconciled by hand."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.models import Role
from server.exceptions import Conflict, InvalidInput, InvalidTransition, PermissionDenied
from server.extensions import db
from server.stock import counts, ledger, purchasing, reconciliation, serials, transfers
from server.stock.models import (
    DiscrepancyKind,
    LocationKind,
    MovementKind,
    PurchaseRequestStatus,
    ReservationStatus,
    SerialItem,
    SerialStatus,
    SpareUnitStatus,
    StockDiscrepancy,
    StockLevel,
    StockLocation,
    StockMovement,
    Transfer,
)
from tests import factories as f

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday


def at(day: int, hour: int = 9) -> datetime:
    """A time in the week starting T0 (day 0 = Monday)."""
    return T0 + timedelta(days=day, hours=hour - 8)


def q(location, part) -> ledger.Quantity:
    return ledger.quantities(db.session, part.id, [location.id]).get(location.id, ledger.Quantity(0, 0))


def stock(location, part, quantity: int, when=None, user=None):
    """Receive ``quantity`` through a receipt that passes inspection."""
    receipt = purchasing.create_receipt(db.session, location_id=location.id, at=when or at(-7),
                                        lines=[{"part_id": part.id, "quantity": quantity}], supplier="ACME")
    purchasing.inspect_receipt(db.session, receipt, at=when or at(-7),
                               results=[{"line_id": receipt.lines[0].id, "passed_quantity": quantity}])
    db.session.commit()


def assert_projection_is_derived():
    """stock_levels equals the ledger summed, for every (location, part)."""
    from_ledger = ledger.rebuild_levels(db.session)
    levels = {(row.location_id, row.part_id): (row.on_hand, row.defective)
              for row in db.session.scalars(select(StockLevel).execution_options(populate_existing=True))}
    for key, value in levels.items():
        assert from_ledger.get(key, (0, 0)) == value, key


@pytest.fixture
def warehouse(app):
    return f.location(LocationKind.regional_warehouse, code="WH-SH", name="Shanghai regional")


@pytest.fixture
def tech(app):
    return f.technician()


def test_every_movement_kind_and_the_derived_quantities(app, warehouse, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    part = f.part("P-FILTER")
    manager, clerk = f.user(Role.admin), f.user(Role.warehouse)

    # Received, against an approved purchase request, after inspection: 10 arrive, 8 pass.
    request = purchasing.create_purchase_request(
        db.session, department="After-sales", requested_by_name="Li Wei", requested_by_user_id=clerk.id,
        destination_location_id=warehouse.id, lines=[{"part_id": part.id, "quantity": 10}], at=at(0))
    purchasing.decide(db.session, request, approve=True, by_user_id=manager.id, at=at(0))
    receipt = purchasing.create_receipt(db.session, location_id=warehouse.id, purchase_request_id=request.id,
                                        lines=[{"part_id": part.id, "quantity": 10}], at=at(0, 10))
    assert purchasing.awaiting_inspection(db.session, warehouse.id) == {part.id: 10}
    assert q(warehouse, part).on_hand == 0  # not stock until inspected
    purchasing.inspect_receipt(db.session, receipt, at=at(0, 11),
                               results=[{"line_id": receipt.lines[0].id, "passed_quantity": 8}])
    db.session.commit()
    assert q(warehouse, part) == ledger.Quantity(on_hand=8, reserved=0)
    assert request.lines[0].accepted_quantity == 8 and request.lines[0].rejected_quantity == 2
    assert request.status is PurchaseRequestStatus.approved  # 2 still outstanding

    # Issued to a van (a transfer to a van is an issue).
    transfers.issue_to_van(db.session, from_location_id=warehouse.id, van_id=van.id,
                           lines=[{"part_id": part.id, "quantity": 5}], at=at(1))
    # Reserved for a job, then consumed on it from the field.
    job = f.job(tech=tech)
    reservation = ledger.reserve_part(db.session, location_id=van.id, part_id=part.id, quantity=2, job_id=job.id)
    assert q(van, part) == ledger.Quantity(on_hand=5, reserved=2)
    assert q(van, part).available == 3
    ledger.record_field_consumption(db.session, usage_id=uuid.uuid4(), job_id=job.id, part_id=part.id,
                                    location_id=van.id, quantity=2, at=at(2))
    assert reservation.status is ReservationStatus.consumed
    # Returned unused, and returned defective (with its reason).
    transfers.return_stock(db.session, from_location_id=van.id, to_location_id=warehouse.id, part_id=part.id,
                           quantity=1, defective=False, reason="unused", at=at(3))
    transfers.return_stock(db.session, from_location_id=van.id, to_location_id=warehouse.id, part_id=part.id,
                           quantity=1, defective=True, reason="dead on arrival", at=at(3))
    # Adjusted by a count: one found missing in the warehouse.
    count = counts.open_count(db.session, location_id=warehouse.id, at=at(4))
    counts.record_counts(db.session, count, lines=[{"part_id": part.id, "counted_quantity": 3}], at=at(4))
    counts.close_count(db.session, count, at=at(4, 10))
    db.session.commit()

    assert q(van, part) == ledger.Quantity(on_hand=1, reserved=0)
    assert q(warehouse, part) == ledger.Quantity(on_hand=3, reserved=0, in_transit=0, defective=1)
    kinds = db.session.scalars(select(StockMovement.kind).order_by(StockMovement.id)).all()
    assert set(kinds) == {MovementKind.received, MovementKind.issued_out, MovementKind.issued_in,
                          MovementKind.consumed, MovementKind.returned, MovementKind.adjusted}
    defective = db.session.scalar(select(StockMovement).where(StockMovement.reason == "dead on arrival",
                                                              StockMovement.quantity > 0))
    assert defective.condition.value == "defective" and defective.location_id == warehouse.id
    assert_projection_is_derived()


def test_a_transfer_is_in_transit_between_ship_and_receive(app, warehouse):
    other = f.location(LocationKind.service_station, code="ST-HZ")
    part = f.part()
    stock(warehouse, part, 6)
    transfer = transfers.create_transfer(db.session, from_location_id=warehouse.id, to_location_id=other.id,
                                         lines=[{"part_id": part.id, "quantity": 4}], at=at(0))
    assert q(warehouse, part).on_hand == 6  # planned: nothing moved yet
    transfers.ship_transfer(db.session, transfer, at=at(0, 10))
    db.session.commit()
    assert q(warehouse, part) == ledger.Quantity(on_hand=2, reserved=0)
    assert q(other, part) == ledger.Quantity(on_hand=0, reserved=0, in_transit=4)

    # Three arrive: one lost in transit, a discrepancy at the destination.
    shortfalls = transfers.receive_transfer(db.session, transfer, at=at(1),
                                            received={transfer.lines[0].id: 3})
    db.session.commit()
    assert q(other, part) == ledger.Quantity(on_hand=3, reserved=0, in_transit=0)
    assert [(d.kind, d.quantity, d.transfer_id) for d in shortfalls] == [
        (DiscrepancyKind.transit_shortfall, -1, transfer.id)]
    kinds = {m.kind for m in db.session.scalars(select(StockMovement).where(StockMovement.source.like("transfer%")))}
    assert kinds == {MovementKind.transfer_out, MovementKind.transfer_in}
    with pytest.raises(InvalidTransition):
        transfers.receive_transfer(db.session, transfer, at=at(1))
    assert_projection_is_derived()


def test_shipping_more_than_is_available_is_refused(app, warehouse):
    other = f.location(code="WH-BJ")
    part = f.part()
    stock(warehouse, part, 3)
    ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=2)
    transfer = transfers.create_transfer(db.session, from_location_id=warehouse.id, to_location_id=other.id,
                                         lines=[{"part_id": part.id, "quantity": 2}], at=at(0))
    with pytest.raises(Conflict) as refused:
        transfers.ship_transfer(db.session, transfer, at=at(0))
    assert refused.value.code == "insufficient_stock" and refused.value.details["available"] == 1


def test_field_consumption_going_negative_raises_a_discrepancy_once(app, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    part = f.part()
    job = f.job(tech=tech)
    usage = uuid.uuid4()
    # Nothing on the van, and no location named: the technician's van is used, never refused.
    movement = ledger.record_field_consumption(db.session, usage_id=usage, job_id=job.id, part_id=part.id,
                                               location_id=None, quantity=2, at=at(1))
    again = ledger.record_field_consumption(db.session, usage_id=usage, job_id=job.id, part_id=part.id,
                                            location_id=None, quantity=2, at=at(1))
    db.session.commit()
    assert again.id == movement.id and movement.location_id == van.id
    assert q(van, part).on_hand == -2
    found = db.session.scalars(select(StockDiscrepancy)).all()
    assert [(d.kind, d.quantity, d.balance_after, d.job_id, d.movement_id) for d in found] == [
        (DiscrepancyKind.negative_balance, -2, -2, job.id, movement.id)]


def test_closing_a_count_writes_adjustments_and_lists_differences(app, warehouse):
    a, b, c = f.part("P-A"), f.part("P-B"), f.part("P-C")
    stock(warehouse, a, 10)
    stock(warehouse, b, 4)
    stock(warehouse, c, 2)
    count = counts.open_count(db.session, location_id=warehouse.id, at=at(0), full=True)
    with pytest.raises(Conflict):
        counts.open_count(db.session, location_id=warehouse.id, at=at(0))
    counts.record_counts(db.session, count, lines=[{"part_id": a.id, "counted_quantity": 9},
                                                   {"part_id": b.id, "counted_quantity": 7}], at=at(0, 10))
    counts.record_counts(db.session, count, lines=[{"part_id": b.id, "counted_quantity": 4}], at=at(0, 11))
    differences = counts.close_count(db.session, count, at=at(0, 12))
    db.session.commit()
    # c was not counted in a full count: found at zero.
    assert sorted((d.part_id, d.expected, d.counted, d.difference) for d in differences) == sorted([
        (a.id, 10, 9, -1), (b.id, 4, 4, 0), (c.id, 2, 0, -2)])
    assert (q(warehouse, a).on_hand, q(warehouse, b).on_hand, q(warehouse, c).on_hand) == (9, 4, 0)
    adjustments = db.session.scalars(select(StockMovement).where(StockMovement.kind == MovementKind.adjusted)
                                     .order_by(StockMovement.quantity)).all()
    assert [(m.part_id, m.quantity) for m in adjustments] == [(c.id, -2), (a.id, -1)]
    assert {(d.part_id, d.quantity) for d in db.session.scalars(select(StockDiscrepancy))} == {(c.id, -2), (a.id, -1)}
    with pytest.raises(InvalidTransition):
        counts.close_count(db.session, count, at=at(1))
    assert_projection_is_derived()


def test_a_spare_units_history_across_warehouse_van_customer_and_return(app, warehouse, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    unit = f.spare_unit(warehouse, serial_number="SU-0001")
    job = f.job(tech=tech)
    transfer = transfers.create_transfer(db.session, from_location_id=warehouse.id, to_location_id=van.id,
                                         lines=[{"spare_unit_id": unit.id}], at=at(0))
    transfers.ship_transfer(db.session, transfer, at=at(0, 9))
    assert unit.status is SpareUnitStatus.in_transit
    transfers.receive_transfer(db.session, transfer, at=at(0, 10))
    reservation = ledger.reserve_spare_unit(db.session, spare_unit_id=unit.id, job_id=job.id)
    serials.spare_unit_action(db.session, unit, "loan", job_id=job.id, at=at(1))
    assert reservation.status is ReservationStatus.consumed
    assert (unit.status, unit.location_id) == (SpareUnitStatus.loaned, None)
    assert unit.site_id == job.ticket.site_id
    with pytest.raises(InvalidTransition):
        serials.spare_unit_action(db.session, unit, "loan", job_id=job.id, at=at(1))
    serials.spare_unit_action(db.session, unit, "return", location_id=warehouse.id, defective=True, at=at(3),
                              note="fan noise")
    serials.spare_unit_action(db.session, unit, "send_to_repair", at=at(4))
    serials.spare_unit_action(db.session, unit, "repaired", location_id=warehouse.id, at=at(6))
    db.session.commit()

    steps = [(e.event, e.status, e.location_id, e.site_id) for e in serials.history(db.session, "SU-0001")]
    assert steps == [
        ("shipped", "in_transit", warehouse.id, None),
        ("received", "available", van.id, None),
        ("loan", "loaned", van.id, job.ticket.site_id),
        ("return", "defective", warehouse.id, None),
        ("send_to_repair", "in_repair", warehouse.id, None),
        ("repaired", "available", warehouse.id, None),
    ]
    assert (unit.status, unit.location_id) == (SpareUnitStatus.available, warehouse.id)


def test_a_serialised_parts_history_from_receipt_to_customer_and_back(app, warehouse, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    board = f.part("P-BOARD", serialised=True)
    job = f.job(tech=tech)
    receipt = purchasing.create_receipt(db.session, location_id=warehouse.id, at=at(0),
                                        lines=[{"part_id": board.id, "quantity": 3,
                                                "serial_numbers": ["B1", "B2", "B3"]}])
    purchasing.inspect_receipt(db.session, receipt, at=at(0, 10),
                               results=[{"line_id": receipt.lines[0].id, "failed_serial_numbers": ["B3"]}])
    with pytest.raises(InvalidInput):  # one serial per unit
        transfers.issue_to_van(db.session, from_location_id=warehouse.id, van_id=van.id, at=at(1),
                               lines=[{"part_id": board.id, "quantity": 2, "serial_numbers": ["B1"]}])
    transfers.issue_to_van(db.session, from_location_id=warehouse.id, van_id=van.id, at=at(1),
                           lines=[{"part_id": board.id, "quantity": 1, "serial_numbers": ["B1"]}])
    ledger.record_field_consumption(db.session, usage_id=uuid.uuid4(), job_id=job.id, part_id=board.id,
                                    location_id=van.id, quantity=1, serial_numbers=["B1"], at=at(2))
    # The replaced one comes back defective; B3 never entered stock.
    transfers.return_stock(db.session, to_location_id=warehouse.id, part_id=board.id, quantity=1, defective=True,
                           reason="burnt", serial_numbers=["B1"], job_id=job.id, at=at(4))
    db.session.commit()
    steps = [(e.event, e.status, e.location_id) for e in serials.history(db.session, "B1")]
    assert steps == [("received", "in_stock", warehouse.id), ("shipped", "in_transit", warehouse.id),
                     ("received", "in_stock", van.id), ("installed", "installed", van.id),
                     ("returned", "defective", warehouse.id)]
    assert serials.history(db.session, "B3") == []
    assert q(warehouse, board) == ledger.Quantity(on_hand=1, reserved=0, defective=1)
    assert db.session.scalar(select(SerialItem.status).where(SerialItem.serial_number == "B2")) is \
        SerialStatus.in_stock


def test_warranty_is_judged_from_the_assets_warranty_end(app, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    part = f.part()
    today = date.today()
    in_warranty = f.job(f.ticket(ast=f.asset(warranty_end=today + timedelta(days=30))), tech=tech)
    expired = f.job(f.ticket(ast=f.asset(warranty_end=today - timedelta(days=1))), tech=tech)
    never = f.job(f.ticket(ast=f.asset(warranty_end=None)), tech=tech)
    stock(van, part, 10)
    flags = {}
    for name, job in (("in", in_warranty), ("expired", expired), ("never", never)):
        # The device's claim is overruled by the asset's dates.
        movement = ledger.record_field_consumption(db.session, usage_id=uuid.uuid4(), job_id=job.id,
                                                   part_id=part.id, location_id=van.id, quantity=1,
                                                   under_warranty=(name != "in"), at=at(1))
        flags[name] = movement.under_warranty
    assert flags == {"in": True, "expired": False, "never": False}
    assert ledger.warranty_for_job(db.session, in_warranty.id) is True


def test_warranty_repairs_have_first_claim_on_scarce_stock(app, warehouse):
    part = f.part()
    stock(warehouse, part, 3)
    paying_old = ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=1,
                                     under_warranty=False)
    db.session.commit()
    paying_young = ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=2,
                                       under_warranty=False)
    db.session.commit()
    # A paying job finds nothing left...
    with pytest.raises(Conflict):
        ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=1, under_warranty=False)
    db.session.rollback()
    # ...a warranty repair takes the youngest paying reservation, whole.
    warranty = ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=1,
                                   under_warranty=True)
    db.session.commit()
    assert paying_young.status is ReservationStatus.preempted and paying_young.preempted_by_id == warranty.id
    assert paying_old.status is ReservationStatus.active
    assert q(warehouse, part) == ledger.Quantity(on_hand=3, reserved=2)
    # Another warranty repair takes what is free, then the older paying one; never a warranty one.
    second = ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=2,
                                 under_warranty=True)
    db.session.commit()
    assert paying_old.status is ReservationStatus.preempted and second.status is ReservationStatus.active
    with pytest.raises(Conflict):
        ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=1, under_warranty=True)
    db.session.rollback()
    assert q(warehouse, part) == ledger.Quantity(on_hand=3, reserved=3)


def test_purchase_requests_need_another_persons_approval(app, warehouse):
    clerk = f.user(Role.warehouse)
    part = f.part()
    request = purchasing.create_purchase_request(
        db.session, department="Service", requested_by_name="Wang Fang", requested_by_user_id=clerk.id,
        destination_location_id=warehouse.id, lines=[{"part_id": part.id, "quantity": 2}], at=at(0))
    with pytest.raises(InvalidTransition):
        purchasing.create_receipt(db.session, location_id=warehouse.id, purchase_request_id=request.id,
                                  lines=[{"part_id": part.id, "quantity": 2}], at=at(1))
    with pytest.raises(PermissionDenied):
        purchasing.decide(db.session, request, approve=True, by_user_id=clerk.id, at=at(0))
    purchasing.decide(db.session, request, approve=True, by_user_id=f.user(Role.admin).id, at=at(0))
    with pytest.raises(Conflict):
        purchasing.create_receipt(db.session, location_id=warehouse.id, purchase_request_id=request.id,
                                  lines=[{"part_id": part.id, "quantity": 3}], at=at(1))
    receipt = purchasing.create_receipt(db.session, location_id=warehouse.id, purchase_request_id=request.id,
                                        lines=[{"part_id": part.id, "quantity": 2}], at=at(1))
    purchasing.inspect_receipt(db.session, receipt, at=at(1), results=[{"line_id": receipt.lines[0].id}])
    db.session.commit()
    assert request.status is PurchaseRequestStatus.received


def test_a_van_is_restocked_from_the_nearest_warehouse_with_stock(app):
    van = f.location(LocationKind.van, latitude=31.23, longitude=121.47)  # Shanghai
    near_empty = f.location(code="WH-SZ", latitude=31.30, longitude=120.58)  # Suzhou, ~85 km
    near = f.location(code="WH-HZ", latitude=30.27, longitude=120.15)  # Hangzhou, ~165 km
    far = f.location(code="WH-BJ", latitude=39.90, longitude=116.40)  # Beijing, ~1070 km
    part = f.part()
    stock(near_empty, part, 1)
    stock(near, part, 5)
    stock(far, part, 50)
    planned = transfers.restock_van(db.session, van_id=van.id, lines=[{"part_id": part.id, "quantity": 3}],
                                    at=at(0))
    assert [t.from_location_id for t in planned] == [near.id]
    assert "WH-HZ" in planned[0].explanation and "km" in planned[0].explanation
    with pytest.raises(Conflict):
        transfers.restock_van(db.session, van_id=van.id, lines=[{"part_id": part.id, "quantity": 80}], at=at(0))


# --- parallel writers ------------------------------------------------------------------------------------------

def _in_threads(app, work, n: int):
    """Run ``work(session, i)`` in ``n`` threads, each on its own connection and transaction."""
    errors, barrier = [], threading.Barrier(n)
    engine = db.engine
    db.session.commit()  # the test's own session holds no lock while the writers run

    def run(i):
        try:
            barrier.wait(timeout=30)
            with Session(engine) as session:
                work(session, i)
                session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_parallel_writers_never_lose_an_update(app, warehouse, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    part = f.part()
    job = f.job(tech=tech)
    stock(warehouse, part, 100)
    stock(van, part, 10)
    ids = (warehouse.id, van.id, part.id, job.id)

    def work(session, i):
        warehouse_id, van_id, part_id, job_id = ids
        for k in range(5):
            # Consumption from the field, issues and returns, all on the same rows.
            ledger.record_field_consumption(session, usage_id=uuid.uuid4(), job_id=job_id, part_id=part_id,
                                            location_id=van_id, quantity=1, at=at(1, 10 + k))
            if i % 2:
                transfers.issue_to_van(session, from_location_id=warehouse_id, van_id=van_id, at=at(1, 10 + k),
                                       lines=[{"part_id": part_id, "quantity": 2}])
            else:
                transfers.return_stock(session, from_location_id=van_id, to_location_id=warehouse_id,
                                       part_id=part_id, quantity=1, defective=False, reason="unused",
                                       at=at(1, 10 + k))
            session.commit()

    assert _in_threads(app, work, 8) == []
    db.session.expire_all()
    # 8 writers x 5: 40 consumed; 4 issued 2 x 5 = 40 to the van; 4 returned 1 x 5 = 20.
    assert q(van, part).on_hand == 10 - 40 + 40 - 20
    assert q(warehouse, part).on_hand == 100 - 40 + 20
    assert_projection_is_derived()


def test_parallel_reservations_never_oversell(app, warehouse):
    part = f.part()
    stock(warehouse, part, 5)
    won, warehouse_id, part_id = [], warehouse.id, part.id

    def work(session, i):
        try:
            ledger.reserve_part(session, location_id=warehouse_id, part_id=part_id, quantity=1, under_warranty=False)
            session.flush()
            won.append(i)
        except Conflict:
            session.rollback()

    assert _in_threads(app, work, 10) == []
    assert len(won) == 5
    db.session.expire_all()
    assert q(warehouse, part) == ledger.Quantity(on_hand=5, reserved=5)


def test_opposite_transfers_at_once_do_not_deadlock(app, warehouse):
    other = f.location(code="WH-2")
    a, b = f.part(), f.part()
    for loc in (warehouse, other):
        stock(loc, a, 50)
        stock(loc, b, 50)
    pairs = [(warehouse.id, other.id), (other.id, warehouse.id)]
    a_id, b_id = a.id, b.id

    def work(session, i):
        source, destination = pairs[i % 2]
        lines = [{"part_id": a_id, "quantity": 1}, {"part_id": b_id, "quantity": 1}]
        if i % 2:
            lines.reverse()
        for _ in range(5):
            transfer = transfers.create_transfer(session, from_location_id=source, to_location_id=destination,
                                                 lines=lines, at=at(1))
            transfers.ship_transfer(session, transfer, at=at(1))
            transfers.receive_transfer(session, transfer, at=at(1))
            session.commit()

    assert _in_threads(app, work, 6) == []
    db.session.expire_all()
    assert q(warehouse, a).on_hand + q(other, a).on_hand == 100
    assert q(warehouse, a).on_hand == 50  # three each way, five times
    assert_projection_is_derived()


def test_the_same_usage_pushed_twice_at_once_is_applied_once(app, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    part = f.part()
    job = f.job(tech=tech)
    usage = uuid.uuid4()
    job_id, part_id, van_id = job.id, part.id, van.id

    def work(session, i):
        ledger.record_field_consumption(session, usage_id=usage, job_id=job_id, part_id=part_id,
                                        location_id=van_id, quantity=3, at=at(1))

    assert _in_threads(app, work, 4) == []
    db.session.expire_all()
    assert q(van, part).on_hand == -3
    assert db.session.scalar(select(db.func.count()).select_from(StockMovement)) == 1


# --- a week of a van, reconciled by hand -----------------------------------------------------------------------

def test_a_week_of_a_vans_activity_reconciled_by_hand(app, warehouse):
    tech = f.technician(name="Zhang San")
    van = db.session.get(StockLocation, tech.van_location_id)
    other_van = f.location(LocationKind.van)
    filt, valve = f.part("P-FILTER", unit_cost=12.5), f.part("P-VALVE", unit_cost=80.0)
    job1, job2, job3 = f.job(tech=tech), f.job(tech=tech), f.job(tech=tech)

    # Before the week: 50 filters and 20 valves received; 5 filters issued to the van.
    stock(warehouse, filt, 50, when=at(-5))
    stock(warehouse, valve, 20, when=at(-5))
    transfers.issue_to_van(db.session, from_location_id=warehouse.id, van_id=van.id, at=at(-3),
                           lines=[{"part_id": filt.id, "quantity": 5}])
    # Monday: 10 filters and 4 valves issued.
    transfers.issue_to_van(db.session, from_location_id=warehouse.id, van_id=van.id, at=at(0),
                           lines=[{"part_id": filt.id, "quantity": 10}, {"part_id": valve.id, "quantity": 4}])
    use = ledger.record_field_consumption
    # Tuesday: job 1 uses 3 filters. Wednesday: job 2 uses 2 filters and a valve.
    use(db.session, usage_id=uuid.uuid4(), job_id=job1.id, part_id=filt.id, location_id=van.id, quantity=3,
        at=at(1, 11))
    use(db.session, usage_id=uuid.uuid4(), job_id=job2.id, part_id=filt.id, location_id=van.id, quantity=2,
        at=at(2, 14))
    use(db.session, usage_id=uuid.uuid4(), job_id=job2.id, part_id=valve.id, location_id=van.id, quantity=1,
        at=at(2, 14))
    # Thursday: 2 filters back unused, a valve back dead on arrival, a filter lent to another van.
    transfers.return_stock(db.session, from_location_id=van.id, to_location_id=warehouse.id, part_id=filt.id,
                           quantity=2, defective=False, reason="unused", at=at(3, 17))
    transfers.return_stock(db.session, from_location_id=van.id, to_location_id=warehouse.id, part_id=valve.id,
                           quantity=1, defective=True, reason="dead on arrival", at=at(3, 17))
    lent = transfers.create_transfer(db.session, from_location_id=van.id, to_location_id=other_van.id,
                                     lines=[{"part_id": filt.id, "quantity": 1}], at=at(3, 18))
    transfers.ship_transfer(db.session, lent, at=at(3, 18))
    # Friday: job 3 uses 4 valves; the van holds 2 in the books: 2 short.
    use(db.session, usage_id=uuid.uuid4(), job_id=job3.id, part_id=valve.id, location_id=van.id, quantity=4,
        at=at(4, 10))
    # Saturday: the van is counted: 6 filters, no valves.
    count = counts.open_count(db.session, location_id=van.id, at=at(5, 16))
    counts.record_counts(db.session, count, at=at(5, 17), lines=[{"part_id": filt.id, "counted_quantity": 6},
                                                                 {"part_id": valve.id, "counted_quantity": 0}])
    counts.close_count(db.session, count, at=at(5, 18))
    # After the week: one more filter used (not in the report, yet in today's on-hand).
    use(db.session, usage_id=uuid.uuid4(), job_id=job1.id, part_id=filt.id, location_id=van.id, quantity=1,
        at=at(8))
    db.session.commit()

    report = reconciliation.reconcile_location(db.session, location_id=van.id, start=T0, end=T0 + timedelta(days=7))
    lines = {line["part_number"]: line for line in report["lines"]}
    figures = ("opening", "received", "transferred_in", "transferred_out", "issued_in", "issued_out", "consumed",
               "returned_in", "returned_out", "expected_closing", "adjusted", "closing", "counted")
    # Filters: 5 + 10 issued - 5 used - 2 returned - 1 lent = 7 expected; 6 found: 1 missing.
    assert {k: lines["P-FILTER"][k] for k in figures} == {
        "opening": 5, "received": 0, "transferred_in": 0, "transferred_out": 1, "issued_in": 10, "issued_out": 0,
        "consumed": 5, "returned_in": 0, "returned_out": 2, "expected_closing": 7, "adjusted": -1, "closing": 6,
        "counted": 6}
    # Valves: 0 + 4 issued - 5 used - 1 returned = -2 expected; 0 found: the books catch up by 2.
    assert {k: lines["P-VALVE"][k] for k in figures} == {
        "opening": 0, "received": 0, "transferred_in": 0, "transferred_out": 0, "issued_in": 4, "issued_out": 0,
        "consumed": 5, "returned_in": 0, "returned_out": 1, "expected_closing": -2, "adjusted": 2, "closing": 0,
        "counted": 0}
    assert report["totals"]["consumed"] == 10

    consumption = [(c["part_number"], c["quantity"], c["job_id"], c["technician_name"])
                   for c in report["consumption"]]
    assert consumption == [("P-FILTER", 3, job1.id, "Zhang San"), ("P-FILTER", 2, job2.id, "Zhang San"),
                           ("P-VALVE", 1, job2.id, "Zhang San"), ("P-VALVE", 4, job3.id, "Zhang San")]

    found = [(d["kind"], d["part_number"], d["quantity"]) for d in report["discrepancies"]]
    assert sorted(found) == sorted([("negative_balance", "P-VALVE", -2), ("count_difference", "P-FILTER", -1),
                                    ("count_difference", "P-VALVE", 2)])
    negative = next(d for d in report["discrepancies"] if d["kind"] == "negative_balance")
    assert negative["job_id"] == job3.id and negative["technician_name"] == "Zhang San"
    assert [m["quantity"] for m in negative["movements"]] == [-4]
    missing_filter = next(d for d in report["discrepancies"] if d["part_number"] == "P-FILTER")
    # Behind the missing filter: the week's filter movements on the van, the jobs' consumptions among them.
    behind = [(m["kind"], m["quantity"], m["job_id"]) for m in missing_filter["movements"]]
    assert behind == [("issued_in", 10, None), ("consumed", -3, job1.id), ("consumed", -2, job2.id),
                      ("returned", -2, None), ("transfer_out", -1, None)]

    csv_text = reconciliation.report_csv(report)
    assert csv_text.splitlines()[0].startswith("section,part_number,part_name,opening")
    assert sum(1 for row in csv_text.splitlines() if row.startswith("discrepancy,")) == 3

    summary = reconciliation.reconciliation_summary(db.session, start=T0, end=T0 + timedelta(days=7))
    top = summary["locations"][0]
    # Valves 2 x 80 + 2 x 80 + filters 1 x 12.5 = 332.5 of discrepancies on the van.
    assert (top["location_id"], top["discrepancy_value"], top["discrepancies"]) == (van.id, 332.5, 3)
    assert summary["largest"][0]["part_number"] == "P-VALVE"


def test_a_warranty_repair_may_take_a_spare_unit_held_for_a_paying_job(app, warehouse):
    unit = f.spare_unit(warehouse)
    paying = f.job(f.ticket(ast=f.asset(warranty_end=None)))
    warranty = f.job(f.ticket(ast=f.asset(warranty_end=date.today() + timedelta(days=90))))
    other_warranty = f.job(f.ticket(ast=f.asset(warranty_end=date.today() + timedelta(days=90))))
    held = ledger.reserve_spare_unit(db.session, spare_unit_id=unit.id, job_id=paying.id)
    db.session.commit()
    with pytest.raises(Conflict):
        ledger.reserve_spare_unit(db.session, spare_unit_id=unit.id, job_id=f.job().id)
    db.session.rollback()
    taken = ledger.reserve_spare_unit(db.session, spare_unit_id=unit.id, job_id=warranty.id)
    db.session.commit()
    assert (held.status, held.preempted_by_id) == (ReservationStatus.preempted, taken.id)
    assert taken.under_warranty and unit.status is SpareUnitStatus.reserved
    with pytest.raises(Conflict):  # warranty never preempts warranty
        ledger.reserve_spare_unit(db.session, spare_unit_id=unit.id, job_id=other_warranty.id)


def test_two_clerks_shipping_the_same_transfer_ship_it_once(app, warehouse):
    other = f.location(code="WH-3")
    part = f.part()
    stock(warehouse, part, 10)
    transfer = transfers.create_transfer(db.session, from_location_id=warehouse.id, to_location_id=other.id,
                                         lines=[{"part_id": part.id, "quantity": 4}], at=at(0))
    db.session.commit()
    transfer_id, refused = transfer.id, []

    def work(session, i):
        try:
            transfers.ship_transfer(session, session.get(Transfer, transfer_id), at=at(0))
        except InvalidTransition:
            refused.append(i)
            session.rollback()

    assert _in_threads(app, work, 4) == []
    assert len(refused) == 3
    db.session.expire_all()
    assert (q(warehouse, part).on_hand, q(other, part).in_transit) == (6, 4)


def test_stock_held_for_a_job_travels_with_its_transfer(app, warehouse, tech):
    van = db.session.get(StockLocation, tech.van_location_id)
    part = f.part()
    job = f.job(tech=tech)
    stock(warehouse, part, 3)
    held = ledger.reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=2, job_id=job.id)
    # Held stock may be shipped for its own job (and only for it).
    transfers.issue_to_van(db.session, from_location_id=warehouse.id, van_id=van.id, job_id=job.id, at=at(0),
                           lines=[{"part_id": part.id, "quantity": 2}])
    db.session.commit()
    assert held.status is ReservationStatus.released
    assert q(warehouse, part) == ledger.Quantity(on_hand=1, reserved=0)
    assert q(van, part) == ledger.Quantity(on_hand=2, reserved=2)
    ledger.record_field_consumption(db.session, usage_id=uuid.uuid4(), job_id=job.id, part_id=part.id,
                                    location_id=None, quantity=2, at=at(1))
    db.session.commit()
    assert q(van, part) == ledger.Quantity(on_hand=0, reserved=0)
