"""The monthly statistics against a month computed by hand (November 2026 in
Shanghai), through the real API: JSON per total/region/technician, CSV, the
tickets behind a figure, the supervision report PDF, and the cost inputs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from server.accounts.models import Role
from server.dispatch.models import OVERRIDE, DispatchAction
from server.extensions import db
from server.jobs.models import JobStatus, PartUsage
from server.reports.models import ExpenseKind, JobExpense
from server.reports.statistics import FIGURES
from server.stock.models import LocationKind, SerialEvent, Transfer, TransferLine, TransferStatus
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def month(app):
    """The hand-computed month. T1 Shanghai repair (phone), T2 Beijing installation (letter, two visits),
    T3 Shanghai quality complaint received 23:30 on 30 Nov (in November in Shanghai), T4 received 00:30 on
    1 Dec in Shanghai (still November in UTC: not counted), T0 resolved 20 Oct on T1's asset (a repeat)."""
    shanghai = f.site(city="上海")
    beijing = f.site(city="北京")
    a = f.technician(name="甲师傅")
    b = f.technician(name="乙师傅")
    asset1 = f.asset(shanghai)
    part_w = f.part("P-W", unit_cost=100.0)
    part_c = f.part("P-C", unit_cost=50.0)

    t0 = f.ticket(ast=asset1, received_at=sh(2026, 10, 15, 9), status="resolved")
    t0.resolved_at = sh(2026, 10, 20, 9)
    t1 = f.ticket(ast=asset1, received_at=sh(2026, 11, 3, 10), channel="phone", category="repair")
    r1 = t1.received_at
    t1.responded_at, t1.on_site_at, t1.resolved_at, t1.status = r1 + H, r1 + 30 * H, r1 + 40 * H, "resolved"
    j1 = f.job(t1, a, status=JobStatus.completed, arrived_at=r1 + 30 * H, departed_at=r1 + 32 * H,
               completed_at=r1 + 40 * H, customer_rating="satisfied")

    t2 = f.ticket(ast=f.asset(beijing), received_at=sh(2026, 11, 10, 9), channel="letter", category="installation")
    r2 = t2.received_at
    t2.responded_at, t2.on_site_at, t2.resolved_at, t2.status = r2 + 3 * H, r2 + 20 * H, r2 + 100 * H, "resolved"
    f.job(t2, b, status=JobStatus.incomplete, arrived_at=r2 + 20 * H, departed_at=r2 + 28 * H)
    j2b = f.job(t2, b, status=JobStatus.completed, arrived_at=r2 + 90 * H, departed_at=r2 + 92 * H,
                completed_at=r2 + 100 * H, customer_rating="dissatisfied")

    t3 = f.ticket(ast=f.asset(shanghai), received_at=sh(2026, 11, 30, 23, 30), channel="phone",
                  category="complaint", complaint_class="quality")
    f.ticket(ast=f.asset(shanghai), received_at=sh(2026, 12, 1, 0, 30))  # T4: December in Shanghai

    warehouse = f.location(LocationKind.regional_warehouse)
    van = f.location(LocationKind.van)
    db.session.add_all([
        PartUsage(job_id=j1.id, part_id=part_w.id, quantity=2, under_warranty=True),
        PartUsage(job_id=j2b.id, part_id=part_c.id, quantity=1, under_warranty=False),
        JobExpense(job_id=j1.id, kind=ExpenseKind.travel, amount=120.0, travel_minutes=60,
                   incurred_at=sh(2026, 11, 4, 12)),
        JobExpense(job_id=j2b.id, kind=ExpenseKind.transport, amount=30.0, incurred_at=sh(2026, 11, 11, 12)),
        JobExpense(job_id=j1.id, kind=ExpenseKind.meals, amount=999.0, incurred_at=sh(2026, 12, 1, 8)),  # December
        DispatchAction(kind=OVERRIDE, ticket_id=t2.id, technician_id=b.id, reason="无人可按时到场",
                       at=sh(2026, 11, 10, 10)),
    ])
    transfer = Transfer(from_location_id=warehouse.id, to_location_id=van.id, status=TransferStatus.received,
                        job_id=j2b.id)
    db.session.add(transfer)
    db.session.flush()
    db.session.add(TransferLine(transfer_id=transfer.id, position=1, part_id=part_c.id, quantity=1))
    unit = f.spare_unit(warehouse)
    db.session.add(SerialEvent(serial_number=unit.serial_number, spare_unit_id=unit.id, event="loan",
                               status="loaned", job_id=j1.id, at=sh(2026, 11, 4, 9)))
    from datetime import date

    from server.quality.models import ReturnVisit, ReturnVisitStatus

    db.session.add_all([
        ReturnVisit(asset_id=asset1.id, sequence=1, due_on=date(2026, 11, 1), next_call_on=date(2026, 11, 1),
                    status=ReturnVisitStatus.done),
        ReturnVisit(asset_id=asset1.id, sequence=2, due_on=date(2026, 11, 30), next_call_on=date(2026, 11, 30)),
        ReturnVisit(asset_id=asset1.id, sequence=3, due_on=date(2026, 12, 1), next_call_on=date(2026, 12, 1)),
    ])
    from server.quality.models import SurveyAnswer, SurveyCampaign, SurveyInvitation

    campaign = SurveyCampaign(name="2026 下半年满意度调查", starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30),
                              created_by_id=f.user(Role.admin).id)
    db.session.add(campaign)
    db.session.flush()
    answered = SurveyInvitation(campaign_id=campaign.id, customer_id=f.customer().id, token_hash="a" * 64,
                                sent_at=sh(2026, 11, 2, 9), expires_at=sh(2026, 12, 2, 9),
                                answered_at=sh(2026, 11, 5, 9))
    db.session.add(answered)
    db.session.flush()
    db.session.add_all([SurveyAnswer(invitation_id=answered.id, question="response_speed", rating="satisfied"),
                        SurveyAnswer(invitation_id=answered.id, question="attitude", rating="very_poor")])
    db.session.commit()
    return {"t1": t1.id, "t2": t2.id, "t3": t3.id, "a": a.id, "b": b.id}


