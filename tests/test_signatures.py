"""Customer signatures: bound to the canonical report's SHA-256, valid until
the report changes (then what changed is shown), rendered to PNG and SVG;
signing links are single-use and expire."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from PIL import Image
from sqlalchemy import select

from media import report as reports
from media.models import Photo, SigningLink
from server.accounts.models import Role
from server.extensions import db
from server.jobs.models import Adjustment, PartUsage
from tests import factories as f
from tests.conftest import tool_missing
from tests.media_support import jpeg_bytes, sha256, tus_upload

pytestmark = pytest.mark.usefixtures("fresh_media")

STROKES = [[{"x": 10, "y": 40, "t": 0}, {"x": 60, "y": 10, "t": 16}, {"x": 110, "y": 45, "t": 33}],
           [{"x": 130, "y": 20, "t": 400, "p": 0.3}, {"x": 160, "y": 50, "t": 420, "p": 0.8},
            {"x": 200, "y": 15, "t": 440, "p": 0.5}]]


@pytest.fixture
def tech(app):
    return f.technician(name="王师傅")


@pytest.fixture
def auth(client, tech):
    return f.login_as(client, tech)


@pytest.fixture
def job(tech):
    job = f.job(tech=tech, work_done="更换压缩机阀门；清洗冷凝器", fault_cause="阀门老化漏气",
                solution="更换新阀门并测试 2 小时", arrived_at=datetime(2026, 11, 20, 1, 30, 15, 999, tzinfo=UTC),
                departed_at=datetime(2026, 11, 20, 4, 5, tzinfo=UTC))
    part = f.part(name="压缩机阀门")
    db.session.add_all([
        PartUsage(job_id=job.id, part_id=part.id, quantity=2, serial_numbers=["SN-B", "SN-A"], under_warranty=True),
        Adjustment(job_id=job.id, parameter="冷媒压力", value_before="1.2", value_after="1.6", unit="MPa"),
    ])
    db.session.commit()
    return job


def _report(client, auth, job):
    body = client.get(f"/api/v1/jobs/{job.id}/report", headers=auth).get_json()
    return body["report"], body["report_sha256"]


def _sign(client, auth, job, report=None, sha=None, **extra):
    payload = {"signer_name": "李女士", "signer_role": "设备管理员", "strokes": STROKES,
               "signed_at_device": "2026-11-20T04:00:00+08:00", "latitude": 31.2304, "longitude": 121.4737,
               "report_sha256": sha, **extra}
    if report is not None:
        payload["report"] = report
    return client.post(f"/api/v1/jobs/{job.id}/signature", headers=auth, json=payload)


# --- the canonical form -------------------------------------------------------------------------------

def test_canonical_report_form(client, auth, job):
    report, sha = _report(client, auth, job)
    # Version 2: what the customer attests when signing (no departed_at, recorded afterwards).
    assert set(report) == {"version", "job_id", "work_done", "fault_cause", "solution", "arrived_at",
                           "parts_used", "adjustments"}
    assert report["version"] == 2
    assert report["arrived_at"] == "2026-11-20T01:30:15Z"  # whole seconds, UTC, Z
    assert report["parts_used"][0]["serial_numbers"] == ["SN-A", "SN-B"]
    assert report["adjustments"][0]["parameter"] == "冷媒压力"
    canonical = reports.canonical_bytes(report)
    assert "更换压缩机阀门".encode() in canonical  # UTF-8, not \\u escapes
    assert b" " not in canonical.replace("更换新阀门并测试 2 小时".encode(), b"")  # no whitespace between tokens
    assert sha == sha256(canonical)


def test_canonical_text_is_nfc_with_plain_newlines(app, job):
    job.work_done = "Cafe\u0301\r\nline two"  # decomposed é, CRLF
    db.session.commit()
    assert reports.canonical_report(db.session, job)["work_done"] == "Caf\u00e9\nline two"


# --- validity -----------------------------------------------------------------------------------------

def test_signature_valid_then_invalid_after_a_report_edit(client, auth, job):
    report, sha = _report(client, auth, job)
    created = _sign(client, auth, job, report=report, sha=sha)
    assert created.status_code == 201, created.get_json()
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is True and status["changes"] == []
    evidence = status["signature"]
    assert evidence["signer_name"] == "李女士" and evidence["signer_role"] == "设备管理员"
    assert evidence["signed_at_device"].startswith("2026-11-19T20:00:00")  # kept, in UTC
    assert evidence["received_at"] and evidence["report_sha256"] == sha
    assert (evidence["latitude"], evidence["longitude"]) == (31.2304, 121.4737)
    assert evidence["stroke_count"] == 2 and evidence["point_count"] == 6

    # The report is edited after signing: a new adjustment, a changed fault cause.
    job.fault_cause = "阀门密封圈损坏"
    db.session.add(Adjustment(job_id=job.id, parameter="出水温度", value_before="12", value_after="7", unit="°C"))
    db.session.commit()
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is False and status["changes_known"] is True
    assert status["current_report_sha256"] != sha
    changes = {(c["field"], c["change"]): c for c in status["changes"]}
    assert set(changes) == {("fault_cause", "changed"), ("adjustments", "added")}
    assert changes[("fault_cause", "changed")]["signed"] == "阀门老化漏气"
    assert changes[("fault_cause", "changed")]["current"] == "阀门密封圈损坏"
    assert changes[("adjustments", "added")]["current"]["parameter"] == "出水温度"


def test_signature_on_the_current_report_keeps_a_snapshot_without_sending_it(client, auth, job):
    _, sha = _report(client, auth, job)
    assert _sign(client, auth, job, sha=sha).status_code == 201
    usage = db.session.scalar(select(PartUsage).where(PartUsage.job_id == job.id))
    usage.quantity = 3
    db.session.commit()
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is False
    assert [(c["field"], c["change"], c["signed"]["quantity"], c["current"]["quantity"])
            for c in status["changes"]] == [("parts_used", "changed", 2, 3)]


def test_signature_of_an_unknown_report_is_invalid_without_details(client, auth, job):
    assert _sign(client, auth, job, sha="ab" * 32).status_code == 201
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is False and status["changes_known"] is False and status["changes"] == []


def test_report_that_does_not_hash_to_the_declared_sha_is_refused(client, auth, job):
    report, sha = _report(client, auth, job)
    report["work_done"] = "something else"
    response = _sign(client, auth, job, report=report, sha=sha)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "report_hash_mismatch"


def test_no_signature_yet(client, auth, job):
    response = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "signature_not_found"


def test_signature_replay_by_id_is_idempotent(client, auth, job):
    _, sha = _report(client, auth, job)
    sid = str(uuid.uuid4())
    first = _sign(client, auth, job, sha=sha, id=sid).get_json()
    second = _sign(client, auth, job, sha=sha, id=sid).get_json()
    assert first["id"] == second["id"] == sid


def test_strokes_render_to_png_and_svg(client, auth, job):
    _, sha = _report(client, auth, job)
    _sign(client, auth, job, sha=sha)
    png = client.get(f"/api/v1/jobs/{job.id}/signature.png", headers=auth)
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(png.data)).convert("L")
    assert image.size == (600, 240)
    low, high = image.getextrema()
    assert low < 60 and high == 255  # ink on white
    svg = client.get(f"/api/v1/jobs/{job.id}/signature.svg", headers=auth)
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(svg.data)  # noqa: S314  (our own server's output, in a test)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}path")) == 1  # the stroke without pressure
    widths = {line.get("stroke-width") for line in root.findall(f".//{ns}line")}
    assert widths == {"3.40", "2.50"}  # pressure sets each segment's width


def test_other_technicians_cannot_read_the_signature(client, auth, job):
    _, sha = _report(client, auth, job)
    _sign(client, auth, job, sha=sha)
    stranger = f.login_as(client, f.technician())
    assert client.get(f"/api/v1/jobs/{job.id}/signature", headers=stranger).status_code == 404
    dispatcher = f.login_as(client, f.user(Role.dispatcher))
    assert client.get(f"/api/v1/jobs/{job.id}/signature", headers=dispatcher).status_code == 200


# --- signing links ------------------------------------------------------------------------------------

def _link(client, auth, job, **body):
    response = client.post(f"/api/v1/jobs/{job.id}/signing-links", headers=auth, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _submit(client, token, sha, name="李女士"):
    return client.post("/api/v1/signing/signature", headers={"X-Signing-Token": token},
                       json={"signer_name": name, "strokes": STROKES, "report_sha256": sha})


def test_signing_link_opens_one_report_once(client, auth, job):
    link = _link(client, auth, job)
    token = link["token"]
    stored = db.session.scalar(select(SigningLink))
    assert stored.token_hash == sha256(token.encode()) and token not in stored.token_hash  # only the hash is kept
    assert "token=" in link["url"] and "/sign/" in link["url"]

    opened = client.get("/api/v1/signing/report", headers={"X-Signing-Token": token})
    assert opened.status_code == 200 and opened.headers["Cache-Control"] == "no-store"
    body = opened.get_json()
    assert body["report"]["work_done"] == "更换压缩机阀门；清洗冷凝器"
    assert body["display"]["parts"][0]["name"] == "压缩机阀门"
    assert body["display"]["technician"] == "王师傅"

    page = client.get(f"/sign/?token={token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "更换压缩机阀门" in html and body["report_sha256"] in html
    assert "http://" not in html.replace(link["url"], "") and "https://" not in html  # nothing from a CDN
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/sign/static/signing/sign.js").status_code == 200

    signed = _submit(client, token, body["report_sha256"])
    assert signed.status_code == 201, signed.get_json()
    assert signed.get_json()["signed_via"] == "link"
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is True and status["signature"]["signer_name"] == "李女士"

    again = _submit(client, token, body["report_sha256"], name="someone else")
    assert again.status_code == 410 and again.get_json()["error"]["code"] == "signing_link_used"
    assert client.get("/api/v1/signing/report", headers={"X-Signing-Token": token}).status_code == 410
    assert client.get(f"/sign/?token={token}").status_code == 410


def test_signing_link_expires(client, auth, job):
    link = _link(client, auth, job, ttl_seconds=60)
    stored = db.session.scalar(select(SigningLink))
    stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/api/v1/signing/report", headers={"X-Signing-Token": link["token"]})
    assert response.status_code == 410 and response.get_json()["error"]["code"] == "signing_link_expired"
    assert _submit(client, link["token"], "a" * 64).status_code == 410
    page = client.get(f"/sign/?token={link['token']}")
    assert page.status_code == 410 and "签字链接已过期" in page.get_data(as_text=True)
    page = client.get(f"/sign/?token={link['token']}&lang=en")
    assert page.status_code == 410 and "The signing link has expired" in page.get_data(as_text=True)


def test_signing_page_reads_in_chinese_or_english_with_times_in_the_company_zone(client, auth, job):
    import re

    job.arrived_at = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    db.session.commit()
    token = _link(client, auth, job)["token"]
    html = client.get(f"/sign/?token={token}").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "作业报告书" in html and "确认签字" in html
    assert "2026-11-20 09:30" in html  # 01:30 UTC in Shanghai
    visible = re.sub(r"<[^>]+>", " ", html.split("</head>")[1])
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", visible) and str(job.id) not in visible
    english = client.get(f"/sign/?token={token}&lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Work report" in english and "2026-11-20 09:30" in english
    assert f"token={token}&amp;lang=zh-CN" in english  # the switch back keeps the link


def test_unknown_token_is_404(client):
    response = client.get("/api/v1/signing/report", headers={"X-Signing-Token": "forged"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "signing_link_not_found"
    missing = client.get("/api/v1/signing/report")
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "missing_signing_token"
    assert client.get("/sign/?token=forged").status_code == 404


def test_report_changed_while_open_is_refused_and_the_link_stays_usable(client, auth, job):
    link = _link(client, auth, job)
    old_sha = client.get("/api/v1/signing/report", headers={"X-Signing-Token": link["token"]}).get_json()[
        "report_sha256"]
    job.solution = "改为更换整个阀组"
    db.session.commit()
    stale = _submit(client, link["token"], old_sha)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "report_changed"
    fresh_sha = client.get("/api/v1/signing/report", headers={"X-Signing-Token": link["token"]}).get_json()[
        "report_sha256"]
    assert _submit(client, link["token"], fresh_sha).status_code == 201


def test_customer_sees_photos_without_gps(client, auth, job):
    from media.images import gps_position

    data = jpeg_bytes(320, 240, gps=(31.2304, 121.4737))
    assert tus_upload(client, auth, data).status_code == 204
    db.session.add(Photo(job_id=job.id, blob_sha256=sha256(data), caption="更换后"))
    db.session.commit()
    photo_id = db.session.scalar(select(Photo.id))
    link = _link(client, auth, job)
    got = client.get(f"/api/v1/signing/photos/{photo_id}?token={link['token']}")
    assert got.status_code == 200
    assert gps_position(Image.open(io.BytesIO(got.data)).getexif()) == (None, None)
    assert f"/api/v1/signing/photos/{photo_id}" in client.get(f"/sign/?token={link['token']}").get_data(as_text=True)
    other = f.job(tech=f.technician())
    other_link = _link(client, f.login_as(client, f.user(Role.dispatcher)), other)
    assert client.get(f"/api/v1/signing/photos/{photo_id}?token={other_link['token']}").status_code == 404


def test_signature_rows_saved_by_other_code_keep_the_snapshot(client, auth, job):
    """The sync engine inserts Signature rows itself; one on the current report
    still keeps the snapshot, so a later edit shows what changed."""
    from media.models import Signature

    _, sha = _report(client, auth, job)
    db.session.add(Signature(job_id=job.id, signer_name="李女士", strokes=STROKES, report_sha256=sha))
    db.session.commit()
    job.work_done = "已修改"
    db.session.commit()
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is False and status["changes_known"] is True
    assert [c["field"] for c in status["changes"]] == ["work_done"]


def test_signing_page_script_parses():
    """The page's script is plain JavaScript that a JS engine accepts (no build step)."""
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    if node is None:
        tool_missing("node is not installed")
    script = Path(__file__).parent.parent / "server/pages/static/signing/sign.js"
    result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60,  # noqa: S603
                            check=False)
    assert result.returncode == 0, result.stderr


