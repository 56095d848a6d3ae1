"""What happens to a photo once its record and its bytes are both here.

A photo record (pushed by sync) and its blob (uploaded by tus) arrive in
either order. Whichever comes second completes the pair:

- :func:`blob_stored` is called in the transaction that stores a new blob;
- :func:`photo_recorded` is called by the sync engine in the transaction that
  saves a photo record.

Both copy the facts read from the image at ingest (capture time, GPS
position, upright size) into the photo rows, which is cheap and needs no
bytes, and queue the thumbnails in the same transaction (``media_tasks``), so
the worker only ever sees them after that transaction commits. The worker
(:func:`make_thumbnails`, run by :mod:`media.tasks`) reloads the blob by its hash
and makes the thumbnails with no transaction open.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from media import images, tasks
from media.models import Blob, Photo
from media.storage import Storage, blob_key, derived_key

THUMBNAIL_TASK = "thumbnails"


def thumbnail_key(sha256: str, size: int) -> str:
    return derived_key(sha256, f"thumb-{size}.jpg")


def customer_copy_key(sha256: str) -> str:
    return derived_key(sha256, "customer")


def _apply_facts(photo: Photo, blob: Blob) -> None:
    photo.width, photo.height = blob.width, blob.height
    # The photo's own EXIF is the better witness than the device's record.
    if blob.taken_at is not None:
        photo.taken_at = blob.taken_at
    if blob.latitude is not None and blob.longitude is not None:
        photo.latitude, photo.longitude = blob.latitude, blob.longitude


def blob_stored(session: Session, blob: Blob, *, now: datetime) -> None:
    """A new blob is stored: complete the photo records already waiting for it
    and queue its thumbnails (run after this transaction commits)."""
    for photo in session.scalars(select(Photo).where(Photo.blob_sha256 == blob.sha256)):
        _apply_facts(photo, blob)
    if blob.thumbnails_at is None:
        tasks.enqueue(session, THUMBNAIL_TASK, blob.sha256, now=now)


def photo_recorded(session: Session, photo: Photo, *, now: datetime) -> bool:
    """For the sync engine: a photo record was saved. Returns False when its
    blob has not arrived yet (tell the device to upload it); the photo is then
    completed by :func:`blob_stored` when it does."""
    blob = session.get(Blob, photo.blob_sha256)
    if blob is None:
        return False
    _apply_facts(photo, blob)
    return True


def missing_blobs(session: Session, sha256s: Iterable[str]) -> list[str]:
    """Which of these hashes have no stored blob yet (for the sync's answer)."""
    wanted = sorted({s.lower() for s in sha256s})
    if not wanted:
        return []
    present = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(wanted))))
    return [s for s in wanted if s not in present]


def make_thumbnails(storage: Storage, sha256: str, *, sizes: tuple[int, ...], max_pixels: int) -> None:
    """Make and store a blob's thumbnails (idempotent; no database)."""
    # Spool to a local file: S3 bodies are not seekable, and Pillow seeks.
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as local:
        for chunk in storage.iter_chunks(blob_key(sha256)):
            local.write(chunk)
        local.seek(0)
        made = images.thumbnails(local, sizes, max_pixels=max_pixels)
    for size, data in made.items():
        storage.put_bytes(thumbnail_key(sha256, size), data, content_type="image/jpeg")


def _thumbnails_needed(session: Session, sha256: str):
    blob = session.get(Blob, sha256)
    return True if blob is not None and blob.thumbnails_at is None else None


def _thumbnails_done(session: Session, sha256: str, _prepared, now: datetime) -> None:
    blob = session.get(Blob, sha256)
    if blob is not None:
        blob.thumbnails_at = now


def customer_copy(storage: Storage, blob: Blob, *, max_pixels: int) -> tuple[bytes, str]:
    """The blob as a customer may see it (no GPS), made once and kept."""
    key = customer_copy_key(blob.sha256)
    content_type = "image/png" if blob.image_format == "PNG" else "image/jpeg"
    if storage.exists(key):
        return storage.read_bytes(key), content_type
    data, content_type = images.customer_copy(storage.read_bytes(blob_key(blob.sha256)), max_pixels=max_pixels)
    storage.put_bytes(key, data, content_type=content_type)
    return data, content_type


tasks.register(THUMBNAIL_TASK, tasks.TaskHandler(
    prepare=_thumbnails_needed,
    work=lambda storage, settings, sha256, _prepared: make_thumbnails(
        storage, sha256, sizes=settings.thumbnail_sizes, max_pixels=settings.max_pixels),
    done=_thumbnails_done,
))
