"""Unfinished uploads in the object store (MEDIA_BACKEND=s3, against moto's
S3 server): multipart parts of at least 5 MiB, the tail kept as an object,
and any app instance resuming any upload, with no shared folder."""

from __future__ import annotations

import functools
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from media.staging import PART_SIZE
from media.storage import blob_key, storage_from_config
from server.extensions import db
from tests import factories as f
from tests.media_support import TUS, Gunicorn, noisy_jpeg, sha256, tus_create, tus_metadata, tus_patch

pytestmark = pytest.mark.usefixtures("fresh_media")


@pytest.fixture
def s3_app(app, s3_config):
    store = storage_from_config(s3_config)
    store.ensure_bucket()
    saved = {k: app.config.get(k) for k in s3_config}
    app.config.update(s3_config)
    app.extensions["fieldsync_media_storage"] = store
    yield store
    app.config.update(saved)
    app.extensions.pop("fieldsync_media_storage", None)


def _state(store, location: str) -> dict:
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    return json.loads(store.client.get_object(Bucket=store.bucket, Key=f"uploads/{upload_id}/state")["Body"].read())


@functools.cache
def _big_photo() -> bytes:
    data = noisy_jpeg(3600, 2700, quality=95)
    assert len(data) > 2 * PART_SIZE, len(data)
    return data


def test_uneven_patches_become_parts_and_a_tail_in_the_store(client, s3_app, app):
    auth = f.login_as(client, f.technician())
    data = _big_photo()
    location = tus_create(client, auth, data).headers["Location"]
    cuts = [0, 3 * 1024 * 1024, 7 * 1024 * 1024 + 17, len(data) - 200_001, len(data)]
    for start, end in zip(cuts, cuts[1:], strict=False):
        response = tus_patch(client, auth, location, data[start:end], start)
        assert response.status_code == 204, response.get_data(as_text=True)
        if end < len(data):
            state = _state(s3_app, location)
            # Every part but the last is at least S3's minimum; the rest waits as the tail, in the store.
            assert all(size >= PART_SIZE for _, size, _ in state["parts"])
            assert sum(size for _, size, _ in state["parts"]) + state["tail"] == end
            assert state["tail"] < PART_SIZE + 1024 * 1024 and state["lease"] is None
            head = client.head(location, headers={**auth, **TUS})
            assert head.headers["Upload-Offset"] == str(end)
    assert int(response.headers["Upload-Offset"]) == len(data)
    assert s3_app.read_bytes(blob_key(sha256(data))) == data
    # Nothing was staged on this host, and nothing is left in the store's upload area.
    assert not any(Path(app.config["MEDIA_ROOT"]).rglob("*.part"))
    left = s3_app.client.list_objects_v2(Bucket=s3_app.bucket, Prefix="uploads/").get("KeyCount", 0)
    assert left == 0
    assert not s3_app.client.list_multipart_uploads(Bucket=s3_app.bucket).get("Uploads")


def test_small_upload_and_checksum_mismatch_in_the_store(client, s3_app):
    import base64
    import hashlib

    auth = f.login_as(client, f.technician())
    data = noisy_jpeg(300, 200)
    location = tus_create(client, auth, data).headers["Location"]
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    refused = tus_patch(client, auth, location, data[:1000], 0, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert refused.status_code == 460
    assert client.head(location, headers={**auth, **TUS}).headers["Upload-Offset"] == "0"
    assert tus_patch(client, auth, location, data[:1000], 0).status_code == 204
    assert tus_patch(client, auth, location, data[1000:], 1000).status_code == 204
    assert s3_app.read_bytes(blob_key(sha256(data))) == data


def test_termination_frees_the_multipart_upload(client, s3_app):
    auth = f.login_as(client, f.technician())
    data = _big_photo()
    location = tus_create(client, auth, data).headers["Location"]
    assert tus_patch(client, auth, location, data[:PART_SIZE + 10], 0).status_code == 204
    assert s3_app.client.list_multipart_uploads(Bucket=s3_app.bucket).get("Uploads")
    assert client.delete(location, headers={**auth, **TUS}).status_code == 204
    assert not s3_app.client.list_multipart_uploads(Bucket=s3_app.bucket).get("Uploads")
    assert s3_app.client.list_objects_v2(Bucket=s3_app.bucket, Prefix="uploads/").get("KeyCount", 0) == 0


# --- two app instances, no shared folder ------------------------------------------------------------

@pytest.fixture
def two_hosts(app, s3_app, s3_config, tmp_path):
    db.session.commit()
    env = {f"FIELDSYNC_{k}": str(v) for k, v in s3_config.items()}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "FIELDSYNC_REQUEST_READ_TIMEOUT_SECONDS": "2"})
    hosts = []
    try:
        for name in ("a", "b"):
            # Each host has a media folder of its own: nothing is shared but the store and the database.
            app.config["MEDIA_ROOT"] = str(tmp_path / f"host-{name}")
            hosts.append(Gunicorn(app, env=env))
        yield hosts
    finally:
        for host in hosts:
            host.stop()


