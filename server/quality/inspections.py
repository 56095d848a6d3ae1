"""Inspections (质量巡检) of installed assets on a schedule, with findings that
can open tickets. Plain functions; never commit."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.customers.models import Asset
from server.exceptions import InvalidTransition
from server.quality.proactive_models import AssetInspection, InspectionFinding, InspectionSchedule, InspectionStatus
from server.records import ensure_unique, referenced


def create_schedule(session: Session, data: dict, *, now: datetime) -> InspectionSchedule:
    """Inspect an asset every ``interval_days``, the first on ``first_due_on``."""
    referenced(session, Asset, data["asset_id"], "asset_id", "asset")
    ensure_unique(session, InspectionSchedule.asset_id, data["asset_id"], field="asset_id")
    schedule = InspectionSchedule(id=uuid.uuid4(), asset_id=data["asset_id"], interval_days=data["interval_days"],
                                  active=True, created_at=now)
    session.add(schedule)
    session.flush()  # no relationship tells the flush which row goes first
    session.add(AssetInspection(id=uuid.uuid4(), schedule_id=schedule.id, asset_id=schedule.asset_id,
                                due_on=data["first_due_on"], status=InspectionStatus.due))
    session.flush()
    return schedule


def due(day: date):
    """Inspections due on or before ``day`` and not done."""
    return select(AssetInspection).where(AssetInspection.status == InspectionStatus.due, AssetInspection.due_on <= day)


def complete(session: Session, inspection: AssetInspection, data: dict, *, by_user_id, now: datetime,
             open_ticket) -> AssetInspection:
    """Record an inspection with its findings; a finding marked ``open_ticket``
    opens one (``open_ticket(data) -> Ticket``). The schedule's next inspection
    is due ``interval_days`` after this one was due (the rhythm holds when one
    is done late)."""
    if inspection.status is InspectionStatus.done:
        raise InvalidTransition("this inspection is already recorded", code="inspection_done")
    asset = session.get(Asset, inspection.asset_id)
    inspection.status, inspection.inspected_at, inspection.inspected_by_id = InspectionStatus.done, now, by_user_id
    inspection.note = data.get("note")
    for i, item in enumerate(data.get("findings", [])):
        finding = InspectionFinding(inspection_id=inspection.id, position=i, severity=item["severity"],
                                    description=item["description"])
        if item.get("open_ticket"):
            ticket = open_ticket({"customer_id": asset.site.customer_id, "site_id": asset.site_id,
                                  "asset_id": asset.id, "channel": "visit", "category": "maintenance",
                                  "priority": "high" if item["severity"] == "major" else "normal",
                                  "summary": f"巡检发现：{item['description']}"[:300]})
            session.flush()
            finding.ticket_id = ticket.id
        inspection.findings.append(finding)
    schedule = session.get(InspectionSchedule, inspection.schedule_id)
    if schedule.active:
        following = inspection.due_on + timedelta(days=schedule.interval_days)
        exists = session.scalar(select(AssetInspection.id).where(AssetInspection.schedule_id == schedule.id,
                                                                 AssetInspection.due_on == following))
        if exists is None:
            session.add(AssetInspection(id=uuid.uuid4(), schedule_id=schedule.id, asset_id=asset.id,
                                        due_on=following, status=InspectionStatus.due))
    session.flush()
    return inspection
