"""Resumable uploads (the tus 1.0 semantics, without HTTP): create an upload,
append bytes at an offset, finish it into a verified, content-addressed blob.

The bytes in flight are staged (:mod:`media.staging`): in a file per upload
under ``upload_dir``, or in the object store when media live there, so that
any app host can resume any upload. Appends hold the upload's lock, so two
connections resuming the same upload cannot interleave. Memory stays flat:
bytes move in fixed-size chunks. Nothing here commits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from media import images, processing
from media.models import Blob, Upload
from media.staging import (  # noqa: F401  (the upload errors are this module's API too)
    ChecksumMismatch,
    LocalStaging,
    Staging,
    UploadGone,
    UploadLocked,
    UploadTooLarge,
)
from media.storage import Storage, blob_key
from server.exceptions import Conflict, DomainError, InvalidInput, NotFound

CHUNK = 1024 * 1024  # bytes moved per read: bounded memory, few Python round trips
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_METADATA_KEYS = 32
MAX_METADATA_VALUE = 1024


class TooManyUploads(DomainError):
    """The user has too many unfinished uploads open (HTTP 429)."""

    code = "too_many_uploads"


class BlobHashMismatch(InvalidInput):
    """The finished upload's bytes do not hash to the declared SHA-256."""

    code = "sha256_mismatch"


