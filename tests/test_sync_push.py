"""Push: exactly once, one result per operation, dependent operations in
order, facts counted once, device clocks ignored, limits and protocol."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from media.models import Blob
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Adjustment, CheckIn, Job, JobStatus, PartUsage
from server.stock.models import StockLevel, StockMovement
from server.technicians.models import Technician
from server.tickets.models import Ticket
from sync.models import SyncOp
from tests import factories as f
from tests.syncing import Handheld, adjustment, check_in, days, iso, op, part_usage


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _batch(job) -> list[dict]:
    return [
        op("jobs", job.id, "update", {"status": "on_site", "arrived_at": iso(utcnow()), "work_done": "cleaned coil"},
           base_version=1),
        check_in(job.id),
        adjustment(job.id),
    ]


def test_same_batch_twice_in_a_row_applies_once(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    batch = _batch(job)
    first = device.push(batch)
    assert [r["status"] for r in first["results"]] == ["applied"] * 3
    second = device.push(batch)
    assert [r["status"] for r in second["results"]] == ["duplicate"] * 3
    for again, was in zip(second["results"], first["results"], strict=True):
        assert again["outcome"] == was
    assert _count(CheckIn) == 1 and _count(Adjustment) == 1 and _count(SyncOp) == 3
    assert db.session.get(Job, job.id).version == 2


def test_same_batch_twice_at_once_from_two_connections_applies_once(app):
    tech = f.technician()
    job = f.job(tech=tech)
    clients = [app.test_client(), app.test_client()]
    devices = [Handheld(c, tech) for c in clients]
    batch = _batch(job)
    db.session.rollback()  # hold no lock while the two pushes race
    barrier = threading.Barrier(2)
    answers = [None, None]

    def run(i):
        with app.app_context():
            barrier.wait()
            answers[i] = devices[i].push(batch)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(tuple(r["status"] for r in a["results"]) for a in answers)
    assert statuses == [("applied",) * 3, ("duplicate",) * 3]
    applied = next(a for a in answers if a["results"][0]["status"] == "applied")
    duplicate = next(a for a in answers if a["results"][0]["status"] == "duplicate")
    assert [r["outcome"] for r in duplicate["results"]] == applied["results"]
    assert _count(CheckIn) == 1 and _count(Adjustment) == 1 and _count(SyncOp) == 3
    assert db.session.get(Job, job.id).version == 2


def test_one_invalid_operation_is_rejected_and_the_others_apply(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    answer = device.push([
        check_in(job.id),
        op("check_ins", uuid.uuid4(), "create", {"kind": "arrival", "latitude": 123, "longitude": 1}),
        op("jobs", job.id, "update", {"priority": "urgent"}, base_version=1),
        op("jobs", job.id, "update", {"status": "cancelled"}, base_version=1),
        op("check_ins", uuid.uuid4(), "update", {"kind": "arrival"}, base_version=1),
        op("nowhere", uuid.uuid4(), "create", {}),
        {"op_id": "not-a-uuid"},
        {"op_id": str(uuid.uuid4()), "table": "adjustments", "action": "create", "id": "x"},
        adjustment(job.id),
    ])
    results = answer["results"]
    assert [r["status"] for r in results] == ["applied"] + ["rejected"] * 7 + ["applied"]
    assert results[1]["error"]["code"] == "validation_error" and "latitude" in results[1]["error"]["fields"]
    assert results[2]["error"]["code"] == "not_writable" and "priority" in results[2]["error"]["fields"]
    assert "status" in results[3]["error"]["fields"]
    assert results[4]["error"]["code"] == "action_not_allowed"
    assert results[5]["error"]["code"] == "unknown_table"
    assert results[6]["error"]["code"] == "validation_error" and results[6]["op_id"] is None
    assert "id" in results[7]["error"]["fields"]
    assert _count(CheckIn) == 1 and _count(Adjustment) == 1
    # A rejection is an outcome too: replayed, it comes back the same.
    replay = device.push([answer and op("jobs", job.id, "update", {"priority": "urgent"}, base_version=1,
                                        op_id=results[2]["op_id"])])
    assert replay["results"][0]["status"] == "duplicate"
    assert replay["results"][0]["outcome"]["error"]["code"] == "not_writable"


def test_fields_a_device_may_not_write_are_refused_and_the_others_apply(client):
    tech = f.technician()
    job = f.job(tech=tech, instructions="Bring the ladder")
    device = Handheld(client, tech)
    device.pull()
    [result] = device.push([op("jobs", job.id, "update", {"fault_cause": "worn valve", "instructions": "none"},
                               base_version=1)])["results"]
    assert result["status"] == "applied" and result["refused"] == {"instructions": ["Not writable from a device."]}
    assert result["version"] == 1  # the device's copy is not the server's: the record comes with the next pull
    row = db.session.get(Job, job.id)
    assert (row.fault_cause, row.instructions, row.version) == ("worn valve", "Bring the ladder", 2)
    [back] = [c for c in device.pull_page(device.cursor)["changes"] if c["table"] == "jobs"]
    assert (back["fields"]["instructions"], back["fields"]["fault_cause"], back["version"]) == (
        "Bring the ladder", "worn valve", 2)


def test_later_operations_see_earlier_ones(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    kept, dropped = uuid.uuid4(), uuid.uuid4()
    answer = device.push([
        adjustment(job.id, record_id=kept, after="1.1"),
        op("adjustments", kept, "update", {"value_after": "1.3"}, base_version=1),
        op("adjustments", kept, "update", {"unit": "bar"}, base_version=2),
        adjustment(job.id, record_id=dropped),
        op("adjustments", dropped, "delete", base_version=1),
        op("adjustments", dropped, "update", {"unit": "bar"}, base_version=1),
        op("jobs", job.id, "update", {"status": "en_route"}, base_version=1),
        op("jobs", job.id, "update", {"status": "on_site"}, base_version=2),
    ])
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["applied"] * 5 + ["rejected"] + ["applied"] * 2
    assert answer["results"][5]["error"]["code"] == "record_deleted"
    assert [r["version"] for r in answer["results"][:3]] == [1, 2, 3]
    row = db.session.get(Adjustment, kept)
    assert (row.value_after, row.unit, row.version) == ("1.3", "bar", 3)
    assert db.session.get(Adjustment, dropped) is None
    job_row = db.session.get(Job, job.id)
    assert job_row.status is JobStatus.on_site and job_row.version == 3


def test_parts_used_pushed_twice_count_once(client):
    tech = f.technician()
    job = f.job(tech=tech)
    part = f.part()
    device = Handheld(client, tech)
    usage = part_usage(job.id, part.id, quantity=2, serial_numbers=["A1", "A2"])
    device.push([usage])
    device.push([usage])  # a retry: same op_id
    # The same fact sent again under a new op_id (an app bug) is refused, not counted.
    again = device.push([{**usage, "op_id": str(uuid.uuid4())}])
    assert again["results"][0]["error"]["code"] == "already_exists"
    assert _count(PartUsage) == 1
    assert _count(StockMovement, StockMovement.job_id == job.id) == 1
    level = db.session.get(StockLevel, (tech.van_location_id, part.id))
    assert level.on_hand == -2  # never refused for lack of stock: a discrepancy to reconcile


def test_part_usage_defaults_van_and_warranty(client):
    tech = f.technician()
    covered = f.job(tech=tech, tkt=f.ticket(ast=f.asset(warranty_end=date.today() + timedelta(days=30))))
    expired = f.job(tech=tech, tkt=f.ticket(ast=f.asset(warranty_end=date.today() - timedelta(days=30))))
    part = f.part()
    elsewhere = f.location()
    device = Handheld(client, tech)
    answer = device.push([part_usage(covered.id, part.id), part_usage(expired.id, part.id),
                          part_usage(expired.id, part.id, location_id=str(elsewhere.id), under_warranty=True)])
    assert [r["status"] for r in answer["results"]] == ["applied"] * 3
    rows = {(u.job_id, u.location_id): u for u in db.session.scalars(select(PartUsage))}
    assert rows[(covered.id, tech.van_location_id)].under_warranty is True
    assert rows[(expired.id, tech.van_location_id)].under_warranty is False
    # The asset decides, not the device: a claim of warranty on an expired asset is not taken.
    assert rows[(expired.id, elsewhere.id)].under_warranty is False


def test_part_usage_and_its_movement_judge_warranty_by_one_rule(client):
    """The fault was reported in warranty and the visit falls after its end: the
    repair is in warranty on the usage row and on the ledger's movement alike
    (docs/stock.md); a job without an asset keeps the device's flag on both."""
    tech = f.technician()
    late_visit = f.job(tech=tech, tkt=f.ticket(ast=f.asset(warranty_end=date.today() - timedelta(days=2)),
                                               received_at=utcnow() - timedelta(days=5)))
    reported_late = f.job(tech=tech, tkt=f.ticket(ast=f.asset(warranty_end=date.today() - timedelta(days=2))))
    no_asset = f.job(tech=tech)
    db.session.execute(Ticket.__table__.update().where(Ticket.id == no_asset.ticket_id).values(asset_id=None))
    db.session.commit()
    part = f.part()
    device = Handheld(client, tech)
    answer = device.push([
        op("jobs", late_visit.id, "update", {"status": "on_site", "arrived_at": iso(utcnow())}, base_version=1),
        part_usage(late_visit.id, part.id, under_warranty=False),
        part_usage(reported_late.id, part.id, under_warranty=True),
        part_usage(no_asset.id, part.id, under_warranty=True),
    ])
    assert [r["status"] for r in answer["results"]] == ["applied"] * 4
    usages = {u.job_id: u.under_warranty for u in db.session.scalars(select(PartUsage))}
    movements = {m.job_id: m.under_warranty for m in db.session.scalars(select(StockMovement))}
    assert usages == movements == {late_visit.id: True, reported_late.id: False, no_asset.id: True}


