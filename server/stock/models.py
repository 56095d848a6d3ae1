"""The parts catalogue, stock locations and serialised spare units."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, TimestampMixin, UTCDateTime, VersionedMixin, new_uuid, utcnow


def _enum(cls, length: int = 32):
    # Stored as plain strings: adding a value never needs an ALTER TYPE.
    return Enum(cls, native_enum=False, length=length)


def _bigint():
    return BigInteger().with_variant(Integer, "sqlite")


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
    in_transit = "in_transit"  # shipped between locations, not yet received


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


class StockCondition(str, enum.Enum):
    """Which bucket a movement moves: usable stock, or defective stock held
    apart (never available, never reserved) until repaired or written off."""

    good = "good"
    defective = "defective"


class StockMovement(Base):
    """One change of stock. Never updated or deleted: a correction is a new movement.

    ``quantity`` is signed: positive into ``location_id``, negative out of it.
    """

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_location_at", "location_id", "at"),
        Index("ix_stock_movements_part_location", "part_id", "location_id"),
        # Reconciliation across all locations reads one period of the ledger.
        Index("ix_stock_movements_at", "at"),
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
    condition: Mapped[StockCondition] = mapped_column(_enum(StockCondition, 16), default=StockCondition.good,
                                                      server_default=StockCondition.good.value)
    # Why: a return's reason ("unused", "dead on arrival", ...), a count's note.
    reason: Mapped[str | None] = mapped_column(String(200))
    # The other end of a transfer, an issue or a return.
    counterpart_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"))


class StockLevel(Base):
    """On-hand and reserved per (location, part): a projection of the ledger,
    kept in the same transaction as every movement and reservation. Its row is
    what concurrent writers lock, so no update is ever lost."""

    __tablename__ = "stock_levels"

    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # Shipped towards this location and not yet received.
    in_transit: Mapped[int] = mapped_column(default=0, server_default="0")
    # Defective units held here (returned defective): never available.
    defective: Mapped[int] = mapped_column(default=0, server_default="0")


class ReservationStatus(str, enum.Enum):
    active = "active"
    consumed = "consumed"
    released = "released"
    # Taken over by a warranty repair (first claim on scarce stock): the job
    # must be re-planned. See ``server.stock.ledger.reserve_part``.
    preempted = "preempted"


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
    # Set when a warranty repair took this reservation's stock (first claim).
    preempted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reservations.id"))
    # Why it was released: "job_cancelled", "job_reassigned" (held in the former technician's van).
    release_reason: Mapped[str | None] = mapped_column(String(40))


class DiscrepancyKind(str, enum.Enum):
    negative_balance = "negative_balance"  # the field used more than the books held
    count_difference = "count_difference"  # counted differs from the books
    transit_shortfall = "transit_shortfall"  # fewer received than shipped
    unknown_serial = "unknown_serial"  # the field reported a serial number the books do not know


class DiscrepancyStatus(str, enum.Enum):
    open = "open"
    resolved = "resolved"


class StockDiscrepancy(Base):
    """Something for warehouse staff to explain: raised by the ledger, never
    by a person; resolving it records who explained it and how."""

    __tablename__ = "stock_discrepancies"
    __table_args__ = (Index("ix_stock_discrepancies_location_detected", "location_id", "detected_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    kind: Mapped[DiscrepancyKind] = mapped_column(_enum(DiscrepancyKind))
    status: Mapped[DiscrepancyStatus] = mapped_column(_enum(DiscrepancyStatus, 16), default=DiscrepancyStatus.open,
                                                      index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"))
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id"))
    # Signed: negative is stock missing from the books' point of view.
    quantity: Mapped[int]
    balance_after: Mapped[int | None]
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    count_session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("count_sessions.id"))
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("transfers.id"))
    serial_number: Mapped[str | None] = mapped_column(String(64))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class PurchaseRequestStatus(str, enum.Enum):
    pending_approval = "pending_approval"
    approved = "approved"
    rejected = "rejected"
    received = "received"  # every line received and inspected
    cancelled = "cancelled"


class PurchaseRequest(TimestampMixin, Base):
    """零部件购买申请表: the parts purchase request form, approved by a manager."""

    __tablename__ = "purchase_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    department: Mapped[str] = mapped_column(String(100))
    requested_by_name: Mapped[str] = mapped_column(String(200))
    requested_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    request_date: Mapped[date] = mapped_column(Date)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    destination_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"))
    remarks: Mapped[str | None] = mapped_column(Text)
    status: Mapped[PurchaseRequestStatus] = mapped_column(_enum(PurchaseRequestStatus),
                                                          default=PurchaseRequestStatus.pending_approval, index=True)
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)

    lines = relationship("PurchaseRequestLine", back_populates="request", cascade="all, delete-orphan",
                         order_by="PurchaseRequestLine.position")


class PurchaseRequestLine(Base):
    __tablename__ = "purchase_request_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="positive_quantity"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_requests.id", ondelete="CASCADE"),
                                                  index=True)
    position: Mapped[int]
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int]
    # Passed and failed inspection so far.
    accepted_quantity: Mapped[int] = mapped_column(default=0)
    rejected_quantity: Mapped[int] = mapped_column(default=0)
    remarks: Mapped[str | None] = mapped_column(Text)

    request = relationship(PurchaseRequest, back_populates="lines")
    part = relationship(Part)


class InspectionResult(str, enum.Enum):
    pending = "pending"
    passed = "passed"
    failed = "failed"
    partial = "partial"  # some units passed, some failed


class Receipt(Base):
    """Goods arrived at a location (from a supplier, against a purchase request
    or not). They count as stock only once inspected and passed."""

    __tablename__ = "receipts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    purchase_request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("purchase_requests.id"), index=True)
    supplier: Mapped[str | None] = mapped_column(String(200))
    delivery_note: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    lines = relationship("ReceiptLine", back_populates="receipt", cascade="all, delete-orphan",
                         order_by="ReceiptLine.position")


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="positive_quantity"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    receipt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("receipts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    purchase_request_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("purchase_request_lines.id"))
    quantity: Mapped[int]
    serial_numbers: Mapped[list] = mapped_column(JSON, default=list)
    inspection: Mapped[InspectionResult] = mapped_column(_enum(InspectionResult, 16),
                                                         default=InspectionResult.pending, index=True)
    passed_quantity: Mapped[int | None]
    failed_quantity: Mapped[int | None]
    inspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    inspected_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    inspection_note: Mapped[str | None] = mapped_column(Text)

    receipt = relationship(Receipt, back_populates="lines")


class TransferStatus(str, enum.Enum):
    planned = "planned"
    shipped = "shipped"  # left the source: in transit
    received = "received"
    cancelled = "cancelled"


class Transfer(Base):
    """Stock moved between any two locations: shipped, then received. To a van
    from a warehouse it is an issue (领料), and the ledger says so."""

    __tablename__ = "transfers"
    __table_args__ = (CheckConstraint("from_location_id <> to_location_id", name="distinct_locations"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    from_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    to_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    status: Mapped[TransferStatus] = mapped_column(_enum(TransferStatus, 16), default=TransferStatus.planned,
                                                   index=True)
    is_issue: Mapped[bool] = mapped_column(default=False)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # Why this source: "nearest warehouse with stock, 12.3 km" for a restock.
    explanation: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    lines = relationship("TransferLine", back_populates="transfer", cascade="all, delete-orphan",
                         order_by="TransferLine.position")


class TransferLine(Base):
    __tablename__ = "transfer_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="positive_quantity"),
        CheckConstraint("(part_id IS NULL) <> (spare_unit_id IS NULL)", name="part_xor_spare_unit"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id"))
    spare_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spare_units.id"))
    quantity: Mapped[int]
    serial_numbers: Mapped[list] = mapped_column(JSON, default=list)
    received_quantity: Mapped[int | None]

    transfer = relationship(Transfer, back_populates="lines")


class CountStatus(str, enum.Enum):
    open = "open"
    closed = "closed"
    cancelled = "cancelled"


class CountSession(Base):
    """A physical count (盘点) of one location. Closing it writes an
    ``adjusted`` movement per difference."""

    __tablename__ = "count_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    status: Mapped[CountStatus] = mapped_column(_enum(CountStatus, 16), default=CountStatus.open, index=True)
    # A full count: a part the books hold but nobody counted was found at zero.
    full: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    lines = relationship("CountLine", back_populates="session", cascade="all, delete-orphan",
                         order_by="CountLine.counted_at")


class CountLine(Base):
    __tablename__ = "count_lines"
    __table_args__ = (
        UniqueConstraint("session_id", "part_id"),
        CheckConstraint("counted_quantity >= 0", name="counted_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("count_sessions.id", ondelete="CASCADE"))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"))
    counted_quantity: Mapped[int]
    # Filled when the session closes: the books then, and counted minus books.
    expected_quantity: Mapped[int | None]
    difference: Mapped[int | None]
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id"))
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    counted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    session = relationship(CountSession, back_populates="lines")


class SerialStatus(str, enum.Enum):
    """Where a serialised part stands (spare units use ``SpareUnitStatus``)."""

    in_stock = "in_stock"
    in_transit = "in_transit"
    installed = "installed"  # fitted in a customer's machine on a job
    defective = "defective"
    in_repair = "in_repair"


class SerialItem(Base):
    """One unit of a serialised part: where it is now."""

    __tablename__ = "serial_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id"), index=True)
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[SerialStatus] = mapped_column(_enum(SerialStatus), default=SerialStatus.in_stock)
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SerialEvent(Base):
    """One step in the life of a serial number (a serialised part or a spare
    unit): append-only, so its history is read in id order."""

    __tablename__ = "serial_events"

    id: Mapped[int] = mapped_column(_bigint(), primary_key=True, autoincrement=True)
    serial_number: Mapped[str] = mapped_column(String(64), index=True)
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id"))
    spare_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spare_units.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_locations.id"))
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
