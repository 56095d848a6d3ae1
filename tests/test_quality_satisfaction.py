"""Satisfaction: survey campaigns answered on single-use links, results per
question and customer, follow-ups for bad answers, sign-off rating statistics,
and the notifications each writes in its own transaction. On both databases."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import CustomerRating, JobStatus
from server.notifications.models import Audience, Channel, Notification
from server.quality.models import FollowUpTask, SurveyInvitation
from tests import factories as f
from tests.syncing import Handheld, op


def _campaign(client, office, **body):
    today = date.today()
    body = {"name": "2026 下半年满意度调查", "starts_on": str(today - timedelta(days=1)),
            "ends_on": str(today + timedelta(days=30)), **body}
    r = client.post("/api/v1/quality/surveys", json=body, headers=office)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _token(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def _answer(client, token, **form):
    return client.post("/survey/", data={"token": token, **form})


def test_campaign_invites_contacts_and_answers_count_once(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    mail = f.customer("上海一号医院", contact_name="王主任", email="wang@example.test", phone="13800000001")
    phone_only = f.customer("苏州二号厂", contact_name="李工", phone="13800000002")
    f.customer("无联系人公司")  # no email, no phone: not invited when sending to everyone
    campaign = _campaign(client, office)

    r = client.post(f"/api/v1/quality/surveys/{campaign['id']}/send", json={}, headers=office)
    assert r.status_code == 201, r.get_json()
    sent = {i["customer_name"]: i for i in r.get_json()["invited"]}
    assert set(sent) == {"上海一号医院", "苏州二号厂"}
    # Sending again invites nobody twice.
    again = client.post(f"/api/v1/quality/surveys/{campaign['id']}/send", json={}, headers=office)
    assert again.get_json()["invited"] == []

    # Each link is in the outbox, committed with its invitation: email where the customer has one, and
    # the phone number in the payload for an SMS gateway.
    notes = db.session.scalars(select(Notification).where(Notification.kind == "survey.link")).all()
    assert len(notes) == 2
    by_customer = {n.payload["customer_id"]: n for n in notes}
    emailed = by_customer[str(mail.id)]
    assert emailed.audience is Audience.customer
    assert [(d.channel, d.address) for d in emailed.deliveries] == [(Channel.email, "wang@example.test")]
    assert sent["上海一号医院"]["url"] in emailed.body
    assert by_customer[str(phone_only.id)].deliveries == []
    assert by_customer[str(phone_only.id)].payload["phone"] == "13800000002"
    db.session.commit()

    # The page: Chinese first, phone-sized, every question, no script.
    token = _token(sent["上海一号医院"]["url"])
    page = client.get(f"/survey/?token={token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("顾客满意度调查表", "响应速度", "问题解决", "服务态度", "安装质量", "操作培训", "不满意", "极差",
                 'name="viewport"', "王主任"):
        assert text in html, text
    assert "<script" not in html
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"

    done = _answer(client, token, response_speed="satisfied", resolution="dissatisfied", attitude="very_poor",
                   installation="acceptable", comment="维修拖了三天", respondent="王主任")
    assert done.status_code == 200
    assert "谢谢" in done.get_data(as_text=True)
    # Single use: the link is spent.
    spent = _answer(client, token, response_speed="satisfied")
    assert spent.status_code == 410
    assert 'data-code="survey_link_used"' in spent.get_data(as_text=True)
    assert client.get(f"/survey/?token={token}").status_code == 410
    assert client.get("/survey/?token=not-a-token").status_code == 404

    # The second customer answers well: no follow-up.
    assert _answer(client, _token(sent["苏州二号厂"]["url"]), response_speed="satisfied",
                   resolution="satisfied", attitude="acceptable").status_code == 200

    results = client.get(f"/api/v1/quality/surveys/{campaign['id']}/results", headers=office).get_json()
    assert (results["invited"], results["answered"]) == (2, 2)
    per_question = {q["question"]: q["counts"] for q in results["questions"]}
    assert per_question["response_speed"] == {"satisfied": 2, "acceptable": 0, "dissatisfied": 0, "very_poor": 0}
    assert per_question["resolution"] == {"satisfied": 1, "acceptable": 0, "dissatisfied": 1, "very_poor": 0}
    assert per_question["attitude"] == {"satisfied": 0, "acceptable": 1, "dissatisfied": 0, "very_poor": 1}
    assert per_question["training"] == {"satisfied": 0, "acceptable": 0, "dissatisfied": 0, "very_poor": 0}

    invitations = client.get(f"/api/v1/quality/surveys/{campaign['id']}/invitations?answered=true",
                             headers=office).get_json()["items"]
    first = next(i for i in invitations if i["customer_id"] == str(mail.id))
    assert first["answers"] == {"response_speed": "satisfied", "resolution": "dissatisfied",
                                "attitude": "very_poor", "installation": "acceptable"}
    assert (first["comment"], first["respondent"]) == ("维修拖了三天", "王主任")

    # One follow-up for customer service, naming the bad answers; the managers are told.
    tasks = client.get("/api/v1/quality/follow-ups?status=open", headers=office).get_json()["items"]
    assert len(tasks) == 1
    assert tasks[0]["customer_id"] == str(mail.id) and tasks[0]["source"] == "survey"
    assert "问题解决：不满意" in tasks[0]["reason"] and "服务态度：极差" in tasks[0]["reason"]
    assert "维修拖了三天" in tasks[0]["reason"]
    bad = db.session.scalars(select(Notification).where(Notification.kind == "rating.bad")).all()
    assert len(bad) == 1 and bad[0].audience is Audience.manager
    assert [(d.channel, d.address) for d in bad[0].deliveries] == [(Channel.email, None)]  # the managers' list
    db.session.commit()

    closed = client.post(f"/api/v1/quality/follow-ups/{tasks[0]['id']}/close",
                         json={"outcome": "已致电道歉，安排回访"}, headers=office)
    assert closed.status_code == 200 and closed.get_json()["status"] == "done"
    twice = client.post(f"/api/v1/quality/follow-ups/{tasks[0]['id']}/close", json={"outcome": "x"}, headers=office)
    assert twice.status_code == 409
    assert client.get("/api/v1/quality/follow-ups?status=open", headers=office).get_json()["items"] == []


def test_survey_links_expire_and_refuse_empty_or_unknown_answers(client):
    office = f.login_as(client, f.user(Role.admin))
    cust = f.customer(email="a@example.test")
    campaign = _campaign(client, office)
    r = client.post(f"/api/v1/quality/surveys/{campaign['id']}/send",
                    json={"customer_ids": [str(cust.id)], "ttl_days": 1}, headers=office)
    token = _token(r.get_json()["invited"][0]["url"])

    empty = _answer(client, token)
    assert empty.status_code == 422 and "至少" in empty.get_data(as_text=True)
    odd = _answer(client, token, resolution="superb")
    assert odd.status_code == 422
    assert db.session.scalar(select(SurveyInvitation.answered_at)) is None  # still open after both

    db.session.execute(SurveyInvitation.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    expired = client.get(f"/survey/?token={token}")
    assert expired.status_code == 410 and 'data-code="survey_link_expired"' in expired.get_data(as_text=True)
    assert _answer(client, token, resolution="satisfied").status_code == 410


def test_campaign_input_is_checked(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    today = date.today()
    backwards = client.post("/api/v1/quality/surveys", json={"name": "x", "starts_on": str(today),
                                                             "ends_on": str(today - timedelta(days=1))},
                            headers=office)
    assert backwards.status_code == 422
    campaign = _campaign(client, office)
    unknown = client.post(f"/api/v1/quality/surveys/{campaign['id']}/send",
                          json={"customer_ids": ["00000000-0000-0000-0000-000000000000"]}, headers=office)
    assert unknown.status_code == 422
    tech = f.login_as(client, f.technician())
    assert client.get("/api/v1/quality/surveys", headers=tech).status_code == 403
    assert client.get("/api/v1/quality/follow-ups", headers=tech).status_code == 403


def test_bad_sign_off_rating_from_the_handheld_opens_one_follow_up(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    tech = f.technician()
    job = f.job(tech=tech, status=JobStatus.on_site)
    good = f.job(f.ticket(), tech=tech, status=JobStatus.on_site)
    handheld = Handheld(client, tech)
    handheld.push([op("jobs", job.id, "update", {"customer_rating": "very_poor", "customer_opinion": "态度差"},
                      base_version=1),
                   op("jobs", good.id, "update", {"customer_rating": "satisfied"}, base_version=1)])
    tasks = db.session.scalars(select(FollowUpTask)).all()
    assert [(t.job_id, t.source) for t in tasks] == [(job.id, "job_rating")]
    assert "极差" in tasks[0].reason and "态度差" in tasks[0].reason
    notes = db.session.scalars(select(Notification).where(Notification.kind == "rating.bad")).all()
    assert len(notes) == 1 and notes[0].payload["job_id"] == str(job.id)
    db.session.commit()
    # Re-rated: still one task.
    handheld.push([op("jobs", job.id, "update", {"customer_rating": "dissatisfied"}, base_version=2)])
    assert db.session.query(FollowUpTask).count() == 1
    db.session.commit()
    listed = client.get("/api/v1/quality/follow-ups", headers=office).get_json()["items"]
    assert listed[0]["job_id"] == str(job.id)


def test_rating_summary_counts_sign_offs_by_completion_time(client):
    office = f.login_as(client, f.user(Role.dispatcher))
    now = utcnow()
    ratings = [("satisfied", "很好", 1), ("satisfied", None, 2), ("acceptable", None, 3),
               ("dissatisfied", "来晚了", 4), ("very_poor", None, 40)]
    for rating, opinion, days_ago in ratings:
        f.job(status=JobStatus.completed, customer_rating=CustomerRating(rating), customer_opinion=opinion,
              completed_at=now - timedelta(days=days_ago))
    f.job(status=JobStatus.completed, completed_at=now)  # not rated: not counted

    window = {"from": (now - timedelta(days=30)).isoformat(), "to": now.isoformat()}
    r = client.get("/api/v1/quality/ratings/summary", query_string=window, headers=office)
    assert r.status_code == 200
    body = r.get_json()
    assert body["counts"] == {"satisfied": 2, "acceptable": 1, "dissatisfied": 1, "very_poor": 0}
    assert (body["total"], body["with_opinion"], body["satisfied_or_acceptable_share"]) == (4, 2, 0.75)
    everything = client.get("/api/v1/quality/ratings/summary", headers=office).get_json()
    assert everything["counts"]["very_poor"] == 1 and everything["total"] == 5

    listed = client.get("/api/v1/quality/ratings?rating=dissatisfied", headers=office).get_json()["items"]
    assert [(j["customer_rating"], j["customer_opinion"]) for j in listed] == [("dissatisfied", "来晚了")]
    assert re.match(r"T-", listed[0]["ticket_reference"])
    naive = client.get("/api/v1/quality/ratings/summary?from=2026-01-01T00:00:00", headers=office)
    assert naive.status_code == 422