def test_device_clock_three_days_off_changes_no_outcome(client):
    tech = f.technician()
    outcomes = []
    for skew in (days(-3), days(0), days(3)):
        job = f.job(tech=tech)
        device = Handheld(client, tech)
        answer = device.push([
            op("jobs", job.id, "update", {"status": "on_site"}, base_version=1, device_time=utcnow() + skew),
            check_in(job.id, device_time=utcnow() + skew),
        ], device_time=iso(utcnow() + skew))
        outcomes.append([(r["status"], r["version"]) for r in answer["results"]])
    assert outcomes[0] == outcomes[1] == outcomes[2]


def test_check_ins_move_the_technician_by_order_of_receipt(client):
    tech = f.technician()
    device = Handheld(client, tech)
    device.push([check_in(lat=30.0, lng=120.0, device_time=utcnow() + days(3))])  # a fast clock
    device.push([check_in(lat=31.0, lng=121.0, device_time=utcnow() - days(3))])  # a slow clock
    db.session.expire_all()
    row = db.session.get(Technician, tech.id)
    assert (row.last_latitude, row.last_longitude) == (31.0, 121.0)


def test_missing_blobs_are_listed(client):
    tech = f.technician()
    job = f.job(tech=tech)
    have, lack = "a" * 64, "b" * 64
    db.session.add(Blob(sha256=have, size=3, content_type="image/jpeg"))
    db.session.commit()
    device = Handheld(client, tech)
    answer = device.push([op("photos", uuid.uuid4(), "create", {"job_id": str(job.id), "blob_sha256": have}),
                          op("photos", uuid.uuid4(), "create", {"job_id": str(job.id), "blob_sha256": lack})])
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"]
    assert answer["missing_blobs"] == [lack]


