"""Return visits: the schedule from the installation date (monthly in the first
year, quarterly after), kept right when the date changes, the day's call list
and each call's outcome (a problem opens a ticket in the same step)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select

from server.accounts.models import Role
from server.extensions import db
from server.quality.models import ReturnVisit, ReturnVisitStatus
from server.quality.return_visits import add_months, schedule_dates
from server.tickets.models import Ticket
from tests import factories as f


def test_schedule_is_monthly_in_the_first_year_then_quarterly():
    dates = schedule_dates(date(2026, 1, 31), until=date(2027, 12, 31))
    assert dates[:3] == [(1, date(2026, 2, 28)), (2, date(2026, 3, 31)), (3, date(2026, 4, 30))]
    assert dates[11] == (12, date(2027, 1, 31))
    assert dates[12:] == [(13, date(2027, 4, 30)), (14, date(2027, 7, 31)), (15, date(2027, 10, 31))]
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def _asset_via_api(client, office, install_date):
    site = f.site(f.customer("回访客户", contact_name="周工", phone="13700000000"))
    r = client.post("/api/v1/assets", json={"site_id": str(site.id), "product_line": "chiller", "model": "CH-300",
                                            "serial_number": "RV-0001", "install_date": str(install_date)},
                    headers=office)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _schedule(client, office, asset_id):
    items = client.get(f"/api/v1/quality/return-visits?asset_id={asset_id}&limit=100", headers=office).get_json()
    return items["items"]


def test_asset_schedule_follows_its_installation_date(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    today = date.today()
    installed = add_months(today, -1)  # the first call is due today
    asset_id = _asset_via_api(client, office, installed)
    visits = _schedule(client, office, asset_id)
    assert visits[0]["due_on"] == str(today) and visits[0]["sequence"] == 1
    # The rolling horizon (400 days) holds the first year's monthly calls; the quarterly ones come as it moves.
    assert [v["sequence"] for v in visits] == list(range(1, 13))
    assert [v["due_on"] for v in visits] == [str(add_months(installed, n)) for n in range(1, 13)]

    # The first call is made; then the installation date is corrected a week later.
    r = client.post(f"/api/v1/quality/return-visits/{visits[0]['id']}/calls", json={"outcome": "satisfied"},
                    headers=office)
    assert r.status_code == 201 and r.get_json()["status"] == "done"
    moved = installed + timedelta(days=7)
    assert client.patch(f"/api/v1/assets/{asset_id}", json={"install_date": str(moved)},
                        headers=office).status_code == 200
    after = _schedule(client, office, asset_id)
    assert after[0]["id"] == visits[0]["id"] and after[0]["status"] == "done"  # a call made stays
    pending = [v for v in after if v["status"] == "due"]
    assert pending[0]["due_on"] == str(add_months(moved, 1))
    assert {v["due_on"] for v in pending} <= {str(d) for _, d in schedule_dates(moved, today + timedelta(days=400))}

    # Cleared: the pending calls go.
    assert client.patch(f"/api/v1/assets/{asset_id}", json={"install_date": None}, headers=office).status_code == 200
    assert [v["status"] for v in _schedule(client, office, asset_id)] == ["done"]


def test_call_list_and_outcomes(client):
    office_user = f.user(Role.dispatcher)
    office = f.login_as(client, office_user)
    today = date.today()
    a = _asset_via_api(client, office, add_months(today, -1))
    rows = client.get(f"/api/v1/quality/return-visits?day={today}", headers=office).get_json()["items"]
    assert [(r["asset_id"], r["due_on"], r["customer_name"], r["phone"]) for r in rows] == [
        (a, str(today), "回访客户", "13700000000")]
    visit = rows[0]["id"]

    # Call back in three days: gone from today's list, on that day's.
    back = today + timedelta(days=3)
    r = client.post(f"/api/v1/quality/return-visits/{visit}/calls",
                    json={"outcome": "call_back", "call_back_on": str(back), "note": "客户在开会"}, headers=office)
    assert r.status_code == 201 and r.get_json()["next_call_on"] == str(back)
    assert client.get(f"/api/v1/quality/return-visits?day={today}", headers=office).get_json()["items"] == []
    assert [v["id"] for v in client.get(f"/api/v1/quality/return-visits?day={back}",
                                        headers=office).get_json()["items"]] == [visit]
    # Not reached: tomorrow by default.
    r = client.post(f"/api/v1/quality/return-visits/{visit}/calls", json={"outcome": "unreachable"}, headers=office)
    assert r.get_json()["next_call_on"] == str(today + timedelta(days=1))

    # A problem needs its description, then opens a ticket owned by the caller, in one step.
    missing = client.post(f"/api/v1/quality/return-visits/{visit}/calls", json={"outcome": "problem"},
                          headers=office)
    assert missing.status_code == 422
    r = client.post(f"/api/v1/quality/return-visits/{visit}/calls",
                    json={"outcome": "problem", "note": "说压缩机噪音大", "problem": {"summary": "压缩机噪音大"}},
                    headers=office)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "done" and body["outcome"] == "problem"
    assert [c["outcome"] for c in body["calls"]] == ["call_back", "unreachable", "problem"]
    ticket = db.session.get(Ticket, uuid.UUID(body["ticket_id"]))
    assert (str(ticket.asset_id), ticket.summary, ticket.owner_id, ticket.channel.value) == (
        a, "压缩机噪音大", office_user.id, "phone")
    assert ticket.response_due_at is not None  # the ticket's clocks run as for any report
    again = client.post(f"/api/v1/quality/return-visits/{visit}/calls", json={"outcome": "satisfied"},
                        headers=office)
    assert again.status_code == 409
    past = client.post(f"/api/v1/quality/return-visits/{rows[0]['id']}/calls",
                       json={"outcome": "call_back", "call_back_on": "2020-01-01"}, headers=office)
    assert past.status_code == 409  # already done: refused before anything else


def test_schedule_command_extends_every_asset(app, client, runner):
    office = f.login_as(client, f.user(Role.admin))
    today = date.today()
    f.asset(install_date=today - timedelta(days=800))  # made without the service: no schedule yet
    f.asset()  # no installation date: nothing to schedule
    assert db.session.query(ReturnVisit).count() == 0
    db.session.commit()
    result = runner.invoke(args=["return-visits-schedule"])
    assert result.exit_code == 0 and "2 asset(s)" not in result.output and "1 asset(s)" in result.output
    visits = db.session.scalars(select(ReturnVisit).order_by(ReturnVisit.due_on)).all()
    assert visits and visits[0].due_on >= today and all(v.status is ReturnVisitStatus.due for v in visits)
    assert all(v.sequence > 12 for v in visits)  # past its first year: quarterly
    count = len(visits)
    db.session.commit()
    again = client.post("/api/v1/quality/return-visits/schedule", headers=office)
    assert again.status_code == 200 and again.get_json()["added"] == 0
    assert db.session.query(ReturnVisit).count() == count
    tech = f.login_as(client, f.technician())
    assert client.get("/api/v1/quality/return-visits", headers=tech).status_code == 403


def test_the_daily_run_queues_one_reminder_per_call_due(app, client, runner):
    from server.notifications.models import Notification
    from server.quality.return_visits import remind

    office = f.login_as(client, f.user(Role.dispatcher))
    today = date.today()
    asset_id = _asset_via_api(client, office, add_months(today, -1))  # its customer has a phone
    silent = f.site(f.customer("无联系方式"))
    f.asset(silent, install_date=add_months(today, -1))
    db.session.commit()
    assert "1 reminder(s) queued" in runner.invoke(args=["return-visits-schedule"]).output
    notes = db.session.scalars(select(Notification).where(Notification.kind == "return_visit.reminder")).all()
    assert [n.payload["asset_id"] for n in notes] == [asset_id]
    assert notes[0].payload["phone"] == "13700000000" and "CH-300" in notes[0].body
    db.session.commit()
    from server.db import utcnow

    assert remind(db.session, day=today, now=utcnow()) == 0  # once per call
