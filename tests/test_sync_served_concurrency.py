"""Pushes and pulls of one technician running at the same moment against the
app as `make run` serves it (gunicorn, gevent workers, two of them): no
answer is a 500 — on SQLite a pull used to queue for the write lock behind
every writer (every transaction began ``BEGIN IMMEDIATE``) — and a device
that syncs throughout, by pulls and by pushes whose answers carry the pull,
ends with every check-in pushed by either device (gap-free)."""

from __future__ import annotations

import threading

import pytest
import requests

from server.extensions import db
from tests import factories as f
from tests.media_support import Gunicorn
from tests.syncing import check_in

pytestmark = pytest.mark.usefixtures("fresh_media")

PUSHES = 25  # bounded: each loop below ends after this many pushes
PER_PUSH = 3


@pytest.fixture
def served(app):
    db.session.commit()
    server = Gunicorn(app, workers=2)
    yield server
    server.stop()


def _login(base: str, username: str, device_id: str) -> dict:
    answer = requests.post(f"{base}/api/v1/auth/token", timeout=30,
                           json={"username": username, "password": f.PASSWORD, "device_id": device_id})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _pull_all(http: requests.Session, base: str, auth: dict, cursor: str | None, statuses: list,
              seen: set, *, carrying: list | None = None) -> str:
    """Pull to the end; with ``carrying`` (ops), the first page comes in a push's answer."""
    for _ in range(100):  # pages: bounded
        if carrying is not None:
            answer = http.post(f"{base}/api/v1/sync/push", headers=auth, timeout=60,
                               json={"protocol": 1, "ops": carrying, "pull": {"cursor": cursor}})
            carrying = None
        else:
            params = {"protocol": 1, **({"cursor": cursor} if cursor else {})}
            answer = http.get(f"{base}/api/v1/sync/pull", params=params, headers=auth, timeout=60)
        statuses.append(answer.status_code)
        if answer.status_code != 200:
            return cursor
        page = answer.json()
        page = page.get("pull", page)
        seen.update(c["id"] for c in page["changes"] if c["table"] == "check_ins" and not c["deleted"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return cursor
    raise AssertionError("the pull never ended")


def test_pulls_and_pushes_at_once_never_answer_500_and_miss_nothing(served, app):
    tech = f.technician()
    job = f.job(tech=tech)
    username, job_id = tech.user.username, job.id
    db.session.commit()  # the server's connections need SQLite's write lock
    base = served.url
    pusher_auth = _login(base, username, "pusher")
    puller_auth = _login(base, username, "puller")
    pushed: set[str] = set()
    push_statuses: list[int] = []
    pull_statuses: list[int] = []
    seen: set[str] = set()
    done = threading.Event()

    def push_loop():
        try:
            with requests.Session() as http:
                for _ in range(PUSHES):
                    ops = [check_in(job_id) for _ in range(PER_PUSH)]
                    answer = http.post(f"{base}/api/v1/sync/push", json={"protocol": 1, "ops": ops},
                                       headers=pusher_auth, timeout=60)
                    push_statuses.append(answer.status_code)
                    if answer.status_code == 200:
                        pushed.update(o["id"] for o in ops)
        finally:
            done.set()

    pusher = threading.Thread(target=push_loop)
    cursor = None
    own: set[str] = set()
    with requests.Session() as http, requests.Session() as other:
        # Two connections: with two workers the pulls land on both, beside the pushes.
        pusher.start()
        for turn in range(400):  # bounded; ends soon after the pusher
            carrying = [check_in(job_id)] if turn % 3 == 0 else None
            cursor = _pull_all(http if turn % 2 else other, base, puller_auth, cursor, pull_statuses, seen,
                               carrying=carrying)
            if carrying and pull_statuses[-1] == 200:
                own.update(o["id"] for o in carrying)
            if done.is_set():
                break
        pusher.join(timeout=120)
        cursor = _pull_all(http, base, puller_auth, cursor, pull_statuses, seen)
    assert set(push_statuses) == {200}, push_statuses
    assert set(pull_statuses) == {200}, pull_statuses
    assert len(pushed) == PUSHES * PER_PUSH and own
    assert seen == pushed | own


def test_a_pull_never_waits_for_the_write_lock(served, app, backend):
    """SQLite: a writer holding the write lock (here the test's own connection;
    in production a long push, the media worker, a slow upload's bookkeeping)
    delays no pull — a read-only request begins DEFERRED and reads the last
    committed snapshot — while a push waits its turn. Before, the pull queued
    for the lock and, past the 10 s busy timeout, answered 500."""
    if backend != "sqlite":
        pytest.skip("SQLite's one write lock")
    import sqlite3

    tech = f.technician()
    job = f.job(tech=tech)
    username, job_id = tech.user.username, str(job.id)
    db.session.commit()
    base = served.url
    auth = _login(base, username, "handheld-1")
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for _ in range(3):
            answer = requests.get(f"{base}/api/v1/sync/pull", params={"protocol": 1}, headers=auth, timeout=60)
            assert answer.status_code == 200, answer.text
            assert ("jobs", job_id) in {(c["table"], c["id"]) for c in answer.json()["changes"]}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    pushed = requests.post(f"{base}/api/v1/sync/push", headers=auth, timeout=60,
                           json={"protocol": 1, "ops": [check_in(job_id)]})
    assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "applied"
