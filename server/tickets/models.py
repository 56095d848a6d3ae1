"""Tickets: a customer's report, its owner, its clocks and its history."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, VersionedMixin, new_uuid, utcnow


def _enum(cls):
    # Stored as plain strings: adding a value never needs an ALTER TYPE.
    return Enum(cls, native_enum=False, length=32, validate_strings=True)


class Channel(str, enum.Enum):
    phone = "phone"
    letter = "letter"
    visit = "visit"
    email = "email"
    app = "app"


class Category(str, enum.Enum):
    repair = "repair"
    installation = "installation"
    maintenance = "maintenance"
    complaint = "complaint"


class ComplaintClass(str, enum.Enum):
    quality = "quality"
    non_quality = "non_quality"
    other = "other"


class Priority(str, enum.Enum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TicketStatus(str, enum.Enum):
    new = "new"
    acknowledged = "acknowledged"
    dispatched = "dispatched"
    on_site = "on_site"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"


class Ticket(VersionedMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            "(category = 'complaint') = (complaint_class IS NOT NULL)",
            name="complaint_class_iff_complaint",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    # active_history: the old values are known when they change, so technicians' devices lose what
    # their jobs no longer need (sync.scope).
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True, active_history=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), index=True, active_history=True)
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id"), index=True, active_history=True)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service_contracts.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    category: Mapped[Category] = mapped_column(_enum(Category), index=True)
    complaint_class: Mapped[ComplaintClass | None] = mapped_column(_enum(ComplaintClass))
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.normal)
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # 首问负责制: the person who first took the report owns it until it closes.
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.new, index=True)

    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    on_site_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    on_site_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # monthly statistics
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)

    customer = relationship("Customer")
    site = relationship("Site")
    asset = relationship("Asset")
    contract = relationship("ServiceContract")
    owner = relationship("User")
    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.at")
    needed_parts = relationship("TicketPart", back_populates="ticket", cascade="all, delete-orphan")


class TicketEvent(Base):
    """One status transition (or escalation), with when and by whom."""

    __tablename__ = "ticket_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # "transition" or "escalation"
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)  # in English (as the API always gave it)
    # A note the server wrote: its catalogue key (history.<key>) and values, shown in the reader's language
    # (server/tickets/history.py). NULL for a person's own words and for rows written before.
    note_key: Mapped[str | None] = mapped_column(String(64))
    note_params: Mapped[dict | None] = mapped_column(JSON)

    ticket = relationship(Ticket, back_populates="events")
    by_user = relationship("User")


class TicketPart(Base):
    """A part (or, with no part, a spare unit of the asset's model) the ticket needs."""

    __tablename__ = "ticket_parts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int] = mapped_column(default=1)

    ticket = relationship(Ticket, back_populates="needed_parts")
    part = relationship("Part")


class ContactKind(str, enum.Enum):
    call = "call"
    visit = "visit"
    message = "message"
    letter = "letter"
    email = "email"
    note = "note"  # an internal note, no contact with the customer


class TicketContact(Base):
    """The ticket's contact log: every call, visit and message with the
    customer (who, when, which way, what was said), and internal notes.
    Append-only."""

    __tablename__ = "ticket_contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind))
    inbound: Mapped[bool] = mapped_column(default=True)  # the customer reached us (or we them)
    person: Mapped[str | None] = mapped_column(String(200))  # the customer's contact person
    phone: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    by_user = relationship("User")