def test_limits_and_protocol(app, client):
    tech = f.technician()
    device = Handheld(client, tech)
    limits = {name: app.config[name] for name in ("SYNC_PUSH_MAX_OPS", "SYNC_PUSH_MAX_BYTES")}
    app.config["SYNC_PUSH_MAX_OPS"] = 2
    try:
        body = device.push([check_in(), check_in(), check_in()], expect=413)
        assert body["error"]["code"] == "batch_too_large" and body["error"]["details"]["max_ops"] == 2
    finally:
        app.config.update(limits)
    app.config["SYNC_PUSH_MAX_BYTES"] = 200
    try:
        body = device.push([check_in(), check_in()], expect=413)
        assert body["error"]["code"] == "batch_too_large"
    finally:
        app.config.update(limits)
    assert _count(CheckIn) == 0
    response = client.post("/api/v1/sync/push", json={"protocol": 0, "ops": []}, headers=device.headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "protocol_unsupported" and error["details"]["minimum"] == 1
    assert "minimum 1" in error["message"]


def test_a_technician_cannot_push_another_technicians_job(client):
    mine, theirs = f.technician(), f.technician()
    their_job = f.job(tech=theirs)
    device = Handheld(client, mine)
    answer = device.push([
        op("jobs", their_job.id, "update", {"work_done": "not mine"}, base_version=1),
        adjustment(their_job.id),
        check_in(their_job.id),
    ])
    # Another's job answers exactly as an id nobody has (REST answers 404 for both): no existence leak.
    unknown = uuid.uuid4()
    nobody = device.push([
        op("jobs", unknown, "update", {"work_done": "not mine"}, base_version=1),
        adjustment(unknown),
        check_in(unknown),
    ])
    assert [r["error"]["code"] for r in answer["results"]] == ["not_found"] * 3
    assert [r["error"] for r in answer["results"]] == [r["error"] for r in nobody["results"]]
    assert db.session.get(Job, their_job.id).work_done is None
    assert _count(Adjustment) == 0 and _count(CheckIn) == 0


def test_office_roles_cannot_push(client):
    from server.accounts.models import Role

    headers = f.login_as(client, f.user(Role.dispatcher))
    response = client.post("/api/v1/sync/push", json={"protocol": 1, "ops": []}, headers=headers)
    assert response.status_code == 403


def test_a_deleted_id_stays_deleted(client):
    """A create naming a deleted record's id is refused (it used to bring the record back at version 1),
    in a later push, in the same batch, and after the tombstone retention has passed."""
    from datetime import timedelta

    from sync import changelog

    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    record_id = uuid.uuid4()
    assert device.push([adjustment(job.id, record_id=record_id)])["results"][0]["status"] == "applied"
    assert device.push([op("adjustments", record_id, "delete", base_version=1)])["results"][0]["status"] == "applied"
    again = device.push([adjustment(job.id, record_id=record_id, after="9.9")])["results"][0]
    assert (again["status"], again["error"]["code"]) == ("rejected", "record_deleted")
    assert db.session.get(Adjustment, record_id) is None

    other = uuid.uuid4()
    batch = device.push([adjustment(job.id, record_id=other), op("adjustments", other, "delete", base_version=1),
                         adjustment(job.id, record_id=other)])
    assert [r["status"] for r in batch["results"]] == ["applied", "applied", "rejected"]
    assert batch["results"][2]["error"]["code"] == "record_deleted"

    changelog.prune(db.session, retention=timedelta(0), now=utcnow() + timedelta(seconds=1))
    db.session.commit()
    late = device.push([adjustment(job.id, record_id=record_id)])["results"][0]
    assert late["error"]["code"] == "record_deleted"
    assert _count(Adjustment) == 0
