"""Satisfaction: survey campaigns answered through single-use links, the
sign-off ratings, and the follow-up tasks bad answers open. Plain functions
over a session; never commit."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from media.signatures import token_hash  # the same single-use-link tokens as signing links
from server import i18n
from server.customers.models import Customer
from server.exceptions import Gone, InvalidInput, InvalidTransition, NotFound
from server.jobs.models import Job
from server.notifications.models import Audience
from server.notifications.outbox import notify
from server.quality.models import (
    BAD_RATINGS,
    FollowUpStatus,
    FollowUpTask,
    Question,
    Rating,
    SurveyAnswer,
    SurveyCampaign,
    SurveyInvitation,
)
from server.records import field_error


def _zh(kind: str, value) -> str:
    # Follow-up reasons and notifications are stored text, written in the company's language.
    return i18n.label(kind, value, "zh-CN")


def create_campaign(session: Session, data: dict, *, created_by_id, now: datetime) -> SurveyCampaign:
    if data["ends_on"] < data["starts_on"]:
        raise InvalidInput("a campaign cannot end before it starts",
                           details=field_error("ends_on", "Must not be before starts_on."))
    campaign = SurveyCampaign(id=uuid.uuid4(), created_by_id=created_by_id, created_at=now, **data)
    session.add(campaign)
    session.flush()
    return campaign


def send_campaign(session: Session, campaign: SurveyCampaign, customer_ids: list | None, *, link_url,
                  ttl_days: int, now: datetime) -> list[tuple[SurveyInvitation, str]]:
    """Invite each customer's contact (the named customers, or every customer
    with an email or phone) with a single-use link; a customer already invited
    to this campaign is skipped. Each link goes into the outbox as a
    ``survey.link`` notification in this transaction. ``link_url(token)`` makes
    the page's address. Returns the new invitations with their links."""
    if now.date() > campaign.ends_on:
        raise InvalidTransition("this campaign has ended", code="campaign_ended")
    stmt = select(Customer)
    if customer_ids:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    else:
        stmt = stmt.where(or_(Customer.email.is_not(None), Customer.phone.is_not(None)))
    customers = session.scalars(stmt.order_by(Customer.name, Customer.id)).all()
    if customer_ids and len(customers) != len(set(customer_ids)):
        raise InvalidInput("unknown customer", code="unknown_reference",
                           details=field_error("customer_ids", "Unknown customer."))
    invited = set(session.scalars(select(SurveyInvitation.customer_id)
                                  .where(SurveyInvitation.campaign_id == campaign.id)))
    sent = []
    for customer in customers:
        if customer.id in invited:
            continue
        token = secrets.token_urlsafe(32)
        invitation = SurveyInvitation(
            id=uuid.uuid4(), campaign_id=campaign.id, customer_id=customer.id, contact_name=customer.contact_name,
            contact_email=customer.email, contact_phone=customer.phone, token_hash=token_hash(token), sent_at=now,
            expires_at=now + timedelta(days=ttl_days))
        session.add(invitation)
        url = link_url(token)
        greeting = f"{customer.contact_name or customer.name}，您好："
        notify(session, kind="survey.link", audience=Audience.customer,
               subject=f"顾客满意度调查 · {campaign.name}",
               body=(f"{greeting}\n请花两分钟评价我们的服务（链接仅可使用一次）：\n{url}\n\n"
                     f"Please rate our service (single-use link): {url}"),
               payload={"url": url, "customer_id": str(customer.id), "phone": customer.phone,
                        "campaign": campaign.name},
               email=customer.email, ref=("survey_invitation", invitation.id), now=now)
        sent.append((invitation, url))
    session.flush()
    return sent


def open_invitation(session: Session, token: str | None, *, now: datetime) -> SurveyInvitation:
    """The invitation behind a link's token, if it may still be answered."""
    invitation = session.scalar(select(SurveyInvitation).where(SurveyInvitation.token_hash == token_hash(token)))\
        if token else None
    if invitation is None:
        raise NotFound("this survey link is not valid", code="survey_link_not_found")
    if invitation.answered_at is not None:
        raise Gone("this survey has already been answered — thank you", code="survey_link_used")
    if invitation.expires_at <= now:
        raise Gone("this survey link has expired", code="survey_link_expired")
    return invitation


