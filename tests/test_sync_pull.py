"""Pull: a first sync of the whole scope, paginated; incremental changes with
tombstones; scope exits on reassignment; the device's own writes never come
back to resurrect what it deleted; retention and resync; scope refusals."""

from __future__ import annotations

import uuid
from datetime import timedelta

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Adjustment, Job
from server.stock.ledger import record_movement
from server.stock.models import MovementKind, StockLocation
from sync import changelog
from tests import factories as f
from tests.syncing import Handheld, adjustment, check_in, op


def _scope(tech):
    job = f.job(tech=tech)
    part = f.part()
    van = tech.van_location_id
    record_movement(db.session, kind=MovementKind.issued_in, location_id=van, part_id=part.id, quantity=5,
                    at=utcnow())
    unit = f.spare_unit(db.session.get(StockLocation, van))
    db.session.commit()
    return job, part, unit


def test_first_sync_brings_the_whole_scope_and_nothing_else(client):
    tech, other = f.technician(), f.technician()
    job, part, unit = _scope(tech)
    their_job = f.job(tech=other)
    device = Handheld(client, tech)
    device.pull()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    ticket = job.ticket
    expected = {("jobs", str(job.id)), ("tickets", str(ticket.id)), ("customers", str(ticket.customer_id)),
                ("sites", str(ticket.site_id)), ("assets", str(ticket.asset_id)), ("parts", str(part.id)),
                ("stock_levels", f"{tech.van_location_id}:{part.id}"), ("spare_units", str(unit.id))}
    assert expected <= set(device.copy)
    assert ("jobs", str(their_job.id)) not in device.copy
    their_ticket = db.session.get(Job, their_job.id).ticket
    assert ("customers", str(their_ticket.customer_id)) not in device.copy
    assert device.copy[("stock_levels", f"{tech.van_location_id}:{part.id}")]["on_hand"] == 5
    assert device.copy[("jobs", str(job.id))]["status"] == "assigned"
    assert "owner_id" not in device.copy[("tickets", str(ticket.id))]


def test_pages_deliver_every_record_once(client):
    tech = f.technician()
    jobs = [f.job(tech=tech) for _ in range(6)]
    device = Handheld(client, tech)
    received = device.pull(limit=4)
    keys = [(c["table"], c["id"]) for c in received]
    assert len(keys) == len(set(keys))
    assert {("jobs", str(j.id)) for j in jobs} <= set(keys)


def test_incremental_pull_brings_only_changes(client):
    tech = f.technician()
    job, part, _unit = _scope(tech)
    device = Handheld(client, tech)
    device.pull()
    assert device.pull() == []
    office = f.login_as(client, f.user(Role.dispatcher))
    client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "high"}, headers=office)
    record_movement(db.session, kind=MovementKind.issued_in, location_id=tech.van_location_id, part_id=part.id,
                    quantity=2, at=utcnow())
    db.session.commit()
    changes = device.pull()
    assert sorted(c["table"] for c in changes) == ["jobs", "stock_levels"]
    assert device.copy[("jobs", str(job.id))]["priority"] == "high"
    assert device.versions[("jobs", str(job.id))] == 2
    assert device.copy[("stock_levels", f"{tech.van_location_id}:{part.id}")]["on_hand"] == 7


def test_deletions_arrive_as_tombstones(client):
    tech = f.technician()
    job = f.job(tech=tech)
    record = Adjustment(job_id=job.id, parameter="temp")
    db.session.add(record)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    assert ("adjustments", str(record.id)) in device.copy
    db.session.delete(record)
    db.session.commit()
    changes = device.pull()
    assert changes == [{"table": "adjustments", "id": str(record.id), "version": 1, "deleted": True,
                        "reason": "deleted"}]
    assert ("adjustments", str(record.id)) not in device.copy


def test_reassigned_job_leaves_the_old_device_with_what_only_it_needed(client):
    first, second = f.technician(), f.technician()
    shared_ticket = f.ticket()
    moving = f.job(tkt=shared_ticket, tech=first)
    staying = f.job(tkt=shared_ticket, tech=first)
    lonely = f.job(tech=first)
    old_device = Handheld(client, first)
    old_device.push([adjustment(lonely.id)])
    old_device.pull()
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.post(f"/api/v1/jobs/{moving.id}/reassign", json={"technician_id": str(second.id)},
                       headers=office).status_code == 200
    assert client.post(f"/api/v1/jobs/{lonely.id}/reassign", json={"technician_id": str(second.id)},
                       headers=office).status_code == 200
    gone = {(c["table"], c["id"]) for c in old_device.pull() if c["deleted"]}
    lonely_ticket = db.session.get(Job, lonely.id).ticket
    assert ("jobs", str(moving.id)) in gone and ("jobs", str(lonely.id)) in gone
    assert ("tickets", str(lonely_ticket.id)) in gone and ("customers", str(lonely_ticket.customer_id)) in gone
    assert any(table == "adjustments" for table, _ in gone)
    # The shared ticket is still needed by the job that stayed.
    assert ("tickets", str(shared_ticket.id)) not in gone
    assert ("tickets", str(shared_ticket.id)) in old_device.copy
    assert ("jobs", str(staying.id)) in old_device.copy
    new_device = Handheld(client, second, device_id="handheld-2")
    new_device.pull()
    assert ("jobs", str(lonely.id)) in new_device.copy and ("tickets", str(lonely_ticket.id)) in new_device.copy
    assert any(table == "adjustments" for table, _ in new_device.copy)


