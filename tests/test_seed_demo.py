"""``flask seed-demo`` builds the believable demo it promises."""

import hashlib

import pytest
from sqlalchemy import func, select

from server.accounts.models import Role, User
from server.customers.models import Asset, Customer, Site
from server.demo.models import DemoState
from server.demo.seed import china_cities, chinese_name
from server.extensions import db
from server.jobs.models import CheckIn, Job, JobStatus, PartUsage
from server.notifications.models import Notification
from server.reports.models import JobExpense
from server.stock.models import (
    LocationKind,
    MovementKind,
    SpareUnit,
    StockDiscrepancy,
    StockLevel,
    StockLocation,
    StockMovement,
)
from server.technicians.models import Certification, Technician
from server.tickets.models import Ticket, TicketPart
from tests.conftest import empty_all_tables


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fingerprint() -> str:
    rows = db.session.execute(select(Customer.id, Customer.name, Site.latitude).join(Site).order_by(Site.id)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_chinese_city_names():
    assert chinese_name(["Shanghai", "上海", "上海市", "中国上海", "沪"]) == "上海"
    assert chinese_name(["長春", "长春", "长春市"]) == "长春"
    assert chinese_name(["Nowhere"]) is None
    cities = china_cities()
    assert {"上海", "北京", "广州", "成都"} <= {c.name_zh for c in cities}
    assert all(18 <= c.latitude <= 54 and 73 <= c.longitude <= 135 for c in cities)


@pytest.fixture
def seeded(app, runner):
    app.config["DEMO_PASSWORD"] = "demo-pass-for-tests"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result


def test_seed_demo_builds_what_it_promises(app, client, runner, seeded, backend):
    assert count(Technician) == 50
    assert count(StockLocation, StockLocation.kind != LocationKind.van) == 20
    assert {k for (k,) in db.session.execute(select(StockLocation.kind).distinct())} == set(LocationKind)
    assert count(Customer) == 200
    assert count(Asset) >= 200 and count(Certification) >= 50
    assert count(Asset, Asset.warranty_end.is_(None)) == 0

    # Sites at GeoNames cities (moved by a few kilometres at most), in China.
    cities = china_cities()
    for lat, lon in db.session.execute(select(Site.latitude, Site.longitude)):
        assert any(abs(lat - c.latitude) <= 0.07 and abs(lon - c.longitude) <= 0.07 for c in cities), (lat, lon)
    assert db.session.scalar(select(func.count(func.distinct(Site.city)))) >= 30
    assert all("\u4e00" <= name[0] <= "\u9fff" for (name,) in db.session.execute(select(Customer.name)))

    kinds = set(db.session.execute(select(Ticket.category, Ticket.complaint_class).distinct()).all())
    assert {(k.value, c.value if c else None) for k, c in kinds} == {
        ("repair", None), ("installation", None), ("maintenance", None),
        ("complaint", "quality"), ("complaint", "non_quality"), ("complaint", "other")}
    assert count(TicketPart) > 0 and count(Job) > 0
    # Stock only ever received, and consumed from the technicians' vans by the service history's visits
    # (the ledger's field-consumption path: one movement per part usage, no balance below zero).
    consumed = db.session.execute(select(StockMovement.source, StockLocation.kind).join(
        StockLocation, StockLocation.id == StockMovement.location_id).where(
        StockMovement.kind != MovementKind.received)).all()
    usages = db.session.scalars(select(PartUsage.id)).all()
    assert len(usages) >= 5 and sorted(source for source, _kind in consumed) == sorted(
        f"part_usage:{u}" for u in usages)
    assert {kind for _source, kind in consumed} == {LocationKind.van}
    assert count(StockDiscrepancy) == 0
    assert count(StockLevel, StockLevel.on_hand > 0) > 100
    vans_with_stock = db.session.scalar(select(func.count(func.distinct(StockLevel.location_id))).join(
        StockLocation, StockLocation.id == StockLevel.location_id).where(StockLocation.kind == LocationKind.van))
    assert vans_with_stock == 50
    assert count(SpareUnit) >= 20

    # Service quality: a survey under way with answers, one of them 不满意 with its follow-up task; a tour
    # with its pre-contacts made today; an incident waiting for its approved plan's parts, and a closed one.
    check_quality(db.session.get(DemoState, 1).as_of)
    check_history(client, db.session.get(DemoState, 1).as_of)
    incidents = client.get("/api/v1/quality/incidents", headers=login(client, "admin")).get_json()["items"]
    assert [(i["status"], len(i["affected"]) >= 3, len(i["notices"])) for i in incidents] == [
        ("plan_approved", True, 3), ("closed", False, 1)]
    assert "127.0.0.1:5000/survey/?token=" in db.session.scalar(
        select(Notification.body).where(Notification.kind == "survey.link").limit(1))

    # Demo accounts, with DEMO_PASSWORD.
    assert {u for (u,) in db.session.execute(select(User.username).where(User.role != Role.technician))} >= {
        "admin", "dispatcher", "warehouse"}
    for username in ("admin", "dispatcher", "warehouse"):
        r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo-pass-for-tests"})
        assert r.status_code == 201, username
    r = client.post("/api/v1/auth/token", json={"username": "tech01", "password": "demo-pass-for-tests",
                                                "device_id": "demo-handheld"})
    assert r.status_code == 201
    jobs = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {r.get_json()['access_token']}"})
    assert jobs.get_json()["items"], "tech01 has work to show"

    # Only ever fills an empty database.
    before = count(Customer)
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "left as it is" in again.output
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0 and "not empty" in refused.output
    assert count(Customer) == before


    # The same seed builds the same data (shown once: it does not depend on the engine).
    if backend == "sqlite":
        first = fingerprint()
        db.session.remove()
        empty_all_tables(app)
        assert runner.invoke(args=["seed-demo"]).exit_code == 0
        assert fingerprint() == first


def login(client, username: str) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo-pass-for-tests"})
    return {"Authorization": f"Bearer {r.get_json()['access_token']}"}


def han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def check_quality(now) -> None:
    """What the demo's quality pages show, as of the demo's ``now`` (its day in the company's zone
    is the UTC day here: the checks allow for it)."""
    from datetime import timedelta

    from server.quality.models import (
        Complaint,
        FollowUpStatus,
        FollowUpTask,
        ReturnVisit,
        SurveyAnswer,
        SurveyCampaign,
        SurveyInvitation,
    )
    from server.quality.proactive_models import (
        AssetInspection,
        Incident,
        InspectionSchedule,
        StopStatus,
        Tour,
        TourStop,
    )
    from server.quality.tours import contact_window

    today = now.date()
    [campaign] = db.session.scalars(select(SurveyCampaign)).all()
    assert han(campaign.name) and campaign.starts_on < today < campaign.ends_on
    invitations = db.session.scalars(select(SurveyInvitation)).all()
    answered = [i for i in invitations if i.answered_at is not None]
    assert len(invitations) == 40 and len(answered) == 14
    assert all(i.sent_at < i.answered_at < now < i.expires_at for i in answered)
    assert all(now < i.expires_at for i in invitations)
    ratings = [r.value for (r,) in db.session.execute(select(SurveyAnswer.rating))]
    assert ratings.count("dissatisfied") == 1 and "very_poor" not in ratings and len(ratings) > 50
    [task] = db.session.scalars(select(FollowUpTask).where(FollowUpTask.status == FollowUpStatus.open)).all()
    assert task.source == "survey" and "不满意" in task.reason
    # The service history's 不满意 sign-off opened its own, which customer service has closed.
    [rated] = db.session.scalars(select(FollowUpTask).where(FollowUpTask.status == FollowUpStatus.done)).all()
    assert rated.source == "job_rating" and "不满意" in rated.reason and rated.created_at < rated.done_at < now
    assert "备件等了" in task.reason

    [tour] = db.session.scalars(select(Tour)).all()
    first, last = contact_window(tour)
    assert han(tour.name) and first <= today <= last and tour.planned_at is None  # pre-contacts are due now
    stops = db.session.scalars(select(TourStop).where(TourStop.tour_id == tour.id)).all()
    contacted = [s for s in stops if s.contacted_at is not None]
    assert {s.status for s in stops} >= {StopStatus.agreed, StopStatus.declined}
    assert all(first <= s.contacted_at.date() <= last and s.contacted_at <= now for s in contacted)
    for stop in contacted:
        if stop.status is StopStatus.agreed:
            assert stop.model and han(stop.symptoms) and stop.estimated_hours > 0
            assert tour.starts_on <= stop.visit_on <= tour.ends_on

    open_one, closed = sorted(db.session.scalars(select(Incident)), key=lambda i: i.status.value != "plan_approved")
    assert han(open_one.title) and open_one.plan_parts and open_one.parts_issued_at is None
    assert open_one.occurred_at < open_one.plan_submitted_at < open_one.plan_approved_at < now
    assert closed.status.value == "closed" and han(closed.report_prevention)
    assert closed.occurred_at < closed.resolved_at < closed.report_at < now - timedelta(days=20)
    assert count(ReturnVisit, ReturnVisit.due_on >= today) > 100
    stages = [c.stage.value for c in db.session.scalars(select(Complaint))]
    assert set(stages) == {"confirmed", "analysed", "responsibility"}
    assert all(step.at < now for c in db.session.scalars(select(Complaint)) for step in c.steps)
    assert count(InspectionSchedule) == 12
    assert 0 < count(AssetInspection, AssetInspection.due_on <= today) < 12


def check_history(client, now) -> None:
    """The service history as of the demo's ``now``: completed visits over the last three months, nothing
    after ``now``; a customer's 客户360 timeline has them, and the statistics of the month before ``now``'s
    (in the company's zone) count completed visits, ratings and costs."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from server.tickets.models import TicketEvent

    done = db.session.scalars(select(Job).where(Job.status == JobStatus.completed)).all()
    assert len(done) >= 50
    assert all(now - timedelta(days=95) < j.arrived_at < j.departed_at == j.completed_at < now for j in done)
    assert {j.ticket.status.value for j in done} <= {"resolved", "closed"}
    assert all(j.ticket.received_at < j.ticket.responded_at <= j.ticket.on_site_at <= j.arrived_at
               and j.ticket.resolved_at == j.completed_at for j in done)
    assert all(j.customer_rating is not None and j.work_done and j.fault_cause for j in done)
    assert [j.customer_rating.value for j in done].count("dissatisfied") == 1
    assert count(CheckIn) == 2 * count(Job, Job.departed_at.is_not(None))  # arrival and departure
    assert count(JobExpense) > 0 and db.session.scalar(select(func.max(TicketEvent.at))) <= now
    assert db.session.scalar(select(func.max(CheckIn.received_at))) < now

    # Signed over the report as it stands (moved with the clock: still matching after --refresh).
    from media.signatures import signature_status

    signed = [j for j in done if j.no_signature_reason is None]
    assert len(signed) > len(done) // 2 and all(signature_status(db.session, j).valid for j in signed)

    headers = login(client, "dispatcher")
    customer_id = max(done, key=lambda j: j.completed_at).ticket.customer_id
    page = client.get(f"/api/v1/customers/{customer_id}/service-history", headers=headers)
    assert page.status_code == 200
    visits = [v for entry in page.get_json()["items"] for v in entry["visits"]]
    assert visits and all(v["arrived_at"] and v["completed_at"] and v["customer_rating"] for v in visits)
    assert all(v["signer_name"] or v["no_signature_reason"] for v in visits)

    local = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    month = (local.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    r = client.get(f"/api/v1/statistics/monthly?month={month}", headers=headers)
    assert r.status_code == 200, r.get_json()
    [total] = r.get_json()["groups"]
    figures = total["figures"]
    assert figures["service_trips"] > 10 and figures["satisfaction"].get("satisfied", 0) > 5
    assert 0 < figures["satisfaction_rate"] <= 1 and 0 < figures["first_time_fix_rate"] <= 1
    assert figures["mean_time_to_repair_hours"] > 0 and figures["service_cost"] > 0


def test_demo_clocks_stay_believable_on_a_later_day(app, client, runner, seeded):
    """Started two days after seeding, the demo's open tickets are as late as they were on the day,
    not all red: seed-demo --refresh (make run) moves every time and date forward."""
    from datetime import timedelta

    from server.db import utcnow
    from server.demo.rebase import rebase

    def late_on_site(now):
        return count(Ticket, Ticket.on_site_at.is_(None), Ticket.on_site_due_at < now,
                     Ticket.status.in_(["new", "acknowledged", "dispatched"]))

    seeded_at = db.session.get(DemoState, 1).as_of
    open_tickets = count(Ticket, Ticket.status.in_(["new", "acknowledged", "dispatched"]))
    late_on_the_day = late_on_site(seeded_at)
    assert late_on_the_day < open_tickets  # most clocks are still running on the day
    later = seeded_at + timedelta(days=2, hours=3)
    assert late_on_site(later) == open_tickets  # what a demo started two days later showed: every one late
    warranty = db.session.scalar(select(Asset.warranty_end).order_by(Asset.id).limit(1))

    shift = rebase(db.session, now=later)
    db.session.commit()
    assert shift == later - seeded_at
    assert late_on_site(later) == late_on_the_day
    assert db.session.scalar(select(Asset.warranty_end).order_by(Asset.id).limit(1)) == warranty + timedelta(days=2)
    assert rebase(db.session, now=later) == timedelta(0)  # twice the same day: nothing more
    check_quality(later)  # the survey still under way, the tour still four days ahead, ...
    check_history(client, later)  # the history moved with the clock: last month's figures, nothing ahead

    # The CLI (make run calls it) says what it did; a database without the demo's mark is left alone.
    result = runner.invoke(args=["seed-demo", "--if-empty", "--refresh"])
    assert result.exit_code == 0 and "moved forward" in result.output
    assert db.session.get(DemoState, 1).as_of >= utcnow() - timedelta(minutes=5)
    db.session.delete(db.session.get(DemoState, 1))
    db.session.commit()
    result = runner.invoke(args=["seed-demo", "--if-empty", "--refresh"])
    assert result.exit_code == 0 and "not a demo database" in result.output


def test_a_sunday_morning_demo_calls_out_on_call_duty_before_overtime(app, seeded):
    """A fifth of the demo's technicians are on call for a week around the day it is seeded (moved forward
    with every clock by --refresh): on its Sunday morning (Beijing), when nobody is on shift, the late
    candidates say who is on call, and calling them out comes before asking for overtime."""
    from datetime import UTC, datetime, time, timedelta

    from server.demo.models import DemoState
    from server.dispatch import ranking
    from server.dispatch.settings import DispatchSettings
    from server.exceptions import DomainError
    from server.technicians.models import OnCallPeriod

    seeded_at = db.session.get(DemoState, 1).as_of
    assert count(OnCallPeriod) == 10
    sunday = next(seeded_at.date() + timedelta(days=d) for d in range(-1, 7)
                  if (seeded_at.date() + timedelta(days=d)).weekday() == 6)
    morning = datetime.combine(sunday, time(1, 30), tzinfo=UTC)  # 09:30 in Beijing
    assert count(OnCallPeriod, OnCallPeriod.starts_at <= morning, OnCallPeriod.ends_at > morning) == 10
    settings = DispatchSettings.from_config(app.config)
    late_only, with_duty, duty_first = 0, 0, 0
    for (ticket_id,) in db.session.execute(select(Ticket.id).where(Ticket.status.in_(["new", "acknowledged"]))):
        try:
            context = ranking.ticket_context(db.session, ticket_id, now=morning)
        except DomainError:
            continue
        report = ranking.find_candidates(db.session, context, settings=settings, now=morning)
        if report.outcome != "late_only":
            continue
        late_only += 1
        duty = [c for c in report.late_candidates if c.on_call]
        assert all([f.code for f in c.flags][:1] in (["on_call"], ["on_leave"]) for c in duty)
        with_duty += bool(duty)
        duty_first += bool(report.late_candidates) and report.late_candidates[0].on_call
        overtime = [c for c in report.late_candidates if any(f.code == "overtime" for f in c.flags)]
        if duty and overtime:  # an overtime call-out ranks first only when it arrives over an hour sooner
            first = report.late_candidates[0]
            if not first.on_call and first in overtime:
                assert first.arrival_at + settings.overtime_penalty <= min(c.arrival_at for c in duty)
    assert late_only >= 10 and with_duty >= late_only // 2 and duty_first >= 1


def test_the_demos_today_is_the_offices_day_not_utcs():
    """At 01:00 in Beijing it is still yesterday in UTC: leave, duty and campaigns follow the office's calendar."""
    from datetime import UTC, date, datetime

    from server.demo.seed import DemoBuilder

    builder = DemoBuilder(None, password_hash="unused", now=datetime(2026, 12, 5, 17, 0, tzinfo=UTC))
    assert builder.today == date(2026, 12, 6)
