"""Count sessions (盘点): what was physically found at a location. Closing a
session compares each count with the books at that moment, writes one
``adjusted`` movement per difference and raises a ``count_difference``
discrepancy for each, so the books then equal what was found. Never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import Conflict, InvalidInput, InvalidTransition
from server.stock.ledger import lock_levels, record_movement
from server.stock.models import (
    CountLine,
    CountSession,
    CountStatus,
    DiscrepancyKind,
    MovementKind,
    StockDiscrepancy,
    StockLevel,
)
from server.stock.transfers import get_location, get_part


@dataclass(frozen=True)
class CountDifference:
    part_id: uuid.UUID
    expected: int
    counted: int

    @property
    def difference(self) -> int:
        return self.counted - self.expected


def open_count(session: Session, *, location_id, at: datetime, by_user_id=None, full: bool = False,
               note: str | None = None) -> CountSession:
    get_location(session, location_id)
    if session.scalar(select(CountSession.id).where(CountSession.location_id == location_id,
                                                    CountSession.status == CountStatus.open)):
        raise Conflict("a count is already open at this location", code="count_in_progress")
    count = CountSession(id=uuid.uuid4(), location_id=location_id, full=full, note=note, opened_at=at,
                         opened_by_user_id=by_user_id)
    session.add(count)
    session.flush()
    return count


def record_counts(session: Session, count: CountSession, *, lines: list[dict], at: datetime,
                  by_user_id=None) -> CountSession:
    """What was found, per part; counting a part again replaces its figure."""
    session.refresh(count, with_for_update=True)
    if count.status is not CountStatus.open:
        raise InvalidTransition("this count is closed", details={"status": count.status.value})
    existing = {line.part_id: line for line in count.lines}
    for line in lines:
        part = get_part(session, line["part_id"])
        if line["counted_quantity"] < 0:
            raise InvalidInput("a count is never negative", code="invalid_quantity")
        row = existing.get(part.id)
        if row is None:
            row = CountLine(part_id=part.id, counted_quantity=line["counted_quantity"])
            count.lines.append(row)
            existing[part.id] = row
        row.counted_quantity, row.counted_at, row.counted_by_user_id = line["counted_quantity"], at, by_user_id
    session.flush()
    return count


def close_count(session: Session, count: CountSession, *, at: datetime, by_user_id=None) -> list[CountDifference]:
    """Write the adjustments and return every difference (counted minus books)."""
    session.refresh(count, with_for_update=True)
    if count.status is not CountStatus.open:
        raise InvalidTransition("this count is not open", details={"status": count.status.value})
    if count.full:
        # A part the books hold that nobody counted was found at zero.
        counted = {line.part_id for line in count.lines}
        for part_id in session.scalars(select(StockLevel.part_id)
                                       .where(StockLevel.location_id == count.location_id,
                                              StockLevel.on_hand != 0)):
            if part_id not in counted:
                count.lines.append(CountLine(part_id=part_id, counted_quantity=0, counted_at=at,
                                             counted_by_user_id=by_user_id))
        session.flush()
    lock_levels(session, [(count.location_id, line.part_id) for line in count.lines])
    differences = []
    for line in sorted(count.lines, key=lambda li: str(li.part_id)):
        level = session.get(StockLevel, (count.location_id, line.part_id), populate_existing=True)
        expected = level.on_hand
        line.expected_quantity, line.difference = expected, line.counted_quantity - expected
        if line.difference:
            movement = record_movement(session, kind=MovementKind.adjusted, location_id=count.location_id,
                                       part_id=line.part_id, quantity=line.difference, at=at,
                                       source=f"count:{count.id}:{line.part_id}", by_user_id=by_user_id,
                                       reason="count", note=f"count {count.id}: found {line.counted_quantity}, "
                                                            f"books {expected}")
            line.movement_id = movement.id
            session.add(StockDiscrepancy(kind=DiscrepancyKind.count_difference, location_id=count.location_id,
                                         part_id=line.part_id, quantity=line.difference,
                                         balance_after=line.counted_quantity, movement_id=movement.id,
                                         count_session_id=count.id, detected_at=at))
        differences.append(CountDifference(line.part_id, expected, line.counted_quantity))
    count.status, count.closed_at, count.closed_by_user_id = CountStatus.closed, at, by_user_id
    session.flush()
    return differences


def cancel_count(session: Session, count: CountSession, *, at: datetime, by_user_id=None) -> CountSession:
    if count.status is not CountStatus.open:
        raise InvalidTransition("this count is not open", details={"status": count.status.value})
    count.status, count.closed_at, count.closed_by_user_id = CountStatus.cancelled, at, by_user_id
    session.flush()
    return count
