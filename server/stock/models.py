"""The parts catalogue, stock locations and serialised spare units."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UTCDateTime, VersionedMixin, new_uuid, utcnow


class LocationKind(str, enum.Enum):
    central_warehouse = "central_warehouse"  # 一级备件仓库
    regional_warehouse = "regional_warehouse"  # 二级备件仓库
    service_station = "service_station"  # 服务站点
    van = "van"


class StockLocation(VersionedMixin, Base):
    __tablename__ = "stock_locations"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocationKind] = mapped_column(Enum(LocationKind, native_enum=False, length=32), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float]
    longitude: Mapped[float]


class Part(VersionedMixin, Base):
    __tablename__ = "parts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    part_number: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    serialised: Mapped[bool] = mapped_column(default=False)
    unit_cost: Mapped[float | None]

    fits = relationship("PartFitment", back_populates="part", cascade="all, delete-orphan")

    @property
    def product_lines(self) -> list[str]:
        return sorted(f.product_line for f in self.fits)


class PartFitment(Base):
    """A product line a part fits."""

    __tablename__ = "part_fitments"

    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), primary_key=True)
    product_line: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    part = relationship(Part, back_populates="fits")


class SpareUnitStatus(str, enum.Enum):
    available = "available"
    reserved = "reserved"
    loaned = "loaned"  # 备用机 installed at a customer while theirs is repaired
    defective = "defective"
    in_repair = "in_repair"


class SpareUnit(VersionedMixin, Base):
    """A spare (loaner) unit, tracked one by one by serial number."""

    __tablename__ = "spare_units"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    model: Mapped[str] = mapped_column(String(64), index=True)
    product_line: Mapped[str] = mapped_column(String(64))
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[SpareUnitStatus] = mapped_column(
        Enum(SpareUnitStatus, native_enum=False, length=32), default=SpareUnitStatus.available, index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))

    location = relationship(StockLocation)


class MovementKind(str, enum.Enum):
    received = "received"  # from a supplier or a purchase request, once inspected
    transfer_out = "transfer_out"  # shipped; in transit until received
    transfer_in = "transfer_in"
    issued_out = "issued_out"  # warehouse -> van
    issued_in = "issued_in"
    consumed = "consumed"  # used on a job, reported from the field
    returned = "returned"  # unused or defective back into stock
    adjusted = "adjusted"  # a count's correction


class StockMovement(Base):
    """One change of stock. Never updated or deleted: a correction is a new movement.

    ``quantity`` is signed: positive into ``location_id``, negative out of it.
    """

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_location_at", "location_id", "at"),
        Index("ix_stock_movements_part_location", "part_id", "location_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[MovementKind] = mapped_column(Enum(MovementKind, native_enum=False, length=20))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"))
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id"))
    spare_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spare_units.id"), index=True)
    quantity: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    # What caused it: a part usage, a transfer, a count line ... ("part_usage:<uuid>").
    source: Mapped[str | None] = mapped_column(String(80), unique=True)
    under_warranty: Mapped[bool | None]
    serial_numbers: Mapped[list | None] = mapped_column(JSON)
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class StockLevel(Base):
    """On-hand and reserved per (location, part): a projection of the ledger,
    kept in the same transaction as every movement and reservation. Its row is
    what concurrent writers lock, so no update is ever lost."""

    __tablename__ = "stock_levels"

    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)


class ReservationStatus(str, enum.Enum):
    active = "active"
    consumed = "consumed"
    released = "released"


class Reservation(Base):
    """Stock (a quantity of a part, or one spare unit) held for a job."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("(part_id IS NULL) <> (spare_unit_id IS NULL)", name="part_xor_spare_unit"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id"))
    spare_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spare_units.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    under_warranty: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ReservationStatus] = mapped_column(
        Enum(ReservationStatus, native_enum=False, length=16), default=ReservationStatus.active, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