def _login(base: str, app) -> dict:
    from server.accounts.models import User

    tech = f.technician()
    username = db.session.get(User, tech.user_id).username
    db.session.commit()
    response = requests.post(f"{base}/api/v1/auth/token", timeout=30,
                             json={"username": username, "password": f.PASSWORD, "device_id": "handheld-1"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_stalled_upload_on_one_host_resumes_on_another(two_hosts, app, s3_app):
    a, b = two_hosts
    auth = _login(a.url, app)
    data = _big_photo()
    created = requests.post(f"{a.url}/api/v1/uploads/", timeout=30, headers={
        **auth, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": tus_metadata(sha256=sha256(data))})
    path = urlparse(created.headers["Location"]).path
    sent = PART_SIZE + 300_001  # a whole part and a tail
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=60)
    raw.sendall((f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
                 f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n").encode() + data[:sent])
    try:
        # Host a's request times out (2 s) with the bytes kept in the store; host b then sees them.
        answer = raw.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    finally:
        raw.close()
    head = requests.head(f"{b.url}{path}", headers={**auth, **TUS}, timeout=30)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(sent)
    done = requests.patch(f"{b.url}{path}", data=data[sent:], timeout=120, headers={
        **auth, **TUS, "Upload-Offset": str(sent), "Content-Type": "application/offset+octet-stream"})
    assert done.status_code == 204, done.text
    assert s3_app.read_bytes(blob_key(sha256(data))) == data
    assert not any(Path(os.path.dirname(app.config["MEDIA_ROOT"])).rglob("*.part"))


def test_a_host_cannot_append_while_another_holds_the_upload(two_hosts, app, s3_app):
    a, b = two_hosts
    auth = _login(a.url, app)
    data = noisy_jpeg(800, 600)
    created = requests.post(f"{a.url}/api/v1/uploads/", timeout=30, headers={
        **auth, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": tus_metadata(sha256=sha256(data))})
    path = urlparse(created.headers["Location"]).path
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=60)
    raw.sendall((f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
                 f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n").encode() + data[:1000])
    try:
        # While a's request is open, b refuses to interleave (423); once it ended, b resumes
        # (a 409 when a's last bytes landed between b's HEAD and PATCH: HEAD again, as tus clients do).
        statuses = set()
        for _ in range(300):
            offset = int(requests.head(f"{b.url}{path}", headers={**auth, **TUS}, timeout=30)
                         .headers["Upload-Offset"])
            response = requests.patch(f"{b.url}{path}", data=data[offset:], timeout=60, headers={
                **auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            statuses.add(response.status_code)
            if response.status_code not in (409, 423):  # 409: a's last bytes landed between HEAD and PATCH
                break
            time.sleep(0.05)  # bounded: a's read timeout is 2 s
    finally:
        raw.close()
    assert 423 in statuses and response.status_code == 204, (statuses, response.text)
    assert s3_app.read_bytes(blob_key(sha256(data))) == data


def test_tuspy_resumes_on_the_other_host(two_hosts, app, s3_app, tmp_path):
    from tusclient import client as tus_client

    a, b = two_hosts
    auth = _login(a.url, app)
    data = _big_photo()
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    metadata = {"sha256": sha256(data), "filename": "photo.jpg"}
    first = tus_client.TusClient(f"{a.url}/api/v1/uploads/", headers=dict(auth)).uploader(
        str(path), chunk_size=2 * 1024 * 1024, metadata=metadata, retries=0)
    for _ in range(4):
        first.upload_chunk()
    assert first.offset == 8 * 1024 * 1024
    # The phone's next attempt lands on host b (a load balancer), which knows nothing local of it.
    url_on_b = first.url.replace(a.url, b.url)
    second = tus_client.TusClient(f"{b.url}/api/v1/uploads/", headers=dict(auth)).uploader(
        str(path), chunk_size=2 * 1024 * 1024, metadata=metadata, url=url_on_b, retries=0)
    assert second.offset == first.offset
    second.upload()
    assert second.offset == len(data)
    assert s3_app.read_bytes(blob_key(sha256(data))) == data


def test_tus_js_client_resumes_on_the_other_host(two_hosts, app, s3_app, tmp_path):
    from tests.conftest import tool_missing
    from tests.test_uploads import _node_ready, _run_js

    reason = _node_ready()
    if reason:
        tool_missing(reason)
    a, b = two_hosts
    auth = _login(a.url, app)
    data = _big_photo()
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    token = auth["Authorization"].split(" ", 1)[1]
    common = {"token": token, "file": str(path), "sha256": sha256(data), "chunkSize": 2 * 1024 * 1024}
    first = _run_js({**common, "endpoint": f"{a.url}/api/v1/uploads/", "abortAfter": 6 * 1024 * 1024})
    assert first["finished"] is False and first["url"], first
    url_on_b = first["url"].replace(a.url, b.url)
    offset = int(requests.head(url_on_b, headers={**auth, **TUS}, timeout=30).headers["Upload-Offset"])
    assert 6 * 1024 * 1024 <= offset < len(data)
    second = _run_js({**common, "endpoint": f"{b.url}/api/v1/uploads/", "uploadUrl": url_on_b})
    assert second["finished"] is True, second
    assert s3_app.read_bytes(blob_key(sha256(data))) == data


def test_two_hosts_finishing_the_same_upload_at_once_make_one_blob(two_hosts, app, s3_app):
    """Every byte of an upload is in the store but it is not finished yet (its last
    PATCH could not reach storage, or its answer was lost): the phone's HEADs reach
    both hosts at the same instant, and both finish it. One host makes the blob (the
    multipart upload completed once, the staged objects freed); the other waits for it
    and answers the same. No 5xx and no 423, nothing left in the store's upload area."""
    import threading
    import uuid

    from media.models import Blob, Upload
    from media.staging import S3Staging

    a, b = two_hosts
    auth = _login(a.url, app)
    staging = S3Staging(s3_app)
    for seed in range(3):  # bounded: three uploads, each raced once
        data = noisy_jpeg(2600, 2000, seed=seed + 10, quality=95)
        assert len(data) > PART_SIZE  # a multipart upload and a tail to assemble
        created = requests.post(f"{a.url}/api/v1/uploads/", timeout=30, headers={
            **auth, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": tus_metadata(sha256=sha256(data))})
        assert created.status_code == 201, created.text
        path = urlparse(created.headers["Location"]).path
        upload_id = uuid.UUID(path.rstrip("/").rsplit("/", 1)[1])
        pieces = iter([data[:PART_SIZE + 1000], data[PART_SIZE + 1000:]])
        staged = staging.append(upload_id, lambda _size, pieces=pieces: next(pieces, b""), offset=0,
                                remaining=len(data), checksum=None)
        assert staged == len(data)
        start = threading.Barrier(2)
        answers: dict[str, requests.Response | BaseException] = {}

        def head(host, name, path=path, start=start, answers=answers):
            start.wait(timeout=30)
            try:
                answers[name] = requests.head(f"{host.url}{path}", headers={**auth, **TUS}, timeout=120)
            except requests.RequestException as exc:
                answers[name] = exc

        threads = [threading.Thread(target=head, args=(host, name)) for host, name in ((a, "a"), (b, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=150)
        for name, answer in answers.items():
            assert isinstance(answer, requests.Response), (name, answer)
            assert answer.status_code == 200, (name, answer.status_code, answer.headers)
            assert answer.headers["Upload-Offset"] == str(len(data))
        assert len(answers) == 2
        assert s3_app.read_bytes(blob_key(sha256(data))) == data
        db.session.expire_all()
        assert db.session.get(Upload, upload_id).completed_at is not None
        assert db.session.get(Blob, sha256(data)).size == len(data)
        db.session.commit()
        assert s3_app.client.list_objects_v2(Bucket=s3_app.bucket, Prefix="uploads/").get("KeyCount", 0) == 0
        assert not s3_app.client.list_multipart_uploads(Bucket=s3_app.bucket).get("Uploads")
