"""The work report as a PDF: it opens, and its text (Chinese included)
extracts back, with the photos and the signature's evidence."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from media.models import Photo
from server.extensions import db
from server.jobs.models import Adjustment, PartUsage
from tests import factories as f
from tests.media_support import jpeg_bytes, run_worker, sha256, tus_upload

pytestmark = pytest.mark.usefixtures("fresh_media")
STROKES = [[{"x": 0, "y": 0, "t": 0}, {"x": 50, "y": 30, "t": 10}, {"x": 100, "y": 5, "t": 20}]]


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


@pytest.fixture
def setup(client):
    tech = f.technician(name="王师傅")
    customer = f.customer(name="上海浦东酒店", contact_name="李女士", phone="021-5555-0101")
    site = f.site(customer, name="主楼机房", address="上海市浦东新区世纪大道 100 号")
    asset = f.asset(site, model="CH-200", warranty_end=date.today() + timedelta(days=100))
    ticket = f.ticket(ast=asset, summary="冷水机组不制冷")
    job = f.job(ticket, tech, work_done="更换压缩机阀门；清洗冷凝器", fault_cause="阀门老化漏气",
                solution="更换新阀门并试机两小时", arrived_at=datetime(2026, 11, 20, 1, 30, tzinfo=UTC),
                departed_at=datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
    part = f.part("P-7788", name="压缩机阀门")
    db.session.add_all([
        PartUsage(job_id=job.id, part_id=part.id, quantity=1, serial_numbers=["V-001"], under_warranty=True),
        Adjustment(job_id=job.id, parameter="冷媒压力", value_before="1.2", value_after="1.6", unit="MPa"),
    ])
    db.session.commit()
    return {"job": job, "ticket": ticket, "auth": f.login_as(client, tech)}


def test_unsigned_report_pdf(client, setup):
    response = client.get(f"/api/v1/jobs/{setup['job'].id}/report.pdf", headers=setup["auth"])
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    text, _ = _text(response.data)
    for expected in ("作业报告书", "上海浦东酒店", "主楼机房", "CH-200", "保修期内", setup["ticket"].reference,
                     "冷水机组不制冷", "王师傅", "更换压缩机阀门", "阀门老化漏气", "更换新阀门并试机两小时",
                     "冷媒压力", "1.6", "MPa", "P-7788", "压缩机阀门", "V-001", "未签字",
                     "2026-11-20 09:30", "2026-11-20 12:00"):
        assert expected in text, expected  # times in the company's zone (Shanghai, UTC+8)
    assert "UTC" not in text and "T01:30" not in text and str(setup["job"].id) not in text


def test_the_pdf_reads_in_chinese_by_default_and_in_english_when_asked(client, setup):
    job = setup["job"]
    job.customer_rating = "satisfied"
    job.customer_opinion = "服务很好"
    db.session.commit()
    text, _ = _text(client.get(f"/api/v1/jobs/{job.id}/report.pdf", headers=setup["auth"]).get_data())
    assert "评价" in text and "满意" in text and "satisfied" not in text and "Work report" not in text
    assert "报修 · 冷水机组不制冷" in text  # the category's label, not its stored value
    english = client.get(f"/api/v1/jobs/{job.id}/report.pdf?lang=en", headers=setup["auth"])
    text, _ = _text(english.get_data())
    assert "Work report" in text and "Rating" in text and "Satisfied" in text and "Under warranty" in text
    assert "满意" not in text and "2026-11-20 09:30" in text


def test_signed_report_pdf_with_photos_and_evidence(client, setup, app):
    job, auth = setup["job"], setup["auth"]
    photo = jpeg_bytes(640, 480, gps=(31.2304, 121.4737))
    assert tus_upload(client, auth, photo).status_code == 204
    run_worker(app)
    db.session.add(Photo(job_id=job.id, blob_sha256=sha256(photo), caption="更换后的阀门"))
    db.session.commit()
    sha = client.get(f"/api/v1/jobs/{job.id}/report", headers=auth).get_json()["report_sha256"]
    signed = client.post(f"/api/v1/jobs/{job.id}/signature", headers=auth, json={
        "signer_name": "李女士", "signer_role": "设备管理员", "strokes": STROKES, "report_sha256": sha,
        "latitude": 31.2304, "longitude": 121.4737, "signed_at_device": "2026-11-20T12:00:00+08:00"})
    assert signed.status_code == 201
    response = client.get(f"/api/v1/jobs/{job.id}/report.pdf", headers=auth)
    text, reader = _text(response.data)
    for expected in ("李女士", "设备管理员", sha, "31.230400, 121.473700", "有效", "更换后的阀门"):
        assert expected in text, expected
    images = [image for page in reader.pages for image in page.images]
    assert len(images) >= 2  # the photo's thumbnail and the signature
    assert not any(b"GPS" in image.data for image in images)

    job.work_done = "改写后的工作内容"
    db.session.commit()
    text, _ = _text(client.get(f"/api/v1/jobs/{job.id}/report.pdf", headers=auth).get_data())
    assert "无效" in text
    text, _ = _text(client.get(f"/api/v1/jobs/{job.id}/report.pdf?lang=en", headers=auth).get_data())
    assert "NOT VALID" in text


def test_other_technicians_cannot_get_the_pdf(client, setup):
    stranger = f.login_as(client, f.technician())
    assert client.get(f"/api/v1/jobs/{setup['job'].id}/report.pdf", headers=stranger).status_code == 404
