"""Photo records on jobs (the REST path; the sync engine saves its own rows
and calls :func:`media.processing.photo_recorded`). Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from media import processing
from media.models import Photo, PhotoKind
from server.exceptions import Conflict
from server.jobs.models import Job


def record_photo(session: Session, job: Job, *, blob_sha256: str, kind: PhotoKind = PhotoKind.other,
                 caption: str | None = None, photo_id: uuid.UUID | None = None, recorded_at: datetime | None = None,
                 now: datetime) -> tuple[Photo, bool]:
    """Attach a photo (by its blob's hash) to a job. The blob may come later.
    Replaying the same id returns the same photo; returns (photo, blob_present)."""
    blob_sha256 = blob_sha256.lower()
    if photo_id is not None:
        existing = session.get(Photo, photo_id)
        if existing is not None:
            if existing.job_id != job.id or existing.blob_sha256 != blob_sha256:
                raise Conflict("a different photo already has this id", code="photo_id_taken")
            return existing, processing.photo_recorded(session, existing, now=now)
    photo = Photo(id=photo_id or uuid.uuid4(), job_id=job.id, blob_sha256=blob_sha256, kind=kind, caption=caption,
                  recorded_at=recorded_at, created_at=now)
    session.add(photo)
    session.flush()
    return photo, processing.photo_recorded(session, photo, now=now)