@dataclass(frozen=True)
class UploadSettings:
    upload_dir: Path
    max_bytes: int
    expiry_seconds: int
    max_pixels: int
    naive_timezone: str = "UTC"
    thumbnail_sizes: tuple[int, ...] = (256, 1024)
    max_open_uploads: int = 100
    # Where unfinished uploads live; None: files under upload_dir (media.staging).
    staging: Staging | None = field(default=None, compare=False)

    @property
    def stage(self) -> Staging:
        return self.staging or LocalStaging(self.upload_dir)

    @classmethod
    def from_config(cls, config) -> UploadSettings:
        upload_dir = config.get("MEDIA_UPLOAD_DIR") or os.path.join(config["MEDIA_ROOT"], "uploads")
        return cls(upload_dir=Path(upload_dir), max_bytes=int(config["MEDIA_MAX_UPLOAD_BYTES"]),
                   expiry_seconds=int(config["MEDIA_UPLOAD_EXPIRY_SECONDS"]),
                   max_pixels=int(config["MEDIA_MAX_PIXELS"]),
                   naive_timezone=config.get("MEDIA_EXIF_NAIVE_TIMEZONE", "UTC"),
                   thumbnail_sizes=tuple(config.get("MEDIA_THUMBNAIL_SIZES", (256, 1024))),
                   max_open_uploads=int(config.get("MEDIA_MAX_OPEN_UPLOADS", 100)))


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode tus ``Upload-Metadata``: ``key base64value, key2 base64value2``."""
    result: dict[str, str] = {}
    if not header or not header.strip():
        return result
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or key in result or not key.isascii() or " " in key:
            raise InvalidInput("Upload-Metadata is malformed", code="malformed_metadata")
        try:
            result[key] = base64.b64decode(parts[1], validate=True).decode() if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(f"Upload-Metadata value for {key!r} is not base64 UTF-8",
                               code="malformed_metadata") from None
        # Kept with the upload and echoed by HEAD: bounded, and no NUL (as everywhere else).
        if "\x00" in key or "\x00" in result[key] or len(key) > 64 or len(result[key]) > MAX_METADATA_VALUE \
                or len(result) > MAX_METADATA_KEYS:
            raise InvalidInput(f"Upload-Metadata: at most {MAX_METADATA_KEYS} keys of 64 characters, values of "
                               f"{MAX_METADATA_VALUE}, no NUL characters", code="malformed_metadata")
    return result


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in metadata.items())


def staged_path(settings: UploadSettings, upload_id: uuid.UUID) -> Path:
    return settings.upload_dir / f"{upload_id}.part"


def create_upload(session: Session, settings: UploadSettings, *, user_id: uuid.UUID, length: int,
                  metadata: dict[str, str], now: datetime) -> Upload:
    """Open an upload of ``length`` bytes whose SHA-256 the metadata declares."""
    if length < 1:
        raise InvalidInput("Upload-Length must be a positive integer", code="invalid_upload_length")
    if length > settings.max_bytes:
        raise UploadTooLarge(f"uploads are limited to {settings.max_bytes} bytes",
                             details={"max_bytes": settings.max_bytes})
    declared = (metadata.get("sha256") or "").lower()
    if not _SHA256_HEX.match(declared):
        raise InvalidInput("Upload-Metadata must carry sha256: the hex SHA-256 of the whole file",
                           code="sha256_metadata_required")
    open_uploads = session.scalar(select(func.count()).select_from(Upload).where(
        Upload.user_id == user_id, Upload.completed_at.is_(None), Upload.expires_at > now))
    if open_uploads >= settings.max_open_uploads:
        raise TooManyUploads(f"at most {settings.max_open_uploads} unfinished uploads at a time; finish or "
                             "terminate some first", details={"open_uploads": open_uploads})
    upload = Upload(user_id=user_id, length=length, sha256=declared, upload_metadata=metadata, created_at=now,
                    expires_at=now + timedelta(seconds=settings.expiry_seconds))
    session.add(upload)
    session.flush()
    settings.stage.create(upload.id)
    return upload


def get_upload(session: Session, settings: UploadSettings, upload_id: uuid.UUID, *, user_id: uuid.UUID,
               now: datetime, lock: bool = False) -> Upload:
    """The caller's own upload; someone else's is simply not found. ``lock``: read
    afresh and locked to the end of the transaction (``FOR UPDATE`` on PostgreSQL;
    on SQLite the transaction holds the write lock already), so that two requests
    finishing the same upload — on two hosts at the same instant — take turns and
    the second finds it finished."""
    upload = session.get(Upload, upload_id, with_for_update=True if lock else None, populate_existing=lock)
    if upload is None or upload.user_id != user_id:
        raise NotFound("no such upload", code="upload_not_found")
    if upload.completed_at is None and (upload.expires_at <= now or not settings.stage.exists(upload.id)):
        raise UploadGone("this upload expired; start a new one")
    return upload


def offset_of(settings: UploadSettings, upload: Upload) -> int:
    if upload.completed_at is not None:
        return upload.length
    return settings.stage.offset(upload.id)


def append(settings: UploadSettings, upload: Upload, read: Callable[[int], bytes], *, offset: int,
           content_length: int | None, checksum: tuple[str, bytes] | None = None) -> int:
    """Append bytes read from ``read`` at ``offset``; returns the new offset.

    Without a checksum every byte received is kept, even if the connection
    drops part-way: that is what lets the client resume. With one
    (``("sha256", digest)``) the chunk is first staged aside and kept only if
    it matches, else :class:`ChecksumMismatch` and the offset is unchanged.
    """
    if upload.completed_at is not None:
        raise Conflict("this upload is already complete", code="upload_complete")
    remaining = upload.length - offset
    if content_length is not None and content_length > remaining:
        raise UploadTooLarge("more bytes than the upload's declared length",
                             details={"upload_length": upload.length, "offset": offset})
    return settings.stage.append(upload.id, read, offset=offset, remaining=remaining, checksum=checksum)


def finish(session: Session, storage: Storage, settings: UploadSettings, upload: Upload, *, now: datetime) -> Blob:
    """Turn a fully received upload into a blob: verify the declared SHA-256,
    check the image, store the bytes once (content-addressed), record the
    image's facts, and link it to any photo record already waiting for it.

    Raises :class:`BlobHashMismatch` or :class:`images.ImageRejected`; the
    caller then calls :func:`abandon` so nothing is left behind. The staged
    file is removed by :func:`discard_staging` once the caller has committed.
    """
    with settings.stage.whole(upload.id) as path:
        return _finish_from(session, storage, settings, upload, path, now=now)


def _finish_from(session: Session, storage: Storage, settings: UploadSettings, upload: Upload, path: Path, *,
                 now: datetime) -> Blob:
    digest = hashlib.sha256()
    with open(path, "rb") as staged:
        while chunk := staged.read(1024 * 1024):
            digest.update(chunk)
    actual = digest.hexdigest()
    if actual != upload.sha256:
        raise BlobHashMismatch("the uploaded bytes do not match the declared sha256",
                               details={"declared": upload.sha256, "actual": actual})
    blob = session.get(Blob, actual)
    if blob is None:
        with open(path, "rb") as staged:  # Pillow may close the file it read: reopen for storage
            info = images.inspect(staged, max_pixels=settings.max_pixels, naive_timezone=settings.naive_timezone)
        key = blob_key(actual)
        if storage.size(key) != upload.length:  # already there from an earlier, uncommitted try
            with open(path, "rb") as staged:
                storage.put(key, staged, content_type=info.content_type)
        blob = Blob(sha256=actual, size=upload.length, content_type=info.content_type, created_at=now,
                    image_format=info.format, width=info.width, height=info.height, taken_at=info.taken_at,
                    latitude=info.latitude, longitude=info.longitude)
        try:
            with session.begin_nested():
                session.add(blob)
        except IntegrityError:  # another upload of the same bytes stored it a moment ago
            blob = session.get(Blob, actual)
        else:
            processing.blob_stored(session, blob, now=now)
    upload.completed_at = now
    return blob


def abandon(session: Session, settings: UploadSettings, upload: Upload) -> None:
    """Forget an upload whose bytes were refused (or that the client terminated)."""
    settings.stage.discard(upload.id)
    session.delete(upload)


def discard_staging(settings: UploadSettings, upload: Upload) -> None:
    settings.stage.discard(upload.id)


def purge_expired(session: Session, settings: UploadSettings, *, now: datetime) -> int:
    """Remove unfinished uploads past their expiry, and their staged bytes."""
    expired = session.scalars(select(Upload).where(Upload.completed_at.is_(None), Upload.expires_at <= now)).all()
    for upload in expired:
        abandon(session, settings, upload)
    return len(expired)
