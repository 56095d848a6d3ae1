"""Compression both ways: answers gzip-compressed for clients that accept it
(pulls, lists, WatermelonDB; never media), and pushes accepted with
``Content-Encoding: gzip`` on both protocols, the limits applied to the
inflated size and a zip bomb refused after inflating no more than the limit."""

from __future__ import annotations

import gzip
import io
import json
import uuid
import zlib

import pytest

from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import CheckIn, Job
from server.serving import PIECE, BodyRefused, InflatedInput
from tests import factories as f
from tests.media_support import jpeg_bytes, sha256, tus_upload
from tests.syncing import PROTOCOL, check_in

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def tech():
    technician = f.technician()
    for _ in range(6):
        f.job(tech=technician, planned_start=None)
    return technician


def _inflate(response) -> dict:
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    return json.loads(gzip.decompress(response.data))


def test_pulls_and_lists_are_gzipped_for_clients_that_accept_it(client, tech):
    headers = f.login_as(client, tech)
    for url, query in [("/api/v1/sync/pull", {"protocol": PROTOCOL}),
                       ("/api/v1/sync/watermelon/pull", {"schema_version": 3, "last_pulled_at": "null"})]:
        plain = client.get(url, query_string=query, headers=headers)
        packed = client.get(url, query_string=query, headers={**headers, **GZIP})
        assert "Content-Encoding" not in plain.headers
        assert len(packed.data) < len(plain.data) / 2
        body = _inflate(packed)
        assert body.keys() == plain.get_json().keys()
    office = f.login_as(client, f.user(Role.dispatcher))
    listed = client.get("/api/v1/jobs", query_string={"limit": 50}, headers={**office, **GZIP})
    assert len(_inflate(listed)["items"]) == 6


def test_media_are_never_recompressed(client, tech, fresh_media):
    headers = f.login_as(client, tech)
    photo = jpeg_bytes(800, 600)
    assert tus_upload(client, headers, photo).status_code == 204
    got = client.get(f"/api/v1/blobs/{sha256(photo)}", headers={**headers, **GZIP})
    assert got.status_code == 200 and "Content-Encoding" not in got.headers
    assert got.data == photo


def test_a_gzipped_push_is_applied(client, tech):
    headers = f.login_as(client, tech)
    job = db.session.query(Job).first()
    ops = [check_in(job.id) for _ in range(40)]
    body = gzip.compress(json.dumps({"protocol": PROTOCOL, "ops": ops}).encode())
    response = client.post("/api/v1/sync/push", data=body, headers={
        **headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [r["status"] for r in response.get_json()["results"]] == ["applied"] * 40
    assert db.session.query(CheckIn).count() == 40


def test_a_gzipped_watermelon_push_is_applied(client, tech):
    headers = f.login_as(client, tech)
    job = db.session.query(Job).first()
    pulled = client.get("/api/v1/sync/watermelon/pull", query_string={"schema_version": 3, "last_pulled_at": "null"},
                        headers=headers).get_json()
    record = str(uuid.uuid4())
    changes = {"check_ins": {"created": [{"id": record, "job_id": str(job.id), "kind": "arrival", "latitude": 31.2,
                                          "longitude": 121.4, "recorded_at": 1_764_000_000_000}],
                             "updated": [], "deleted": []}}
    response = client.post("/api/v1/sync/watermelon/push", query_string={"last_pulled_at": pulled["timestamp"]},
                           data=gzip.compress(json.dumps(changes).encode()),
                           headers={**headers, "Content-Type": "text/plain;charset=UTF-8", "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert db.session.get(CheckIn, uuid.UUID(record)) is not None


def _bomb(inflated_bytes: int) -> bytes:
    """A gzip body of ``inflated_bytes`` zeros (about a thousandth of that on the wire)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packer:
        zeros = bytes(1024 * 1024)
        for _ in range(inflated_bytes // len(zeros)):
            packer.write(zeros)
    return out.getvalue()


def test_the_push_limit_is_on_the_inflated_size(client, tech, app):
    headers = f.login_as(client, tech)
    limit = app.config["SYNC_PUSH_MAX_BYTES"]
    job = db.session.query(Job).first()
    padded = [check_in(job.id) for _ in range(5)]
    payload = json.dumps({"protocol": PROTOCOL, "ops": padded, "pad": "x" * (limit + 10)}).encode()
    packed = gzip.compress(payload)
    assert len(packed) < limit / 100  # small on the wire, too big once inflated
    for url in ("/api/v1/sync/push", "/api/v1/sync/watermelon/push?last_pulled_at=1"):
        response = client.post(url, data=packed, headers={
            **headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert response.status_code == 413, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "batch_too_large"
    assert db.session.query(CheckIn).count() == 0


def test_a_zip_bomb_is_refused(client, tech):
    headers = f.login_as(client, tech)
    bomb = _bomb(64 * 1024 * 1024)  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < 100 * 1024
    response = client.post("/api/v1/sync/push", data=bomb, headers={
        **headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 413


def test_inflating_stops_at_the_limit():
    """The inflater is asked for at most what the reader wants: a bomb costs
    the limit and one piece, whatever it would inflate to."""
    bomb = _bomb(64 * 1024 * 1024)
    source = InflatedInput(io.BytesIO(bomb), limit=1024 * 1024)
    with pytest.raises(BodyRefused) as refused:
        while source.read(PIECE):
            pass
    assert refused.value.status == 413
    assert source.produced <= 1024 * 1024 + PIECE


def test_bad_encodings_are_refused_clearly(client, tech):
    headers = f.login_as(client, tech)
    broken = client.post("/api/v1/sync/push", data=b"\x1f\x8b not really gzip", headers={
        **headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert broken.status_code == 400 and broken.get_json()["error"]["code"] == "malformed_body_encoding"
    cut = gzip.compress(b'{"protocol": 1, "ops": []}')[:-6]
    truncated = client.post("/api/v1/sync/push", data=cut, headers={
        **headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert truncated.status_code == 400 and truncated.get_json()["error"]["code"] == "malformed_body_encoding"
    other = client.post("/api/v1/sync/push", data=zlib.compress(b"{}"), headers={
        **headers, "Content-Type": "application/json", "Content-Encoding": "br"})
    assert other.status_code == 415 and other.get_json()["error"]["code"] == "unsupported_content_encoding"
