"""The server process killed (SIGKILL) around the commit of a push, then the
batch retried: after the commit, every result is ``duplicate`` with the first
outcome; before it, the retry applies the batch once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from server.extensions import db
from server.jobs.models import Adjustment, CheckIn, Job
from sync.models import SyncOp
from tests import factories as f
from tests.syncing import PROTOCOL, adjustment, check_in, op

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CrashServer:
    def __init__(self, database_url: str):
        self.database_url = database_url
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, "CRASH_SERVER_SECONDS": "90"}
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and module, no user input)
            [sys.executable, "-m", "tests.crash_server", str(self.port)], cwd=ROOT,
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the crash server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def server(app):
    db.session.remove()
    instance = CrashServer(app.config["SQLALCHEMY_DATABASE_URI"])
    instance.start()
    yield instance
    instance.stop()


def _login(server: CrashServer, tech) -> dict:
    from server.accounts.models import User

    username = db.session.get(User, tech.user_id).username
    db.session.rollback()
    response = requests.post(server.url + "/api/v1/auth/token", timeout=10,
                             json={"username": username, "password": f.PASSWORD, "device_id": "handheld-1"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _push(server, headers, batch, crash: str | None = None):
    extra = {"X-Test-Crash": crash} if crash else {}
    return requests.post(server.url + "/api/v1/sync/push", json={"protocol": PROTOCOL, "ops": batch},
                         headers={**headers, **extra}, timeout=30)


def _counts():
    db.session.expire_all()
    counts = tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (CheckIn, Adjustment, SyncOp))
    db.session.rollback()
    return counts


def _setup():
    tech = f.technician()
    job = f.job(tech=tech)
    batch = [op("jobs", job.id, "update", {"status": "on_site", "work_done": "x"}, base_version=1),
             check_in(job.id), adjustment(job.id)]
    return tech, job, batch


def test_killed_after_commit_then_retried_answers_duplicates(server):
    tech, job, batch = _setup()
    headers = _login(server, tech)
    with pytest.raises(requests.ConnectionError):
        _push(server, headers, batch, crash="after-commit")
    assert server.process.wait(timeout=10) == -9
    assert _counts() == (1, 1, 3)  # committed, never answered
    server.start()
    answer = _push(server, headers, batch)
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["duplicate"] * 3
    assert [r["outcome"]["status"] for r in results] == ["applied"] * 3
    assert results[0]["outcome"]["version"] == 2
    assert _counts() == (1, 1, 3)
    assert db.session.get(Job, job.id).version == 2


def test_killed_before_commit_then_retried_applies_once(server):
    tech, job, batch = _setup()
    headers = _login(server, tech)
    with pytest.raises(requests.ConnectionError):
        _push(server, headers, batch, crash="before-commit")
    assert server.process.wait(timeout=10) == -9
    assert _counts() == (0, 0, 0)  # nothing half-applied
    server.start()
    answer = _push(server, headers, batch)
    assert [r["status"] for r in answer.json()["results"]] == ["applied"] * 3
    again = _push(server, headers, batch)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3
    assert _counts() == (1, 1, 3)
    assert db.session.get(Job, job.id).version == 2
