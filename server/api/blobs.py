"""Stored blobs, by their SHA-256: the original bytes, thumbnails and the
customer copy (no GPS). Content-addressed, so every variant is immutable: a
strong ETag and a year of (private) caching."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from media import processing
from media.models import Blob
from media.storage import ObjectNotFound, blob_key
from schemas.base import BaseSchema
from server.api.errors import ApiError
from server.api.media_support import may_see_blob, media_storage, upload_settings
from server.api.security import current_principal, requires
from server.extensions import db

blp = Blueprint("blobs", __name__, url_prefix="/api/v1/blobs", description="Stored photos, by content hash")

VARIANTS = ("original", "customer", "thumb-256", "thumb-1024")
CACHE_CONTROL = "private, max-age=31536000, immutable"


class BlobQuerySchema(BaseSchema):
    variant = fields.String(load_default="original", validate=validate.OneOf(VARIANTS),
                            metadata={"description": "original bytes, a thumbnail, or the customer copy (no GPS)."})


def _not_found():
    return ApiError(404, "no such blob", code="blob_not_found")


def serve_variant(blob: Blob, variant: str) -> Response:
    """Stream one variant of a blob with its validators (also for the signing page)."""
    storage = media_storage()
    etag = f'"{blob.sha256}"' if variant == "original" else f'"{blob.sha256}-{variant}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff",
               "Content-Disposition": "inline"}
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status=304, headers=headers)
    if variant == "customer":
        data, content_type = processing.customer_copy(storage, blob, max_pixels=upload_settings().max_pixels)
        return Response(b"" if request.method == "HEAD" else data, headers=headers, content_type=content_type)
    key = blob_key(blob.sha256)
    content_type = blob.content_type
    if variant.startswith("thumb-"):
        key = processing.thumbnail_key(blob.sha256, int(variant.removeprefix("thumb-")))
        content_type = "image/jpeg"
    size = storage.size(key)
    if size is None:
        if variant.startswith("thumb-"):
            raise ApiError(404, "the thumbnail is being made; try again shortly", code="thumbnail_pending",
                           headers={"Retry-After": "5"})
        raise _not_found()
    headers["Accept-Ranges"] = "bytes"
    status, start, end = 200, 0, size - 1
    wanted = _byte_range(size, etag)
    if wanted is not None:
        status, (start, end) = 206, wanted
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status=status, headers=headers, content_type=content_type)
    try:
        body = storage.iter_chunks(key, start=start, end=end)
    except ObjectNotFound:
        raise _not_found() from None
    return Response(body, status=status, headers=headers, content_type=content_type, direct_passthrough=True)


def _byte_range(size: int, etag: str) -> tuple[int, int] | None:
    """One ``Range: bytes=`` range (resuming a download), or None for the whole.
    Several ranges, or an If-Range naming another version, get the whole."""
    header = request.headers.get("Range", "").strip()
    if not header.startswith("bytes=") or "," in header:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        return None
    first, _, last = header[len("bytes="):].strip().partition("-")
    try:
        if first == "":  # the last N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), (int(last) if last else size - 1)
    except ValueError:
        return None
    if start >= size or start > end or start < 0:
        raise ApiError(416, "the requested range is outside the blob", code="range_not_satisfiable",
                       headers={"Content-Range": f"bytes */{size}"})
    return start, min(end, size - 1)


@blp.route("/<string:sha256>")
class BlobBySha(MethodView):
    @requires()
    @blp.arguments(BlobQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "The bytes; ETag is the content hash."},
                        "304": {"description": "Not modified."}, "404": {"$ref": "#/components/responses/Error"}})
    def get(self, args, sha256):
        """A blob (or a variant of it) for those who may see it. HEAD tells whether it is stored."""
        sha256 = sha256.lower()
        if len(sha256) != 64 or not may_see_blob(db.session, current_principal(), sha256):
            raise _not_found()
        blob = db.session.get(Blob, sha256)
        db.session.commit()  # end the transaction before streaming
        return serve_variant(blob, args["variant"])
