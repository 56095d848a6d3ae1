"""On-call duty (值班): set by dispatchers and admins through the API, shown
with each candidate, and ranked: when nobody meets the deadline, calling out
someone on call comes before asking someone for overtime (unless overtime
would arrive more than DISPATCH_OVERTIME_PENALTY_MINUTES sooner), and needs
no override reason. Through the real HTTP stack, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.accounts.models import Role
from server.db import utcnow
from server.dispatch.models import DispatchAction
from server.extensions import db
from server.technicians.models import OnCallPeriod
from tests import factories as f
from tests.test_dispatch import SITE, candidates, names, tech_at


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


@pytest.fixture
def ticket(app):
    site = f.site(latitude=SITE[0], longitude=SITE[1])
    return f.ticket(ast=f.asset(site, product_line="chiller", model="CH-200"))


def off_shift(tech):
    tech.shifts.clear()
    db.session.commit()
    return tech


def on_call(client, headers, tech, *, starts=-1, ends=12, **extra):
    now = utcnow()
    return client.post(f"/api/v1/technicians/{tech.id}/on-call", headers=headers,
                       json={"starts_at": (now + timedelta(hours=starts)).isoformat(),
                             "ends_at": (now + timedelta(hours=ends)).isoformat(), **extra})


def flags(candidate) -> list[str]:
    return [flag["code"] for flag in candidate["flags"]]


def test_dispatchers_and_admins_set_on_call_duty_others_read_it(client, dispatcher):
    tech = f.technician(name="Sun")
    created = on_call(client, dispatcher, tech, note="周末值班")
    assert created.status_code == 201, created.get_json()
    period = created.get_json()
    assert period["note"] == "周末值班"
    admin = f.login_as(client, f.user(Role.admin))
    assert on_call(client, admin, tech, starts=24, ends=48).status_code == 201

    listed = client.get(f"/api/v1/technicians/{tech.id}/on-call", headers=dispatcher).get_json()["items"]
    assert [p["id"] for p in listed][0] == period["id"] and len(listed) == 2
    running = client.get(f"/api/v1/technicians/{tech.id}/on-call", headers=dispatcher,
                         query_string={"ends_after": (utcnow() + timedelta(hours=20)).isoformat()}).get_json()
    assert len(running["items"]) == 1
    detail = client.get(f"/api/v1/technicians/{tech.id}", headers=dispatcher).get_json()
    assert [p["id"] for p in detail["on_call"]][0] == period["id"]
    # The technician reads their own duty; nobody but the office sets it.
    own = f.login_as(client, tech)
    assert client.get(f"/api/v1/technicians/{tech.id}/on-call", headers=own).status_code == 200
    assert on_call(client, own, tech).status_code == 403
    warehouse = f.login_as(client, f.user(Role.warehouse))
    assert on_call(client, warehouse, tech).status_code == 403

    backwards = on_call(client, dispatcher, tech, starts=5, ends=1)
    assert backwards.status_code == 422, backwards.get_json()
    assert "ends_at" in str(backwards.get_json()["error"])
    removed = client.delete(f"/api/v1/technicians/{tech.id}/on-call/{period['id']}", headers=dispatcher)
    assert removed.status_code == 204
    again = client.delete(f"/api/v1/technicians/{tech.id}/on-call/{period['id']}", headers=dispatcher)
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "not_found"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OnCallPeriod)) == 1


def test_among_the_late_on_call_comes_before_overtime_unless_overtime_is_far_sooner(client, dispatcher, ticket):
    off_shift(tech_at(3, name="off shift, 3 km"))
    near_duty = off_shift(tech_at(10, name="on call, 10 km"))
    far_duty = off_shift(tech_at(100, name="on call, 100 km"))
    for tech in (near_duty, far_duty):
        assert on_call(client, dispatcher, tech).status_code == 201
    ended = off_shift(tech_at(1, name="on call yesterday, 1 km"))
    assert on_call(client, dispatcher, ended, starts=-30, ends=-6).status_code == 201

    body = candidates(client, dispatcher, ticket)
    assert body["outcome"] == "late_only" and body["candidates"] == []
    late = body["late_candidates"]
    # 10 km on call (about 16 min) before 3 km on overtime (about 5 min, counted 60 min later);
    # overtime 1 km and 3 km (65 min) before on call 100 km (156 min).
    assert names(late) == ["on call, 10 km", "on call yesterday, 1 km", "off shift, 3 km", "on call, 100 km"]
    by_name = {c["name"]: c for c in late}
    assert flags(by_name["on call, 10 km"]) == ["on_call"] and by_name["on call, 10 km"]["on_call"] is True
    assert by_name["on call, 10 km"]["needs_override"] is False
    assert flags(by_name["off shift, 3 km"]) == ["overtime"] and by_name["off shift, 3 km"]["on_call"] is False
    assert by_name["off shift, 3 km"]["needs_override"] is True
    assert flags(by_name["on call yesterday, 1 km"]) == ["overtime"]
    assert by_name["on call, 100 km"]["on_call"] is True


def test_on_call_outside_the_duty_or_on_shift(client, dispatcher, ticket):
    # On shift and on call: an ordinary in-time candidate, marked on call.
    both = tech_at(2, name="on shift, on call")
    assert on_call(client, dispatcher, both).status_code == 201
    body = candidates(client, dispatcher, ticket)
    assert body["outcome"] == "in_time"
    (row,) = body["candidates"]
    assert row["on_call"] is True and row["flags"] == [] and row["needs_override"] is False


def test_calling_out_someone_on_call_needs_no_reason_and_is_recorded(client, dispatcher, ticket):
    duty = off_shift(tech_at(5, name="on call"))
    overtime = off_shift(tech_at(3, name="overtime"))
    assert on_call(client, dispatcher, duty).status_code == 201
    refused = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=dispatcher,
                          json={"technician_id": str(overtime.id)})
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["overridable"] is True
    assigned = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=dispatcher,
                           json={"technician_id": str(duty.id)})
    assert assigned.status_code == 201, assigned.get_json()
    body = assigned.get_json()
    assert body["override"]["flags"] == ["on_call"] and body["override"]["reason"] is None
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert (action.kind, action.technician_id, action.flags) == ("override", duty.id, "on_call")
    history = client.get(f"/api/v1/tickets/{ticket.id}", headers=dispatcher).get_json()["events"]
    assert "override: on_call" in history[-1]["note"]


def test_on_call_does_not_excuse_leave_or_the_job_limit(client, dispatcher, ticket):
    from server.technicians.models import ShiftException

    busy = off_shift(tech_at(2, name="on call, at the limit", max_open_jobs=1))
    f.job(f.ticket(), busy)
    assert on_call(client, dispatcher, busy).status_code == 201
    away = off_shift(tech_at(1, name="on call, on leave"))
    assert on_call(client, dispatcher, away, ends=24 * 10).status_code == 201
    db.session.add(ShiftException(technician_id=away.id, kind="leave", starts_at=utcnow() - timedelta(hours=1),
                                  ends_at=utcnow() + timedelta(days=2)))
    db.session.commit()
    late = {c["name"]: c for c in candidates(client, dispatcher, ticket)["late_candidates"]}
    assert flags(late["on call, at the limit"]) == ["on_call", "overloaded"]
    assert late["on call, at the limit"]["needs_override"] is True
    assert flags(late["on call, on leave"])[0] == "on_leave" and "on_call" in flags(late["on call, on leave"])
    refused = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=dispatcher,
                          json={"technician_id": str(busy.id)})
    assert refused.status_code == 409
