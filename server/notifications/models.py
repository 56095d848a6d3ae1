"""The notification outbox: what to tell whom, written in the transaction of
its cause, and each delivery of it (email over SMTP, signed webhooks) with
every attempt logged. Nothing here is ever deleted by delivery: a failed
delivery stays, to be retried or redelivered."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, new_uuid, string_enum, utcnow

# Every kind FieldSync writes (server/notifications/events.py, server/quality/*); webhooks subscribe to them.
KINDS = ("incident.opened", "job.appointment", "job.assigned", "job.eta", "job.status_changed", "rating.bad",
         "return_visit.reminder", "signing.link", "survey.link", "ticket.clock_breach", "ticket.opened",
         "ticket.status_changed")


class Audience(str, enum.Enum):
    customer = "customer"
    manager = "manager"
    system = "system"  # ticket and job events for a company's other systems (ERP, CRM)


class Channel(str, enum.Enum):
    email = "email"
    webhook = "webhook"


class DeliveryStatus(str, enum.Enum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # gave up retrying by itself; kept, and can be redelivered


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_subject_ref", "ref_type", "ref_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(48), index=True)  # e.g. "survey.link", "ticket.escalated"
    audience: Mapped[Audience] = mapped_column(string_enum(Audience))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # What caused it, for the office to find it again.
    ref_type: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    deliveries = relationship("Delivery", back_populates="notification", order_by="Delivery.created_at")


class WebhookEndpoint(Base):
    """A company's receiver (an SMS or WeChat gateway, an ERP): every body it
    gets is signed with its secret (HMAC-SHA256)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    # Kinds it wants, by exact name or prefix ("ticket." for all ticket events); empty: every kind.
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Delivery(Base):
    """One notification to one target (an email address or a webhook endpoint)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"),
                                                       index=True)
    channel: Mapped[Channel] = mapped_column(string_enum(Channel))
    address: Mapped[str | None] = mapped_column(String(200))  # the email address
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(string_enum(DeliveryStatus), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notification = relationship(Notification, back_populates="deliveries")
    endpoint = relationship(WebhookEndpoint)
    attempt_log = relationship("DeliveryAttempt", order_by="DeliveryAttempt.id")


class DeliveryAttempt(Base):
    """The delivery log: one row per try, kept."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notification_deliveries.id", ondelete="CASCADE"),
                                                   index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
