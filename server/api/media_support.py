"""What the media resources share: the configured storage and settings, the
blob access rule, and the HTTP status of each media error."""

from __future__ import annotations

import dataclasses

from flask import current_app
from sqlalchemy import exists, select

from media import images, uploads
from media.models import Blob, Photo, Upload
from media.staging import S3Staging
from media.storage import S3Storage, Storage, storage_from_config
from server.access import owns_job
from server.accounts.service import Principal
from server.api.errors import ApiError, status_for
from server.exceptions import DomainError
from server.jobs.models import Job

# Media errors whose status is not their class's (server/api/errors.py).
MEDIA_STATUS = {
    "too_many_uploads": 429,
    "checksum_mismatch": 460,  # tus checksum extension
    "unsupported_image_format": 415,
}


def media_storage() -> Storage:
    ext = current_app.extensions
    if "fieldsync_media_storage" not in ext:
        ext["fieldsync_media_storage"] = storage_from_config(current_app.config)
    return ext["fieldsync_media_storage"]


def upload_settings() -> uploads.UploadSettings:
    settings = uploads.UploadSettings.from_config(current_app.config)
    storage = media_storage()
    if isinstance(storage, S3Storage):
        # Media in an object store: unfinished uploads too, so any app host resumes any upload.
        settings = dataclasses.replace(settings, staging=S3Staging(storage))
    return settings


def as_http(exc: DomainError, headers: dict | None = None) -> ApiError:
    """The domain error as the one error body, with the media status."""
    status = MEDIA_STATUS.get(exc.code) or status_for(exc)
    details = dict(exc.details) or None
    return ApiError(status, exc.message, code=exc.code, details=details, headers=headers)


MEDIA_ERRORS = (uploads.UploadTooLarge, uploads.UploadGone, uploads.ChecksumMismatch, images.ImageRejected,
                uploads.BlobHashMismatch, uploads.TooManyUploads)

OFFICE_ROLES = ("admin", "dispatcher", "warehouse")


def may_see_blob(session, principal: Principal, sha256: str) -> bool:
    """Office roles see every blob; a technician sees the blobs they uploaded
    and those of photos on their own jobs."""
    if principal.role.value in OFFICE_ROLES:
        return session.get(Blob, sha256) is not None
    uploaded = exists().where(Upload.user_id == principal.user_id, Upload.sha256 == sha256,
                              Upload.completed_at.is_not(None))
    on_own_job = exists().where(Photo.blob_sha256 == sha256, Photo.job_id == Job.id, owns_job(principal))
    return bool(session.scalar(select(uploaded | on_own_job))) and session.get(Blob, sha256) is not None
