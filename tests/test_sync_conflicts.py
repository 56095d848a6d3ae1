"""Conflicts: one-side changes merge, both-side changes follow the field's
owner and keep the loser's value, cancelled/reassigned jobs keep the work
done on site, and a dispatcher settles conflicts."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from media.models import Photo, Signature
from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import Adjustment, Job, JobStatus, PartUsage
from sync.models import SyncConflict
from tests import factories as f
from tests.syncing import Handheld, adjustment, op, part_usage


def _job(job_id) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _server_edit(job_id, **values) -> None:
    """An edit made on the server (office, another process) through the ORM."""
    job = db.session.get(Job, job_id)
    for name, value in values.items():
        setattr(job, name, value)
    db.session.commit()


def _office(client, role=Role.dispatcher) -> dict:
    return f.login_as(client, f.user(role))


def test_fields_changed_on_one_side_only_merge(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    device.pull()
    office = _office(client)
    assert client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "urgent"}, headers=office).status_code == 200
    answer = device.push([op("jobs", job.id, "update", {"work_done": "replaced fan"}, base_version=1)])
    assert answer["results"][0]["status"] == "applied"
    # The device has not seen version 2: its copy is not the server's version 3, so it keeps its base.
    assert answer["results"][0]["version"] == 1
    row = _job(job.id)
    assert (row.priority, row.work_done) == ("urgent", "replaced fan")
    assert db.session.scalar(select(func.count()).select_from(SyncConflict)) == 0
    # The merged record comes back to the device (it differs from what it sent).
    device.pull()
    assert device.copy[("jobs", str(job.id))]["priority"] == "urgent"
    assert device.copy[("jobs", str(job.id))]["work_done"] == "replaced fan"
    assert device.versions[("jobs", str(job.id))] == 3


def test_a_merged_record_still_reaches_the_device_after_its_next_own_edit(client):
    """Found by the property test: edit, office edit of another field, push (merged), edit again from the
    version the answer gave, push, pull: the office's edit must reach the device."""
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    device.pull()
    key = ("jobs", str(job.id))
    office = _office(client)
    assert client.patch(f"/api/v1/jobs/{job.id}", json={"instructions": "gate code 1234"},
                        headers=office).status_code == 200
    first = device.push([op("jobs", job.id, "update", {"fault_cause": "dust"}, base_version=device.versions[key])])
    device.versions[key] = first["results"][0]["version"]
    device.copy[key]["fault_cause"] = "dust"
    device.push([op("jobs", job.id, "update", {"fault_cause": "worn bearing"}, base_version=device.versions[key])])
    device.copy[key]["fault_cause"] = "worn bearing"
    device.pull()
    assert device.copy[key]["instructions"] == "gate code 1234"
    assert device.copy[key]["fault_cause"] == "worn bearing"
    assert db.session.scalar(select(func.count()).select_from(SyncConflict)) == 0


