"""Issue 13's sync rules through WatermelonDB's protocol too: a deleted id
stays deleted, another technician's job answers as an unknown one, and a
cancelled job finished offline raises one conflict with the final values."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import Adjustment
from sync.models import SyncConflict
from tests import factories as f

PULL, PUSH = "/api/v1/sync/watermelon/pull", "/api/v1/sync/watermelon/push"


def _sync(client, headers, changes) -> dict:
    """As synchronize() does: a pull, then the push with its timestamp."""
    pulled = client.get(PULL, query_string={"last_pulled_at": "null"}, headers=headers).get_json()
    response = client.post(PUSH, query_string={"last_pulled_at": pulled["timestamp"]}, data=json.dumps(changes),
                           headers={**headers, "Content-Type": "text/plain"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _bucket(created=(), updated=(), deleted=()) -> dict:
    return {"created": list(created), "updated": list(updated), "deleted": list(deleted)}


def test_a_deleted_id_stays_deleted_and_another_technicians_job_is_unknown(client):
    tech, other = f.technician(), f.technician()
    job, theirs = f.job(tech=tech), f.job(tech=other)
    headers = f.login_as(client, tech)
    record_id = str(uuid.uuid4())
    record = {"id": record_id, "job_id": str(job.id), "parameter": "pressure", "_status": "created", "_changed": ""}
    _sync(client, headers, {"adjustments": _bucket(created=[record])})
    _sync(client, headers, {"adjustments": _bucket(deleted=[record_id])})
    again = _sync(client, headers, {"adjustments": _bucket(created=[{**record, "parameter": "pressure again"}])})
    assert again["experimentalRejectedIds"] == {"adjustments": [record_id]}
    assert again["rejected"][0]["code"] == "record_deleted"
    assert db.session.get(Adjustment, uuid.UUID(record_id)) is None

    unknown = str(uuid.uuid4())
    answers = [_sync(client, headers, {"adjustments": _bucket(created=[
        {"id": str(uuid.uuid4()), "job_id": job_id, "parameter": "p", "_status": "created", "_changed": ""}])})
        for job_id in (str(theirs.id), unknown)]
    assert [a["rejected"][0]["code"] for a in answers] == ["not_found", "not_found"]
    assert answers[0]["rejected"][0]["message"] == answers[1]["rejected"][0]["message"]


def test_a_cancelled_job_finished_offline_is_one_conflict_with_the_final_values(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.post(f"/api/v1/jobs/{job.id}/cancel", json={}, headers=office).status_code == 200
    on_site = {"id": str(job.id), "version": 1, "status": "on_site", "work_done": "cleaned", "_status": "updated",
               "_changed": "status,work_done"}
    _sync(client, headers, {"jobs": _bucket(updated=[on_site])})
    done = {**on_site, "status": "completed", "work_done": "cleaned, replaced fan", "no_signature_reason": "refused",
            "_changed": "status,work_done,no_signature_reason"}
    _sync(client, headers, {"jobs": _bucket(updated=[done])})
    assert db.session.scalar(select(func.count()).select_from(SyncConflict)) == 1
    conflict = db.session.scalars(select(SyncConflict)).one()
    assert conflict.fields["status"]["device"] == "completed"
    assert conflict.fields["work_done"]["device"] == "cleaned, replaced fan"