def answer(session: Session, token: str | None, data: dict, *, now: datetime) -> SurveyInvitation:
    """The customer answers: once (the link is spent by a conditional update,
    so two submissions racing cannot both count). Any 不满意 or 极差 opens a
    follow-up task for customer service and tells the managers."""
    invitation = open_invitation(session, token, now=now)
    ratings = {Question(q): Rating(r) for q, r in data["ratings"].items() if r is not None}
    if not ratings and not (data.get("comment") or "").strip():
        raise InvalidInput("answer at least one question", details=field_error("ratings", "Answer at least one."))
    spent = session.execute(update(SurveyInvitation)
                            .where(SurveyInvitation.id == invitation.id, SurveyInvitation.answered_at.is_(None))
                            .values(answered_at=now, respondent=data.get("respondent") or None,
                                    comment=data.get("comment") or None)
                            .execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        raise Gone("this survey has already been answered — thank you", code="survey_link_used")
    session.refresh(invitation)
    for question, rating in ratings.items():
        session.add(SurveyAnswer(invitation_id=invitation.id, question=question, rating=rating))
    bad = {q: r for q, r in ratings.items() if r in BAD_RATINGS}
    if bad:
        customer = session.get(Customer, invitation.customer_id)
        reason = "；".join(f"{_zh('survey_question', q.value)}：{_zh('customer_rating', r.value)}"
                          for q, r in bad.items())
        if invitation.comment:
            reason += f"\n客户意见：{invitation.comment}"
        session.add(FollowUpTask(customer_id=customer.id, source="survey", invitation_id=invitation.id,
                                 reason=reason, created_at=now))
        notify(session, kind="rating.bad", audience=Audience.manager,
               subject=f"满意度调查差评 · {customer.name}", body=f"{customer.name}\n{reason}",
               payload={"customer_id": str(customer.id), "source": "survey",
                        "ratings": {q.value: r.value for q, r in bad.items()}},
               ref=("survey_invitation", invitation.id), now=now)
    session.flush()
    return invitation


def on_job_ratings(session: Session, rated: list[dict], *, now: datetime) -> int:
    """The sign-off ratings a sync push just wrote (``{"id", "customer_rating",
    "customer_opinion"}``): each 不满意 or 极差 opens one follow-up task (one per
    job, however often it is re-rated) and tells the managers. Returns how many
    tasks were opened."""
    bad = [r for r in rated if r.get("customer_rating") and Rating(r["customer_rating"]) in BAD_RATINGS]
    if not bad:
        return 0
    ids = [uuid.UUID(str(r["id"])) for r in bad]
    have = set(session.scalars(select(FollowUpTask.job_id).where(FollowUpTask.job_id.in_(ids))))
    opened = 0
    for job in session.scalars(select(Job).where(Job.id.in_(ids)).execution_options(populate_existing=True)):
        if job.id in have:
            continue
        ticket = job.ticket
        rating = Rating(job.customer_rating)
        reason = f"签收评价：{_zh('customer_rating', rating.value)}（工单 {ticket.reference}）"
        if job.customer_opinion:
            reason += f"\n客户意见：{job.customer_opinion}"
        session.add(FollowUpTask(customer_id=ticket.customer_id, source="job_rating", job_id=job.id, reason=reason,
                                 created_at=now))
        notify(session, kind="rating.bad", audience=Audience.manager,
               subject=f"签收差评 · {ticket.customer.name} · {ticket.reference}", body=reason,
               payload={"customer_id": str(ticket.customer_id), "source": "job_rating", "job_id": str(job.id),
                        "ticket_id": str(ticket.id), "rating": rating.value},
               ref=("job", job.id), now=now)
        opened += 1
    return opened


def close_follow_up(session: Session, task: FollowUpTask, *, outcome: str, by_user_id, now: datetime) -> FollowUpTask:
    if task.status is FollowUpStatus.done:
        raise InvalidTransition("this follow-up is already done", code="follow_up_done")
    task.status, task.outcome, task.done_by_id, task.done_at = FollowUpStatus.done, outcome, by_user_id, now
    return task


def campaign_results(session: Session, campaign: SurveyCampaign) -> dict:
    """Per question: how many chose each answer."""
    rows = session.execute(
        select(SurveyAnswer.question, SurveyAnswer.rating, func.count())
        .join(SurveyInvitation, SurveyInvitation.id == SurveyAnswer.invitation_id)
        .where(SurveyInvitation.campaign_id == campaign.id)
        .group_by(SurveyAnswer.question, SurveyAnswer.rating)).all()
    per_question = {q: {r.value: 0 for r in Rating} for q in Question}
    for question, rating, count in rows:
        per_question[Question(question)][Rating(rating).value] = count
    invited, answered = session.execute(
        select(func.count(), func.count(SurveyInvitation.answered_at))
        .where(SurveyInvitation.campaign_id == campaign.id)).one()
    return {"campaign_id": campaign.id, "invited": invited, "answered": answered,
            "questions": [{"question": q.value, "counts": counts,
                           "answered": sum(counts.values())} for q, counts in per_question.items()]}


def rating_summary(session: Session, *, since: datetime | None, until: datetime | None) -> dict:
    """The sign-off ratings of jobs completed in [since, until): how many of each, and how many gave an opinion."""
    stmt = select(Job.customer_rating, func.count(), func.count(Job.customer_opinion)).where(
        Job.customer_rating.is_not(None))
    if since is not None:
        stmt = stmt.where(Job.completed_at >= since)
    if until is not None:
        stmt = stmt.where(Job.completed_at < until)
    counts = {r.value: 0 for r in Rating}
    opinions = 0
    for rating, count, with_opinion in session.execute(stmt.group_by(Job.customer_rating)):
        counts[Rating(rating).value] = count
        opinions += with_opinion
    total = sum(counts.values())
    share = round((counts["satisfied"] + counts["acceptable"]) / total, 4) if total else None
    return {"counts": counts, "total": total, "with_opinion": opinions, "satisfied_or_acceptable_share": share}
