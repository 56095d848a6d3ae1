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


def _levels(client, headers, location_id, part_id) -> dict:
    response = client.get("/api/v1/stock/levels", query_string={"location_id": str(location_id),
                                                                "part_id": str(part_id)}, headers=headers)
    assert response.status_code == 200, response.get_json()
    (level,) = response.get_json()["items"]
    return {k: level[k] for k in ("on_hand", "reserved", "available")}


def test_reassigning_gives_the_old_vans_holds_back_and_keeps_the_warehouses(client):
    """The rule (docs/stock.md): stock held in the former technician's van stays in that van and goes back to
    its available stock (only its technician can take parts from it); holds at warehouses and stations stay
    with the job, for the new technician to collect. Nothing dangles, nothing is counted twice."""
    from server.stock.ledger import reserve_spare_unit
    from server.stock.models import SpareUnit, SpareUnitStatus, StockLocation
    from tests.syncing import Handheld, part_usage

    first, second = f.technician(), f.technician()
    warehouse = f.location()
    job = f.job(tech=first)
    part = f.part()
    old_van = first.van_location_id
    for location, quantity in ((old_van, 3), (warehouse.id, 5)):
        record_movement(db.session, kind=MovementKind.issued_in, location_id=location, part_id=part.id,
                        quantity=quantity, at=utcnow())
    in_van = reserve_part(db.session, location_id=old_van, part_id=part.id, quantity=2, job_id=job.id)
    at_warehouse = reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=1, job_id=job.id)
    unit = f.spare_unit(db.session.get(StockLocation, old_van))
    unit_hold = reserve_spare_unit(db.session, spare_unit_id=unit.id, job_id=job.id)
    db.session.commit()
    in_van_id, at_warehouse_id, unit_hold_id = str(in_van.id), str(at_warehouse.id), str(unit_hold.id)
    office = _office(client)
    assert _levels(client, office, old_van, part.id) == {"on_hand": 3, "reserved": 2, "available": 1}
    assert _levels(client, office, warehouse.id, part.id) == {"on_hand": 5, "reserved": 1, "available": 4}
    old_device = Handheld(client, first)
    old_device.pull()

    moved = client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(second.id)}, headers=office)
    assert moved.status_code == 200, moved.get_json()
    holds = {r["id"]: (r["status"], r["release_reason"]) for r in moved.get_json()["reservations"]}
    assert holds == {in_van_id: ("released", "job_reassigned"), unit_hold_id: ("released", "job_reassigned"),
                     at_warehouse_id: ("active", None)}
    assert _levels(client, office, old_van, part.id) == {"on_hand": 3, "reserved": 0, "available": 3}
    assert _levels(client, office, warehouse.id, part.id) == {"on_hand": 5, "reserved": 1, "available": 4}
    db.session.expire_all()
    assert db.session.get(SpareUnit, unit.id).status is SpareUnitStatus.available
    listed = client.get("/api/v1/stock/reservations", query_string={"job_id": str(job.id)}, headers=office)
    assert {r["id"]: r["release_reason"] for r in listed.get_json()["items"]}[in_van_id] == "job_reassigned"
    # The former technician's device sees its van's stock free again.
    old_device.pull()
    assert old_device.copy[("stock_levels", f"{old_van}:{part.id}")]["reserved"] == 0

    # The new technician takes the warehouse's held part: the hold is consumed, not counted twice.
    new_device = Handheld(client, second, device_id="handheld-2")
    new_device.pull()
    answer = new_device.push([part_usage(job.id, part.id, location_id=str(warehouse.id))])
    assert answer["results"][0]["status"] == "applied"
    assert _levels(client, office, warehouse.id, part.id) == {"on_hand": 4, "reserved": 0, "available": 4}
    # The former technician used one from their van before they knew: it comes off their van, once.
    answer = old_device.push([part_usage(job.id, part.id)])
    assert answer["results"][0]["status"] == "merged"  # kept, with a reassigned_while_worked conflict
    assert _levels(client, office, old_van, part.id) == {"on_hand": 2, "reserved": 0, "available": 2}


def test_reassigning_keeps_holds_in_the_new_technicians_van(client):
    first, second = f.technician(), f.technician()
    job = f.job(tech=first)
    part = f.part()
    record_movement(db.session, kind=MovementKind.issued_in, location_id=second.van_location_id, part_id=part.id,
                    quantity=1, at=utcnow())
    hold = reserve_part(db.session, location_id=second.van_location_id, part_id=part.id, quantity=1, job_id=job.id)
    db.session.commit()
    hold_id = str(hold.id)
    office = _office(client)
    moved = client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(second.id)}, headers=office)
    assert [(r["id"], r["status"]) for r in moved.get_json()["reservations"]] == [(hold_id, "active")]
    assert _levels(client, office, second.van_location_id, part.id)["reserved"] == 1


def test_cancelling_releases_every_hold_and_says_why(client):
    from server.stock.ledger import reserve_spare_unit
    from server.stock.models import SpareUnit, SpareUnitStatus

    tech = f.technician()
    warehouse = f.location()
    job = f.job(tech=tech)
    part = f.part()
    record_movement(db.session, kind=MovementKind.issued_in, location_id=warehouse.id, part_id=part.id, quantity=4,
                    at=utcnow())
    reserve_part(db.session, location_id=warehouse.id, part_id=part.id, quantity=3, job_id=job.id)
    unit = f.spare_unit(warehouse)
    reserve_spare_unit(db.session, spare_unit_id=unit.id, job_id=job.id)
    db.session.commit()
    office = _office(client)
    assert _levels(client, office, warehouse.id, part.id) == {"on_hand": 4, "reserved": 3, "available": 1}
    response = client.post(f"/api/v1/jobs/{job.id}/cancel", json={}, headers=office)
    assert response.status_code == 200
    assert sorted((r["status"], r["release_reason"]) for r in response.get_json()["reservations"]) == [
        ("released", "job_cancelled"), ("released", "job_cancelled")]
    assert _levels(client, office, warehouse.id, part.id) == {"on_hand": 4, "reserved": 0, "available": 4}
    db.session.expire_all()
    assert db.session.get(SpareUnit, unit.id).status is SpareUnitStatus.available


def test_cancelling_a_dispatched_ticket_cancels_its_job_and_releases_its_stock(client):
    from server.jobs.models import Job
    from tests.syncing import Handheld

    tech = f.technician()
    ticket = f.ticket(status="dispatched")
    job = f.job(tkt=ticket, tech=tech)
    done = f.job(tkt=ticket, tech=tech, status=JobStatus.completed)
    part = f.part()
    record_movement(db.session, kind=MovementKind.issued_in, location_id=tech.van_location_id, part_id=part.id,
                    quantity=2, at=utcnow())
    reserve_part(db.session, location_id=tech.van_location_id, part_id=part.id, quantity=2, job_id=job.id)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    office = _office(client)
    assert _levels(client, office, tech.van_location_id, part.id)["available"] == 0
    response = client.post(f"/api/v1/tickets/{ticket.id}/transitions", json={"to": "cancelled", "note": "duplicate"},
                           headers=office)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert db.session.get(Job, job.id).status is JobStatus.cancelled
    assert db.session.get(Job, done.id).status is JobStatus.completed
    assert _levels(client, office, tech.van_location_id, part.id) == {"on_hand": 2, "reserved": 0, "available": 2}
    device.pull()
    assert device.copy[("jobs", str(job.id))]["status"] == "cancelled"
    assert device.copy[("stock_levels", f"{tech.van_location_id}:{part.id}")]["reserved"] == 0