def test_on_site_fact_changed_on_both_sides_follows_the_technician(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    _server_edit(job.id, fault_cause="typed in by the office")
    answer = device.push([op("jobs", job.id, "update", {"fault_cause": "worn bearing"}, base_version=1)])
    result = answer["results"][0]
    assert result["status"] == "merged" and result["conflict_id"]
    assert _job(job.id).fault_cause == "worn bearing"
    conflict = db.session.get(SyncConflict, uuid.UUID(result["conflict_id"]))
    assert conflict.kind == "field_conflict"
    assert conflict.fields["fault_cause"] == {"server": "typed in by the office", "device": "worn bearing",
                                              "kept": "device"}


def test_status_progress_follows_the_technician(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    _server_edit(job.id, status=JobStatus.accepted)
    answer = device.push([op("jobs", job.id, "update", {"status": "on_site"}, base_version=1)])
    assert answer["results"][0]["status"] == "merged"
    assert _job(job.id).status is JobStatus.on_site


def test_same_value_on_both_sides_is_no_conflict(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    _server_edit(job.id, work_done="same")
    answer = device.push([op("jobs", job.id, "update", {"work_done": "same"}, base_version=1)])
    assert answer["results"][0]["status"] == "applied"


def test_a_device_does_not_conflict_with_itself(client):
    """Edits queued before the answer to an earlier push arrived name an older base."""
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    device.push([op("jobs", job.id, "update", {"work_done": "first"}, base_version=1)])
    answer = device.push([op("jobs", job.id, "update", {"work_done": "second"}, base_version=1)])
    assert answer["results"][0]["status"] == "applied"
    assert _job(job.id).work_done == "second"


def test_cancelled_while_completed_offline_keeps_the_work_and_raises_a_conflict(client):
    tech = f.technician()
    job = f.job(tech=tech)
    part = f.part()
    device = Handheld(client, tech)
    device.pull()
    office = _office(client)
    response = client.post(f"/api/v1/jobs/{job.id}/cancel", json={"reason": "customer called"}, headers=office)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    answer = device.push([
        op("jobs", job.id, "update", {"status": "completed", "work_done": "fixed", "solution": "new valve"},
           base_version=1),
        part_usage(job.id, part.id),
        adjustment(job.id),
        op("photos", uuid.uuid4(), "create", {"job_id": str(job.id), "blob_sha256": "c" * 64}),
        op("signatures", uuid.uuid4(), "create", {"job_id": str(job.id), "signer_name": "Ms Li",
                                                   "strokes": [[{"x": 1, "y": 2}]], "report_sha256": "d" * 64}),
    ])
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["merged", "applied", "applied", "applied", "applied"]
    row = _job(job.id)
    assert row.status is JobStatus.cancelled  # the dispatcher's cancellation stands ...
    assert (row.work_done, row.solution) == ("fixed", "new valve")  # ... and nothing done on site is lost
    for model in (PartUsage, Adjustment, Photo, Signature):
        assert db.session.scalar(select(func.count()).select_from(model)) == 1
    listed = client.get("/api/v1/sync/conflicts", headers=office).get_json()["items"]
    assert len(listed) == 1 and listed[0]["kind"] == "cancelled_while_worked"
    assert listed[0]["fields"]["status"] == {"server": "cancelled", "device": "completed", "kept": "server"}
    # The dispatcher settles it for the technician: the job is completed after all.
    settled = client.post(f"/api/v1/sync/conflicts/{listed[0]['id']}/resolve", json={"keep": "device"},
                          headers=office)
    assert settled.status_code == 200 and settled.get_json()["status"] == "resolved"
    assert _job(job.id).status is JobStatus.completed
    device.pull()
    assert device.copy[("jobs", str(job.id))]["status"] == "completed"
    assert client.get("/api/v1/sync/conflicts", headers=office).get_json()["items"] == []
    again = client.post(f"/api/v1/sync/conflicts/{listed[0]['id']}/resolve", json={"keep": "server"},
                        headers=office)
    assert again.status_code == 409


def test_reassigned_while_completed_offline_keeps_the_work_in_one_conflict(client):
    first, second = f.technician(), f.technician()
    job = f.job(tech=first)
    part = f.part()
    device = Handheld(client, first)
    device.pull()
    office = _office(client)
    response = client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(second.id)},
                           headers=office)
    assert response.status_code == 200
    answer = device.push([
        op("jobs", job.id, "update", {"status": "completed", "work_done": "done before I knew"}, base_version=1),
        part_usage(job.id, part.id),
    ])
    # The part used joins the same conflict: the dispatcher learns of every piece of work done on the job.
    assert [r["status"] for r in answer["results"]] == ["merged", "merged"]
    assert answer["results"][0]["conflict_id"] == answer["results"][1]["conflict_id"]
    row = _job(job.id)
    assert row.technician_id == second.id and row.status is JobStatus.assigned
    # The former holder's report waits in the conflict: it never replaces the current holder's.
    assert row.work_done is None
    conflict = db.session.get(SyncConflict, uuid.UUID(answer["results"][0]["conflict_id"]))
    assert conflict.kind == "reassigned_while_worked"
    assert conflict.fields["technician_id"]["kept"] == "server"
    assert conflict.fields["work_done"] == {"server": None, "device": "done before I knew", "kept": "server"}
    # The job leaves the first device; the second gets it, and the part used.
    changes = device.pull()
    assert {"table": "jobs", "id": str(job.id), "deleted": True, "reason": "out_of_scope", "version": None} in changes
    assert ("jobs", str(job.id)) not in device.copy
    other = Handheld(client, second, device_id="handheld-2")
    other.pull()
    assert other.copy[("jobs", str(job.id))]["work_done"] is None
    assert any(table == "part_usages" for table, _ in other.copy)
    # Later edits from the first device are still taken as work done offline, joining the same conflict.
    later = device.push([op("jobs", job.id, "update", {"customer_opinion": "fine"}, base_version=1)])
    assert later["results"][0]["status"] == "merged"
    assert later["results"][0]["conflict_id"] == str(conflict.id)
    assert db.session.scalar(select(func.count()).select_from(SyncConflict)) == 1


def test_a_former_technicians_late_on_site_facts_do_not_replace_the_current_holders(client):
    first, second = f.technician(), f.technician()
    job = f.job(tech=first)
    device = Handheld(client, first)
    device.pull()
    office = _office(client)
    assert client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(second.id)},
                       headers=office).status_code == 200
    holder = Handheld(client, second, device_id="handheld-2")
    holder.pull()
    key = ("jobs", str(job.id))
    now = holder.push([op("jobs", job.id, "update", {"status": "on_site", "arrived_at": "2026-03-02T09:30:00Z"},
                          base_version=holder.versions[key])])
    assert now["results"][0]["status"] == "applied"
    # The former technician's delayed facts arrive after the current holder's.
    late = device.push([op("jobs", job.id, "update", {"status": "on_site", "arrived_at": "2026-03-02T08:00:00Z",
                                                      "fault_cause": "blocked filter"}, base_version=1)])
    assert late["results"][0]["status"] == "merged"
    row = _job(job.id)
    assert row.arrived_at.isoformat().startswith("2026-03-02T09:30") and row.fault_cause is None
    conflict = db.session.get(SyncConflict, uuid.UUID(late["results"][0]["conflict_id"]))
    assert conflict.fields["arrived_at"] == {"server": "2026-03-02T09:30:00Z", "device": "2026-03-02T08:00:00Z",
                                             "kept": "server"}
    assert conflict.fields["fault_cause"]["kept"] == "server"
    # The current holder's copy is untouched.
    holder.pull()
    assert holder.copy[key]["arrived_at"] == "2026-03-02T09:30:00Z"


