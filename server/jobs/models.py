"""Jobs: the visits that fix a ticket, and the work report filled in on site."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, VersionedMixin, new_uuid, utcnow


class JobStatus(str, enum.Enum):
    assigned = "assigned"
    accepted = "accepted"
    en_route = "en_route"
    on_site = "on_site"
    # Left site without finishing (waiting for a part, a swap, a second visit).
    incomplete = "incomplete"
    completed = "completed"
    cancelled = "cancelled"


# How far each status is along a visit: the technician's progress on site only
# ever moves forward, which is what the sync's conflict rules lean on.
JOB_PROGRESS = {
    JobStatus.assigned: 0,
    JobStatus.accepted: 1,
    JobStatus.en_route: 2,
    JobStatus.on_site: 3,
    JobStatus.incomplete: 4,
    JobStatus.completed: 5,
    JobStatus.cancelled: 5,
}


class CustomerRating(str, enum.Enum):
    """服务质量征询表: satisfied / acceptable / dissatisfied / very poor."""

    satisfied = "satisfied"
    acceptable = "acceptable"
    dissatisfied = "dissatisfied"
    very_poor = "very_poor"


class NoSignatureReason(str, enum.Enum):
    """Why a completed job has no customer signature (作业报告书 sign-off): a job completes only with the
    customer's signature or one of these recorded (the handheld's choices)."""

    customer_absent = "customer_absent"  # nobody there to sign (unattended site, customer left)
    refused = "refused"  # the customer refused to sign
    unable = "unable"  # present but cannot sign (injury, no authority to sign)
    other = "other"  # explained in no_signature_note


class Job(VersionedMixin, Base):
    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    # active_history: the old ticket and technician are known when they change, even on an expired
    # object, so the old technician's devices get their scope exits (sync.changelog, sync.scope).
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True, active_history=True)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"), index=True,
                                                            active_history=True)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=32, validate_strings=True),
        default=JobStatus.assigned, index=True,
    )
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    instructions: Mapped[str | None] = mapped_column(Text)

    # 作业报告书: the work report, written on site.
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # monthly statistics
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # monthly statistics
    work_done: Mapped[str | None] = mapped_column(Text)
    fault_cause: Mapped[str | None] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(Text)
    customer_opinion: Mapped[str | None] = mapped_column(Text)
    customer_rating: Mapped[CustomerRating | None] = mapped_column(
        Enum(CustomerRating, native_enum=False, length=32, validate_strings=True)
    )

    # Set when the customer does not sign: a job completes with a signature or this.
    no_signature_reason: Mapped[NoSignatureReason | None] = mapped_column(
        Enum(NoSignatureReason, native_enum=False, length=32, validate_strings=True)
    )
    no_signature_note: Mapped[str | None] = mapped_column(Text)  # the technician's words on it

    ticket = relationship("Ticket")
    technician = relationship("Technician")
    adjustments = relationship("Adjustment", back_populates="job", order_by="Adjustment.created_at")


class Adjustment(VersionedMixin, Base):
    """调整记录: a parameter changed on site, with its value before and after."""

    __tablename__ = "adjustments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    parameter: Mapped[str] = mapped_column(String(200))
    value_before: Mapped[str | None] = mapped_column(String(200))
    value_after: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(32))

    job = relationship(Job, back_populates="adjustments")


class PartUsage(Base):
    """A part used on a job, reported from the field. A fact: it is only ever
    created (never edited), and it consumes stock exactly once."""

    __tablename__ = "part_usages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity: Mapped[int]
    serial_numbers: Mapped[list] = mapped_column(JSON, default=list)
    # Taken from the van unless the technician says otherwise.
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    under_warranty: Mapped[bool]
    # The device's clock: recorded, never trusted for ordering.
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CheckInKind(str, enum.Enum):
    arrival = "arrival"
    departure = "departure"
    periodic = "periodic"


class CheckIn(Base):
    """A time-and-place fact from the handheld (arrival, departure, periodic)."""

    __tablename__ = "check_ins"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id"), index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    kind: Mapped[CheckInKind] = mapped_column(Enum(CheckInKind, native_enum=False, length=16))
    latitude: Mapped[float]
    longitude: Mapped[float]
    accuracy_m: Mapped[float | None]
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
