"""If-Match under concurrency: a version check holds until the write commits.

Two dispatchers PATCHing a job with the same If-Match: one wins, the other
gets 412 (never both 200 with one write silently lost). A PATCH racing a
device's push: the two never produce the same new version. Real parallel
connections (threads with their own HTTP test clients and sessions)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job
from sync.models import SyncChange
from sync.push import Operation, Pusher, push
from tests import factories as f

ROUNDS = 8


def _patch_in_parallel(app, job_id, headers: list[dict], bodies: list[dict], if_match: str) -> list[int]:
    clients = [app.test_client() for _ in bodies]
    barrier = threading.Barrier(len(bodies))
    codes: list[int | None] = [None] * len(bodies)

    def run(i):
        with app.app_context():
            barrier.wait()
            codes[i] = clients[i].patch(f"/api/v1/jobs/{job_id}", json=bodies[i],
                                        headers={**headers[i], "If-Match": if_match}).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return codes


def test_two_dispatchers_with_the_same_if_match_one_wins(app, client):
    first, second = f.user(Role.dispatcher), f.user(Role.dispatcher)
    headers = [f.login_as(client, first), f.login_as(client, second)]
    job_ids = [f.job().id for _ in range(ROUNDS)]
    db.session.rollback()  # hold no lock while the PATCHes race (SQLite: no transaction open at all)
    for job_id in job_ids:
        codes = _patch_in_parallel(app, job_id, headers, [{"priority": "urgent"}, {"instructions": "call first"}],
                                   '"1"')
        assert sorted(codes) == [200, 412], codes
        row = db.session.get(Job, job_id)
        # The winner's write is the only one: nothing lost silently, one new version.
        assert row.version == 2
        assert (row.priority == "urgent") != (row.instructions == "call first")
        db.session.rollback()


def _wait_until_blocked(engine, application_name: str) -> None:
    """Until the named connection waits on a lock (bounded)."""
    for _ in range(3000):
        with engine.connect() as connection:
            waiting = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND state = 'active'"
            )).scalar()
        if waiting:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{application_name} never waited for the lock")


def test_a_patch_racing_a_push_never_makes_the_same_version_twice(app, client, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time (BEGIN IMMEDIATE): transactions cannot interleave")
    tech = f.technician()
    job = f.job(tech=tech)
    office = f.login_as(client, f.user(Role.dispatcher))
    pusher = Pusher(technician_id=tech.id, user_id=tech.user_id, device_id=None, van_location_id=tech.van_location_id)
    db.session.rollback()

    # The device's push is mid-transaction: the job is read at version 1, locked, and written as version 2.
    pushing = Session(db.engine)
    result = push(pushing, pusher, [Operation(index=0, op_id=str(uuid.uuid4()), table="jobs", record_id=str(job.id),
                                              action="update", base_version=1, fields={"work_done": "fixed"})],
                  now=utcnow())
    assert result.results[0]["status"] == "applied" and result.results[0]["version"] == 2

    answer = {}

    def dispatcher():
        with app.app_context():
            response = app.test_client().patch(f"/api/v1/jobs/{job.id}", json={"priority": "urgent"},
                                               headers={**office, "If-Match": '"1"'})
            answer.update(status=response.status_code, body=response.get_json(), etag=response.headers.get("ETag"))

    thread = threading.Thread(target=dispatcher)
    thread.start()
    _wait_until_blocked(db.engine, "the dispatcher's PATCH")
    pushing.commit()
    pushing.close()
    thread.join(timeout=60)

    # The dispatcher read version 1 before the push committed: that copy is stale now.
    assert answer["status"] == 412, answer
    assert answer["body"]["error"]["details"]["current_version"] == 2
    db.session.expire_all()
    row = db.session.get(Job, job.id)
    assert (row.version, row.work_done, row.priority) == (2, "fixed", "normal")
    logged = db.session.scalar(select(SyncChange.version).where(SyncChange.table_name == "jobs",
                                                                SyncChange.record_id == str(job.id)))
    assert logged == 2


def test_a_stale_if_match_is_refused_on_every_job_action(client):
    job = f.job(tech=f.technician())
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "urgent"},
                        headers={**office, "If-Match": '"1"'}).status_code == 200
    stale = {**office, "If-Match": '"1"'}
    assert client.patch(f"/api/v1/jobs/{job.id}", json={"priority": "low"}, headers=stale).status_code == 412
    assert client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(f.technician().id)},
                       headers=stale).status_code == 412
    assert client.post(f"/api/v1/jobs/{job.id}/cancel", json={}, headers=stale).status_code == 412
    assert client.post(f"/api/v1/jobs/{job.id}/cancel", json={},
                       headers={**office, "If-Match": '"2"'}).status_code == 200
