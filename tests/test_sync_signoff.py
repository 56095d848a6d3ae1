"""No completion without sign-off (the work report procedure): a job completes
only with the customer's signature or a recorded reason it is missing —
through sync (both protocols) and through REST (settling a conflict)."""

from __future__ import annotations

import json
import uuid

from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import Job, JobStatus, NoSignatureReason
from tests import factories as f
from tests.syncing import Handheld, op

STROKES = [[{"x": 1, "y": 2, "t": 0}, {"x": 5, "y": 6, "t": 40}]]


def _job(job_id) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _signature(job_id) -> dict:
    return op("signatures", uuid.uuid4(), "create", {"job_id": str(job_id), "signer_name": "Ms Li",
                                                     "strokes": STROKES, "report_sha256": "d" * 64})


def test_a_push_cannot_complete_a_job_without_sign_off(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    answer = device.push([op("jobs", job.id, "update", {"status": "completed", "work_done": "fixed"},
                             base_version=1)])
    result = answer["results"][0]
    assert (result["status"], result["error"]["code"]) == ("rejected", "signoff_required")
    assert "no_signature_reason" in result["error"]["message"]
    row = _job(job.id)
    assert (row.status, row.work_done, row.version) == (JobStatus.assigned, None, 1)  # nothing of the op applied
    # A signature anywhere in the same push counts (whatever order the client sends); a refused one does not.
    refused = dict(_signature(job.id), fields={"job_id": str(job.id), "signer_name": "", "strokes": STROKES,
                                               "report_sha256": "d" * 64})
    bad = device.push([op("jobs", job.id, "update", {"status": "completed"}, base_version=1), refused])
    assert [r["status"] for r in bad["results"]] == ["rejected", "rejected"]
    later = device.push([op("jobs", job.id, "update", {"status": "completed"}, base_version=1), _signature(job.id)])
    assert [r["status"] for r in later["results"]] == ["applied", "applied"]


def test_a_signature_in_the_same_batch_or_an_earlier_push_signs_it_off(client):
    tech = f.technician()
    first, second = f.job(tech=tech), f.job(tech=tech)
    device = Handheld(client, tech)
    same = device.push([_signature(first.id), op("jobs", first.id, "update", {"status": "completed"},
                                                 base_version=1)])
    assert [r["status"] for r in same["results"]] == ["applied", "applied"]
    assert _job(first.id).status is JobStatus.completed
    assert device.push([_signature(second.id)])["results"][0]["status"] == "applied"
    earlier = device.push([op("jobs", second.id, "update", {"status": "completed"}, base_version=1)])
    assert earlier["results"][0]["status"] == "applied"


def test_a_recorded_reason_signs_it_off_and_reaches_the_device(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    device.pull()
    bad = device.push([op("jobs", job.id, "update", {"status": "completed", "no_signature_reason": "asleep"},
                          base_version=1)])
    assert bad["results"][0]["error"]["code"] == "validation_error"
    assert "customer_absent" in bad["results"][0]["error"]["fields"]["no_signature_reason"][0]
    answer = device.push([op("jobs", job.id, "update", {"status": "completed",
                                                        "no_signature_reason": "customer_absent"}, base_version=1)])
    assert answer["results"][0]["status"] == "applied"
    row = _job(job.id)
    assert (row.status, row.no_signature_reason) == (JobStatus.completed, NoSignatureReason.customer_absent)
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.get(f"/api/v1/jobs/{job.id}", headers=office).get_json()["no_signature_reason"] == "customer_absent"
    device.cursor = None
    device.pull()
    assert device.copy[("jobs", str(job.id))]["no_signature_reason"] == "customer_absent"


def test_settling_a_conflict_cannot_complete_a_job_without_sign_off(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.post(f"/api/v1/jobs/{job.id}/cancel", json={}, headers=office).status_code == 200
    answer = device.push([op("jobs", job.id, "update", {"status": "completed", "work_done": "fixed"},
                             base_version=1)])
    conflict_id = answer["results"][0]["conflict_id"]
    refused = client.post(f"/api/v1/sync/conflicts/{conflict_id}/resolve", json={"keep": "device"}, headers=office)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "signoff_required"
    assert _job(job.id).status is JobStatus.cancelled
    values = client.post(f"/api/v1/sync/conflicts/{conflict_id}/resolve",
                         json={"keep": "values", "values": {"status": "completed",
                                                            "no_signature_reason": "refused"}},
                         headers=office)
    assert values.status_code == 200, values.get_json()
    assert _job(job.id).status is JobStatus.completed


def test_watermelondb_cannot_complete_a_job_without_sign_off(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)

    def push(changes):
        # As synchronize() does: a pull, then the push with its timestamp.
        pulled = client.get("/api/v1/sync/watermelon/pull", query_string={"last_pulled_at": "null"},
                            headers=headers).get_json()
        return client.post("/api/v1/sync/watermelon/push", query_string={"last_pulled_at": pulled["timestamp"]},
                           data=json.dumps(changes), headers={**headers, "Content-Type": "text/plain"})

    completing = {"id": str(job.id), "version": 1, "status": "completed", "_status": "updated",
                  "_changed": "status"}
    refused = push({"jobs": {"created": [], "updated": [completing], "deleted": []}})
    assert refused.status_code in (200, 409)  # refused: named (per record) or the whole push (all or nothing)
    assert str(job.id) in refused.get_data(as_text=True)
    assert _job(job.id).status is JobStatus.assigned
    signature = {"id": str(uuid.uuid4()), "job_id": str(job.id), "signer_name": "Ms Li",
                 "strokes": json.dumps(STROKES), "report_sha256": "d" * 64, "_status": "created", "_changed": ""}
    # Signed now: the app sends the signature with the job (stamped anew: an identical change pushed again
    # would replay its first outcome, WatermelonDB's exactly-once).
    completing = {**completing, "completed_at": 1_764_000_000_000, "_changed": "status,completed_at"}
    response = push({"jobs": {"created": [], "updated": [completing], "deleted": []},
                     "signatures": {"created": [signature], "updated": [], "deleted": []}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _job(job.id).status is JobStatus.completed, response.get_data(as_text=True)
