"""Stored blobs and the job records that point at them (photos, signatures),
the resumable uploads that bring blobs in, the after-commit task queue that
processes them, and the customers' signing links."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, new_uuid, utcnow


class Blob(Base):
    """Content-addressed bytes: the same bytes are stored once, under their SHA-256.

    A row exists only once the bytes are in storage, verified and accepted as an
    image; what was read from the image's header is kept here, so a photo record
    that arrives later takes it without reading the bytes again.
    """

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Image facts, read at ingest (width/height after EXIF orientation).
    image_format: Mapped[str | None] = mapped_column(String(16))
    width: Mapped[int | None]
    height: Mapped[int | None]
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # Set by the worker once the thumbnails are in storage.
    thumbnails_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
    # The canonical report that was signed (media/report.py), kept so that a
    # later edit can be shown field by field. None when only the hash is known.
    report_snapshot: Mapped[dict | None] = mapped_column(JSON)
    # "device" (the technician's handheld) or "link" (a customer signing link).
    signed_via: Mapped[str] = mapped_column(String(16), default="device", server_default="device")


class Upload(Base):
    """A tus upload in progress (or finished). Its bytes are staged in a file
    named after its id; the file's length is the upload's offset, so a crash
    between writing and committing can never make the two disagree."""

    __tablename__ = "uploads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    # The SHA-256 the client declared; verified against the bytes on completion.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The decoded Upload-Metadata pairs, as the client sent them.
    upload_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MediaTask(Base):
    """Slow work queued in the transaction that makes it necessary, so the
    worker sees it only once that transaction has committed (an outbox). The
    worker reloads everything by ``blob_sha256``."""

    __tablename__ = "media_tasks"
    __table_args__ = (Index("ix_media_tasks_pending", "done_at", "run_after"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    blob_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SigningLink(Base):
    """A customer's link to sign one job's report, once, until it expires.
    Only the token's SHA-256 is stored (the token has 256 bits of entropy)."""

    __tablename__ = "signing_links"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signature_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("signatures.id"))