def test_one_clash_is_one_conflict_and_keep_device_applies_the_final_state(client):
    """A cancelled job finished offline over several operations and pushes: one conflict for the job,
    listing every field the device changed with its final value; ``keep: device`` applies that state."""
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    device.pull()
    office = _office(client)
    assert client.post(f"/api/v1/jobs/{job.id}/cancel", json={}, headers=office).status_code == 200
    first = device.push([
        op("jobs", job.id, "update", {"status": "en_route"}, base_version=1),
        op("jobs", job.id, "update", {"status": "on_site", "arrived_at": "2026-03-02T09:00:00Z"}, base_version=1),
        op("jobs", job.id, "update", {"work_done": "cleaned coil"}, base_version=1),
    ])
    second = device.push([
        op("jobs", job.id, "update", {"work_done": "cleaned coil, replaced fan", "solution": "new fan",
                                      "departed_at": "2026-03-02T10:00:00Z"}, base_version=1),
        op("jobs", job.id, "update", {"status": "completed", "completed_at": "2026-03-02T10:00:00Z",
                                      "no_signature_reason": "refused"}, base_version=1),
    ])
    results = first["results"] + second["results"]
    assert {r["status"] for r in results} == {"merged"}
    assert len({r["conflict_id"] for r in results}) == 1
    listed = client.get("/api/v1/sync/conflicts", headers=office).get_json()["items"]
    assert len(listed) == 1 and listed[0]["kind"] == "cancelled_while_worked"
    fields = listed[0]["fields"]
    assert fields["status"] == {"server": "cancelled", "device": "completed", "kept": "server"}
    assert {name: side["device"] for name, side in fields.items()} == {
        "status": "completed", "arrived_at": "2026-03-02T09:00:00Z", "work_done": "cleaned coil, replaced fan",
        "solution": "new fan", "departed_at": "2026-03-02T10:00:00Z", "completed_at": "2026-03-02T10:00:00Z",
        "no_signature_reason": "refused"}
    assert fields["work_done"]["server"] is None  # the server's value when the clash began
    settled = client.post(f"/api/v1/sync/conflicts/{listed[0]['id']}/resolve", json={"keep": "device"},
                          headers=office)
    assert settled.status_code == 200, settled.get_json()
    row = _job(job.id)
    assert row.status is JobStatus.completed  # the batch's last word, not an intermediate "on_site"
    assert (row.work_done, row.solution) == ("cleaned coil, replaced fan", "new fan")
    assert client.get("/api/v1/sync/conflicts", headers=office).get_json()["items"] == []


def test_resolve_with_values_and_validation(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    _server_edit(job.id, work_done="office")
    answer = device.push([op("jobs", job.id, "update", {"work_done": "device"}, base_version=1)])
    conflict_id = answer["results"][0]["conflict_id"]
    office = _office(client)
    bad = client.post(f"/api/v1/sync/conflicts/{conflict_id}/resolve",
                      json={"keep": "values", "values": {"customer_rating": "superb"}}, headers=office)
    assert bad.status_code == 422
    good = client.post(f"/api/v1/sync/conflicts/{conflict_id}/resolve",
                       json={"keep": "values", "values": {"work_done": "both: office and device"}}, headers=office)
    assert good.status_code == 200
    assert _job(job.id).work_done == "both: office and device"
    technician_headers = device.headers
    assert client.get("/api/v1/sync/conflicts", headers=technician_headers).status_code == 403


def test_stale_base_version_ahead_of_server_is_rejected(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    answer = device.push([op("jobs", job.id, "update", {"work_done": "x"}, base_version=7)])
    assert answer["results"][0]["error"]["code"] == "invalid_base_version"


def test_keeping_the_server_side_restores_a_value_the_device_won(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    _server_edit(job.id, fault_cause="office diagnosis")
    answer = device.push([op("jobs", job.id, "update", {"fault_cause": "device diagnosis"}, base_version=1)])
    assert _job(job.id).fault_cause == "device diagnosis"  # the technician's fact won ...
    office = _office(client)
    response = client.post(f"/api/v1/sync/conflicts/{answer['results'][0]['conflict_id']}/resolve",
                           json={"keep": "server"}, headers=office)
    assert response.status_code == 200
    assert _job(job.id).fault_cause == "office diagnosis"  # ... until the dispatcher decided otherwise
    device.pull()
    assert device.copy[("jobs", str(job.id))]["fault_cause"] == "office diagnosis"
