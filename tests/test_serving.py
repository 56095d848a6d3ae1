"""The app as `make run` serves it (gunicorn, deploy/gunicorn.conf.py) on a
poor network: a phone that stops sending mid-upload, or resets the
connection, holds no worker; the bytes that arrived are kept, the upload's
lock goes with the request, and HEAD tells the true offset."""

from __future__ import annotations

import socket
import struct
import time
from urllib.parse import urlparse

import pytest
import requests

from server.extensions import db
from tests import factories as f
from tests.media_support import TUS, Gunicorn, noisy_jpeg, sha256, tus_metadata

pytestmark = pytest.mark.usefixtures("fresh_media")


@pytest.fixture
def served(app):
    db.session.commit()  # the server's connections need SQLite's write lock
    # Short read timeouts so that a stalled body ends within the test.
    server = Gunicorn(app, env={"FIELDSYNC_REQUEST_READ_TIMEOUT_SECONDS": "2",
                                "FIELDSYNC_REQUEST_BODY_SECONDS": "30"})
    yield server
    server.stop()


@pytest.fixture
def auth(app):
    tech = f.technician()
    headers = f.login_as(app.test_client(), tech)
    db.session.commit()
    return headers


def _create(base: str, auth: dict, data: bytes) -> str:
    created = requests.post(f"{base}/api/v1/uploads/", timeout=30, headers={
        **auth, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": tus_metadata(sha256=sha256(data))})
    assert created.status_code == 201, created.text
    return created.headers["Location"]


def _open_patch(base: str, auth: dict, location: str, data: bytes, sent: int) -> socket.socket:
    """A PATCH of the whole file whose sender has sent only ``sent`` bytes so far."""
    raw = socket.create_connection(("127.0.0.1", urlparse(base).port), timeout=30)
    head = (f"PATCH {urlparse(location).path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    raw.sendall(head + data[:sent])
    return raw


def _head_offset(base_location: str, auth: dict) -> int:
    response = requests.head(base_location, headers={**auth, **TUS}, timeout=30)
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


def _resume_when_unlocked(location: str, auth: dict, data: bytes) -> requests.Response:
    """Resume as a tus client does: HEAD, then PATCH from there; 423 while the
    dead request still holds the upload, 409 when its last bytes landed
    between our HEAD and PATCH (bounded: the read timeout is 2 s)."""
    for _ in range(300):
        offset = _head_offset(location, auth)
        response = requests.patch(location, data=data[offset:], timeout=30, headers={
            **auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        if response.status_code not in (409, 423):
            return response
        time.sleep(0.1)
    raise AssertionError("the upload stayed locked")


def test_stalled_patch_holds_no_worker_and_keeps_every_byte(served, auth):
    data = noisy_jpeg(800, 600)
    sent = 100_003  # not a multiple of any read size
    location = _create(served.url, auth, data)
    stalled = [_open_patch(served.url, auth, location, data, sent) for _ in range(1)]
    others = [_open_patch(served.url, auth, _create(served.url, auth, data), data, 5000) for _ in range(3)]
    try:
        # One worker, four bodies that stopped coming: the API still answers.
        assert requests.get(f"{served.url}/healthz", timeout=10).status_code == 200
        first = _resume_when_unlocked(location, auth, data)
        # The stalled request ended at its read timeout with all its bytes kept:
        # the resume (from HEAD's offset) needed exactly the rest.
        assert first.status_code == 204, first.text
        assert int(first.headers["Upload-Offset"]) == len(data)
    finally:
        for raw in stalled + others:
            raw.close()
    blob = requests.get(f"{served.url}/api/v1/blobs/{sha256(data)}", headers=auth, timeout=30)
    assert sha256(blob.content) == sha256(data)


def test_stalled_patch_offset_is_exact(served, auth):
    data = noisy_jpeg(640, 480)
    sent = 70_001
    location = _create(served.url, auth, data)
    raw = _open_patch(served.url, auth, location, data, sent)
    try:
        # The dead request answers (408) once its read times out; HEAD then tells the truth.
        raw.settimeout(30)
        answer = raw.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert f"Upload-Offset: {sent}".encode() in answer
    finally:
        raw.close()
    assert _head_offset(location, auth) == sent


def test_reset_mid_patch_keeps_bytes_and_releases_the_lock(served, auth):
    data = noisy_jpeg(640, 480)
    location = _create(served.url, auth, data)
    raw = _open_patch(served.url, auth, location, data, 50_000)
    time.sleep(0.2)  # let the server take in what was sent (not an assertion on time)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()  # RST: the network reset the connection
    response = _resume_when_unlocked(location, auth, data)
    assert response.status_code == 204, response.text
    assert int(response.headers["Upload-Offset"]) == len(data)
    blob = requests.get(f"{served.url}/api/v1/blobs/{sha256(data)}", headers=auth, timeout=30)
    assert sha256(blob.content) == sha256(data)


def test_keep_alive_reuses_the_connection(served):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", urlparse(served.url).port, timeout=10)
    sockets = []
    for _ in range(3):
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Connection", "").lower() != "close"
        response.read()
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is not None and all(s is sockets[0] for s in sockets)  # three requests, one TCP connection


def test_answers_are_gzipped_and_pushes_may_be(served, auth):
    import gzip
    import json

    docs = requests.get(f"{served.url}/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert docs.headers["Content-Encoding"] == "gzip" and docs.json()["openapi"]  # requests inflates it
    push = requests.post(f"{served.url}/api/v1/sync/push", timeout=30,
                         data=gzip.compress(json.dumps({"protocol": 1, "ops": []}).encode()),
                         headers={**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert push.status_code == 200 and push.json()["results"] == [], push.text


def test_the_server_makes_thumbnails_itself_and_healthz_tells_the_queue(app, auth):
    """`make run` alone: the gunicorn master runs the media worker beside the web workers."""
    from tests.media_support import jpeg_bytes

    served = Gunicorn(app, env={"FIELDSYNC_MEDIA_WORKER": "inline"})
    try:
        photo = jpeg_bytes(900, 700)
        location = _create(served.url, auth, photo)
        done = requests.patch(location, data=photo, timeout=30, headers={
            **auth, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        assert done.status_code == 204, done.text
        url = f"{served.url}/api/v1/blobs/{sha256(photo)}?variant=thumb-256"
        for _ in range(300):  # bounded: the worker polls every second
            thumb = requests.get(url, headers=auth, timeout=30)
            if thumb.status_code != 404:
                break
            time.sleep(0.1)
        assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
        health = requests.get(f"{served.url}/healthz", timeout=30).json()
        assert health["media_queue"] == {"pending": 0, "oldest_seconds": None}
    finally:
        served.stop()


def test_the_demo_key_warning_is_logged_once_per_start_not_once_per_process(app):
    """Two web workers and the media worker: one warning, from the master."""
    from server.config import DEMO_KEY_WARNED_ENV

    served = Gunicorn(app, workers=2, env={"FIELDSYNC_SECRET_KEY": None, DEMO_KEY_WARNED_ENV: None,
                                          "FIELDSYNC_MEDIA_WORKER": "inline"})
    try:
        for _ in range(100):  # bounded: both workers answering means both have built the app
            requests.get(f"{served.url}/healthz", timeout=30)
        assert served.output().count("SECRET_KEY is the demo default") == 1, served.output()[-3000:]
    finally:
        served.stop()

    quiet = Gunicorn(app, workers=2)  # a real key: no warning at all
    try:
        requests.get(f"{quiet.url}/healthz", timeout=30)
        assert "SECRET_KEY is the demo default" not in quiet.output()
    finally:
        quiet.stop()


def test_healthz_tells_how_old_the_media_queue_is(client, app):
    from datetime import timedelta

    from media.models import MediaTask
    from server.db import utcnow

    db.session.add(MediaTask(kind="thumbnails", blob_sha256="a" * 64, created_at=utcnow() - timedelta(minutes=5),
                             run_after=utcnow()))
    db.session.commit()
    queue = client.get("/healthz").get_json()["media_queue"]
    assert queue["pending"] == 1 and 290 < queue["oldest_seconds"] < 3600


@pytest.fixture
def patient(app):
    """The server with a read timeout longer than SQLite's busy timeout (10 s)."""
    db.session.commit()
    server = Gunicorn(app, env={"FIELDSYNC_REQUEST_READ_TIMEOUT_SECONDS": "60"})
    yield server
    server.stop()


def test_a_stalled_push_body_holds_no_database_lock(patient, app, auth):
    """A push whose body stops coming after its headers (a phone losing signal) holds
    no database lock while it waits: on SQLite, where every transaction takes the write
    lock, every other request would otherwise queue behind it and fail after the busy timeout."""
    body = b'{"protocol": 1, "ops": []}'
    raw = socket.create_connection(("127.0.0.1", patient.port), timeout=30)
    raw.sendall((f"POST /api/v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body[:5])
    try:
        other = f.login_as(app.test_client(), f.technician())
        db.session.commit()
        assert requests.get(f"{patient.url}/healthz", timeout=30).status_code == 200
        pushed = requests.post(f"{patient.url}/api/v1/sync/push", json={"protocol": 1, "ops": []},
                               headers=other, timeout=30)
        assert pushed.status_code == 200, pushed.text
    finally:
        raw.close()


def test_a_stalled_watermelon_push_body_holds_no_database_lock(patient, app, auth):
    """The same for WatermelonDB's push, whose body (sent as text/plain) the view used
    to read itself, after authenticating had begun a transaction: a stalled phone held
    SQLite's write lock, and another technician's push answered 500 after the busy timeout."""
    body = b'{"jobs": {"created": [], "updated": [], "deleted": []}}'
    raw = socket.create_connection(("127.0.0.1", patient.port), timeout=30)
    raw.sendall((f"POST /api/v1/sync/watermelon/push?last_pulled_at=null HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Authorization: {auth['Authorization']}\r\nContent-Type: text/plain\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:5])
    try:
        other = f.login_as(app.test_client(), f.technician())
        db.session.commit()
        pushed = requests.post(f"{patient.url}/api/v1/sync/push", json={"protocol": 1, "ops": []},
                               headers=other, timeout=30)
        assert pushed.status_code == 200, pushed.text
        theirs = requests.post(f"{patient.url}/api/v1/sync/watermelon/push", params={"last_pulled_at": "null"},
                               data=body, headers={**other, "Content-Type": "text/plain"}, timeout=30)
        assert theirs.status_code == 200, theirs.text
    finally:
        raw.close()
