"""tus 1.0 uploads and blob serving: the protocol through the test client,
then real clients no one here wrote (tuspy, tus-js-client) against a live
server, each interrupted part-way and resumed."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from media.models import Blob, Photo, Upload
from media.storage import S3Storage, blob_key
from server.accounts.models import Role
from server.api.media_support import media_storage
from server.db import utcnow
from server.extensions import db
from tests import factories as f
from tests.conftest import tool_missing
from tests.media_support import TUS, jpeg_bytes, noisy_jpeg, sha256, tus_create, tus_metadata, tus_patch, tus_upload

JS_DIR = Path(__file__).parent / "js"
pytestmark = pytest.mark.usefixtures("fresh_media")


@pytest.fixture
def tech(app):
    return f.technician()


@pytest.fixture
def auth(client, tech):
    return f.login_as(client, tech)


@pytest.fixture
def photo_bytes():
    return jpeg_bytes(800, 600, taken="2026:11:20 10:00:00", gps=(31.2304, 121.4737))


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    if response.request.method != "HEAD":  # HEAD answers carry no body
        assert response.get_json()["error"]["code"] == code
    if response.request.path.startswith("/api/v1/uploads"):
        assert response.headers["Tus-Resumable"] == "1.0.0"


def test_options_announces_the_protocol(client):
    response = client.options("/api/v1/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "checksum", "expiration"}
    assert response.headers["Tus-Checksum-Algorithm"] == "sha256"
    assert int(response.headers["Tus-Max-Size"]) > 0


def test_chunked_upload_then_blob_served_with_validators(client, auth, photo_bytes, app):
    response = tus_upload(client, auth, photo_bytes, chunk=10_000)
    assert response.status_code == 204
    assert int(response.headers["Upload-Offset"]) == len(photo_bytes)
    sha = sha256(photo_bytes)
    blob = db.session.get(Blob, sha)
    assert (blob.size, blob.content_type, blob.image_format) == (len(photo_bytes), "image/jpeg", "JPEG")
    assert (blob.width, blob.height) == (800, 600)
    assert (blob.latitude, blob.longitude) == pytest.approx((31.2304, 121.4737), abs=1e-4)

    got = client.get(f"/api/v1/blobs/{sha}", headers=auth)
    assert got.status_code == 200
    assert sha256(got.data) == sha
    assert got.headers["ETag"] == f'"{sha}"'
    assert "immutable" in got.headers["Cache-Control"] and "private" in got.headers["Cache-Control"]
    assert got.headers["Content-Type"] == "image/jpeg"
    head = client.head(f"/api/v1/blobs/{sha}", headers=auth)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(photo_bytes)
    cached = client.get(f"/api/v1/blobs/{sha}", headers={**auth, "If-None-Match": f'"{sha}"'})
    assert cached.status_code == 304 and cached.data == b""


def test_creation_with_upload_in_one_request(client, auth, photo_bytes):
    response = tus_create(client, auth, photo_bytes, body=photo_bytes)
    assert response.status_code == 201
    assert int(response.headers["Upload-Offset"]) == len(photo_bytes)
    assert "Upload-Expires" in response.headers
    assert db.session.get(Blob, sha256(photo_bytes)) is not None


def test_head_reports_offset_length_metadata_and_expiry(client, auth, photo_bytes):
    location = tus_create(client, auth, photo_bytes).headers["Location"]
    tus_patch(client, auth, location, photo_bytes[:1000], 0)
    head = client.head(location, headers={**auth, **TUS})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "1000"
    assert head.headers["Upload-Length"] == str(len(photo_bytes))
    assert head.headers["Cache-Control"] == "no-store"
    assert "sha256 " in head.headers["Upload-Metadata"]
    assert head.headers["Upload-Expires"].endswith("GMT")


def test_hash_mismatch_is_refused_and_leaves_nothing(client, auth, photo_bytes, tmp_path):
    wrong = sha256(b"something else")
    created = tus_create(client, auth, photo_bytes, sha=wrong)
    location = created.headers["Location"]
    response = tus_patch(client, auth, location, photo_bytes, 0)
    body = response.get_json()["error"]
    assert response.status_code == 422 and body["code"] == "sha256_mismatch"
    assert body["details"]["actual"] == sha256(photo_bytes)
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 0
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0
    assert client.head(location, headers={**auth, **TUS}).status_code == 404
    assert not media_storage().exists(blob_key(sha256(photo_bytes)))


def test_same_bytes_twice_are_stored_once(client, auth, photo_bytes, app):
    other = f.login_as(client, f.technician())
    assert tus_upload(client, auth, photo_bytes).status_code == 204
    assert tus_upload(client, other, photo_bytes).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 1
    files = [p for p in Path(app.config["MEDIA_ROOT"], "blobs").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [sha256(photo_bytes)]
    # Both uploaders may read it back.
    for who in (auth, other):
        assert client.get(f"/api/v1/blobs/{sha256(photo_bytes)}", headers=who).status_code == 200


def test_offset_mismatch_is_409(client, auth, photo_bytes):
    location = tus_create(client, auth, photo_bytes).headers["Location"]
    assert tus_patch(client, auth, location, photo_bytes[:100], 0).status_code == 204
    response = tus_patch(client, auth, location, photo_bytes[:100], 0)
    assert_error(response, 409, "upload_offset_mismatch")
    assert response.get_json()["error"]["details"]["offset"] == 100


def test_size_limits_are_413(client, auth, app, photo_bytes):
    too_big = app.config["MEDIA_MAX_UPLOAD_BYTES"] + 1
    response = client.post("/api/v1/uploads/", headers={
        **auth, **TUS, "Upload-Length": str(too_big), "Upload-Metadata": tus_metadata(sha256="a" * 64)})
    assert_error(response, 413, "upload_too_large")
    location = tus_create(client, auth, photo_bytes[:500]).headers["Location"]
    assert_error(tus_patch(client, auth, location, photo_bytes[:501], 0), 413, "upload_too_large")


def test_open_uploads_per_user_are_limited(client, auth, app, photo_bytes):
    app.config["MEDIA_MAX_OPEN_UPLOADS"] = 2
    try:
        first = tus_create(client, auth, photo_bytes)
        assert tus_create(client, auth, photo_bytes).status_code == 201
        assert_error(tus_create(client, auth, photo_bytes), 429, "too_many_uploads")
        client.delete(first.headers["Location"], headers={**auth, **TUS})
        assert tus_create(client, auth, photo_bytes).status_code == 201
    finally:
        app.config["MEDIA_MAX_OPEN_UPLOADS"] = 100


def test_checksum_extension(client, auth, photo_bytes):
    import base64
    import hashlib

    location = tus_create(client, auth, photo_bytes).headers["Location"]
    chunk = photo_bytes[:4096]
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = tus_patch(client, auth, location, chunk, 0, **{"Upload-Checksum": f"sha256 {bad}"})
    assert_error(response, 460, "checksum_mismatch")
    assert client.head(location, headers={**auth, **TUS}).headers["Upload-Offset"] == "0"
    good = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
    response = tus_patch(client, auth, location, chunk, 0, **{"Upload-Checksum": f"sha256 {good}"})
    assert response.status_code == 204 and response.headers["Upload-Offset"] == "4096"
    md5 = tus_patch(client, auth, location, chunk, 4096, **{"Upload-Checksum": "md5 AAAA"})
    assert_error(md5, 400, "checksum_algorithm_unsupported")


def test_termination(client, auth, photo_bytes):
    location = tus_create(client, auth, photo_bytes).headers["Location"]
    tus_patch(client, auth, location, photo_bytes[:100], 0)
    assert client.delete(location, headers={**auth, **TUS}).status_code == 204
    assert client.head(location, headers={**auth, **TUS}).status_code == 404


def test_method_override_for_post_only_networks(client, auth, photo_bytes):
    location = tus_create(client, auth, photo_bytes).headers["Location"]
    response = client.post(location, data=photo_bytes[:500], headers={
        **auth, **TUS, "X-HTTP-Method-Override": "PATCH", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 204 and response.headers["Upload-Offset"] == "500"
    deleted = client.post(location, headers={**auth, **TUS, "X-HTTP-Method-Override": "DELETE"})
    assert deleted.status_code == 204
    assert client.head(location, headers={**auth, **TUS}).status_code == 404
    assert_error(client.post(location, headers={**auth, **TUS}), 405, "method_not_allowed")


def test_expired_upload_is_gone_and_purged(client, auth, photo_bytes, app):
    from media.uploads import UploadSettings, purge_expired, staged_path

    location = tus_create(client, auth, photo_bytes).headers["Location"]
    upload = db.session.scalar(select(Upload))
    upload.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_error(client.head(location, headers={**auth, **TUS}), 410, "upload_expired")
    assert_error(tus_patch(client, auth, location, photo_bytes[:10], 0), 410, "upload_expired")
    settings = UploadSettings.from_config(app.config)
    path = staged_path(settings, upload.id)
    assert purge_expired(db.session, settings, now=utcnow()) == 1
    db.session.commit()
    assert not path.exists()
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 0


def test_protocol_errors(client, auth, photo_bytes):
    no_version = client.post("/api/v1/uploads/", headers={**auth, "Upload-Length": "10"})
    assert_error(no_version, 412, "tus_version_unsupported")
    assert no_version.headers["Tus-Version"] == "1.0.0"
    no_sha = client.post("/api/v1/uploads/", headers={**auth, **TUS, "Upload-Length": "10"})
    assert_error(no_sha, 422, "sha256_metadata_required")
    location = tus_create(client, auth, photo_bytes).headers["Location"]
    wrong_type = client.patch(location, data=b"x", headers={**auth, **TUS, "Upload-Offset": "0",
                                                             "Content-Type": "application/json"})
    assert_error(wrong_type, 415, "unsupported_media_type")
    assert_error(client.post("/api/v1/uploads/", headers=TUS), 401, "missing_token")


def test_someone_elses_upload_is_not_found(client, auth, photo_bytes):
    location = tus_create(client, auth, photo_bytes).headers["Location"]
    stranger = f.login_as(client, f.technician())
    assert client.head(location, headers={**stranger, **TUS}).status_code == 404
    assert tus_patch(client, stranger, location, photo_bytes[:10], 0).status_code == 404


def test_blob_visibility(client, auth, tech, photo_bytes):
    sha = sha256(photo_bytes)
    assert tus_upload(client, auth, photo_bytes).status_code == 204
    stranger_tech = f.technician()
    stranger = f.login_as(client, stranger_tech)
    assert_error(client.get(f"/api/v1/blobs/{sha}", headers=stranger), 404, "blob_not_found")
    dispatcher = f.login_as(client, f.user(Role.dispatcher))
    assert client.get(f"/api/v1/blobs/{sha}", headers=dispatcher).status_code == 200
    # A photo on the stranger's own job opens the blob to them.
    job = f.job(tech=stranger_tech)
    db.session.add(Photo(job_id=job.id, blob_sha256=sha))
    db.session.commit()
    assert client.get(f"/api/v1/blobs/{sha}", headers=stranger).status_code == 200
    assert_error(client.get(f"/api/v1/blobs/{'0' * 64}", headers=dispatcher), 404, "blob_not_found")
    assert_error(client.get("/api/v1/blobs/not-a-hash", headers=dispatcher), 404, "blob_not_found")


def test_upload_to_s3_backend(client, auth, photo_bytes, app, s3_config):
    from media.storage import storage_from_config

    store = storage_from_config(s3_config)
    assert isinstance(store, S3Storage)
    store.ensure_bucket()
    previous = app.extensions.get("fieldsync_media_storage")
    app.extensions["fieldsync_media_storage"] = store
    try:
        assert tus_upload(client, auth, photo_bytes, chunk=30_000).status_code == 204
        assert store.read_bytes(blob_key(sha256(photo_bytes))) == photo_bytes
        url = f"/api/v1/blobs/{sha256(photo_bytes)}"
        assert sha256(client.get(url, headers=auth).data) == sha256(photo_bytes)
        assert client.get(url, headers={**auth, "Range": "bytes=10-19"}).data == photo_bytes[10:20]
        from tests.media_support import run_worker

        assert run_worker(app) == 1  # thumbnails made from, and stored in, S3
        assert client.get(f"{url}?variant=thumb-256", headers=auth).status_code == 200
        assert client.get(f"{url}?variant=customer", headers=auth).status_code == 200
        assert store.exists(f"derived/{sha256(photo_bytes)[:2]}/{sha256(photo_bytes)[2:4]}/{sha256(photo_bytes)}/"
                            "thumb-1024.jpg")
    finally:
        if previous is None:
            app.extensions.pop("fieldsync_media_storage", None)
        else:
            app.extensions["fieldsync_media_storage"] = previous


# --- real clients, real HTTP, real interruptions ----------------------------------------------------

def _token(auth: dict) -> str:
    return auth["Authorization"].split(" ", 1)[1]


def _release_db():
    # The live server's threads use their own sessions: end this one's transaction
    # so that SQLite's write lock is free for them.
    db.session.commit()


def _fetch(url: str, auth: dict) -> bytes:
    import requests

    response = requests.get(url, headers=auth, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def test_connection_cut_mid_body_keeps_what_arrived(live_server, auth, photo_bytes):
    import requests

    _release_db()
    created = requests.post(f"{live_server}/api/v1/uploads/", timeout=30, headers={
        **auth, **TUS, "Upload-Length": str(len(photo_bytes)),
        "Upload-Metadata": tus_metadata(sha256=sha256(photo_bytes))})
    location = created.headers["Location"]
    path = urlparse(location).path
    sent = len(photo_bytes) // 2
    with socket.create_connection(("127.0.0.1", urlparse(live_server).port), timeout=30) as raw:
        head = (f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
                f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {len(photo_bytes)}\r\n\r\n").encode()
        raw.sendall(head + photo_bytes[:sent])
        raw.shutdown(socket.SHUT_WR)  # the network drops: the rest never comes
        raw.recv(65536)
    offset = int(requests.head(location, headers={**auth, **TUS}, timeout=30).headers["Upload-Offset"])
    assert 0 < offset <= sent
    done = requests.patch(location, data=photo_bytes[offset:], timeout=30, headers={
        **auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
    assert done.status_code == 204, done.text
    assert sha256(_fetch(f"{live_server}/api/v1/blobs/{sha256(photo_bytes)}", auth)) == sha256(photo_bytes)


def test_tuspy_interrupted_and_resumed(live_server, auth, tmp_path):
    from tusclient import client as tus_client
    from tusclient.storage.filestorage import FileStorage

    data = noisy_jpeg(800, 600)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    _release_db()
    urls = FileStorage(str(tmp_path / "tus-urls.json"))
    metadata = {"sha256": sha256(data), "filename": "photo.jpg"}

    def uploader():
        client = tus_client.TusClient(f"{live_server}/api/v1/uploads/", headers=dict(auth))
        return client.uploader(str(path), chunk_size=32 * 1024, metadata=metadata, store_url=True,
                               url_storage=urls, retries=0)

    first = uploader()
    for _ in range(3):
        first.upload_chunk()
    assert first.offset == 3 * 32 * 1024 < len(data)
    # The app is killed here; a new process finds the upload by fingerprint and resumes.
    second = uploader()
    assert second.url == first.url
    assert second.offset == first.offset
    second.upload()
    assert second.offset == len(data)
    assert sha256(_fetch(f"{live_server}/api/v1/blobs/{sha256(data)}", auth)) == sha256(data)


def _node_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS_DIR / "node_modules" / "tus-js-client").is_dir():
        return "tus-js-client is not installed: run `npm ci` in tests/js (.ci/run does)"
    return None


def _run_js(args: dict) -> dict:
    node = shutil.which("node")
    result = subprocess.run([node, str(JS_DIR / "upload.mjs"), json.dumps(args)], capture_output=True,  # noqa: S603
                            text=True, timeout=90, cwd=JS_DIR, check=False)
    assert result.stdout, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_tus_js_client_interrupted_and_resumed(live_server, auth, tmp_path):
    reason = _node_ready()
    if reason:
        tool_missing(reason)
    data = noisy_jpeg(800, 600)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    _release_db()
    common = {"endpoint": f"{live_server}/api/v1/uploads/", "token": _token(auth), "file": str(path),
              "sha256": sha256(data), "chunkSize": 32 * 1024}
    first = _run_js({**common, "abortAfter": 64 * 1024})
    assert first["finished"] is False and first["url"]
    import requests

    offset = int(requests.head(first["url"], headers={**auth, **TUS}, timeout=30).headers["Upload-Offset"])
    assert 64 * 1024 <= offset < len(data)
    second = _run_js({**common, "uploadUrl": first["url"]})
    assert second["finished"] is True, second
    assert sha256(_fetch(f"{live_server}/api/v1/blobs/{sha256(data)}", auth)) == sha256(data)


def test_same_bytes_finishing_at_once_are_stored_once(live_server, app, photo_bytes):
    """Two devices upload the same photo and their last PATCHes race: one blob, both succeed."""
    import threading

    import requests

    auths = [f.login_as(app.test_client(), f.technician()) for _ in range(2)]
    _release_db()
    locations = []
    for who in auths:
        created = requests.post(f"{live_server}/api/v1/uploads/", timeout=30, headers={
            **who, **TUS, "Upload-Length": str(len(photo_bytes)),
            "Upload-Metadata": tus_metadata(sha256=sha256(photo_bytes))})
        locations.append(created.headers["Location"])
    barrier = threading.Barrier(2)
    statuses = []

    def finish(who, location):
        barrier.wait(timeout=30)
        response = requests.patch(location, data=photo_bytes, timeout=60, headers={
            **who, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=finish, args=pair) for pair in zip(auths, locations, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert statuses == [204, 204]
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 1


def test_blob_download_resumes_with_range(client, auth, photo_bytes):
    assert tus_upload(client, auth, photo_bytes).status_code == 204
    url, size = f"/api/v1/blobs/{sha256(photo_bytes)}", len(photo_bytes)
    head = client.head(url, headers=auth)
    assert head.headers["Accept-Ranges"] == "bytes"
    part = client.get(url, headers={**auth, "Range": "bytes=100-"})
    assert part.status_code == 206 and part.data == photo_bytes[100:]
    assert part.headers["Content-Range"] == f"bytes 100-{size - 1}/{size}"
    assert client.get(url, headers={**auth, "Range": "bytes=0-9"}).data == photo_bytes[:10]
    assert client.get(url, headers={**auth, "Range": "bytes=-5"}).data == photo_bytes[-5:]
    stale = client.get(url, headers={**auth, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == photo_bytes
    outside = client.get(url, headers={**auth, "Range": f"bytes={size}-"})
    assert outside.status_code == 416 and outside.headers["Content-Range"] == f"bytes */{size}"


def test_upload_memory_stays_flat(client, auth):
    """A 24 MiB PATCH moves through the server in bounded chunks: the handler's
    own allocations stay far below the body's size."""
    import os
    import tracemalloc

    body = os.urandom(24 * 1024 * 1024)
    created = client.post("/api/v1/uploads/", headers={
        **auth, **TUS, "Upload-Length": str(len(body) + 1), "Upload-Metadata": tus_metadata(sha256="0" * 64)})
    location = created.headers["Location"]
    tracemalloc.start()
    try:
        response = tus_patch(client, auth, location, body, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 204 and response.headers["Upload-Offset"] == str(len(body))
    assert peak < 6 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 24 MiB body"


def test_storage_outage_keeps_the_upload_and_head_finishes_it_later(client, auth, photo_bytes, app):
    """The last PATCH cannot reach storage: 503, nothing lost. A client that
    then asks HEAD (as resuming clients do) gets the upload finished, not an
    offset that claims success while no blob exists."""
    from media.storage import LocalStorage, StorageError

    class Down(LocalStorage):
        def put(self, key, fileobj, *, content_type="application/octet-stream"):
            raise StorageError("s3: connection refused")

    working = media_storage()
    app.extensions["fieldsync_media_storage"] = Down(working.root)
    location = tus_create(client, auth, photo_bytes).headers["Location"]
    response = tus_patch(client, auth, location, photo_bytes, 0)
    assert_error(response, 503, "storage_unavailable")
    assert response.headers["Retry-After"]
    assert db.session.get(Blob, sha256(photo_bytes)) is None
    assert_error(client.head(location, headers={**auth, **TUS}), 503, "storage_unavailable")

    app.extensions["fieldsync_media_storage"] = working  # the store is back
    head = client.head(location, headers={**auth, **TUS})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(photo_bytes))
    assert db.session.get(Blob, sha256(photo_bytes)) is not None
    assert client.get(f"/api/v1/blobs/{sha256(photo_bytes)}", headers=auth).data == photo_bytes
