"""Service quality: satisfaction surveys and the follow-up tasks bad answers open."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, new_uuid, string_enum, utcnow
from server.jobs.models import CustomerRating

# The four answers of the 服务质量征询表 and of the 顾客满意度调查表 alike.
Rating = CustomerRating
BAD_RATINGS = (Rating.dissatisfied, Rating.very_poor)


class Question(str, enum.Enum):
    """The 《顾客满意度调查表》's rated questions (free text is kept on the invitation)."""

    response_speed = "response_speed"
    resolution = "resolution"
    attitude = "attitude"
    installation = "installation"
    training = "training"


class SurveyCampaign(Base):
    """One round of the satisfaction survey (the procedures ask for two a year)."""

    __tablename__ = "survey_campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invitations = relationship("SurveyInvitation", back_populates="campaign")


class SurveyInvitation(Base):
    """A customer's contact asked to answer a campaign, through a single-use
    link. Only the token's SHA-256 is stored, as for signing links."""

    __tablename__ = "survey_invitations"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    respondent: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)

    campaign = relationship(SurveyCampaign, back_populates="invitations")
    customer = relationship("Customer")
    answers = relationship("SurveyAnswer", back_populates="invitation", cascade="all, delete-orphan")


class SurveyAnswer(Base):
    """One rated question of one answered invitation (a row per question, so the
    statistics are one GROUP BY)."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("invitation_id", "question"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    invitation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("survey_invitations.id", ondelete="CASCADE"))
    question: Mapped[Question] = mapped_column(string_enum(Question))
    rating: Mapped[Rating] = mapped_column(string_enum(Rating))

    invitation = relationship(SurveyInvitation, back_populates="answers")


class FollowUpStatus(str, enum.Enum):
    open = "open"
    done = "done"


class FollowUpTask(Base):
    """Customer service calls the customer back about a bad answer (a survey's
    不满意/极差, a bad sign-off rating)."""

    __tablename__ = "follow_up_tasks"
    __table_args__ = (Index("ix_follow_up_tasks_status_created_at", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))  # "survey" or "job_rating"
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("survey_invitations.id", ondelete="CASCADE"),
                                                            unique=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[FollowUpStatus] = mapped_column(string_enum(FollowUpStatus), default=FollowUpStatus.open)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(Text)

    customer = relationship("Customer")


class ReturnVisitStatus(str, enum.Enum):
    due = "due"
    done = "done"


class CallOutcome(str, enum.Enum):
    satisfied = "satisfied"  # reached, no problem
    problem = "problem"  # reached, a problem: a ticket is opened with the call
    call_back = "call_back"  # reached, asked to be called another day
    unreachable = "unreachable"  # not reached: call again


class ReturnVisit(Base):
    """A scheduled return-visit call about one asset (客服部管理制度: monthly in
    the first year after installation, quarterly after). Pending visits follow
    the asset's installation date when it changes; visits called stay."""

    __tablename__ = "return_visits"
    __table_args__ = (UniqueConstraint("asset_id", "due_on"),
                      Index("ix_return_visits_status_next_call_on", "status", "next_call_on"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    sequence: Mapped[int]  # the n-th visit since installation
    due_on: Mapped[date] = mapped_column(Date)
    next_call_on: Mapped[date] = mapped_column(Date)  # due_on, or the agreed call-back day
    status: Mapped[ReturnVisitStatus] = mapped_column(string_enum(ReturnVisitStatus), default=ReturnVisitStatus.due)
    outcome: Mapped[CallOutcome | None] = mapped_column(string_enum(CallOutcome))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    asset = relationship("Asset")
    calls = relationship("ReturnVisitCall", back_populates="visit", order_by="ReturnVisitCall.at")


class ReturnVisitCall(Base):
    """One call of a return visit: who, when, what came of it."""

    __tablename__ = "return_visit_calls"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    visit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("return_visits.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[CallOutcome] = mapped_column(string_enum(CallOutcome))
    note: Mapped[str | None] = mapped_column(Text)
    call_back_on: Mapped[date | None] = mapped_column(Date)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))

    visit = relationship(ReturnVisit, back_populates="calls")


class ComplaintStage(str, enum.Enum):
    """售后服务管理制度: a complaint runs these in order; it cannot close before its follow-up."""

    received = "received"
    confirmed = "confirmed"
    analysed = "analysed"  # the cause found
    responsibility = "responsibility"  # the department or person responsible
    remedy_agreed = "remedy_agreed"  # the remedy agreed with the customer
    followed_up = "followed_up"  # the customer asked whether the remedy worked
    closed = "closed"


class Complaint(Base):
    """The handling of a complaint ticket. The accountable person is the
    ticket's owner: its first responder (首问负责) until handed over explicitly."""

    __tablename__ = "complaints"

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[ComplaintStage] = mapped_column(string_enum(ComplaintStage), default=ComplaintStage.received,
                                                  index=True)
    cause: Mapped[str | None] = mapped_column(Text)
    responsible_department: Mapped[str | None] = mapped_column(String(200))
    responsible_person: Mapped[str | None] = mapped_column(String(200))
    remedy: Mapped[str | None] = mapped_column(Text)
    follow_up_result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    ticket = relationship("Ticket")
    steps = relationship("ComplaintStep", back_populates="complaint", order_by="ComplaintStep.at")


class ComplaintStep(Base):
    """One step of a complaint (or a handover): who, when, what."""

    __tablename__ = "complaint_steps"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.ticket_id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))  # a stage, or "handed_over"
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text)
    to_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))  # a handover's new owner

    complaint = relationship(Complaint, back_populates="steps")