def test_a_job_assigned_later_brings_records_logged_long_before(client):
    tech = f.technician()
    device = Handheld(client, tech)
    device.pull()
    ticket = f.ticket()  # its customer, site and asset are logged now, before the job exists
    job = f.job(tkt=ticket, tech=tech)
    device.pull()
    for key in (("jobs", str(job.id)), ("tickets", str(ticket.id)), ("customers", str(ticket.customer_id)),
                ("assets", str(ticket.asset_id))):
        assert key in device.copy


def test_own_writes_do_not_resurrect_what_the_device_deleted(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    device.pull()
    record_id = uuid.uuid4()
    device.push([adjustment(job.id, record_id=record_id), check_in(job.id)])
    # Offline, the technician deletes the adjustment; the deletion is not pushed yet.
    device.copy.pop(("adjustments", str(record_id)), None)
    changes = device.pull()
    assert not any(c["id"] == str(record_id) for c in changes)
    assert ("adjustments", str(record_id)) not in device.copy
    device.push([op("adjustments", record_id, "delete", base_version=1)])
    assert device.pull() == []
    # A fresh install (no cursor) gets everything, its own writes included.
    fresh = Handheld(client, tech)
    fresh.pull()
    assert any(table == "check_ins" for table, _ in fresh.copy)


def test_a_cursor_older_than_the_retention_must_resync(client):
    tech, other = f.technician(), f.technician()
    job, leaving = f.job(tech=tech), f.job(tech=tech)
    record = Adjustment(job_id=job.id, parameter="temp")
    db.session.add(record)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    stale_cursor = device.cursor
    db.session.delete(record)
    db.session.get(Job, leaving.id).technician_id = other.id  # a scope exit for the device
    db.session.commit()
    assert changelog.prune(db.session, retention=timedelta(days=30), now=utcnow()) == 0
    db.session.commit()
    # The scope exit goes; the adjustment's tombstone is kept for good (a deleted id stays deleted).
    assert changelog.prune(db.session, retention=timedelta(0), now=utcnow() + timedelta(seconds=1)) >= 1
    db.session.commit()
    error = device.pull_page(stale_cursor, expect=410)["error"]
    assert error["code"] == "resync_required"
    device.cursor = None
    device.copy.clear()
    device.pull()
    assert ("jobs", str(job.id)) in device.copy and ("adjustments", str(record.id)) not in device.copy
    assert ("jobs", str(leaving.id)) not in device.copy


def test_bad_cursor_and_protocol(client):
    tech = f.technician()
    device = Handheld(client, tech)
    assert device.pull_page("bm9wZQ", expect=422)["error"]["code"] == "invalid_cursor"
    response = client.get("/api/v1/sync/pull", query_string={"protocol": 99}, headers=device.headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["minimum"] == 1


def test_office_roles_do_not_pull(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    assert client.get("/api/v1/sync/pull", query_string={"protocol": 1}, headers=headers).status_code == 403


def test_pulled_values_have_one_wire_form_on_every_database(client):
    """UUIDs as canonical text, times as UTC ISO 8601 with Z, enums as their
    values, booleans as booleans, numbers as numbers, nulls as null."""
    tech = f.technician()
    job, part, unit = _scope(tech)
    arrived = utcnow().replace(microsecond=123456)
    db.session.get(Job, job.id).arrived_at = arrived
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    fields = device.copy[("jobs", str(job.id))]
    assert fields["technician_id"] == str(tech.id) and fields["ticket_id"] == str(job.ticket_id)
    assert fields["status"] == "assigned" and fields["completed_at"] is None
    assert fields["arrived_at"] == arrived.strftime("%Y-%m-%dT%H:%M:%S.123456Z")
    part_fields = device.copy[("parts", str(part.id))]
    assert part_fields["serialised"] is False and isinstance(part_fields["serialised"], bool)
    level = device.copy[("stock_levels", f"{tech.van_location_id}:{part.id}")]  # the key: both ids as text
    assert level["on_hand"] == 5 and type(level["on_hand"]) is int
    assert device.copy[("spare_units", str(unit.id))]["location_id"] == str(tech.van_location_id)


def test_sync_cursors_are_opaque_and_tamper_evident(client, app):
    """A hand-made cursor, or one this server gave out with its position edited, or one MAC'd with another
    secret, is refused with 422 invalid_cursor: a device can neither skip changes nor invent a position."""
    import base64
    import json

    from sync.pull import Cursor, cursor_key

    tech = f.technician()
    f.job(tech=tech)
    device = Handheld(client, tech)
    device.pull()
    given = device.cursor
    payload, mac = given.split(".")

    def b64(data) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["p"]
    forged = [
        b64({"p": position + 1000, "f": 0}),  # hand-made in the old unsigned form
        f"{b64({'p': position + 1000, 'f': 0})}.{mac}",  # a given cursor's position edited
        Cursor(position, False).encode(cursor_key("another server's secret")),
        given + "x",
    ]
    for cursor in forged:
        error = device.pull_page(cursor, expect=422)["error"]
        assert error["code"] == "invalid_cursor" and error["details"]["resync"] is True, cursor
    # The cursor as given still works (and is what the device keeps).
    assert device.pull_page(given)["changes"] == []
