"""Dispatch is never a dead end, and distance is measured from the
better-founded position: through the real HTTP stack, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from server.accounts.models import Role
from server.db import utcnow
from server.dispatch.models import DispatchAction
from server.extensions import db
from server.jobs.models import Job, JobStatus
from server.technicians.models import ShiftException
from server.tickets.models import Ticket, TicketStatus
from tests import factories as f
from tests.test_dispatch import SITE, candidates, names, north_of_site, tech_at


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


@pytest.fixture
def site(app):
    return f.site(latitude=SITE[0], longitude=SITE[1])


@pytest.fixture
def ticket(site):
    return f.ticket(ast=f.asset(site, product_line="chiller", model="CH-200"))


def off_shift(tech):
    tech.shifts.clear()
    db.session.commit()
    return tech


def on_leave(tech, days=3):
    db.session.add(ShiftException(technician_id=tech.id, kind="leave", starts_at=utcnow() - timedelta(hours=1),
                                  ends_at=utcnow() + timedelta(days=days)))
    db.session.commit()
    return tech


def flags(candidate) -> list[str]:
    return [flag["code"] for flag in candidate["flags"]]


def test_when_nobody_is_available_the_soonest_arrivals_are_ranked_with_what_they_override(client, dispatcher,
                                                                                          ticket):
    on_leave(tech_at(1, name="on leave, 1 km"))
    off_shift(tech_at(3, name="off shift, 3 km"))
    busy = tech_at(2, name="overloaded, 2 km", max_open_jobs=1)
    f.job(f.ticket(), busy, status=JobStatus.assigned)
    tech_at(0.5, name="boilers only", product_lines=("boiler",))
    expired = tech_at(0.7, name="expired")
    expired.certifications[0].certified_on = date.today() - timedelta(days=400)
    expired.certifications[0].expires_on = date.today() - timedelta(days=2)
    db.session.commit()

    body = candidates(client, dispatcher, ticket)
    assert body["candidates"] == []
    assert body["outcome"] == "late_only" and "reason" in body["message"]
    late = body["late_candidates"]
    # Soonest arrival first: the two who can set off now (nearest first), then the one whose leave ends in 3 days.
    assert names(late) == ["overloaded, 2 km", "off shift, 3 km", "on leave, 1 km"]
    assert [c["rank"] for c in late] == [1, 2, 3]
    assert flags(late[0]) == ["overloaded"]
    assert flags(late[1]) == ["overtime"]
    assert flags(late[2])[0] == "on_leave"
    assert all(c["needs_override"] for c in late)
    # The 24-hour deadline: setting off now is in time, three days of leave is not.
    assert late[0]["meets_deadline"] and late[0]["late_by_minutes"] is None
    assert not late[2]["meets_deadline"] and late[2]["late_by_minutes"] > 48 * 60
    # Never anyone without a valid certification.
    assert {"boilers only", "expired"}.isdisjoint(names(late))


def test_an_overdue_ticket_ranks_who_could_come_soonest_and_says_how_late(client, dispatcher, site):
    tkt = f.ticket(ast=f.asset(site), received_at=utcnow() - timedelta(hours=30))
    tech_at(40, name="on shift, 40 km")
    off_shift(tech_at(10, name="off shift, 10 km"))
    body = candidates(client, dispatcher, tkt)
    assert names(body["candidates"]) == ["on shift, 40 km"]
    assert body["outcome"] == "late_only"
    late = body["late_candidates"]
    # Overtime counts as arriving an hour later (DISPATCH_OVERTIME_PENALTY_MINUTES): 10 km on overtime
    # (16 min + 60) comes after 40 km on shift (62 min).
    assert names(late) == ["on shift, 40 km", "off shift, 10 km"]
    assert flags(late[1]) == ["overtime"] and flags(late[0]) == []
    assert late[0]["needs_override"] is False
    # Six hours past the deadline plus the drive.
    assert late[0]["late_by_minutes"] == pytest.approx(6 * 60 + late[0]["eta_minutes"], abs=1)


def test_nobody_certified_is_said_plainly(client, dispatcher, ticket):
    tech_at(1, name="boilers only", product_lines=("boiler",))
    body = candidates(client, dispatcher, ticket)
    assert body["outcome"] == "none_certified"
    assert body["candidates"] == [] and body["late_candidates"] == []
    assert "nobody holds a valid certification for chiller" in body["message"]


def test_in_time_is_the_ordinary_outcome(client, dispatcher, ticket):
    tech_at(1, name="free")
    body = candidates(client, dispatcher, ticket)
    assert body["outcome"] == "in_time" and body["late_candidates"] == []


def assign(client, headers, tkt, tech, **extra):
    return client.post(f"/api/v1/tickets/{tkt.id}/assign", headers=headers,
                       json={"technician_id": str(tech.id), **extra})


def test_an_off_shift_technician_is_assigned_only_with_a_reason_which_is_recorded(client, dispatcher, ticket):
    tech = off_shift(tech_at(2, name="Sun"))
    refused = assign(client, dispatcher, ticket, tech)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "technician_unavailable" and error["details"]["overridable"] is True
    assert "override_reason" in error["message"]

    response = assign(client, dispatcher, ticket, tech, override_reason="Sunday: Sun agreed to come in")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["override"]["kind"] == "override"
    assert body["override"]["flags"] == ["overtime"]
    assert body["override"]["reason"] == "Sunday: Sun agreed to come in"

    action = db.session.scalars(sa.select(DispatchAction)).one()
    job = db.session.get(Job, uuid.UUID(body["job"]["id"]))
    assert action.job_id == job.id and action.ticket_id == ticket.id and action.technician_id == tech.id
    assert action.by_user_id is not None
    row = db.session.get(Ticket, ticket.id)
    assert row.status is TicketStatus.dispatched
    assert "Sunday: Sun agreed to come in" in row.events[-1].note and "overtime" in row.events[-1].note
    # The ticket's history in the API carries it too.
    history = client.get(f"/api/v1/tickets/{ticket.id}", headers=dispatcher).get_json()
    assert any("Sun agreed" in (e.get("note") or "") for e in history["events"])


def test_a_late_assignment_is_recorded_with_how_late(client, dispatcher, site):
    tkt = f.ticket(ast=f.asset(site), received_at=utcnow() - timedelta(hours=30))
    tech = tech_at(10, name="on shift")
    response = assign(client, dispatcher, tkt, tech, override_reason="customer agreed to the afternoon")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["meets_deadline"] is False
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert action.flags == "late" and action.late_by_minutes >= 6 * 60
    assert action.reason == "customer agreed to the afternoon"


def test_no_reason_overrides_a_missing_certification(client, dispatcher, ticket):
    tech = tech_at(1, product_lines=("boiler",))
    response = assign(client, dispatcher, ticket, tech, override_reason="nobody else")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["details"]["overridable"] is False
    assert [r["code"] for r in error["details"]["reasons"]] == ["not_certified"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_an_empty_reason_is_refused_as_bad_input(client, dispatcher, ticket):
    tech = off_shift(tech_at(2))
    response = assign(client, dispatcher, ticket, tech, override_reason="")
    assert response.status_code == 422


# --- stale positions -------------------------------------------------------------------------------------------

def test_a_stale_fix_gives_way_to_the_home_base_and_says_so(client, dispatcher, ticket):
    tech = tech_at(2, name="home 2 km, stale fix 50 km")
    tech.last_latitude, tech.last_longitude = north_of_site(50)
    tech.last_position_at = utcnow() - timedelta(hours=3)
    fresh = tech_at(30, name="home 30 km, fresh fix 5 km")
    fresh.last_latitude, fresh.last_longitude = north_of_site(5)
    fresh.last_position_at = utcnow() - timedelta(minutes=5)
    db.session.commit()

    body = candidates(client, dispatcher, ticket)
    assert names(body["candidates"]) == ["home 2 km, stale fix 50 km", "home 30 km, fresh fix 5 km"]
    stale, fresh_row = body["candidates"]
    assert stale["distance_km"] == pytest.approx(2, abs=0.05)
    assert stale["position"]["source"] == "home_base" and stale["position"]["stale"] is True
    assert "home base" in stale["position"]["explanation"] and "stale" in stale["position"]["explanation"]
    assert any("home base" in note for note in stale["notes"])
    assert fresh_row["distance_km"] == pytest.approx(5, abs=0.05)
    assert fresh_row["position"]["source"] == "last_known" and fresh_row["position"]["stale"] is False
    assert "last known position" in fresh_row["position"]["explanation"]

    # Assigning measures from the same position: the arrival matches what was shown.
    response = assign(client, dispatcher, ticket, tech)
    assert response.status_code == 201
    arrival = response.get_json()["arrival_at"]
    assert abs((_parse(arrival) - _parse(stale["arrival_at"])).total_seconds()) < 120


def _parse(text):
    from datetime import datetime

    return datetime.fromisoformat(text)
