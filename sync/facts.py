"""Parts used on site, consumed from stock set-wise.

A batch may carry dozens of part usages; the ledger's
``record_field_consumption`` takes them one at a time (five statements and a
flush each), which alone would cost more than the rest of the batch. This
applies the same rule to the whole batch at once: one movement per usage
(``consumed``, negative, ``source = "part_usage:<id>"``, idempotent on that
unique source), the ``stock_levels`` projection moved by the sum per
(location, part), never refused for lack of stock. A usage that would
consume an active reservation goes through the ledger itself, so the
reservation rules stay in one place. ``tests/test_sync_facts.py`` checks
that both paths leave the same ledger behind.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.stock.ledger import record_field_consumption
from server.stock.models import MovementKind, Reservation, ReservationStatus, StockLevel, StockMovement
from sync import changelog


def consume(session: Session, usages: list[dict], *, at: datetime) -> None:
    """Consume stock for these part usages (rows of ``part_usages``)."""
    if not usages:
        return
    sources = {f"part_usage:{u['id']}": u for u in usages}
    done = set(session.scalars(select(StockMovement.source).where(StockMovement.source.in_(list(sources)))))
    todo = [u for s, u in sources.items() if s not in done]
    if not todo:
        return
    keys = {(u["job_id"], u["part_id"], u["location_id"]) for u in todo}
    reserved = set(session.execute(
        select(Reservation.job_id, Reservation.part_id, Reservation.location_id)
        .where(Reservation.status == ReservationStatus.active, Reservation.spare_unit_id.is_(None),
               or_(*[and_(Reservation.job_id == j, Reservation.part_id == p, Reservation.location_id == loc)
                     for j, p, loc in keys]))
    ).all()) if keys else set()
    plain = []
    for usage in todo:
        if (usage["job_id"], usage["part_id"], usage["location_id"]) in reserved:
            record_field_consumption(
                session, usage_id=usage["id"], job_id=usage["job_id"], part_id=usage["part_id"],
                location_id=usage["location_id"], quantity=usage["quantity"], at=at,
                under_warranty=usage["under_warranty"], serial_numbers=usage["serial_numbers"])
        else:
            plain.append(usage)
    if not plain:
        return
    deltas: dict[tuple, int] = defaultdict(int)
    for usage in plain:
        deltas[(usage["location_id"], usage["part_id"])] -= usage["quantity"]
    connection = session.connection()
    levels = StockLevel.__table__
    insert_ = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    ordered = sorted(deltas)  # one lock order for every writer: no deadlocks between batches
    connection.execute(insert_(levels).on_conflict_do_nothing(index_elements=["location_id", "part_id"]),
                       [{"location_id": loc, "part_id": part, "on_hand": 0, "reserved": 0} for loc, part in ordered])
    connection.execute(
        levels.update().where(levels.c.location_id == bindparam("k_location"), levels.c.part_id == bindparam("k_part"))
        .values(on_hand=levels.c.on_hand + bindparam("k_delta")),
        [{"k_location": loc, "k_part": part, "k_delta": deltas[(loc, part)]} for loc, part in ordered])
    changelog.bulk_insert(connection, StockMovement.__table__, [{
        "kind": MovementKind.consumed, "location_id": u["location_id"], "part_id": u["part_id"],
        "spare_unit_id": None, "quantity": -u["quantity"], "at": at, "job_id": u["job_id"],
        "source": f"part_usage:{u['id']}", "under_warranty": u["under_warranty"],
        "serial_numbers": u["serial_numbers"], "by_user_id": None, "note": None,
    } for u in plain])
    for location_id, part_id in ordered:
        changelog.record(session, changelog.Pending("stock_levels", f"{location_id}:{part_id}"))
