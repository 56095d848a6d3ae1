"""Property: whatever sequence of stock operations runs, on either database,
the projection (stock_levels) equals the ledger summed, reservations never
exceed what is on hand unless the field took it, and in transit is exactly
what was shipped and not received."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.exceptions import Conflict
from server.extensions import db
from server.stock import counts, ledger, transfers
from server.stock.models import LocationKind, Reservation, ReservationStatus, Transfer, TransferLine, TransferStatus
from tests import factories as f

T0 = datetime(2026, 11, 2, tzinfo=UTC)

operation = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.just("consume"), st.integers(0, 2), st.integers(1, 4)),
    st.tuples(st.just("reserve"), st.integers(0, 2), st.integers(1, 3)),
    st.tuples(st.just("release"), st.integers(0, 2), st.integers(0, 5)),
    st.tuples(st.just("ship"), st.integers(0, 2), st.integers(1, 3)),
    st.tuples(st.just("receive_transfer"), st.integers(0, 2), st.integers(0, 5)),
    st.tuples(st.just("return"), st.integers(0, 2), st.integers(1, 2)),
    st.tuples(st.just("count"), st.integers(0, 2), st.integers(0, 6)),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_the_projection_always_equals_the_ledger(app, operations):
    locations = [f.location(LocationKind.regional_warehouse), f.location(LocationKind.van),
                 f.location(LocationKind.van)]
    part = f.part()
    job = f.job()
    clock = iter(T0 + timedelta(minutes=i) for i in range(1000))
    for name, where, n in operations:
        here, there = locations[where], locations[(where + 1) % 3]
        try:
            with db.session.begin_nested():
                if name == "receive":
                    ledger.record_movement(db.session, kind=ledger.MovementKind.received, location_id=here.id,
                                           part_id=part.id, quantity=n, at=next(clock))
                elif name == "consume":
                    ledger.record_field_consumption(db.session, usage_id=uuid.uuid4(), job_id=job.id,
                                                    part_id=part.id, location_id=here.id, quantity=n,
                                                    at=next(clock))
                elif name == "reserve":
                    ledger.reserve_part(db.session, location_id=here.id, part_id=part.id, quantity=n,
                                        under_warranty=n == 3)
                elif name == "release":
                    active = db.session.scalars(select(Reservation).where(
                        Reservation.part_id == part.id, Reservation.status == ReservationStatus.active)).all()
                    if active:
                        ledger.release(db.session, active[n % len(active)])
                elif name == "ship":
                    transfer = transfers.create_transfer(db.session, from_location_id=here.id,
                                                         to_location_id=there.id, at=next(clock),
                                                         lines=[{"part_id": part.id, "quantity": n}])
                    transfers.ship_transfer(db.session, transfer, at=next(clock))
                elif name == "receive_transfer":
                    shipped = db.session.scalars(select(Transfer).where(
                        Transfer.status == TransferStatus.shipped,
                        Transfer.to_location_id.in_([loc.id for loc in locations]))).all()
                    if shipped:
                        transfer = shipped[n % len(shipped)]
                        line = transfer.lines[0]
                        transfers.receive_transfer(db.session, transfer, at=next(clock),
                                                   received={line.id: min(n, line.quantity)})
                elif name == "return":
                    transfers.return_stock(db.session, from_location_id=here.id, to_location_id=there.id,
                                           part_id=part.id, quantity=n, defective=n == 2, reason="test",
                                           at=next(clock))
                elif name == "count":
                    session = counts.open_count(db.session, location_id=here.id, at=next(clock))
                    counts.record_counts(db.session, session, at=next(clock),
                                         lines=[{"part_id": part.id, "counted_quantity": n}])
                    counts.close_count(db.session, session, at=next(clock))
        except Conflict:
            pass  # a warehouse decision refused for lack of stock: nothing changed
    db.session.commit()

    from_ledger = ledger.rebuild_levels(db.session)
    levels = ledger.quantities(db.session, part.id)
    in_transit = dict(db.session.execute(
        select(Transfer.to_location_id, func.sum(TransferLine.quantity))
        .join(TransferLine, TransferLine.transfer_id == Transfer.id)
        .where(Transfer.status == TransferStatus.shipped, TransferLine.part_id == part.id)
        .group_by(Transfer.to_location_id)).all())
    held = dict(db.session.execute(
        select(Reservation.location_id, func.sum(Reservation.quantity))
        .where(Reservation.part_id == part.id, Reservation.status == ReservationStatus.active)
        .group_by(Reservation.location_id)).all())
    for location in locations:
        level = levels.get(location.id, ledger.Quantity(0, 0))
        assert (level.on_hand, level.defective) == from_ledger.get((location.id, part.id), (0, 0))
        assert level.in_transit == (in_transit.get(location.id) or 0)
        assert level.reserved == (held.get(location.id) or 0)
        assert level.available >= 0
