"""Technicians: certifications, shifts, leave, on-call duty, where they are and their van."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, Date, ForeignKey, SmallInteger, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, VersionedMixin, new_uuid


class Technician(VersionedMixin, Base):
    __tablename__ = "technicians"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Shift times are wall-clock times in this zone.
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    home_latitude: Mapped[float]
    home_longitude: Mapped[float]
    last_latitude: Mapped[float | None]
    last_longitude: Mapped[float | None]
    last_position_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # active_history: the old van is known when it changes, so devices lose its stock (sync.scope).
    van_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"), unique=True,
                                                              active_history=True)
    max_open_jobs: Mapped[int] = mapped_column(default=5)
    active: Mapped[bool] = mapped_column(default=True)

    user = relationship("User", back_populates="technician")
    van = relationship("StockLocation")
    certifications = relationship("Certification", back_populates="technician", cascade="all, delete-orphan")
    shifts = relationship("ShiftSlot", back_populates="technician", cascade="all, delete-orphan")
    leaves = relationship("ShiftException", back_populates="technician", cascade="all, delete-orphan")
    on_call = relationship("OnCallPeriod", back_populates="technician", cascade="all, delete-orphan",
                           order_by="OnCallPeriod.starts_at")


class Certification(Base):
    """持证上岗: only technicians certified for a product line work on it."""

    __tablename__ = "certifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    product_line: Mapped[str] = mapped_column(String(64), index=True)
    certified_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)

    technician = relationship(Technician, back_populates="certifications")

    def valid_on(self, day: date) -> bool:
        return self.certified_on <= day <= self.expires_on


class ShiftSlot(Base):
    """One weekly working window (weekday 0 = Monday), local time."""

    __tablename__ = "shift_slots"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)

    technician = relationship(Technician, back_populates="shifts")


class ShiftException(Base):
    """Time off the weekly pattern: leave, sickness, training."""

    __tablename__ = "shift_exceptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="leave")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(300))

    technician = relationship(Technician, back_populates="leaves")


class OnCallPeriod(Base):
    """On-call duty (值班): a span in which the technician, outside their shifts,
    stands by to be called out. Dispatch never ranks them as on shift; when
    nobody can meet a deadline, calling out someone on call comes before asking
    someone for overtime (server/dispatch/ranking.py), and needs no override
    reason (the duty is for it; the call-out is still recorded)."""

    __tablename__ = "on_call_periods"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(300))

    technician = relationship(Technician, back_populates="on_call")
