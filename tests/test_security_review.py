"""Security review: scope, roles and robustness holes found after the merge.
Each test shows one hole (it failed before its fix), through the real HTTP
stack, on both databases."""

from __future__ import annotations

import base64
import json
import uuid

from sqlalchemy import func, select

from server.accounts.models import Role, User
from server.extensions import db
from server.jobs.models import PartUsage
from server.stock.models import LocationKind, StockMovement
from tests import factories as f
from tests.syncing import Handheld, op, part_usage
from tests.test_errors import assert_error


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- sync push: parts used may only come off the technician's own van (or a warehouse) ---------------------------

def test_push_cannot_take_parts_off_another_technicians_van(client):
    mine, theirs = f.technician(), f.technician()
    job = f.job(tech=mine)
    part = f.part()
    device = Handheld(client, mine)
    answer = device.push([part_usage(job.id, part.id, location_id=str(theirs.van_location_id))])
    result = answer["results"][0]
    assert result["status"] == "rejected", result
    assert result["error"]["code"] == "not_found"
    assert _count(PartUsage) == 0
    assert _count(StockMovement, StockMovement.location_id == theirs.van_location_id) == 0


def test_push_may_take_parts_from_own_van_or_a_warehouse(client):
    mine = f.technician()
    job = f.job(tech=mine)
    part = f.part()
    warehouse = f.location(LocationKind.regional_warehouse)
    device = Handheld(client, mine)
    answer = device.push([part_usage(job.id, part.id, location_id=str(mine.van_location_id)),
                          part_usage(job.id, part.id, location_id=str(warehouse.id))])
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"], answer


# --- sync push: a signature's strokes are points, as on the REST path ----------------------------------------------

def _signature_op(job_id, strokes) -> dict:
    return op("signatures", uuid.uuid4(), "create", {
        "job_id": str(job_id), "signer_name": "王先生", "strokes": strokes, "report_sha256": "a" * 64})


