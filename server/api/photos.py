"""Photos on a job: attach one by its blob's hash (the bytes may follow), list them."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from media import photos
from media.models import Blob, Photo
from schemas.media import PhotoCreateSchema, PhotoPageSchema, PhotoQuerySchema, PhotoSchema
from server.accounts.models import Role
from server.api.jobs import get_visible_job
from server.api.security import requires
from server.db import utcnow
from server.extensions import db
from server.pagination import paginate

blp = Blueprint("photos", __name__, url_prefix="/api/v1/jobs", description="Photos taken on jobs")


def _with_presence(items):
    shas = {p.blob_sha256 for p in items}
    present = set(db.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(shas)))) if shas else set()
    for photo in items:
        photo.blob_present = photo.blob_sha256 in present
    return items


@blp.route("/<uuid:job_id>/photos")
class JobPhotos(MethodView):
    @requires(Role.admin, Role.dispatcher, Role.warehouse, Role.technician)
    @blp.arguments(PhotoQuerySchema, location="query")
    @blp.response(200, PhotoPageSchema)
    def get(self, args, job_id):
        """The photos of a job, oldest first."""
        job = get_visible_job(job_id)
        page = paginate(db.session, select(Photo).where(Photo.job_id == job.id),
                        order_by=[Photo.created_at, Photo.id], limit=args["limit"], cursor=args.get("cursor"))
        _with_presence(page.items)
        return page

    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.arguments(PhotoCreateSchema)
    @blp.response(201, PhotoSchema)
    def post(self, data, job_id):
        """Attach a photo to a job by its blob's SHA-256 (upload the bytes with tus, before or after)."""
        job = get_visible_job(job_id)
        photo, present = photos.record_photo(
            db.session, job, blob_sha256=data["blob_sha256"], kind=data["kind"], caption=data.get("caption"),
            photo_id=data.get("id"), recorded_at=data.get("recorded_at"), now=utcnow())
        db.session.commit()
        photo.blob_present = present
        return photo
