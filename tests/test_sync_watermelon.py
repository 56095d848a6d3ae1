"""WatermelonDB's sync protocol on the same engine: pulls in its shape with
server timestamps, pushes applied all-or-nothing and exactly once."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import Adjustment, CheckIn, Job
from tests import factories as f

PULL, PUSH = "/api/v1/sync/watermelon/pull", "/api/v1/sync/watermelon/push"


def _pull(client, headers, last_pulled_at=None):
    query = {"schema_version": 3}
    if last_pulled_at is not None:
        query["last_pulled_at"] = last_pulled_at
    response = client.get(PULL, query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _push(client, headers, changes, last_pulled_at, expect=200):
    # WatermelonDB's documented fetch() sends the JSON without a JSON content type.
    response = client.post(PUSH, query_string={"last_pulled_at": last_pulled_at}, data=json.dumps(changes),
                           headers={**headers, "Content-Type": "text/plain;charset=UTF-8"})
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.get_json()


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_pull_push_round_trip(client):
    tech = f.technician()
    job = f.job(tech=tech, planned_start=None)
    headers = f.login_as(client, tech)
    first = _pull(client, headers)
    assert first["timestamp"] > 0
    jobs = first["changes"]["jobs"]
    assert [r["id"] for r in jobs["created"]] == [str(job.id)] and jobs["updated"] == [] and jobs["deleted"] == []
    assert jobs["created"][0]["version"] == 1
    assert set(first["changes"]) >= {"jobs", "tickets", "customers", "sites", "assets", "parts", "adjustments"}

    adjustment_id, check_in_id = str(uuid.uuid4()), str(uuid.uuid4())
    changes = {
        "jobs": {"created": [], "deleted": [], "updated": [
            {"id": str(job.id), "version": 1, "status": "on_site", "work_done": "cleaned", "priority": "normal",
             "arrived_at": 1_764_000_000_000, "_status": "updated", "_changed": "status,work_done,arrived_at"}]},
        "adjustments": {"created": [{"id": adjustment_id, "job_id": str(job.id), "parameter": "pressure",
                                     "value_before": "1", "value_after": "2", "unit": "bar", "_status": "created",
                                     "_changed": ""}], "updated": [], "deleted": []},
        "check_ins": {"created": [{"id": check_in_id, "job_id": str(job.id), "kind": "arrival", "latitude": 31.2,
                                   "longitude": 121.4, "recorded_at": 1_764_000_000_000}], "updated": [],
                      "deleted": []},
    }
    assert _push(client, headers, changes, first["timestamp"])["ok"] is True
    assert _push(client, headers, changes, first["timestamp"])["ok"] is True  # a retry: nothing twice
    row = db.session.get(Job, job.id)
    assert (row.status.value, row.work_done, row.version) == ("on_site", "cleaned", 2)
    assert int(row.arrived_at.timestamp() * 1000) == 1_764_000_000_000
    assert _count(Adjustment) == 1 and _count(CheckIn) == 1

    office = f.login_as(client, f.user(Role.dispatcher))
    client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "urgent"}, headers=office)
    db.session.delete(db.session.get(Adjustment, uuid.UUID(adjustment_id)))
    db.session.commit()
    later = _pull(client, headers, first["timestamp"])
    assert later["timestamp"] > first["timestamp"]
    updated = later["changes"]["jobs"]["updated"]
    assert updated[0]["priority"] == "urgent" and updated[0]["version"] == 3
    assert later["changes"]["adjustments"]["deleted"] == [adjustment_id]
    assert any(r["id"] == check_in_id for r in later["changes"]["check_ins"]["updated"])


def test_push_is_all_or_nothing(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    changes = {"check_ins": {"created": [{"id": str(uuid.uuid4()), "kind": "arrival", "latitude": 31.0,
                                          "longitude": 121.0}], "updated": [], "deleted": []},
               "adjustments": {"created": [{"id": str(uuid.uuid4()), "job_id": str(uuid.uuid4()),
                                            "parameter": "p"}], "updated": [], "deleted": []}}
    body = _push(client, headers, changes, stamp, expect=409)
    assert body["error"]["code"] == "push_rejected"
    assert body["error"]["details"]["rejected"][0]["error"]["code"] == "not_found"
    assert _count(CheckIn) == 0
    assert db.session.get(Job, job.id).version == 1


def test_a_created_record_pushed_again_after_a_lost_answer_is_an_update(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    record = {"id": str(uuid.uuid4()), "job_id": str(job.id), "parameter": "temp", "value_after": "5"}
    _push(client, headers, {"adjustments": {"created": [record], "updated": [], "deleted": []}}, stamp)
    newer = _pull(client, headers, stamp)["timestamp"]
    again = {**record, "value_after": "6"}
    _push(client, headers, {"adjustments": {"created": [again], "updated": [], "deleted": []}}, newer)
    assert _count(Adjustment) == 1
    assert db.session.get(Adjustment, uuid.UUID(record["id"])).value_after == "6"


def test_non_uuid_ids_are_refused_clearly(client):
    tech = f.technician()
    headers = f.login_as(client, tech)
    body = _push(client, headers, {"check_ins": {"created": [{"id": "abcdefghijklmnop", "kind": "arrival",
                                                               "latitude": 1, "longitude": 1}],
                                                 "updated": [], "deleted": []}}, 0, expect=409)
    assert "UUID" in body["error"]["details"]["rejected"][0]["error"]["message"]
