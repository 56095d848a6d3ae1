"""Proactive service (应急预案 主动应急; 质量巡检): tours to where the installed
base is, and scheduled inspections of installed assets; and incidents with
their rescue (客服部管理制度 故障报告; 应急预案)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, new_uuid, string_enum, utcnow

# --- tours ------------------------------------------------------------------------------------------------------


class StopStatus(str, enum.Enum):
    pending = "pending"  # not contacted yet
    agreed = "agreed"  # the customer wants the visit
    declined = "declined"
    planned = "planned"  # a job on the route


class Tour(Base):
    """A proactive tour (巡回服务) of one region over some days."""

    __tablename__ = "tours"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    stops = relationship("TourStop", back_populates="tour", order_by="TourStop.route_order")


class TourStop(Base):
    """A customer's site on a tour, with the pre-contact record (3-5 days ahead)."""

    __tablename__ = "tour_stops"
    __table_args__ = (UniqueConstraint("tour_id", "site_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    tour_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tours.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[StopStatus] = mapped_column(string_enum(StopStatus), default=StopStatus.pending)
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contacted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))
    model: Mapped[str | None] = mapped_column(String(64))
    symptoms: Mapped[str | None] = mapped_column(Text)
    estimated_hours: Mapped[float | None] = mapped_column(Float)
    estimated_cost: Mapped[float | None] = mapped_column(Float)
    visit_on: Mapped[date | None] = mapped_column(Date)
    route_order: Mapped[int | None] = mapped_column(Integer)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))

    tour = relationship(Tour, back_populates="stops")
    site = relationship("Site")
    customer = relationship("Customer")


# --- inspections ------------------------------------------------------------------------------------------------


class InspectionStatus(str, enum.Enum):
    due = "due"
    done = "done"


class InspectionSchedule(Base):
    """An asset inspected every ``interval_days`` (质量巡检)."""

    __tablename__ = "inspection_schedules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), unique=True)
    interval_days: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    asset = relationship("Asset")


class AssetInspection(Base):
    __tablename__ = "asset_inspections"
    __table_args__ = (UniqueConstraint("schedule_id", "due_on"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection_schedules.id", ondelete="CASCADE"),
                                                   index=True)
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[InspectionStatus] = mapped_column(string_enum(InspectionStatus), default=InspectionStatus.due)
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    inspected_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    asset = relationship("Asset")
    findings = relationship("InspectionFinding", back_populates="inspection", order_by="InspectionFinding.position")


class InspectionFinding(Base):
    """Something an inspection found; a finding can open a ticket."""

    __tablename__ = "inspection_findings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("asset_inspections.id", ondelete="CASCADE"),
                                                     index=True)
    position: Mapped[int]
    severity: Mapped[str] = mapped_column(String(16))  # info, minor, major
    description: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))

    inspection = relationship(AssetInspection, back_populates="findings")


# --- incidents --------------------------------------------------------------------------------------------------


class IncidentStatus(str, enum.Enum):
    open = "open"
    plan_submitted = "plan_submitted"
    plan_approved = "plan_approved"  # parts may go out
    resolved = "resolved"
    closed = "closed"  # the fault analysis report is written


class Incident(Base):
    """A major fault or incident (重大故障): level 1 (most severe) to 4."""

    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    title: Mapped[str] = mapped_column(String(300))
    level: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[IncidentStatus] = mapped_column(string_enum(IncidentStatus), default=IncidentStatus.open, index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The rescue plan (抢修方案)
    plan_repair_hours: Mapped[float | None] = mapped_column(Float)
    plan_people: Mapped[int | None]
    plan_lead: Mapped[str | None] = mapped_column(String(200))
    plan_tools: Mapped[str | None] = mapped_column(Text)
    plan_parts: Mapped[list | None] = mapped_column(JSON)  # [{"part_id", "quantity"}]
    plan_cost: Mapped[float | None] = mapped_column(Float)
    plan_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    plan_submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    plan_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    plan_approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    parts_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The fault analysis report (故障分析报告), afterwards
    report_cause: Mapped[str | None] = mapped_column(Text)
    report_actions: Mapped[str | None] = mapped_column(Text)
    report_prevention: Mapped[str | None] = mapped_column(Text)
    report_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    affected = relationship("IncidentAffected", back_populates="incident")
    notices = relationship("IncidentNotice", back_populates="incident", order_by="IncidentNotice.notified_at")


class IncidentAffected(Base):
    __tablename__ = "incident_affected"
    __table_args__ = (UniqueConstraint("incident_id", "customer_id", "asset_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"))

    incident = relationship(Incident, back_populates="affected")
    customer = relationship("Customer")
    asset = relationship("Asset")


class IncidentNotice(Base):
    """Who was told of the incident, when, how (recorded by the office; the
    outbox's own messages to managers are in ``notifications``)."""

    __tablename__ = "incident_notices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    person: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))  # phone, sms, email, wechat, in_person
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    incident = relationship(Incident, back_populates="notices")
