"""Cost inputs recorded where they happen: travel, transport, lodging and other
expenses against a job, from the office or the technician's own account.
Time on site is the job's own arrived/departed; travel time is recorded here
(``travel_minutes``) with the trip's distance."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, new_uuid, utcnow


class ExpenseKind(str, enum.Enum):
    travel = "travel"  # getting the technician there and back: fares, fuel, tolls; with minutes and km
    transport = "transport"  # moving goods: freight and courier for parts and spare units
    lodging = "lodging"
    meals = "meals"
    other = "other"


class JobExpense(Base):
    __tablename__ = "job_expenses"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ExpenseKind] = mapped_column(Enum(ExpenseKind, native_enum=False, length=16))
    amount: Mapped[float]  # in the company's currency (CNY), like parts' unit_cost
    travel_minutes: Mapped[int | None]
    distance_km: Mapped[float | None]
    note: Mapped[str | None] = mapped_column(Text)
    incurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    recorded_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    receipt_ref: Mapped[str | None] = mapped_column(String(100))
