"""Prometheus metrics at /metrics: hidden without the token or an allowed
network; requests, push outcomes, upload bytes, the media queue and open
uploads; one sum over several gunicorn workers (multiprocess mode)."""

from __future__ import annotations

import re

import pytest
import requests

from server.accounts.models import Role
from server.extensions import db
from tests import factories as f
from tests.media_support import Gunicorn, jpeg_bytes, tus_upload
from tests.syncing import PROTOCOL, check_in

TOKEN = "scrape-token-for-tests"


def _value(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def scrape(client, app):
    app.config["METRICS_TOKEN"] = TOKEN
    yield lambda: client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    app.config["METRICS_TOKEN"] = None


def test_metrics_are_not_public(client, app):
    assert client.get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = TOKEN
    try:
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
        assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = None
    app.config["METRICS_ALLOW"] = "10.0.0.0/8"
    try:
        assert client.get("/metrics").status_code == 404  # the test client is 127.0.0.1
        app.config["METRICS_ALLOW"] = "10.0.0.0/8, 127.0.0.1/32"
        assert client.get("/metrics").status_code == 200
    finally:
        app.config["METRICS_ALLOW"] = ""


def test_requests_push_outcomes_uploads_and_queue(client, scrape, fresh_media):
    tech = f.technician()
    job = f.job(tech=tech, planned_start=None)
    headers = f.login_as(client, tech)
    before = scrape()
    ops = [check_in(job.id) for _ in range(3)]
    assert client.post("/api/v1/sync/push", json={"protocol": PROTOCOL, "ops": ops}, headers=headers).status_code == 200
    assert client.post("/api/v1/sync/push", json={"protocol": PROTOCOL, "ops": ops}, headers=headers).status_code == 200
    assert client.get("/api/v1/sync/pull", query_string={"protocol": PROTOCOL}, headers=headers).status_code == 200
    photo = jpeg_bytes(640, 480)
    assert tus_upload(client, headers, photo).status_code == 204
    after = scrape()

    def grew(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("fieldsync_sync_push_operations_total", protocol="fieldsync", outcome="applied") == 3
    assert grew("fieldsync_sync_push_operations_total", protocol="fieldsync", outcome="duplicate") == 3
    assert grew("fieldsync_http_requests_total", route="/api/v1/sync/push", status="200") == 2
    assert grew("fieldsync_http_request_duration_seconds_count", route="/api/v1/sync/pull") == 1
    assert grew("fieldsync_upload_bytes_total") == len(photo)
    assert _value(after, "fieldsync_media_queue_depth") == 1  # the photo's thumbnails wait for the worker
    assert _value(after, "fieldsync_media_queue_age_seconds") >= 0
    assert _value(after, "fieldsync_uploads_open") == 0
    assert re.search(r"^fieldsync_db_pool_checked_out", after, re.M)


def test_several_workers_are_added_up(app):
    office = f.user(Role.dispatcher)
    db.session.commit()
    served = Gunicorn(app, workers=2, env={"FIELDSYNC_METRICS_ALLOW": "127.0.0.1/32"})
    try:
        for _ in range(12):
            with requests.Session() as fresh:  # new connections: spread over both workers
                assert fresh.get(f"{served.url}/healthz", timeout=30).status_code == 200
        text = requests.get(f"{served.url}/metrics", timeout=30).text
        assert _value(text, "fieldsync_http_requests_total", route="/healthz", status="200") >= 12
        assert office.username  # (an office account exists: the database is the test's own)
    finally:
        served.stop()