EXPECTED_TOTAL = {
    "tickets_received": 3,
    "tickets_by_channel": {"letter": 1, "phone": 2},
    "tickets_by_category": {"complaint": 1, "installation": 1, "repair": 1},
    "tickets_by_complaint_class": {"quality": 1},
    "response_attainment": 0.3333, "on_site_attainment": 0.3333, "resolve_attainment": 0.3333,
    "first_time_fix_rate": 0.5,
    "mean_time_to_repair_hours": 70.0,
    "repeat_visit_rate": 0.3333,
    "installation_trips": 2, "installation_person_days": 2, "installation_cost": 800.0,  # (8 h + 2 h) x 80
    "service_trips": 1, "service_person_days": 1, "service_cost": 360.0,  # 2 h x 80 + 120 + 60 min x 80
    "parts_cost_warranty": 200.0, "parts_cost_chargeable": 50.0, "transport_cost": 30.0, "total_cost": 1440.0,
    "dispatch_overrides": 1, "spare_unit_swaps": 1, "van_fill_rate": 0.5,
    "satisfaction": {"dissatisfied": 1, "satisfied": 1}, "satisfaction_rate": 0.5,
    "return_visits_due": 2, "return_visits_done": 1, "return_visit_rate": 0.5,
    "survey_satisfaction": {"satisfied": 1, "very_poor": 1}, "survey_satisfaction_rate": 0.5,
}


def manager(client):
    return f.login(client, f.user(Role.dispatcher).username)


def test_the_month_matches_the_hand_computed_figures(client, month):
    auth = manager(client)
    body = client.get("/api/v1/statistics/monthly?month=2026-11", headers=auth).get_json()
    assert body["due_by"] == "2026-12-04" and body["timezone"] == "Asia/Shanghai"
    (total,) = body["groups"]
    assert total["figures"] == EXPECTED_TOTAL
    assert set(body["definitions"]) == set(FIGURES)

    regions = client.get("/api/v1/statistics/monthly?month=2026-11&by=region", headers=auth).get_json()
    by_city = {g["label"]: g["figures"] for g in regions["groups"]}
    assert set(by_city) == {"上海", "北京", "—"}  # survey answers belong to no site
    assert by_city["上海"]["tickets_received"] == 2 and by_city["北京"]["tickets_received"] == 1
    assert by_city["北京"]["installation_cost"] == 800.0 and by_city["北京"]["first_time_fix_rate"] == 0.0
    assert by_city["上海"]["repeat_visit_rate"] == 0.5 and by_city["上海"]["total_cost"] == 560.0

    people = client.get("/api/v1/statistics/monthly?month=2026-11&by=technician", headers=auth).get_json()
    by_name = {g["label"]: g["figures"] for g in people["groups"]}
    assert set(by_name) == {"甲师傅", "乙师傅", "—"}  # T3 has no job yet
    assert by_name["甲师傅"]["service_trips"] == 1 and by_name["甲师傅"]["spare_unit_swaps"] == 1
    assert by_name["乙师傅"]["dispatch_overrides"] == 1 and by_name["乙师傅"]["van_fill_rate"] == 0.0
    assert by_name["—"]["tickets_received"] == 1 and by_name["—"]["response_attainment"] == 0.0

    # the month before and after hold none of it (T0 is October's, T4 December's)
    october = client.get("/api/v1/statistics/monthly?month=2026-10", headers=auth).get_json()
    assert october["groups"][0]["figures"]["tickets_received"] == 1
    assert october["groups"][0]["figures"]["mean_time_to_repair_hours"] == 120.0


