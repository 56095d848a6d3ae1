"""Reconciliation: for a location (a van above all) and a period, what the
books say happened part by part, against what was counted, and every
discrepancy with the movements and jobs behind it. Read-only.

The period is ``[start, end)`` in UTC. Per part, with usable stock only
(defective returns are shown apart and never enter the balance)::

    expected closing = opening + received + transferred in - transferred out
                       + issued in - issued out - consumed + returned in - returned out
    closing (books)  = expected closing + count adjustments

so ``count adjustments`` is exactly "counted minus expected" summed over the
period's counts. The opening balance is read as the current on-hand figure
minus every movement since ``start``: the work grows with the movements after
``start``, never with the ledger's whole history.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from server.exceptions import InvalidInput
from server.stock.models import (
    CountLine,
    CountSession,
    CountStatus,
    DiscrepancyKind,
    MovementKind,
    Part,
    StockCondition,
    StockDiscrepancy,
    StockLevel,
    StockLocation,
    StockMovement,
)
from server.stock.transfers import get_location

FIGURES = ("opening", "received", "transferred_in", "transferred_out", "issued_in", "issued_out", "consumed",
           "returned_in", "returned_out", "expected_closing", "adjusted", "closing", "returned_defective")

# (kind, direction) -> figure; quantities out are reported as positive numbers.
_FIGURE_OF = {
    (MovementKind.received, 1): "received",
    (MovementKind.received, -1): "received",  # a receipt's correction
    (MovementKind.transfer_in, 1): "transferred_in",
    (MovementKind.transfer_out, -1): "transferred_out",
    (MovementKind.issued_in, 1): "issued_in",
    (MovementKind.issued_out, -1): "issued_out",
    (MovementKind.consumed, -1): "consumed",
    (MovementKind.returned, 1): "returned_in",
    (MovementKind.returned, -1): "returned_out",
    (MovementKind.adjusted, 1): "adjusted",
    (MovementKind.adjusted, -1): "adjusted",
}
_OUT_FIGURES = {"transferred_out", "issued_out", "consumed", "returned_out"}
MAX_MOVEMENTS_BEHIND = 50


def _check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput("the period ends after it starts", code="invalid_period",
                           details={"fields": {"query": {"to": ["Must be after from."]}}})


def _movement_row(m: StockMovement, job_refs: dict) -> dict:
    ref = job_refs.get(m.job_id, {})
    return {"id": m.id, "kind": m.kind.value, "quantity": m.quantity, "at": m.at, "condition": m.condition.value,
            "job_id": m.job_id, "ticket_reference": ref.get("ticket_reference"),
            "technician_id": ref.get("technician_id"), "technician_name": ref.get("technician_name"),
            "under_warranty": m.under_warranty, "source": m.source, "reason": m.reason,
            "counterpart_location_id": m.counterpart_location_id, "serial_numbers": m.serial_numbers or []}


def _job_refs(session: Session, job_ids) -> dict:
    from server.jobs.models import Job
    from server.technicians.models import Technician
    from server.tickets.models import Ticket

    job_ids = {j for j in job_ids if j is not None}
    if not job_ids:
        return {}
    rows = session.execute(
        select(Job.id, Ticket.reference, Job.technician_id, Technician.name)
        .join(Ticket, Ticket.id == Job.ticket_id)
        .outerjoin(Technician, Technician.id == Job.technician_id)
        .where(Job.id.in_(job_ids)))
    return {jid: {"ticket_reference": ref, "technician_id": tid, "technician_name": name}
            for jid, ref, tid, name in rows}


def reconcile_location(session: Session, *, location_id: uuid.UUID, start: datetime, end: datetime) -> dict:
    """The report for one location and period (see the module docstring)."""
    _check_period(start, end)
    location = get_location(session, location_id)
    direction = case((StockMovement.quantity > 0, literal(1)), else_=literal(-1))
    in_period = (StockMovement.location_id == location_id, StockMovement.at >= start, StockMovement.at < end,
                 StockMovement.part_id.is_not(None))
    sums = session.execute(
        select(StockMovement.part_id, StockMovement.kind, StockMovement.condition, direction,
               func.sum(StockMovement.quantity))
        .where(*in_period)
        .group_by(StockMovement.part_id, StockMovement.kind, StockMovement.condition, direction)).all()
    since_start = dict(session.execute(
        select(StockMovement.part_id, func.sum(StockMovement.quantity))
        .where(StockMovement.location_id == location_id, StockMovement.at >= start,
               StockMovement.part_id.is_not(None), StockMovement.condition == StockCondition.good)
        .group_by(StockMovement.part_id)).all())
    levels = {row.part_id: row for row in session.scalars(
        select(StockLevel).where(StockLevel.location_id == location_id)
        .execution_options(populate_existing=True))}

    figures: dict[uuid.UUID, dict] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for part_id, kind, condition, sign, total in sums:
        row = figures[part_id]
        if condition is StockCondition.defective:
            if kind is MovementKind.returned and sign > 0:
                row["returned_defective"] += int(total)
            continue
        name = _FIGURE_OF.get((kind, sign))
        if name is None:  # pragma: no cover - a kind moving the unusual way
            name = "adjusted"
        row[name] += -int(total) if name in _OUT_FIGURES else int(total)
    for part_id, level in levels.items():
        row = figures[part_id]
        row["opening"] = level.on_hand - int(since_start.get(part_id) or 0)
    for part_id, row in figures.items():
        if part_id not in levels:  # pragma: no cover - every movement has its level row
            row["opening"] = -int(since_start.get(part_id) or 0)
        row["expected_closing"] = (row["opening"] + row["received"] + row["transferred_in"]
                                   - row["transferred_out"] + row["issued_in"] - row["issued_out"]
                                   - row["consumed"] + row["returned_in"] - row["returned_out"])
        row["closing"] = row["expected_closing"] + row["adjusted"]

    counts = {}
    for part_id, counted, difference, closed_at, session_id in session.execute(
            select(CountLine.part_id, CountLine.counted_quantity, CountLine.difference, CountSession.closed_at,
                   CountSession.id)
            .join(CountSession, CountSession.id == CountLine.session_id)
            .where(CountSession.location_id == location_id, CountSession.status == CountStatus.closed,
                   CountSession.closed_at >= start, CountSession.closed_at < end)
            .order_by(CountSession.closed_at)):
        counts[part_id] = {"counted": counted, "difference": difference, "counted_at": closed_at,
                           "count_session_id": session_id}

    consumption = list(session.scalars(
        select(StockMovement).where(*in_period, StockMovement.kind == MovementKind.consumed)
        .order_by(StockMovement.at, StockMovement.id)))
    discrepancies = list(session.scalars(
        select(StockDiscrepancy).where(StockDiscrepancy.location_id == location_id,
                                       StockDiscrepancy.detected_at >= start, StockDiscrepancy.detected_at < end)
        .order_by(StockDiscrepancy.detected_at, StockDiscrepancy.id)))
    behind = _movements_behind(session, location_id, discrepancies, start)
    job_ids = {m.job_id for m in consumption} | {d.job_id for d in discrepancies}
    job_ids |= {m.job_id for ms in behind.values() for m in ms}
    refs = _job_refs(session, job_ids)

    part_ids = set(figures) | {d.part_id for d in discrepancies if d.part_id}
    parts = {p.id: p for p in session.scalars(select(Part).where(Part.id.in_(part_ids)))} if part_ids else {}
    lines = []
    for part_id, row in figures.items():
        if not any(row.values()) and part_id not in counts:
            continue
        part = parts[part_id]
        count = counts.get(part_id)
        level = levels.get(part_id)
        lines.append({"part_id": part_id, "part_number": part.part_number, "part_name": part.name, **row,
                      "counted": count["counted"] if count else None,
                      "counted_at": count["counted_at"] if count else None,
                      "count_difference": count["difference"] if count else None,
                      "in_transit_now": level.in_transit if level else 0,
                      "reserved_now": level.reserved if level else 0})
    lines.sort(key=lambda r: r["part_number"])
    totals = {name: sum(line[name] for line in lines) for name in FIGURES}
    return {
        "location": {"id": location.id, "code": location.code, "name": location.name, "kind": location.kind.value},
        "start": start, "end": end,
        "lines": lines,
        "totals": totals,
        "consumption": [_consumption_row(m, parts, refs) for m in consumption],
        "discrepancies": [_discrepancy_row(d, parts, behind.get(d.id, []), refs) for d in discrepancies],
    }


def _consumption_row(m: StockMovement, parts: dict, refs: dict) -> dict:
    """A part used on a job; under warranty the customer is not charged (三包)."""
    part = parts.get(m.part_id)
    charge = None
    if part is not None and part.unit_cost is not None:
        charge = 0.0 if m.under_warranty else round(-m.quantity * part.unit_cost, 2)
    return {**_movement_row(m, refs), "part_id": m.part_id, "part_number": part.part_number if part else None,
            "quantity": -m.quantity, "chargeable": not m.under_warranty, "charge": charge}


def _discrepancy_row(d: StockDiscrepancy, parts: dict, behind: list, refs: dict) -> dict:
    part = parts.get(d.part_id)
    ref = refs.get(d.job_id, {})
    return {"id": d.id, "kind": d.kind.value, "status": d.status.value, "part_id": d.part_id,
            "part_number": part.part_number if part else None, "quantity": d.quantity,
            "balance_after": d.balance_after, "detected_at": d.detected_at, "job_id": d.job_id,
            "ticket_reference": ref.get("ticket_reference"), "technician_name": ref.get("technician_name"),
            "count_session_id": d.count_session_id, "transfer_id": d.transfer_id, "serial_number": d.serial_number,
            "movements": [_movement_row(m, refs) for m in behind]}


def _movements_behind(session: Session, location_id, discrepancies: list, start: datetime) -> dict:
    """The movements that explain each discrepancy, in two queries whatever their number.

    A negative balance, a transit shortfall or an unknown serial: the movement
    that raised it. A count difference: every movement of that part here since
    the previous count (or the period's start) up to this one — what the
    count disagrees with, the field's consumptions and their jobs among them.
    """
    out: dict = {}
    direct = {d.movement_id for d in discrepancies if d.kind is not DiscrepancyKind.count_difference and d.movement_id}
    by_id = {m.id: m for m in session.scalars(select(StockMovement).where(StockMovement.id.in_(direct)))} \
        if direct else {}
    counted = [d for d in discrepancies if d.kind is DiscrepancyKind.count_difference and d.part_id]
    closes: dict = defaultdict(list)
    history: dict = defaultdict(list)
    if counted:
        part_ids = {d.part_id for d in counted}
        last = max(d.detected_at for d in counted)
        for part_id, closed_at in session.execute(
                select(CountLine.part_id, CountSession.closed_at)
                .join(CountSession, CountSession.id == CountLine.session_id)
                .where(CountSession.location_id == location_id, CountSession.status == CountStatus.closed,
                       CountLine.part_id.in_(part_ids), CountSession.closed_at >= start,
                       CountSession.closed_at <= last)):
            closes[part_id].append(closed_at)
        for movement in session.scalars(
                select(StockMovement)
                .where(StockMovement.location_id == location_id, StockMovement.part_id.in_(part_ids),
                       StockMovement.at >= start, StockMovement.at <= last)
                .order_by(StockMovement.at, StockMovement.id)):
            history[movement.part_id].append(movement)
    for d in discrepancies:
        if d.kind is not DiscrepancyKind.count_difference:
            out[d.id] = [by_id[d.movement_id]] if d.movement_id in by_id else []
            continue
        since = max([t for t in closes.get(d.part_id, []) if t < d.detected_at], default=start)
        out[d.id] = [m for m in history.get(d.part_id, [])
                     if since <= m.at <= d.detected_at and m.id != d.movement_id][:MAX_MOVEMENTS_BEHIND]
    return out


CSV_COLUMNS = ("section", "part_number", "part_name", *FIGURES, "counted", "count_difference", "in_transit_now",
               "reserved_now", "kind", "quantity", "at", "job_id", "ticket_reference", "technician_name",
               "under_warranty", "chargeable", "charge", "movement_ids", "status")


def report_csv(report: dict) -> str:
    """The same report as CSV: one ``part`` row per part, a ``total`` row, one
    ``consumption`` row per part used on a job and one ``discrepancy`` row each."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for line in report["lines"]:
        writer.writerow({"section": "part", **line})
    writer.writerow({"section": "total", **report["totals"]})
    for row in report["consumption"]:
        writer.writerow({"section": "consumption", "kind": "consumed", **{k: row[k] for k in (
            "part_number", "quantity", "at", "job_id", "ticket_reference", "technician_name", "under_warranty",
            "chargeable", "charge")}})
    for row in report["discrepancies"]:
        writer.writerow({"section": "discrepancy", **{k: row[k] for k in (
            "part_number", "kind", "quantity", "job_id", "ticket_reference", "technician_name", "status")},
            "at": row["detected_at"], "movement_ids": " ".join(str(m["id"]) for m in row["movements"])})
    return buffer.getvalue()


def reconciliation_summary(session: Session, *, start: datetime, end: datetime, limit: int = 50) -> dict:
    """Every location's movements in the period side by side, ranked by the
    size of its discrepancies (their value at unit cost, then their quantity),
    with the largest single discrepancies across all locations."""
    _check_period(start, end)
    direction = case((StockMovement.quantity > 0, literal(1)), else_=literal(-1))
    per_location: dict = defaultdict(lambda: dict.fromkeys(
        ("received", "transferred_in", "transferred_out", "issued_in", "issued_out", "consumed", "returned_in",
         "returned_out", "adjusted", "returned_defective"), 0))
    for location_id, kind, condition, sign, total in session.execute(
            select(StockMovement.location_id, StockMovement.kind, StockMovement.condition, direction,
                   func.sum(StockMovement.quantity))
            .where(StockMovement.at >= start, StockMovement.at < end, StockMovement.part_id.is_not(None))
            .group_by(StockMovement.location_id, StockMovement.kind, StockMovement.condition, direction)):
        row = per_location[location_id]
        if condition is StockCondition.defective:
            row["returned_defective"] += int(total) if sign > 0 else 0
            continue
        name = _FIGURE_OF.get((kind, sign), "adjusted")
        row[name] += -int(total) if name in _OUT_FIGURES else int(total)

    size = func.abs(StockDiscrepancy.quantity)
    value = func.coalesce(func.sum(size * func.coalesce(Part.unit_cost, 0)), 0)
    in_period = (StockDiscrepancy.detected_at >= start, StockDiscrepancy.detected_at < end)
    disc = {loc: (int(n), int(q or 0), float(v or 0), int(o or 0)) for loc, n, q, v, o in session.execute(
        select(StockDiscrepancy.location_id, func.count(), func.sum(size), value,
               func.sum(case((StockDiscrepancy.status == "open", 1), else_=0)))
        .outerjoin(Part, Part.id == StockDiscrepancy.part_id)
        .where(*in_period).group_by(StockDiscrepancy.location_id))}
    location_ids = set(per_location) | set(disc)
    locations = {loc.id: loc for loc in session.scalars(
        select(StockLocation).where(StockLocation.id.in_(location_ids)))} if location_ids else {}
    rows = []
    for location_id in location_ids:
        n, quantity, val, still_open = disc.get(location_id, (0, 0, 0.0, 0))
        loc = locations[location_id]
        rows.append({"location_id": location_id, "code": loc.code, "name": loc.name, "kind": loc.kind.value,
                     **per_location[location_id], "discrepancies": n, "discrepancy_quantity": quantity,
                     "discrepancy_value": round(val, 2), "open_discrepancies": still_open})
    rows.sort(key=lambda r: (-r["discrepancy_value"], -r["discrepancy_quantity"], r["code"]))

    largest = session.execute(
        select(StockDiscrepancy, Part.part_number, (size * func.coalesce(Part.unit_cost, 0)).label("value"))
        .outerjoin(Part, Part.id == StockDiscrepancy.part_id)
        .where(*in_period)
        .order_by((size * func.coalesce(Part.unit_cost, 0)).desc(), size.desc(), StockDiscrepancy.id)
        .limit(limit)).all()
    return {
        "start": start, "end": end,
        "locations": rows[:limit],
        "largest": [{"id": d.id, "kind": d.kind.value, "status": d.status.value, "location_id": d.location_id,
                     "location_code": locations[d.location_id].code if d.location_id in locations else None,
                     "part_id": d.part_id, "part_number": number, "quantity": d.quantity,
                     "value": round(float(v or 0), 2), "job_id": d.job_id, "detected_at": d.detected_at}
                    for d, number, v in largest],
    }
