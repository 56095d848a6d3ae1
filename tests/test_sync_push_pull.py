"""A push whose answer carries the pull (`"pull": {"cursor": …}` in the push):
the same changes, cursor and scope as a `GET /sync/pull` sent right after the
push; bad cursors and arguments refused before anything is applied."""

from __future__ import annotations

import uuid
from datetime import timedelta

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Adjustment, Job
from sync import changelog
from sync.models import SyncOp
from tests import factories as f
from tests.syncing import Handheld, check_in, op


def _push_pull(device: Handheld, ops: list[dict], cursor: str | None, limit: int | None = None, expect: int = 200):
    wanted = {"cursor": cursor} if limit is None else {"cursor": cursor, "limit": limit}
    return device.push(ops, expect=expect, pull=wanted)


def test_the_pull_in_a_push_answer_is_the_pull_sent_next(client):
    tech, other = f.technician(), f.technician()
    job, second = f.job(tech=tech), f.job(tech=tech)
    their_job = f.job(tech=other)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    cursor = device.cursor
    office = f.login_as(client, f.user(Role.dispatcher))
    for changed in (job, their_job):
        assert client.patch(f"/api/v1/jobs/{changed.id}", json={"priority": "high"}, headers=office).status_code == 200
    pushed = check_in(job.id)
    edit = op("jobs", second.id, fields={"work_done": "换了压缩机"}, base_version=1)
    answer = _push_pull(device, [pushed, edit], cursor)
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"]
    # Exactly the pull a device sends next: same changes, same cursor.
    assert answer["pull"] == device.pull_page(cursor)
    keys = {(c["table"], c["id"]) for c in answer["pull"]["changes"]}
    assert ("jobs", str(job.id)) in keys  # the office's edit
    assert ("check_ins", pushed["id"]) in keys  # facts come back with their server fields
    assert ("jobs", str(second.id)) not in keys  # the device's own edit, exactly as sent: not sent back
    assert ("jobs", str(their_job.id)) not in keys  # another technician's job
    # And the cursor it gave is where the next pull starts: nothing new, nothing missed.
    assert device.pull_page(answer["pull"]["next_cursor"])["changes"] == []


def test_a_first_sync_in_a_push_answer_pages_like_the_pull(client):
    tech = f.technician()
    for _ in range(4):
        f.job(tech=tech)
    db.session.commit()
    device = Handheld(client, tech)
    answer = _push_pull(device, [], None, limit=3)
    assert answer["results"] == [] and answer["pull"]["has_more"] is True
    assert answer["pull"] == device.pull_page(None, limit=3)
    # Continued with GET from its cursor: the whole scope, each record once, as a first sync by GET.
    device.cursor = answer["pull"]["next_cursor"]
    rest = device.pull()
    combined = [(c["table"], c["id"]) for c in answer["pull"]["changes"] + rest]
    fresh = Handheld(client, tech, device_id="handheld-2")
    assert sorted(combined) == sorted((c["table"], c["id"]) for c in fresh.pull())
    assert len(combined) == len(set(combined))


def test_scope_exits_come_in_the_push_answer(client):
    tech, other = f.technician(), f.technician()
    job, leaving = f.job(tech=tech), f.job(tech=tech)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    cursor = device.cursor
    db.session.get(Job, leaving.id).technician_id = other.id
    db.session.commit()
    answer = _push_pull(device, [check_in(job.id)], cursor)
    exits = [c for c in answer["pull"]["changes"] if c["deleted"]]
    assert {"table": "jobs", "id": str(leaving.id), "version": None, "deleted": True,
            "reason": "out_of_scope"} in exits
    assert answer["pull"] == device.pull_page(cursor)
    # The other technician's pull (also carried by a push) brings the job.
    theirs = Handheld(client, other, device_id="handheld-9")
    assert ("jobs", str(leaving.id)) in {(c["table"], c["id"]) for c in _push_pull(theirs, [], None)["pull"]["changes"]}


