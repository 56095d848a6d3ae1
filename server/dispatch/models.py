"""What dispatchers decided against the rules, and why: assignments that
override availability or miss the on-site deadline, reassignments and
cancellations, each with its reason. Append-only; the monthly statistics
count them (``kind``, ``flags``, ``late_by_minutes``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, new_uuid, utcnow

# kind
OVERRIDE = "override"  # an assignment that misses the deadline or overrides off shift / leave / overload
REASSIGN = "reassign"
CANCEL = "cancel"


class DispatchAction(Base):
    __tablename__ = "dispatch_actions"
    __table_args__ = (Index("ix_dispatch_actions_kind_at", "kind", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    from_technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technicians.id"))
    # Space-separated codes: late, on_call, overtime, on_leave, overloaded.
    flags: Mapped[str] = mapped_column(String(200), default="")
    late_by_minutes: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
