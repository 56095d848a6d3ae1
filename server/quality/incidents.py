"""Incidents and rescue (客服部管理制度 故障报告; 应急预案): a major fault's
level, the customers and assets it hits, who was told and when, the rescue
plan (repair time, people, lead, tools, parts, cost) approved before any part
goes out, and the fault analysis report afterwards. Plain functions; never
commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from server.accounts.models import Role
from server.customers.models import Asset, Customer
from server.exceptions import InvalidInput, InvalidTransition, PermissionDenied
from server.notifications.models import Audience
from server.notifications.outbox import notify
from server.quality.proactive_models import Incident, IncidentAffected, IncidentNotice, IncidentStatus
from server.records import field_error, referenced
from server.stock import ledger
from server.stock.models import MovementKind, Part, StockLocation

S = IncidentStatus


def _affected(session: Session, incident: Incident, data: dict) -> None:
    have = {(a.customer_id, a.asset_id) for a in incident.affected}
    for asset_id in data.get("asset_ids", []):
        asset = referenced(session, Asset, asset_id, "asset_ids", "asset")
        key = (asset.site.customer_id, asset.id)
        if key not in have:
            incident.affected.append(IncidentAffected(customer_id=key[0], asset_id=key[1]))
            have.add(key)
    for customer_id in data.get("customer_ids", []):
        referenced(session, Customer, customer_id, "customer_ids", "customer")
        if not any(c == customer_id for c, _ in have):
            incident.affected.append(IncidentAffected(customer_id=customer_id, asset_id=None))
            have.add((customer_id, None))


def report_incident(session: Session, data: dict, *, by_user_id, now: datetime) -> Incident:
    """Open an incident; the managers are told at once (outbox, same transaction)."""
    incident = Incident(id=uuid.uuid4(), title=data["title"], level=data["level"], description=data.get("description"),
                        occurred_at=data.get("occurred_at") or now, reported_by_id=by_user_id, created_at=now,
                        status=S.open)
    session.add(incident)
    _affected(session, incident, data)
    session.flush()
    notify(session, kind="incident.opened", audience=Audience.manager,
           subject=f"{data['level']} 级故障 · {incident.title}",
           body=f"{incident.title}\n影响客户 {len({a.customer_id for a in incident.affected})} 家，"
                f"设备 {sum(1 for a in incident.affected if a.asset_id)} 台。\n{incident.description or ''}",
           payload={"incident_id": str(incident.id), "level": incident.level,
                    "customers": sorted({str(a.customer_id) for a in incident.affected}),
                    "assets": sorted(str(a.asset_id) for a in incident.affected if a.asset_id)},
           ref=("incident", incident.id), now=now)
    return incident


def add_affected(session: Session, incident: Incident, data: dict) -> Incident:
    if incident.status is S.closed:
        raise InvalidTransition("this incident is closed", code="incident_closed")
    _affected(session, incident, data)
    session.flush()
    return incident


def record_notice(session: Session, incident: Incident, data: dict, *, by_user_id, now: datetime) -> IncidentNotice:
    """Who was told, how, and when (the time it happened; default now)."""
    notice = IncidentNotice(incident_id=incident.id, person=data["person"], channel=data["channel"],
                            notified_at=data.get("notified_at") or now, recorded_by_id=by_user_id,
                            note=data.get("note"))
    incident.notices.append(notice)
    session.flush()
    return notice


def submit_plan(session: Session, incident: Incident, data: dict, *, by_user_id, now: datetime) -> Incident:
    """The rescue plan; submitting again (before parts went out) replaces it and needs a new approval."""
    if incident.status not in (S.open, S.plan_submitted, S.plan_approved) or incident.parts_issued_at:
        raise InvalidTransition("the plan cannot change any more", code="plan_locked",
                                details={"status": incident.status.value})
    for line in data.get("parts", []):
        referenced(session, Part, line["part_id"], "parts", "part")
    incident.plan_repair_hours, incident.plan_people = data["repair_hours"], data["people"]
    incident.plan_lead, incident.plan_tools = data["lead"], data.get("tools")
    incident.plan_parts = [{"part_id": str(p["part_id"]), "quantity": p["quantity"]} for p in data.get("parts", [])]
    incident.plan_cost = data["estimated_cost"]
    incident.plan_submitted_at, incident.plan_submitted_by_id = now, by_user_id
    incident.plan_approved_at = incident.plan_approved_by_id = None
    incident.status = S.plan_submitted
    session.flush()
    return incident


def approve_plan(session: Session, incident: Incident, *, by_user, now: datetime) -> Incident:
    """An admin approves the plan (not the person who submitted it, unless that is the only admin's own)."""
    if by_user.role is not Role.admin:
        raise PermissionDenied("a rescue plan is approved by an admin", code="approval_needs_admin")
    if incident.status is not S.plan_submitted:
        raise InvalidTransition("there is no submitted plan to approve", code="no_plan_to_approve",
                                details={"status": incident.status.value})
    incident.plan_approved_at, incident.plan_approved_by_id, incident.status = now, by_user.id, S.plan_approved
    session.flush()
    return incident


def issue_parts(session: Session, incident: Incident, *, location_id, to_location_id, by_user_id,
                now: datetime) -> Incident:
    """The plan's parts leave the warehouse (issued out to the rescue's van or
    site stock): refused until the plan is approved, and done once."""
    if incident.status is not S.plan_approved:
        raise InvalidTransition("parts go out only after the rescue plan is approved", code="plan_not_approved",
                                details={"status": incident.status.value})
    if incident.parts_issued_at is not None:
        raise InvalidTransition("the plan's parts have been issued already", code="parts_issued")
    if not incident.plan_parts:
        raise InvalidInput("the plan names no parts", details=field_error("parts", "The plan has no parts."))
    referenced(session, StockLocation, location_id, "location_id", "location")
    referenced(session, StockLocation, to_location_id, "to_location_id", "location")
    for line in incident.plan_parts:
        part_id = uuid.UUID(line["part_id"])
        ledger.record_movement(session, kind=MovementKind.issued_out, location_id=location_id, part_id=part_id,
                               quantity=-line["quantity"], at=now, by_user_id=by_user_id,
                               source=f"incident:{incident.id.hex[:20]}:{part_id.hex[:20]}:out",
                               note=f"incident {incident.title}", counterpart_location_id=to_location_id,
                               require_available=True)
        ledger.record_movement(session, kind=MovementKind.issued_in, location_id=to_location_id, part_id=part_id,
                               quantity=line["quantity"], at=now, by_user_id=by_user_id,
                               source=f"incident:{incident.id.hex[:20]}:{part_id.hex[:20]}:in",
                               note=f"incident {incident.title}", counterpart_location_id=location_id)
    incident.parts_issued_at = now
    session.flush()
    return incident


def resolve(session: Session, incident: Incident, *, now: datetime) -> Incident:
    if incident.status not in (S.open, S.plan_submitted, S.plan_approved):
        raise InvalidTransition(f"a {incident.status.value} incident cannot be resolved",
                                details={"status": incident.status.value})
    incident.status, incident.resolved_at = S.resolved, now
    session.flush()
    return incident


def write_report(session: Session, incident: Incident, data: dict, *, by_user_id, now: datetime) -> Incident:
    """The fault analysis report, once the fault is resolved; it closes the incident."""
    if incident.status is not S.resolved:
        raise InvalidTransition("the fault analysis report comes after the fault is resolved",
                                code="incident_not_resolved", details={"status": incident.status.value})
    incident.report_cause, incident.report_actions = data["cause"], data["actions"]
    incident.report_prevention = data["prevention"]
    incident.report_at, incident.report_by_id, incident.status = now, by_user_id, S.closed
    session.flush()
    return incident