def test_a_bad_cursor_refuses_the_push_before_anything_is_applied(client):
    tech = f.technician()
    job = f.job(tech=tech)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    pushed = check_in(job.id)
    error = _push_pull(device, [pushed], "bm9wZQ", expect=422)["error"]
    assert error["code"] == "invalid_cursor" and error["details"]["resync"] is True
    edited = device.cursor[:-2] + ("AA" if not device.cursor.endswith("AA") else "BB")
    assert _push_pull(device, [pushed], edited, expect=422)["error"]["code"] == "invalid_cursor"
    for foreign in ("游标.签名", "é.é", "\u00ff"):  # not ASCII: never a cursor this server wrote
        assert _push_pull(device, [pushed], foreign, expect=422)["error"]["code"] == "invalid_cursor"
        assert device.pull_page(foreign, expect=422)["error"]["code"] == "invalid_cursor"
    assert db.session.get(SyncOp, uuid.UUID(pushed["op_id"])) is None
    # The same op sent again with a good cursor applies (it was never applied, so never a duplicate).
    answer = _push_pull(device, [pushed], device.cursor)
    assert answer["results"][0]["status"] == "applied"


def test_bad_pull_arguments_are_4xx(client):
    tech = f.technician()
    f.job(tech=tech)
    db.session.commit()
    device = Handheld(client, tech)
    for wanted in ("yes", 1, [], {"cursor": 5}, {"limit": 0}, {"limit": 10_001}, {"limit": "many"},
                   {"cursor": None, "since": 3}):
        response = client.post("/api/v1/sync/push", json={"protocol": 1, "ops": [], "pull": wanted},
                               headers=device.headers)
        assert response.status_code == 422, (wanted, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "validation_error"
    office = f.login_as(client, f.user(Role.dispatcher))
    response = client.post("/api/v1/sync/push", json={"protocol": 1, "ops": [], "pull": {}}, headers=office)
    assert response.status_code == 403
    response = client.post("/api/v1/sync/push", json={"protocol": 99, "ops": [], "pull": {}}, headers=device.headers)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "protocol_unsupported"


def test_a_cursor_older_than_the_retention_refuses_the_push(client):
    tech, other = f.technician(), f.technician()
    job, leaving = f.job(tech=tech), f.job(tech=tech)
    record = Adjustment(job_id=job.id, parameter="temp")
    db.session.add(record)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    stale = device.cursor
    db.session.get(Job, leaving.id).technician_id = other.id  # a scope exit, which retention prunes
    db.session.commit()
    assert changelog.prune(db.session, retention=timedelta(0), now=utcnow() + timedelta(seconds=1)) >= 1
    db.session.commit()
    pushed = check_in(job.id)
    assert _push_pull(device, [pushed], stale, expect=410)["error"]["code"] == "resync_required"
    assert db.session.get(SyncOp, uuid.UUID(pushed["op_id"])) is None
    # Without a cursor: a first sync in the answer, and the push applied.
    answer = _push_pull(device, [pushed], None)
    assert answer["results"][0]["status"] == "applied"
    keys = {(c["table"], c["id"]) for c in answer["pull"]["changes"]}
    assert ("jobs", str(job.id)) in keys and ("jobs", str(leaving.id)) not in keys


def test_a_retried_push_answers_duplicates_and_the_pull_again(client):
    tech = f.technician()
    job = f.job(tech=tech)
    db.session.commit()
    device = Handheld(client, tech)
    device.pull()
    cursor = device.cursor
    ops = [check_in(job.id)]
    first = _push_pull(device, ops, cursor)
    again = _push_pull(device, ops, cursor)  # the answer was lost: the same body again
    assert again["results"][0]["status"] == "duplicate"
    assert again["pull"] == first["pull"]


def test_without_pull_the_answer_is_as_before(client):
    tech = f.technician()
    job = f.job(tech=tech)
    db.session.commit()
    device = Handheld(client, tech)
    answer = device.push([check_in(job.id)])
    assert set(answer) == {"results", "missing_blobs"}
