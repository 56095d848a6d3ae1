"""Dispatcher actions on jobs: cancel and reassign, with their refusals."""

from __future__ import annotations

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import JobStatus
from server.stock.ledger import record_movement, reserve_part
from server.stock.models import MovementKind, StockLevel
from tests import factories as f


def _office(client):
    return f.login_as(client, f.user(Role.dispatcher))


def test_cancel_releases_reserved_stock(client):
    tech = f.technician()
    job = f.job(tech=tech)
    part = f.part()
    record_movement(db.session, kind=MovementKind.issued_in, location_id=tech.van_location_id, part_id=part.id,
                    quantity=2, at=utcnow())
    reserve_part(db.session, location_id=tech.van_location_id, part_id=part.id, quantity=2, job_id=job.id)
    db.session.commit()
    response = client.post(f"/api/v1/jobs/{job.id}/cancel", json={"reason": "duplicate"}, headers=_office(client))
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled" and response.headers["ETag"] == '"2"'
    db.session.expire_all()
    assert db.session.get(StockLevel, (tech.van_location_id, part.id)).reserved == 0


def test_refusals(client):
    first, second = f.technician(), f.technician()
    office = _office(client)
    done = f.job(tech=first, status=JobStatus.completed)
    assert client.post(f"/api/v1/jobs/{done.id}/cancel", json={}, headers=office).status_code == 409
    assert client.post(f"/api/v1/jobs/{done.id}/reassign", json={"technician_id": str(second.id)},
                       headers=office).status_code == 409
    job = f.job(tech=first)
    stale = client.post(f"/api/v1/jobs/{job.id}/cancel", json={}, headers={**office, "If-Match": '"7"'})
    assert stale.status_code == 412
    same = client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(first.id)}, headers=office)
    assert same.status_code == 422
    technician = f.login_as(client, first)
    assert client.post(f"/api/v1/jobs/{job.id}/cancel", json={}, headers=technician).status_code == 403
    moved = client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(second.id)},
                        headers={**office, "If-Match": '"1"'})
    assert moved.status_code == 200 and moved.get_json()["technician_id"] == str(second.id)