# --- what is recorded after signing never invalidates the signature ------------------------------------------------

def _record_departure(job, when):
    row = db.session.get(type(job), job.id)
    row.departed_at = when
    db.session.commit()


def test_recording_the_departure_after_signing_keeps_the_signature_valid(client, auth, job):
    from datetime import timedelta

    _record_departure(job, None)  # the normal order: the customer signs, then the technician leaves
    report, sha = _report(client, auth, job)
    assert _sign(client, auth, job, sha=sha).status_code == 201
    _record_departure(job, datetime(2026, 11, 20, 5, 0, tzinfo=UTC))
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is True and status["changes"] == []
    # What the customer attested still counts: an edit of the work done afterwards invalidates it.
    row = db.session.get(type(job), job.id)
    row.work_done = "changed after signing"
    row.departed_at = row.departed_at + timedelta(minutes=5)
    db.session.commit()
    status = client.get(f"/api/v1/jobs/{job.id}/signature", headers=auth).get_json()
    assert status["valid"] is False and [c["field"] for c in status["changes"]] == ["work_done"]


def test_a_version_1_signature_is_still_judged_and_a_later_departure_does_not_invalidate_it(client, auth, job):
    """Apps that still make the version 1 form (with departed_at): their signatures are kept and judged by
    what the customer attested."""
    _record_departure(job, None)
    v1 = reports.canonical_report(db.session, db.session.get(type(job), job.id), version=1)
    assert v1["version"] == 1 and v1["departed_at"] is None
    sent = _sign(client, auth, job, report=v1, sha=reports.report_sha256(v1))
    assert sent.status_code == 201, sent.get_json()
    hash_only = f.job(tech=db.session.get(type(job.technician), job.technician_id))
    v1_only = reports.canonical_report(db.session, hash_only, version=1)
    assert _sign(client, auth, hash_only, sha=reports.report_sha256(v1_only)).status_code == 201
    for signed in (job, hash_only):
        status = client.get(f"/api/v1/jobs/{signed.id}/signature", headers=auth).get_json()
        assert status["valid"] is True
        _record_departure(signed, datetime(2026, 11, 20, 5, 0, tzinfo=UTC))
    # With the snapshot kept (sent, or matched by its version 1 hash), the departure no longer invalidates it.
    for signed in (job, hash_only):
        assert client.get(f"/api/v1/jobs/{signed.id}/signature", headers=auth).get_json()["valid"] is True