def test_from_a_figure_to_the_tickets_behind_it(client, month):
    auth = manager(client)

    def behind(query):
        response = client.get(f"/api/v1/statistics/monthly/tickets?month=2026-11&{query}", headers=auth)
        assert response.status_code == 200, response.get_json()
        return {item["id"] for item in response.get_json()["items"]}

    ids = {k: str(v) for k, v in month.items()}
    assert behind("figure=tickets_received") == {ids["t1"], ids["t2"], ids["t3"]}
    assert behind("figure=tickets_by_channel.phone") == {ids["t1"], ids["t3"]}
    assert behind("figure=first_time_fix_rate") == {ids["t1"], ids["t2"]}
    assert behind("figure=first_time_fix_rate.num") == {ids["t1"]}
    assert behind("figure=dispatch_overrides") == {ids["t2"]}
    assert behind("figure=tickets_received&by=region&group=上海") == {ids["t1"], ids["t3"]}
    assert behind(f"figure=service_trips&by=technician&group={ids['a']}") == {ids["t1"]}
    bad = client.get("/api/v1/statistics/monthly/tickets?month=2026-11&figure=nonsense", headers=auth)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/statistics/monthly?month=2026-13", headers=auth).status_code == 422
    assert client.get("/api/v1/statistics/monthly?month=2026-11&by=galaxy", headers=auth).status_code == 422


def test_csv_and_the_supervision_report_pdf(client, month):
    auth = manager(client)
    response = client.get("/api/v1/statistics/monthly.csv?month=2026-11&by=region", headers=auth)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["月份", "分组方式", "分组", "受理工单数"]
    beijing = next(r for r in rows[1:] if r[2] == "北京")
    assert beijing[rows[0].index("安装调试费用")] == "800.0"
    english = client.get("/api/v1/statistics/monthly.csv?month=2026-11&lang=en", headers=auth)
    assert english.get_data(as_text=True).lstrip("\ufeff").startswith("Month,Grouped by,Group,Tickets received")

    pdf = client.get("/api/v1/statistics/monthly/report.pdf?month=2026-11", headers=auth)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for expected in ("服务监督报告", "2026-11", "2026-12-04", "一次修复率", "50.0%", "¥1,440.00", "上海", "北京",
                     "甲师傅", "乙师傅", "指标定义", "满意 1"):
        assert expected in text, expected


def test_cost_inputs_are_recorded_on_the_job(client, month):
    from server.jobs.models import Job

    job = db.session.query(Job).filter_by(ticket_id=month["t1"]).one()
    auth = manager(client)
    created = client.post(f"/api/v1/jobs/{job.id}/expenses", headers=auth, json={
        "kind": "lodging", "amount": 280.5, "incurred_at": "2026-11-05T20:00:00+08:00", "note": "宾馆"})
    assert created.status_code == 201, created.get_json()
    listed = client.get(f"/api/v1/jobs/{job.id}/expenses", headers=auth).get_json()["items"]
    assert [e["kind"] for e in listed] == ["travel", "lodging", "meals"]
    bad = client.post(f"/api/v1/jobs/{job.id}/expenses", headers=auth, json={"kind": "travel", "amount": -1})
    assert bad.status_code == 422
    total = client.get("/api/v1/statistics/monthly?month=2026-11", headers=auth).get_json()["groups"][0]
    assert total["figures"]["service_cost"] == 640.5


def test_every_figure_is_defined_in_the_docs():
    from pathlib import Path

    docs = (Path(__file__).parent.parent / "docs" / "monthly-statistics.md").read_text(encoding="utf-8")
    for key, figure in FIGURES.items():
        assert f"| `{key}` | {figure.unit} | {figure.definition} |" in docs, key


def test_a_technician_records_costs_on_their_own_job_only(client, month):
    from server.jobs.models import Job
    from server.technicians.models import Technician

    own = db.session.query(Job).filter_by(ticket_id=month["t1"]).one()
    other = db.session.query(Job).filter_by(ticket_id=month["t2"]).first()
    auth = f.login_as(client, db.session.get(Technician, month["a"]))
    created = client.post(f"/api/v1/jobs/{own.id}/expenses", headers=auth,
                          json={"kind": "travel", "amount": 35.0, "travel_minutes": 40, "distance_km": 18.5})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["distance_km"] == 18.5
    refused = client.post(f"/api/v1/jobs/{other.id}/expenses", headers=auth, json={"kind": "travel", "amount": 1})
    assert refused.status_code == 404
    assert client.get("/api/v1/statistics/monthly?month=2026-11", headers=auth).status_code == 403


def test_every_figure_has_a_name_in_both_languages():
    """The page, the CSV and the PDF name each figure by its ``stat.<figure>`` text."""
    import json
    from pathlib import Path

    import server

    folder = Path(server.__file__).parent / "i18n"
    for locale in ("zh-CN", "en"):
        texts = json.loads((folder / f"{locale}.json").read_text(encoding="utf-8"))
        missing = [key for key in FIGURES if f"stat.{key}" not in texts]
        assert not missing, (locale, missing)
