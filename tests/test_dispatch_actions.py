"""Reassigning and cancelling with a reason, recorded for the monthly
statistics and in the ticket's history; a cancelled ticket's clocks stop.
Through the real HTTP stack, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.accounts.models import Role
from server.db import utcnow
from server.dispatch.models import DispatchAction
from server.extensions import db
from server.jobs.models import JobStatus
from server.tickets import clocks
from server.tickets.models import Ticket, TicketStatus
from tests import factories as f


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


def test_a_reassignment_records_who_from_whom_and_why(client, dispatcher):
    first, second = f.technician(name="Qian"), f.technician(name="Zhou")
    job = f.job(tech=first)
    response = client.post(f"/api/v1/jobs/{job.id}/reassign", headers=dispatcher,
                           json={"technician_id": str(second.id), "reason": "Qian is ill"})
    assert response.status_code == 200, response.get_json()
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert (action.kind, action.from_technician_id, action.technician_id, action.reason) == \
        ("reassign", first.id, second.id, "Qian is ill")
    history = client.get(f"/api/v1/tickets/{job.ticket_id}", headers=dispatcher).get_json()["events"]
    assert history[-1]["kind"] == "job_reassign"
    assert history[-1]["note"] == "reassigned from Qian to Zhou: Qian is ill"


def test_cancelling_a_ticket_records_the_reason_and_stops_its_clocks(client, dispatcher):
    received = utcnow() - timedelta(hours=1)
    ticket = f.ticket(received_at=received)
    job = f.job(ticket, f.technician(), status=JobStatus.assigned)
    db.session.get(Ticket, ticket.id).status = TicketStatus.dispatched
    db.session.commit()
    response = client.post(f"/api/v1/tickets/{ticket.id}/transitions", headers=dispatcher,
                           json={"to": "cancelled", "note": "customer fixed it themselves"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "cancelled" and body["closed_at"] is not None
    action = db.session.scalars(sa.select(DispatchAction)).one()
    assert (action.kind, action.job_id, action.reason) == ("cancel", job.id, "customer fixed it themselves")
    assert any(e["kind"] == "job_cancel" for e in body["events"])

    # Long after every due time, nothing more counts as missed: the clocks stopped at the cancellation.
    row = db.session.get(Ticket, ticket.id)
    assert clocks.breached_clocks(row, utcnow() + timedelta(days=10)) == []


def test_a_dispatcher_sends_the_suggested_spare_unit_through_transit_to_the_site(client, dispatcher):
    from server.stock.models import LocationKind, SpareUnit, SpareUnitStatus

    site = f.site()
    ticket = f.ticket(st=site, ast=f.asset(site, model="CH-200"))
    tech, courier = f.technician(name="on site"), f.technician(name="Courier Wu")
    job = f.job(ticket, tech, status=JobStatus.on_site, arrived_at=utcnow() - timedelta(hours=5))
    store = f.location(LocationKind.service_station, code="ST-SH-1")
    unit = f.spare_unit(store, model="CH-200", serial_number="SU-77")
    db.session.commit()

    suggestion = client.get(f"/api/v1/jobs/{job.id}/swap-suggestion", headers=dispatcher).get_json()
    assert suggestion["options"][0]["serial_number"] == "SU-77" and suggestion["on_its_way"] == []
    sent = client.post(f"/api/v1/jobs/{job.id}/spare-unit", headers=dispatcher,
                       json={"spare_unit_id": str(unit.id), "courier_id": str(courier.id)})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["status"] == "in_transit"
    again = client.get(f"/api/v1/jobs/{job.id}/swap-suggestion", headers=dispatcher).get_json()
    assert [u["serial_number"] for u in again["on_its_way"]] == ["SU-77"]
    assert again["options"] == []  # the only unit is on its way

    arrived = client.post(f"/api/v1/jobs/{job.id}/spare-unit/arrived", headers=dispatcher,
                          json={"spare_unit_id": str(unit.id)})
    assert arrived.status_code == 200, arrived.get_json()
    row = db.session.get(SpareUnit, unit.id)
    db.session.refresh(row)
    assert (row.status, row.location_id, row.site_id) == (SpareUnitStatus.loaned, None, site.id)
    history = client.get("/api/v1/stock/serials/SU-77/history", headers=dispatcher).get_json()["events"]
    assert [(e["event"], e["status"]) for e in history][-2:] == [("ship_to_site", "in_transit"), ("loan", "loaned")]
    assert "Courier Wu" in history[-2]["note"] and "ST-SH-1" in history[-2]["note"]
    notes = [e["note"] for e in client.get(f"/api/v1/tickets/{ticket.id}", headers=dispatcher).get_json()["events"]]
    assert any("SU-77" in (n or "") and "Courier Wu" in (n or "") for n in notes)


def test_a_spare_unit_of_another_model_is_refused(client, dispatcher):
    from server.stock.models import LocationKind

    site = f.site()
    job = f.job(f.ticket(st=site, ast=f.asset(site, model="CH-200")), f.technician(), status=JobStatus.on_site)
    unit = f.spare_unit(f.location(LocationKind.service_station), model="BX-9")
    response = client.post(f"/api/v1/jobs/{job.id}/spare-unit", headers=dispatcher,
                           json={"spare_unit_id": str(unit.id)})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "spare_unit_wrong_model"


def test_the_recorded_decisions_are_listed_for_the_monthly_statistics(client, dispatcher):
    first, second = f.technician(), f.technician()
    job = f.job(tech=first)
    client.post(f"/api/v1/jobs/{job.id}/reassign", headers=dispatcher,
                json={"technician_id": str(second.id), "reason": "ill"})
    client.post(f"/api/v1/jobs/{job.id}/cancel", headers=dispatcher, json={"reason": "not needed"})
    page = client.get("/api/v1/dispatch/actions", headers=dispatcher).get_json()
    assert [(a["kind"], a["reason"]) for a in page["items"]] == [("reassign", "ill"), ("cancel", "not needed")]
    only = client.get("/api/v1/dispatch/actions", headers=dispatcher, query_string={"kind": "cancel"}).get_json()
    assert [a["kind"] for a in only["items"]] == ["cancel"]
    later = client.get("/api/v1/dispatch/actions", headers=dispatcher,
                       query_string={"since": (utcnow() + timedelta(hours=1)).isoformat()}).get_json()
    assert later["items"] == []
    technician = f.login_as(client, f.technician())
    assert client.get("/api/v1/dispatch/actions", headers=technician).status_code == 403


# --- a reassignment passes the same checks as an assignment ------------------------------------------------------

def _reassign(client, headers, job, tech, **extra):
    return client.post(f"/api/v1/jobs/{job.id}/reassign", headers=headers,
                       json={"technician_id": str(tech.id), "reason": "first one is ill", **extra})


def test_a_reassignment_never_goes_to_someone_without_a_valid_certification(client, dispatcher):
    from datetime import date

    job = f.job(tech=f.technician(name="Qian"))
    boilers = f.technician(name="boilers only", product_lines=("boiler",))
    refused = _reassign(client, dispatcher, job, boilers, override_reason="nobody else is free")
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "technician_unavailable" and error["details"]["overridable"] is False
    assert [r["code"] for r in error["details"]["reasons"]] == ["not_certified"]
    expired = f.technician(name="expired")
    expired.certifications[0].certified_on = date.today() - timedelta(days=400)
    expired.certifications[0].expires_on = date.today() - timedelta(days=2)
    db.session.commit()
    refused = _reassign(client, dispatcher, job, expired, override_reason="nobody else is free")
    assert refused.status_code == 409
    assert [r["code"] for r in refused.get_json()["error"]["details"]["reasons"]] == ["certification_expired"]
    db.session.expire_all()
    assert db.session.get(type(job), job.id).technician_id != boilers.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DispatchAction)) == 0


def test_reassigning_to_someone_off_shift_needs_an_override_reason_recorded_as_an_override(client, dispatcher):
    job = f.job(tech=f.technician(name="Qian"))
    sun = f.technician(name="Sun")
    sun.shifts.clear()
    db.session.commit()
    refused = _reassign(client, dispatcher, job, sun)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "technician_unavailable" and error["details"]["overridable"] is True
    assert [r["code"] for r in error["details"]["reasons"]] == ["off_shift"]
    assert "override_reason" in error["message"]

    moved = _reassign(client, dispatcher, job, sun, override_reason="Sun agreed to come in")
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["technician_id"] == str(sun.id)
    actions = {a.kind: a for a in db.session.scalars(sa.select(DispatchAction))}
    assert set(actions) == {"reassign", "override"}
    assert actions["reassign"].reason == "first one is ill"
    override = actions["override"]
    assert (override.job_id, override.technician_id, override.flags, override.reason) == \
        (job.id, sun.id, "overtime", "Sun agreed to come in")
    history = client.get(f"/api/v1/tickets/{job.ticket_id}", headers=dispatcher).get_json()["events"]
    assert history[-1]["note"] == ("reassigned from Qian to Sun: first one is ill "
                                   "(override: overtime; reason: Sun agreed to come in)")
    # Listed with the assignments' overrides (the monthly statistics count these).
    page = client.get("/api/v1/dispatch/actions", query_string={"kind": "override"}, headers=dispatcher).get_json()
    assert [(a["flags"], a["reason"]) for a in page["items"]] == [(["overtime"], "Sun agreed to come in")]


def test_reassigning_to_someone_on_leave_or_at_their_limit_needs_a_reason_too(client, dispatcher):
    from server.technicians.models import ShiftException

    job = f.job(tech=f.technician())
    away = f.technician(name="on leave")
    db.session.add(ShiftException(technician_id=away.id, kind="leave", starts_at=utcnow() - timedelta(hours=1),
                                  ends_at=utcnow() + timedelta(days=3)))
    busy = f.technician(name="busy", max_open_jobs=1)
    f.job(f.ticket(), busy)
    db.session.commit()
    for tech, code in ((away, "on_leave"), (busy, "overloaded")):
        refused = _reassign(client, dispatcher, job, tech)
        assert refused.status_code == 409
        assert [r["code"] for r in refused.get_json()["error"]["details"]["reasons"]] == [code]
    moved = _reassign(client, dispatcher, job, busy, override_reason="the customer asked for them")
    assert moved.status_code == 200, moved.get_json()
    override = db.session.scalars(sa.select(DispatchAction).where(DispatchAction.kind == "override")).one()
    assert override.flags == "overloaded"


def test_a_late_reassignment_is_recorded_with_how_late(client, dispatcher):
    ticket = f.ticket(received_at=utcnow() - timedelta(hours=30))
    job = f.job(ticket, f.technician())
    on_shift = f.technician(name="on shift")
    moved = _reassign(client, dispatcher, job, on_shift, override_reason="customer agreed to the afternoon")
    assert moved.status_code == 200, moved.get_json()
    override = db.session.scalars(sa.select(DispatchAction).where(DispatchAction.kind == "override")).one()
    assert override.flags == "late" and override.late_by_minutes >= 6 * 60
    assert override.reason == "customer agreed to the afternoon"


def test_a_reassignment_of_a_ticket_without_asset_names_its_product_line(client, dispatcher):
    ticket = f.ticket()
    ticket.asset_id = None
    db.session.commit()
    job = f.job(ticket, f.technician())
    other = f.technician(product_lines=("boiler",))
    unknown = _reassign(client, dispatcher, job, other)
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["code"] == "product_line_unknown"
    assert unknown.get_json()["error"]["fields"]["json"]["product_line"]
    assert _reassign(client, dispatcher, job, other, product_line="chiller").status_code == 409
    assert _reassign(client, dispatcher, job, other, product_line="boiler").status_code == 200
