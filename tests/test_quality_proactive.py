"""Proactive service and incidents, end to end over the API: a tour from the
installed base to jobs on a route; inspections whose findings open tickets;
an incident whose parts go out only after the plan's approval, with its
notices and fault analysis report. On both databases."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job
from server.notifications.models import Notification
from server.stock import ledger
from server.stock.models import LocationKind, MovementKind, StockLevel
from server.tickets.models import Ticket
from tests import factories as f


def test_tour_from_the_installed_base_to_jobs_on_a_route(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    # Hangzhou has three customers' machines, Suzhou one.
    near = f.site(f.customer("近处客户", phone="1"), city="杭州", latitude=30.25, longitude=120.16)
    far = f.site(f.customer("远处客户"), city="杭州", latitude=30.40, longitude=120.30)
    shy = f.site(f.customer("不需要的客户"), city="杭州", latitude=30.30, longitude=120.20)
    for st in (near, far, shy, near):
        f.asset(st)
    f.asset(f.site(city="苏州"))
    regions = client.get("/api/v1/quality/tours/regions", headers=office).get_json()["items"]
    assert regions[0] == {"city": "杭州", "assets": 4, "customers": 3} and regions[1]["city"] == "苏州"

    start = date.today() + timedelta(days=4)
    tour = client.post("/api/v1/quality/tours", json={"name": "杭州巡回服务", "city": "杭州", "starts_on": str(start),
                                                     "ends_on": str(start + timedelta(days=1))}, headers=office)
    assert tour.status_code == 201, tour.get_json()
    tour = tour.get_json()
    window = (str(start - timedelta(days=5)), str(start - timedelta(days=3)))
    assert (tour["contact_from"], tour["contact_by"]) == window
    stops = {s["customer_name"]: s for s in tour["stops"]}
    assert set(stops) == {"近处客户", "远处客户", "不需要的客户"}

    def contact(name, **body):
        return client.post(f"/api/v1/quality/tours/{tour['id']}/stops/{stops[name]['id']}/contact", json=body,
                           headers=office)

    outside = contact("远处客户", agreed=True, contact_name="钱工", visit_on=str(start + timedelta(days=5)))
    assert outside.status_code == 422  # a day outside the tour
    assert contact("远处客户", agreed=True, contact_name="钱工", model="CH-200", symptoms="噪音大", estimated_hours=3,
                   estimated_cost=800, visit_on=str(start)).status_code == 200
    assert contact("近处客户", agreed=True, contact_name="孙工", symptoms="例行保养", estimated_hours=2,
                   estimated_cost=300, visit_on=str(start)).status_code == 200
    after = contact("不需要的客户", agreed=False, contact_name="周工").get_json()
    by_name = {s["customer_name"]: s for s in after["stops"]}
    assert by_name["远处客户"]["contact_in_window"] is True  # four days ahead: in the 3-5 day window
    assert (by_name["远处客户"]["symptoms"], by_name["远处客户"]["estimated_cost"]) == ("噪音大", 800)
    assert by_name["不需要的客户"]["status"] == "declined"

    tech = f.technician(latitude=30.24, longitude=120.15)  # next to the near customer
    planned = client.post(f"/api/v1/quality/tours/{tour['id']}/plan", json={"technician_id": str(tech.id)},
                          headers=office)
    assert planned.status_code == 200, planned.get_json()
    route = [s for s in planned.get_json()["stops"] if s["route_order"]]
    assert [s["customer_name"] for s in route] == ["近处客户", "远处客户"]  # nearest first
    assert route[0]["planned_start"] < route[1]["planned_start"]
    jobs = db.session.scalars(select(Job).where(Job.technician_id == tech.id)).all()
    assert len(jobs) == 2 and {str(j.id) for j in jobs} == {s["job_id"] for s in route}
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_([j.ticket_id for j in jobs]))).all()
    assert {t.status.value for t in tickets} == {"dispatched"} and {t.category.value for t in tickets} == {
        "maintenance"}
    assert client.post(f"/api/v1/quality/tours/{tour['id']}/plan", json={"technician_id": str(tech.id)},
                       headers=office).status_code == 409
    nowhere = client.post("/api/v1/quality/tours", json={"name": "x", "city": "拉萨", "starts_on": str(start),
                                                        "ends_on": str(start)}, headers=office)
    assert nowhere.status_code == 422


def test_inspection_findings_open_tickets_and_the_next_is_scheduled(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    asset = f.asset()
    today = date.today()
    r = client.post("/api/v1/quality/inspection-schedules", json={"asset_id": str(asset.id), "interval_days": 90,
                                                                  "first_due_on": str(today)}, headers=office)
    assert r.status_code == 201, r.get_json()
    again = client.post("/api/v1/quality/inspection-schedules", json={"asset_id": str(asset.id), "interval_days": 30,
                                                                      "first_due_on": str(today)}, headers=office)
    assert again.status_code == 409
    due = client.get("/api/v1/quality/inspections", headers=office).get_json()["items"]
    assert [d["asset_id"] for d in due] == [str(asset.id)]
    done = client.post(f"/api/v1/quality/inspections/{due[0]['id']}/complete", json={
        "note": "整体良好", "findings": [{"severity": "info", "description": "滤网略脏"},
                                      {"severity": "major", "description": "冷凝器结垢", "open_ticket": True}]},
        headers=office)
    assert done.status_code == 200, done.get_json()
    findings = done.get_json()["findings"]
    assert findings[0]["ticket_id"] is None
    ticket = db.session.get(Ticket, uuid.UUID(findings[1]["ticket_id"]))
    assert ticket.asset_id == asset.id and ticket.priority.value == "high" and "冷凝器结垢" in ticket.summary
    later = client.get(f"/api/v1/quality/inspections?asset_id={asset.id}", headers=office).get_json()["items"]
    assert [(i["due_on"], i["status"]) for i in later] == [(str(today), "done"),
                                                           (str(today + timedelta(days=90)), "due")]
    assert client.post(f"/api/v1/quality/inspections/{due[0]['id']}/complete", json={},
                       headers=office).status_code == 409


def test_incident_parts_go_out_only_after_the_plan_is_approved(client):
    dispatcher = f.login_as(client, f.user(Role.dispatcher))
    admin = f.login_as(client, f.user(Role.admin))
    a1, a2 = f.asset(), f.asset()
    other = f.customer("间接影响客户")
    part = f.part("PUMP-1")
    warehouse = f.location(LocationKind.regional_warehouse)
    van = f.location(LocationKind.van)
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=warehouse.id, part_id=part.id,
                           quantity=5, at=utcnow())
    db.session.commit()

    r = client.post("/api/v1/quality/incidents", json={
        "title": "园区冷站全部停机", "level": 1, "description": "供电故障后压缩机无法启动",
        "asset_ids": [str(a1.id), str(a2.id)], "customer_ids": [str(other.id)]}, headers=dispatcher)
    assert r.status_code == 201, r.get_json()
    incident = r.get_json()
    assert len(incident["affected"]) == 3 and incident["status"] == "open"
    told = db.session.scalar(select(Notification).where(Notification.kind == "incident.opened"))
    assert told.audience.value == "manager" and "1 级故障" in told.subject
    db.session.commit()
    base = f"/api/v1/quality/incidents/{incident['id']}"
    notice = client.post(f"{base}/notices", json={"person": "客户王总", "channel": "phone", "note": "已告知抢修安排"},
                         headers=dispatcher)
    assert notice.status_code == 201 and notice.get_json()["notices"][0]["person"] == "客户王总"

    issue = {"location_id": str(warehouse.id), "to_location_id": str(van.id)}
    early = client.post(f"{base}/parts-issue", json=issue, headers=dispatcher)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "plan_not_approved"
    plan = {"repair_hours": 6, "people": 3, "lead": "王工", "tools": "检漏仪、真空泵",
            "parts": [{"part_id": str(part.id), "quantity": 2}], "estimated_cost": 12000}
    assert client.put(f"{base}/plan", json=plan, headers=dispatcher).get_json()["status"] == "plan_submitted"
    assert client.post(f"{base}/parts-issue", json=issue, headers=dispatcher).status_code == 409
    assert client.post(f"{base}/plan/approval", headers=dispatcher).status_code == 403  # admins approve
    approved = client.post(f"{base}/plan/approval", headers=admin)
    assert approved.status_code == 200 and approved.get_json()["plan_approved_at"]
    issued = client.post(f"{base}/parts-issue", json=issue, headers=dispatcher)
    assert issued.status_code == 200, issued.get_json()
    db.session.expire_all()
    levels = {lv.location_id: lv.on_hand for lv in db.session.scalars(select(StockLevel))}
    assert (levels[warehouse.id], levels[van.id]) == (3, 2)
    assert client.post(f"{base}/parts-issue", json=issue, headers=dispatcher).status_code == 409  # once
    assert client.put(f"{base}/plan", json=plan, headers=dispatcher).status_code == 409  # locked now

    report = {"cause": "电压骤降损坏启动器", "actions": "更换启动器与水泵", "prevention": "加装稳压保护"}
    assert client.put(f"{base}/report", json=report, headers=dispatcher).status_code == 409  # not resolved yet
    assert client.post(f"{base}/resolve", headers=dispatcher).get_json()["status"] == "resolved"
    closed = client.put(f"{base}/report", json=report, headers=dispatcher).get_json()
    assert closed["status"] == "closed" and closed["report_prevention"] == "加装稳压保护"
    listed = client.get("/api/v1/quality/incidents?status=closed", headers=dispatcher).get_json()["items"]
    assert [i["id"] for i in listed] == [incident["id"]]
    tech = f.login_as(client, f.technician())
    assert client.get("/api/v1/quality/incidents", headers=tech).status_code == 403
