"""The parts catalogue, stock locations and serialised spare units."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, VersionedMixin, new_uuid


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
