"""Stored blobs and the job records that point at them (photos, signatures)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, new_uuid, utcnow


class Blob(Base):
    """Content-addressed bytes: the same bytes are stored once, under their SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PhotoKind(str, enum.Enum):
    before = "before"
    after = "after"
    fault = "fault"
    part_label = "part_label"
    other = "other"


class Photo(Base):
    """A photo taken on a job. The record may arrive before its blob."""

    __tablename__ = "photos"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[PhotoKind] = mapped_column(Enum(PhotoKind, native_enum=False, length=16), default=PhotoKind.other)
    caption: Mapped[str | None] = mapped_column(Text)
    # Read from EXIF once the blob is processed.
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Signature(Base):
    """用户签字: a customer's signature on a job's work report, with its evidence."""

    __tablename__ = "signatures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_role: Mapped[str | None] = mapped_column(String(100))
    # [[{"x":..,"y":..,"t":..,"p":..}, ...], ...]: one list of points per stroke.
    strokes: Mapped[list] = mapped_column(JSON)
    signed_at_device: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    report_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
