"""Gap-free pulls under concurrency: writers whose transactions commit in
another order than they began, and a puller polling all the while, which
must end up with every change."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy.orm import Session

from server.extensions import db
from server.jobs.models import Job
from sync.pull import pull, snapshot
from tests import factories as f

_engine = []


def _session() -> Session:
    return Session(_engine[0])


@pytest.fixture(autouse=True)
def _bind_engine(app):
    _engine[:] = [db.engine]  # threads have no app context: hand them the engine
    yield
    _engine.clear()


def _poll(technician_id, cursor, seen: dict) -> str:
    with _session() as session:
        while True:
            page = pull(session, technician_id=technician_id, device_id=None, cursor=cursor, limit=50)
            for change in page.changes:
                seen[(change.table, change.id)] = None if change.deleted else change.fields
            cursor = page.next_cursor
            session.rollback()
            if not page.has_more:
                return cursor


def test_two_writers_committing_out_of_order(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: transactions cannot interleave")
    tech = f.technician()
    first_job, second_job = f.job(tech=tech), f.job(tech=tech)
    seen: dict = {}
    cursor = _poll(tech.id, None, seen)
    db.session.rollback()

    early, late = _session(), _session()
    early.get(Job, first_job.id).work_done = "began first, commits last"
    early.flush()  # its row is written (and locked) now
    late.get(Job, second_job.id).work_done = "began last, commits first"
    late.commit()
    cursor = _poll(tech.id, cursor, seen)
    assert seen[("jobs", str(second_job.id))]["work_done"] == "began last, commits first"
    assert seen[("jobs", str(first_job.id))]["work_done"] is None
    early.commit()
    _poll(tech.id, cursor, seen)
    assert seen[("jobs", str(first_job.id))]["work_done"] == "began first, commits last"
    early.close()
    late.close()


def test_a_puller_polling_through_many_interleaved_writers_misses_nothing(app):
    tech = f.technician()
    jobs = [f.job(tech=tech) for _ in range(24)]
    job_ids, tech_id = [j.id for j in jobs], tech.id
    db.session.rollback()  # on SQLite even a read holds the write lock: hold none
    seen: dict = {}
    cursor = [_poll(tech_id, None, seen)]
    done = threading.Event()
    errors: list = []

    def writer(ids):
        rng = random.Random(ids[0].int)
        try:
            for job_id in ids:
                with _session() as session:
                    session.get(Job, job_id).work_done = f"written {job_id}"
                    session.flush()
                    time.sleep(rng.uniform(0, 0.02))  # commit later than others that began after
                    session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def puller():
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            cursor[0] = _poll(tech_id, cursor[0], seen)
            time.sleep(0.002)

    writers = [threading.Thread(target=writer, args=(job_ids[i::4],)) for i in range(4)]
    poller = threading.Thread(target=puller)
    poller.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(timeout=60)
    done.set()
    poller.join(timeout=60)
    assert not errors
    _poll(tech_id, cursor[0], seen)  # one last poll after everything committed
    for job_id in job_ids:
        assert seen[("jobs", str(job_id))]["work_done"] == f"written {job_id}"
    with _session() as session:
        assert {k: v for k, v in seen.items() if v is not None} == snapshot(session, tech_id)