def test_push_refuses_strokes_that_are_not_points(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    bad = [[["x"]], [[{"x": "a", "y": 1, "t": 0}]], [[{"y": 2, "t": 0}]], [[{"x": 1e308, "y": 1, "t": 0}]],
           [[{"x": 1, "y": 1, "t": -5}]], [[{"x": 1, "y": 1, "t": 0, "p": 7}]],
           [[{"x": 1, "y": 1, "t": 0, "evil": "<script>"}]], [[1, 2, 3]]]
    answer = device.push([_signature_op(job.id, strokes) for strokes in bad])
    assert [r["status"] for r in answer["results"]] == ["rejected"] * len(bad), answer
    office = f.login_as(client, f.user(Role.dispatcher))
    assert_error(client.get(f"/api/v1/jobs/{job.id}/signature.png", headers=office), 404, "signature_not_found")


def test_push_with_nan_in_strokes_is_rejected_not_a_500(client):
    tech = f.technician()
    job = f.job(tech=tech)
    device = Handheld(client, tech)
    body = json.dumps({"protocol": 1, "ops": [_signature_op(job.id, [[{"x": 1, "y": 1, "t": 0}]])]})
    body = body.replace('"x": 1', '"x": NaN')
    response = client.post("/api/v1/sync/push", data=body, content_type="application/json", headers=device.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["results"][0]["status"] == "rejected"


# --- cursors: forged ones are a 422, never a 500 -----------------------------------------------------------------

def _forged(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_forged_pull_cursors_are_422(client):
    tech = f.technician()
    f.job(tech=tech)
    device = Handheld(client, tech)
    for payload in ({"p": 10 ** 30, "f": 0}, {"p": 2 ** 63, "f": 1}, {"p": True, "f": 0}, {"p": 1.5, "f": 0},
                    {"p": 1, "f": "yes"}, {"p": -1, "f": 0}, {"p": [], "f": {}}):
        response = client.get("/api/v1/sync/pull", query_string={"protocol": 1, "cursor": _forged(payload)},
                              headers=device.headers)
        assert_error(response, 422, "invalid_cursor")
    for text in ("%%%", "e30", "bnVsbA", "W10", "!" * 4000):
        response = client.get("/api/v1/sync/pull", query_string={"protocol": 1, "cursor": text},
                              headers=device.headers)
        assert_error(response, 422, "invalid_cursor")


def test_forged_list_cursors_are_422(client):
    headers = f.login_as(client, f.user(Role.admin))
    forged = {
        "/api/v1/stock/movements": [[["v", 10 ** 30]], [["v", 2 ** 63]], [["v", -(2 ** 63) - 1]]],
        "/api/v1/tickets": [[["dt", "0001-01-01T00:00:00+05:00"], ["u", str(uuid.uuid4())]],
                            [["dt", "9999-12-31T23:59:59-05:00"], ["u", str(uuid.uuid4())]],
                            [["dt", "2026-01-01T00:00:00+00:00"], ["u", "nope"]],
                            [["zz"], ["u", str(uuid.uuid4())]], [["v", "x"], ["u", str(uuid.uuid4())]],
                            [["v", 5], ["u", str(uuid.uuid4())]], [["v", None], ["v", None]]],
        "/api/v1/technicians": [[["v", "\x00"], ["u", str(uuid.uuid4())]]],
    }
    for path, cursors in forged.items():
        for values in cursors:
            cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
            response = client.get(path, query_string={"cursor": cursor}, headers=headers)
            assert_error(response, 422, "invalid_cursor")


# --- a signed report snapshot is the canonical shape, so later diffs cannot fail --------------------------------

def _canonical_skeleton(job_id, **overrides) -> dict:
    report = {"version": 1, "job_id": str(job_id), "work_done": None, "fault_cause": None, "solution": None,
              "arrived_at": None, "departed_at": None, "parts_used": [], "adjustments": []}
    report.update(overrides)
    return report


def _sha(report: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(report, ensure_ascii=False, sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()


def test_signature_with_a_misshapen_report_is_refused(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    strokes = [[{"x": 1, "y": 1, "t": 0}, {"x": 5, "y": 5, "t": 10}]]
    bad_reports = [
        _canonical_skeleton(job.id, parts_used=[1]),
        _canonical_skeleton(job.id, adjustments=[{"parameter": "p"}]),
        _canonical_skeleton(job.id, work_done=5),
        _canonical_skeleton(job.id, arrived_at={"a": 1}),
        _canonical_skeleton(job.id, parts_used=[{"id": "x", "part_id": "y", "quantity": 1e400,
                                                 "serial_numbers": [], "under_warranty": False}]),
    ]
    for report in bad_reports:
        body = {"signer_name": "李", "strokes": strokes, "report_sha256": _sha(report), "report": report}
        data = json.dumps(body, allow_nan=True)
        response = client.post(f"/api/v1/jobs/{job.id}/signature", data=data, content_type="application/json",
                               headers=headers)
        assert_error(response, 422, "report_not_canonical")
    # The job's signature view still answers (a misshapen snapshot would have broken its diff).
    office = f.login_as(client, f.user(Role.dispatcher))
    assert_error(client.get(f"/api/v1/jobs/{job.id}/signature", headers=office), 404, "signature_not_found")


# --- path arguments: bad ones are a 4xx in the one error format ---------------------------------------------------

def test_bad_path_arguments_are_4xx(app, client):
    headers = f.login_as(client, f.user(Role.admin))
    for value in ("%00", "a%00b", "x" * 5000, "%E4%B8%8A%00", "..%2F..%2Fetc%2Fpasswd", "%FF%FE", "0" * 64 + "%00"):
        for path in (f"/api/v1/stock/serials/{value}/history", f"/api/v1/blobs/{value}",
                     f"/api/v1/jobs/{value}", f"/api/v1/blobs/{'a' * 63}{value}"):
            response = client.get(path, headers=headers)
            assert 400 <= response.status_code < 500, (path, response.status_code, response.get_data(as_text=True))
            assert response.get_json()["error"]["code"], path


# --- a technician account without its profile yet sees nothing (not every job no one holds) ----------------------

def test_technician_account_without_profile_sees_no_jobs(client):
    account = f.user(Role.technician)
    unassigned = f.job(tech=None)
    headers = f.login(client, account.username, device_id="handheld-x")
    for collection in ("jobs", "tickets", "customers", "sites", "assets"):
        listed = client.get(f"/api/v1/{collection}", headers=headers).get_json()["items"]
        assert listed == [], (collection, listed)
    assert_error(client.get(f"/api/v1/jobs/{unassigned.id}", headers=headers), 404, "not_found")
    assert_error(client.get(f"/api/v1/tickets/{unassigned.ticket_id}", headers=headers), 404, "not_found")


# --- signing links die with the handheld or account that made them --------------------------------------------

def _signing_link(client, headers, job) -> str:
    response = client.post(f"/api/v1/jobs/{job.id}/signing-links", json={}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def test_revoking_a_device_ends_the_signing_links_its_technician_made(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    token = _signing_link(client, headers, job)
    assert client.get("/api/v1/signing/report", headers={"X-Signing-Token": token}).status_code == 200
    admin = f.login_as(client, f.user(Role.admin))
    device_id = client.get("/api/v1/auth/me", headers=headers).get_json()["device_id"]
    assert client.post(f"/api/v1/devices/{device_id}/revoke", headers=admin).status_code == 200
    assert_error(client.get("/api/v1/signing/report", headers={"X-Signing-Token": token}), 410,
                 "signing_link_expired")
    sha = "a" * 64
    response = client.post("/api/v1/signing/signature", headers={"X-Signing-Token": token},
                           json={"signer_name": "x", "strokes": [[{"x": 1, "y": 1, "t": 0}]], "report_sha256": sha})
    assert_error(response, 410, "signing_link_expired")
    assert client.get(f"/sign/?token={token}").status_code == 410


def test_disabling_an_account_ends_the_signing_links_it_made(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    token = _signing_link(client, headers, job)
    other_tech = f.technician()
    other_token = _signing_link(client, f.login_as(client, other_tech), f.job(tech=other_tech))
    admin = f.login_as(client, f.user(Role.admin))
    response = client.patch(f"/api/v1/users/{tech.user_id}", json={"active": False}, headers=admin)
    assert response.status_code == 200, response.get_json()
    assert_error(client.get("/api/v1/signing/report", headers={"X-Signing-Token": token}), 410,
                 "signing_link_expired")
    # Someone else's links are untouched.
    assert client.get("/api/v1/signing/report", headers={"X-Signing-Token": other_token}).status_code == 200


# --- an unknown username costs the same Argon2 work as a wrong password -----------------------------------------

def test_unknown_username_is_checked_against_a_production_cost_hash(client):
    from argon2 import PasswordHasher, extract_parameters

    from server.accounts import passwords

    response = client.post("/api/v1/auth/token", json={"username": "nobody-here", "password": "guess"})
    assert_error(response, 401, "invalid_credentials")
    production = PasswordHasher()
    used = extract_parameters(passwords.dummy_hash())
    assert (used.time_cost, used.memory_cost, used.parallelism) == (
        production.time_cost, production.memory_cost, production.parallelism)


# --- tus: Upload-Metadata is bounded and NUL-free -----------------------------------------------------------------

def test_upload_metadata_with_nul_or_huge_values_is_4xx(client):
    from tests.media_support import TUS, jpeg_bytes, sha256, tus_metadata

    headers = f.login_as(client, f.technician())
    data = jpeg_bytes(32, 32)
    for extra in ({"filename": "a\x00b.jpg"}, {"filename": "x" * 20_000}, {"\u4e0a": "x"}):
        meta = tus_metadata(sha256=sha256(data), **{k: v for k, v in extra.items() if k.isascii()})
        if not all(k.isascii() for k in extra):
            meta += ",\u4e0a eA=="
        response = client.post("/api/v1/uploads/", headers={**headers, **TUS, "Upload-Length": str(len(data)),
                                                            "Upload-Metadata": meta})
        assert 400 <= response.status_code < 500, (extra, response.status_code, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"]


# --- sync push: every malformed operation is rejected on its own, never a 500 -------------------------------------

def test_malformed_sync_operations_are_rejected_one_by_one(client):
    tech = f.technician()
    job = f.job(tech=tech)
    part = f.part()
    device = Handheld(client, tech)
    jid = str(job.id)
    bad = [
        op("jobs", job.id, "update", {"status": "flying"}, base_version=1),
        op("jobs", job.id, "update", {"status": "cancelled"}, base_version=1),
        op("jobs", job.id, "update", {"technician_id": str(uuid.uuid4())}, base_version=1),
        op("jobs", job.id, "update", {"priority": "urgent"}, base_version=1),
        op("jobs", job.id, "update", {"customer_rating": 5}, base_version=1),
        op("jobs", job.id, "update", {"arrived_at": "2026-13-45T99:00:00Z"}, base_version=1),
        op("jobs", job.id, "update", {"arrived_at": "9999-12-31T23:59:59-12:00"}, base_version=1),
        op("jobs", job.id, "update", {"work_done": "x"}, base_version=10 ** 30),
        op("jobs", job.id, "create", {"work_done": "x"}),
        op("check_ins", uuid.uuid4(), "create", {"kind": "arrival", "latitude": 1e400, "longitude": 0}),
        op("check_ins", uuid.uuid4(), "create", {"kind": "teleport", "latitude": 1, "longitude": 1}),
        op("check_ins", uuid.uuid4(), "create", {"kind": "arrival", "latitude": 91, "longitude": 1}),
        op("check_ins", uuid.uuid4(), "create", {"kind": "arrival", "latitude": 1, "longitude": 1,
                                                  "recorded_at": "0001-01-01T00:00:00+05:00"}),
        op("part_usages", uuid.uuid4(), "create", {"job_id": jid, "part_id": str(part.id), "quantity": 2 ** 70}),
        op("part_usages", uuid.uuid4(), "create", {"job_id": jid, "part_id": "nope", "quantity": 1}),
        op("part_usages", uuid.uuid4(), "create", {"job_id": jid, "part_id": str(part.id), "quantity": 1,
                                                    "serial_numbers": [1, 2]}),
        op("photos", uuid.uuid4(), "create", {"job_id": jid, "blob_sha256": "../../etc/passwd"}),
        op("photos", uuid.uuid4(), "create", {"job_id": jid, "blob_sha256": "A" * 64}),
        op("adjustments", uuid.uuid4(), "create", {"job_id": jid, "parameter": ["p"]}),
        op("adjustments", uuid.uuid4(), "delete", base_version=1),
        op("users", uuid.uuid4(), "create", {"role": "admin"}),
        op("tickets", uuid.uuid4(), "update", {"priority": "urgent"}, base_version=1),
        {"op_id": str(uuid.uuid4()), "table": "jobs", "id": jid, "action": "update", "base_version": 1.5,
         "fields": {}},
        {"op_id": str(uuid.uuid4()), "table": ["jobs"], "id": {"a": 1}, "action": None, "fields": []},
        {"op_id": "nope"}, [], "text", 7,
        {**op("jobs", job.id, "update", {"status": "flying"}, base_version=1),
         "device_time": "0001-01-01T00:00:00+05:00"},
    ]
    answer = device.push(bad)
    statuses = [r["status"] for r in answer["results"]]
    errors = [r.get("error") for r in answer["results"]]
    assert statuses == ["rejected"] * len(bad), list(zip(statuses, errors, strict=True))


# --- more bad query strings, on every list, as an office role and as a technician ---------------------------------

EXTRA_QUERIES = ["?limit=99999999999999999999999", "?limit=NaN", "?limit=0", "?cursor=" + "A" * 3000,
                 "?cursor=W1sidiIsIDFlOTk5XV0", "?start=0001-01-01T00:00:00%2B05:00",
                 "?end=9999-12-31T23:59:59-12:00", "?location=nope", "?location_id=%00",
                 "?status=new&status=%00", "?part_id=" + "f" * 40, "?protocol=1e9", "?protocol=-1",
                 "?variant=../../etc/passwd", "?format=exe"]


def test_more_bad_queries_are_4xx_for_every_role(app, client, subtests):
    from tests.test_access import ANY, api_routes

    tech = f.technician()
    f.job(tech=tech)
    callers = {"admin": f.login_as(client, f.user(Role.admin)), "technician": f.login_as(client, tech)}
    paths = [p for m, p in api_routes(app) if m == "GET" and ANY not in p and "a" * 64 not in p]
    for role, headers in callers.items():
        for path in paths:
            with subtests.test(f"{role} {path}"):
                for query in EXTRA_QUERIES:
                    response = client.get(path + query, headers=headers)
                    assert 400 <= response.status_code < 500, (query, response.status_code,
                                                               response.get_data(as_text=True)[:300])
                    assert response.get_json()["error"]["code"]


# --- a technician reaches nothing of another technician's, on any route ------------------------------------------

def test_technician_reaches_nothing_of_another_technicians(client, fresh_media, subtests):
    from datetime import timedelta

    from media.models import Photo
    from server.db import utcnow
    from tests.media_support import TUS, jpeg_bytes, sha256, tus_create, tus_upload

    me, other = f.technician(), f.technician()
    mine, theirs = f.job(tech=me), f.job(tech=other)
    mine_h, theirs_h = f.login_as(client, me), f.login_as(client, other, device_id="handheld-b")
    data = jpeg_bytes(64, 48)
    assert tus_upload(client, theirs_h, data).status_code == 204
    sha = sha256(data)
    db.session.add(Photo(job_id=theirs.id, blob_sha256=sha))
    db.session.commit()
    photo_id = db.session.scalar(select(Photo.id))
    strokes = [[{"x": 1, "y": 1, "t": 0}]]
    client.post(f"/api/v1/jobs/{theirs.id}/signature", headers=theirs_h,
                json={"signer_name": "x", "strokes": strokes, "report_sha256": "b" * 64})
    open_upload = tus_create(client, theirs_h, jpeg_bytes(10, 10)).headers["Location"]
    van = other.van_location_id
    start, end = (utcnow() - timedelta(days=1)).isoformat(), utcnow().isoformat()

    not_found = [
        ("GET", f"/api/v1/jobs/{theirs.id}"), ("GET", f"/api/v1/jobs/{theirs.id}/photos"),
        ("POST", f"/api/v1/jobs/{theirs.id}/photos"), ("GET", f"/api/v1/jobs/{theirs.id}/report"),
        ("GET", f"/api/v1/jobs/{theirs.id}/report.pdf"), ("GET", f"/api/v1/jobs/{theirs.id}/signature"),
        ("POST", f"/api/v1/jobs/{theirs.id}/signature"), ("GET", f"/api/v1/jobs/{theirs.id}/signature.png"),
        ("GET", f"/api/v1/jobs/{theirs.id}/signature.svg"), ("POST", f"/api/v1/jobs/{theirs.id}/signing-links"),
        ("GET", f"/api/v1/tickets/{theirs.ticket_id}"), ("GET", f"/api/v1/blobs/{sha}"),
        ("GET", f"/api/v1/blobs/{sha}?variant=thumb-256"), ("GET", f"/api/v1/blobs/{sha}?variant=customer"),
        ("GET", f"/api/v1/technicians/{other.id}"), ("GET", f"/api/v1/technicians/{other.id}/shifts"),
        ("GET", f"/api/v1/technicians/{other.id}/leave"), ("GET", f"/api/v1/locations/{van}"),
    ]
    bodies = {"POST": {"blob_sha256": sha}}
    for method, path in not_found:
        with subtests.test(f"{method} {path}"):
            body = bodies.get(method) if path.endswith("/photos") else (
                {"signer_name": "x", "strokes": strokes, "report_sha256": "b" * 64} if path.endswith("/signature")
                else ({} if method == "POST" else None))
            response = client.open(path, method=method, json=body, headers=mine_h)
            assert response.status_code == 404, (response.status_code, response.get_data(as_text=True)[:300])
    for path in (f"/api/v1/stock/levels?location_id={van}", f"/api/v1/stock/movements?location_id={van}",
                 f"/api/v1/stock/transfers?location_id={van}", f"/api/v1/stock/spare-units?location_id={van}",
                 f"/api/v1/stock/reservations?location_id={van}",
                 f"/api/v1/stock/reconciliation?location={van}&from={start}&to={end}".replace("+", "%2B")):
        with subtests.test(path):
            assert_error(client.get(path, headers=mine_h), 403, "not_your_van")
    with subtests.test("their photo through a signing link of my job"):
        token = _signing_link(client, mine_h, mine)
        assert client.get(f"/api/v1/signing/photos/{photo_id}", headers={"X-Signing-Token": token}).status_code == 404
    with subtests.test("their unfinished upload"):
        for method, extra in (("HEAD", {}), ("DELETE", {}),
                              ("PATCH", {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}),
                              ("POST", {"X-HTTP-Method-Override": "DELETE"})):
            response = client.open(open_upload, method=method, headers={**mine_h, **TUS, **extra}, data=b"x")
            assert response.status_code == 404, (method, response.status_code)
        assert client.head(open_upload, headers={**theirs_h, **TUS}).status_code == 200
    with subtests.test("pull"):
        changes = Handheld(client, me, device_id="handheld-c").pull()
        seen = {(c["table"], c["id"]) for c in changes}
        assert ("jobs", str(theirs.id)) not in seen and ("jobs", str(mine.id)) in seen
        assert not [c for c in changes if c["table"] in ("photos", "signatures")]


# --- a disabled account or a revoked handheld is refused everywhere, sync and uploads included ---------------------

def test_disabled_account_and_revoked_device_are_refused_by_sync_and_uploads(client, fresh_media):
    from tests.media_support import TUS, jpeg_bytes, tus_create

    admin = f.login_as(client, f.user(Role.admin))
    for ending in ("disable", "revoke"):
        tech = f.technician()
        f.job(tech=tech)
        device = Handheld(client, tech, device_id=f"handheld-{ending}")
        location = tus_create(client, device.headers, jpeg_bytes(10, 10)).headers["Location"]
        if ending == "disable":
            assert client.patch(f"/api/v1/users/{tech.user_id}", json={"active": False},
                                headers=admin).status_code == 200
            code = "token_revoked"
        else:
            device_id = client.get("/api/v1/auth/me", headers=device.headers).get_json()["device_id"]
            assert client.post(f"/api/v1/devices/{device_id}/revoke", headers=admin).status_code == 200
            code = "device_revoked"
        h = device.headers
        assert_error(client.post("/api/v1/sync/push", json={"protocol": 1, "ops": []}, headers=h), 401, code)
        assert_error(client.get("/api/v1/sync/pull?protocol=1", headers=h), 401, code)
        assert_error(client.post("/api/v1/uploads/", headers={**h, **TUS, "Upload-Length": "5"}), 401, code)
        assert client.head(location, headers={**h, **TUS}).status_code == 401
        assert client.delete(location, headers={**h, **TUS}).status_code == 401
        assert client.get("/api/v1/jobs", headers=h).status_code == 401
        # Logging in again does not help.
        again = client.post("/api/v1/auth/token", json={"username": f"{db.session.get(User, tech.user_id).username}",
                                                        "password": f.PASSWORD, "device_id": f"handheld-{ending}"})
        assert again.status_code in (401, 403), again.get_json()


# --- a signing link signs once, even when two submissions race -------------------------------------------------

def test_signing_link_signs_once_under_concurrency(app, client):
    import threading

    from media.models import Signature

    tech = f.technician()
    job = f.job(tech=tech, work_done="换阀门")
    token = _signing_link(client, f.login_as(client, tech), job)
    sha = client.get("/api/v1/signing/report", headers={"X-Signing-Token": token}).get_json()["report_sha256"]
    db.session.rollback()
    clients = [app.test_client() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses = [None] * len(clients)

    def run(i):
        with app.app_context():
            barrier.wait()
            response = clients[i].post("/api/v1/signing/signature", headers={"X-Signing-Token": token},
                                       json={"signer_name": f"signer {i}", "strokes": [[{"x": 1, "y": 1, "t": 0}]],
                                             "report_sha256": sha})
            statuses[i] = (response.status_code, (response.get_json().get("error") or {}).get("code"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(s[0] for s in statuses) == [201] + [410] * (len(clients) - 1), statuses
    assert {s[1] for s in statuses if s[0] == 410} == {"signing_link_used"}
    assert _count(Signature) == 1


# --- a photo whose EXIF capture time falls off the calendar is still a photo (no 500) ---------------------------

def test_exif_capture_time_out_of_range_is_dropped_not_a_500(client, fresh_media):
    from media.models import Blob
    from tests.media_support import jpeg_bytes, sha256, tus_upload

    headers = f.login_as(client, f.technician())
    for taken in ("0001:01:01 00:00:00", "1900:01:01 00:00:00"):
        data = jpeg_bytes(64, 48, taken=taken)  # with OffsetTimeOriginal +08:00
        response = tus_upload(client, headers, data)
        assert response.status_code == 204, response.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Blob, sha256(data)).taken_at is None


# --- sync push: no fact of any kind on another technician's job, no edit of their records --------------------------

def test_push_creates_no_fact_on_another_technicians_job(client):
    from server.jobs.models import Adjustment

    mine, theirs = f.technician(), f.technician()
    their_job = f.job(tech=theirs)
    part = f.part()
    adjustment = Adjustment(job_id=their_job.id, parameter="p", value_before="1", value_after="2")
    db.session.add(adjustment)
    db.session.commit()
    jid = str(their_job.id)
    device = Handheld(client, mine)
    answer = device.push([
        part_usage(their_job.id, part.id),
        op("photos", uuid.uuid4(), "create", {"job_id": jid, "blob_sha256": "c" * 64}),
        _signature_op(their_job.id, [[{"x": 1, "y": 1, "t": 0}]]),
        op("adjustments", adjustment.id, "update", {"value_after": "9"}, base_version=1),
        op("adjustments", adjustment.id, "delete", base_version=1),
        op("jobs", their_job.id, "update", {"status": "completed"}, base_version=1),
    ])
    # Answered as unknown ids are (REST's 404): nothing tells the device the records exist.
    assert [r["error"]["code"] for r in answer["results"]] == ["not_found"] * 6, answer
    db.session.expire_all()
    assert db.session.get(Adjustment, adjustment.id).value_after == "2"
    assert _count(PartUsage) == 0


# --- a signature's points are bounded in all, on REST and the signing link as on sync ------------------------------

def test_signature_point_total_is_bounded_on_every_path(client):
    tech = f.technician()
    job = f.job(tech=tech)
    headers = f.login_as(client, tech)
    strokes = [[{"x": i % 100, "y": 1, "t": i} for i in range(5000)] for _ in range(5)]  # 25,000 points
    body = {"signer_name": "x", "strokes": strokes, "report_sha256": "a" * 64}
    response = client.post(f"/api/v1/jobs/{job.id}/signature", json=body, headers=headers)
    assert_error(response, 422, "validation_error")
    token = _signing_link(client, headers, job)
    response = client.post("/api/v1/signing/signature", json=body, headers={"X-Signing-Token": token})
    assert_error(response, 422, "validation_error")
    device = Handheld(client, tech, device_id="handheld-2")
    answer = device.push([_signature_op(job.id, strokes)])
    assert answer["results"][0]["status"] == "rejected"


# --- a signing link ends when its job is cancelled or leaves the technician who made it ------------------------------

def test_signing_link_ends_when_the_job_is_reassigned_or_cancelled(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    a, b = f.technician(), f.technician()
    moved, cancelled = f.job(tech=a), f.job(tech=a)
    a_headers = f.login_as(client, a)
    moved_token, cancelled_token = _signing_link(client, a_headers, moved), _signing_link(client, a_headers, cancelled)
    office_token = _signing_link(client, office, moved)  # an office link follows the job, not a technician
    response = client.post(f"/api/v1/jobs/{moved.id}/reassign", json={"technician_id": str(b.id)}, headers=office)
    assert response.status_code == 200, response.get_json()
    response = client.post(f"/api/v1/jobs/{cancelled.id}/cancel", json={"reason": "customer called"}, headers=office)
    assert response.status_code == 200, response.get_json()
    for token in (moved_token, cancelled_token):
        assert_error(client.get("/api/v1/signing/report", headers={"X-Signing-Token": token}), 410,
                     "signing_link_revoked")
        response = client.post("/api/v1/signing/signature", headers={"X-Signing-Token": token},
                               json={"signer_name": "x", "strokes": [[{"x": 1, "y": 1, "t": 0}]],
                                     "report_sha256": "a" * 64})
        assert_error(response, 410, "signing_link_revoked")
        assert client.get(f"/sign/?token={token}").status_code == 410
    assert client.get("/api/v1/signing/report", headers={"X-Signing-Token": office_token}).status_code == 200
    # The new technician makes their own link.
    assert client.get("/api/v1/signing/report", headers={
        "X-Signing-Token": _signing_link(client, f.login_as(client, b, device_id="hb"), moved)}).status_code == 200
