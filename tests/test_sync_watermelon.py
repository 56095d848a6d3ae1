"""WatermelonDB's sync protocol on the same engine: pulls in its shape with
server timestamps, records new to the device in ``created``, pushes applied
exactly once and record by record (refusals named in
``experimentalRejectedIds``), writes a device may not make refused visibly
and undone by the next pull. tests/wmdb/ drives the same endpoints with the
real client."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from server.accounts.models import Role
from server.customers.models import Site
from server.extensions import db
from server.jobs.models import Adjustment, CheckIn, Job, PartUsage
from tests import factories as f

PULL, PUSH = "/api/v1/sync/watermelon/pull", "/api/v1/sync/watermelon/push"


def _pull(client, headers, last_pulled_at=None):
    # As WatermelonDB's documented pullChanges writes the URL: "null" before the first sync.
    query = {"schema_version": 3, "last_pulled_at": "null" if last_pulled_at is None else last_pulled_at}
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
    # The device's own check-in is its own copy already: not sent back.
    assert later["changes"]["check_ins"] == {"created": [], "updated": [], "deleted": []}


def test_a_refused_record_never_blocks_the_others(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    changes = {"check_ins": {"created": [{"id": good, "kind": "arrival", "latitude": 31.0,
                                          "longitude": 121.0}], "updated": [], "deleted": []},
               "adjustments": {"created": [{"id": bad, "job_id": str(uuid.uuid4()),
                                            "parameter": "p"}], "updated": [], "deleted": []}}
    body = _push(client, headers, changes, stamp)
    assert body["experimentalRejectedIds"] == {"adjustments": [bad]}
    assert body["rejected"][0]["code"] == "not_found" and body["rejected"][0]["id"] == bad
    assert _count(CheckIn) == 1 and _count(Adjustment) == 0
    assert db.session.get(Job, job.id).version == 1
    # Pushed again (the device keeps a rejected record unsynced): refused again, nothing doubled.
    again = _push(client, headers, changes, _pull(client, headers, stamp)["timestamp"])
    assert again["experimentalRejectedIds"] == {"adjustments": [bad]} and _count(CheckIn) == 1


def test_last_pulled_at_null_is_a_first_sync_and_the_devices_own_facts_do_not_come_back(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    response = client.get(PULL, query_string={"last_pulled_at": "null", "schema_version": 1}, headers=headers)
    assert response.status_code == 200 and response.get_json()["changes"]["jobs"]["created"][0]["id"] == str(job.id)
    stamp = response.get_json()["timestamp"]
    check_in = {"id": str(uuid.uuid4()), "kind": "arrival", "latitude": 31.2, "longitude": 121.4, "job_id": str(job.id)}
    _push(client, headers, {"check_ins": {"created": [check_in], "updated": [], "deleted": []}}, stamp)
    later = _pull(client, headers, stamp)
    assert all(not any(bucket.values()) for bucket in later["changes"].values()), later


def test_created_holds_records_new_to_the_device_and_updated_those_it_holds(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "urgent"}, headers=office).status_code == 200
    elsewhere = f.technician()
    moved = f.job(tech=elsewhere)  # an older job, then assigned to this technician
    new = f.job(tech=tech)
    assert client.post(f"/api/v1/jobs/{moved.id}/reassign", json={"technician_id": str(tech.id)},
                       headers=office).status_code == 200
    jobs = _pull(client, headers, stamp)["changes"]["jobs"]
    assert {r["id"] for r in jobs["created"]} == {str(moved.id), str(new.id)}
    assert [r["id"] for r in jobs["updated"]] == [str(job.id)]


def test_fields_a_device_may_not_write_are_refused_the_rest_applies_and_the_record_comes_back(client):
    tech = f.technician()
    job = f.job(tech=tech, instructions="Bring the ladder")
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    record = {"id": str(job.id), "version": 1, "fault_cause": "worn valve", "instructions": "none",
              "_status": "updated", "_changed": "fault_cause,instructions"}
    body = _push(client, headers, {"jobs": {"created": [], "updated": [record], "deleted": []}}, stamp)
    assert body["experimentalRejectedIds"] == {}
    assert body["refused"] == [{"table": "jobs", "id": str(job.id), "code": "not_writable", "message": body[
        "refused"][0]["message"], "fields": {"instructions": ["Not writable from a device."]}}]
    db.session.expire_all()
    row = db.session.get(Job, job.id)
    assert (row.fault_cause, row.instructions) == ("worn valve", "Bring the ladder")
    back = _pull(client, headers, stamp)["changes"]["jobs"]["updated"]
    assert [(r["id"], r["instructions"], r["fault_cause"]) for r in back] == [
        (str(job.id), "Bring the ladder", "worn valve")]


def test_an_update_of_nothing_writable_is_refused_and_undone_not_left_unsynced(client):
    tech = f.technician()
    job = f.job(tech=tech, instructions="Bring the ladder")
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    record = {"id": str(job.id), "version": 1, "instructions": "none", "_status": "updated", "_changed": "instructions"}
    body = _push(client, headers, {"jobs": {"created": [], "updated": [record], "deleted": []}}, stamp)
    assert body["experimentalRejectedIds"] == {} and body["refused"][0]["fields"] == {
        "instructions": ["Not writable from a device."]}
    back = _pull(client, headers, stamp)["changes"]["jobs"]["updated"]
    assert [(r["id"], r["instructions"]) for r in back] == [(str(job.id), "Bring the ladder")]


def test_deleting_a_fact_is_refused_and_the_next_pull_restores_it(client):
    tech = f.technician()
    job = f.job(tech=tech)
    part = f.part()
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    usage = {"id": str(uuid.uuid4()), "job_id": str(job.id), "part_id": str(part.id), "quantity": 1}
    _push(client, headers, {"part_usages": {"created": [usage], "updated": [], "deleted": []}}, stamp)
    stamp = _pull(client, headers, stamp)["timestamp"]
    body = _push(client, headers, {"part_usages": {"created": [], "updated": [], "deleted": [usage["id"]]}}, stamp)
    assert body["experimentalRejectedIds"] == {} and body["refused"][0]["code"] == "action_not_allowed"
    assert _count(PartUsage) == 1
    back = _pull(client, headers, stamp)["changes"]["part_usages"]
    assert [r["id"] for r in back["created"]] == [usage["id"]] and back["updated"] == back["deleted"] == []


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
                                                 "updated": [], "deleted": []}}, 0)
    assert body["experimentalRejectedIds"] == {"check_ins": ["abcdefghijklmnop"]}
    assert "UUID" in body["rejected"][0]["message"]


def test_one_scope_for_rest_protocol_1_and_watermelondb(client):
    tech = f.technician()
    named = f.asset()
    beside = f.asset(db.session.get(Site, named.site_id), serial_number="BESIDE-1")
    f.job(f.ticket(ast=named), tech)
    headers = f.login_as(client, tech)
    rest = client.get("/api/v1/assets", headers=headers).get_json()["items"]
    protocol_1 = [c["id"] for c in client.get("/api/v1/sync/pull", query_string={"protocol": 1},
                                              headers=headers).get_json()["changes"] if c["table"] == "assets"]
    watermelon = [r["id"] for r in _pull(client, headers)["changes"]["assets"]["created"]]
    assert [a["id"] for a in rest] == protocol_1 == watermelon == [str(named.id)]
    assert client.get(f"/api/v1/assets/{beside.id}", headers=headers).status_code == 404


def test_an_older_schema_version_gets_what_it_knows_and_a_migration_only_what_is_new(client):
    tech = f.technician()
    job = f.job(tech=tech, customer_rating="satisfied")
    headers = f.login_as(client, tech)
    old = client.get(PULL, query_string={"last_pulled_at": "null", "schema_version": 1}, headers=headers).get_json()
    assert "signatures" not in old["changes"] and "customer_rating" not in old["changes"]["jobs"]["created"][0]
    migration = json.dumps({"from": 1, "tables": ["signatures"],
                            "columns": [{"table": "jobs", "columns": ["customer_rating"]}]})
    new = client.get(PULL, query_string={"last_pulled_at": old["timestamp"], "schema_version": 2,
                                         "migration": migration}, headers=headers).get_json()["changes"]
    assert new["jobs"] == {"created": [], "deleted": [], "updated": [new["jobs"]["updated"][0]]}
    [record] = new["jobs"]["updated"]
    assert (record["id"], record["customer_rating"]) == (str(job.id), "satisfied")
    assert all(not any(bucket.values()) for table, bucket in new.items() if table not in ("jobs", "signatures"))


def test_a_job_reassigned_away_waits_for_the_devices_push_before_its_tombstone(client):
    tech, other = f.technician(), f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(other.id)},
                       headers=office).status_code == 200
    announced = _pull(client, headers, stamp)
    jobs = announced["changes"]["jobs"]
    assert jobs["deleted"] == [] and [(r["id"], r["technician_id"]) for r in jobs["updated"]] == [
        (str(job.id), str(other.id))]
    record = {**jobs["updated"][0], "work_done": "done offline", "_status": "updated", "_changed": "work_done"}
    _push(client, headers, {"jobs": {"created": [], "updated": [record], "deleted": []}}, announced["timestamp"])
    gone = _pull(client, headers, announced["timestamp"])
    assert gone["changes"]["jobs"]["deleted"] == [str(job.id)]
    assert _pull(client, headers, gone["timestamp"])["changes"]["jobs"]["deleted"] == []


def test_a_field_another_writer_changed_in_the_pull_before_the_push_is_a_conflict(client):
    tech = f.technician()
    job = f.job(tech=tech)
    first, second = f.login_as(client, tech, "handheld-1"), f.login_as(client, tech, "handheld-2")
    stamp_first, stamp_second = _pull(client, first)["timestamp"], _pull(client, second)["timestamp"]
    edit = {"id": str(job.id), "version": 1, "_status": "updated", "_changed": "work_done"}
    # As synchronize() does: a pull, then the push (the first device's edit raises nothing).
    stamp_first = _pull(client, first, stamp_first)["timestamp"]
    _push(client, first, {"jobs": {"created": [], "updated": [{**edit, "work_done": "coils"}], "deleted": []}},
          stamp_first)
    pulled = _pull(client, second, stamp_second)  # the client merges its own work_done over it, takes version 2
    [merged] = pulled["changes"]["jobs"]["updated"]
    _push(client, second, {"jobs": {"created": [], "updated": [{**merged, **edit, "version": merged["version"],
                                                                  "work_done": "fan"}], "deleted": []}},
          pulled["timestamp"])
    conflicts = client.get("/api/v1/sync/conflicts", headers=f.login_as(client, f.user(Role.dispatcher))
                            ).get_json()["items"]
    [conflict] = conflicts
    assert conflict["kind"] == "field_conflict"
    assert conflict["fields"]["work_done"] == {"server": "coils", "device": "fan", "kept": "device"}


def test_a_photo_the_device_created_comes_back_as_updated_once_the_server_read_its_image(client):
    """The media worker fills in a photo's image facts after the device pushed it: the device
    holds that photo, so the pull files it under ``updated`` (WatermelonDB logs an error for a
    ``created`` record it already has). A photo it did not create is still ``created``."""
    from media.models import Photo

    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    stamp = _pull(client, headers)["timestamp"]
    own, other = str(uuid.uuid4()), str(uuid.uuid4())
    photo = {"id": own, "job_id": str(job.id), "blob_sha256": "ab" * 32, "kind": "before"}
    pushed = _push(client, headers, {"photos": {"created": [photo], "updated": [], "deleted": []}}, stamp)
    assert not pushed.get("experimentalRejectedIds")
    stamp = _pull(client, headers, stamp)["timestamp"]
    # The office's own photo of the job (created on the server, not by this device).
    db.session.add(Photo(id=uuid.UUID(other), job_id=job.id, blob_sha256="cd" * 32))
    db.session.get(Photo, uuid.UUID(own)).width = 4000  # what the media worker reads from the blob
    db.session.commit()
    photos = _pull(client, headers, stamp)["changes"]["photos"]
    assert [r["id"] for r in photos["updated"]] == [own] and photos["updated"][0]["width"] == 4000
    assert [r["id"] for r in photos["created"]] == [other]
