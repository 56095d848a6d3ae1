"""Resumable uploads speaking tus 1.0 (core, creation, creation-with-upload,
termination, checksum with sha256, expiration) at ``/api/v1/uploads/``, so
standard tus clients (tus-js-client, TUSKit, tus-android-client, tuspy) work
unchanged. The upload's ``Upload-Metadata`` must carry ``sha256``: the hex
SHA-256 of the whole file, verified when the last byte arrives."""

from __future__ import annotations

import base64
import binascii
from email.utils import format_datetime

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from media import uploads
from media.storage import StorageError
from server.api.errors import ApiError
from server.api.media_support import MEDIA_ERRORS, as_http, media_storage, upload_settings
from server.api.security import current_principal, raw_body, requires
from server.db import utcnow
from server.exceptions import DomainError
from server.extensions import db
from server.metrics import UPLOAD_BYTES
from server.serving import BodyInterrupted, piecewise_reader

blp = Blueprint("uploads", __name__, url_prefix="/api/v1/uploads", description="Resumable uploads (tus 1.0)")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"


# ---- how the OpenAPI document states tus's headers --------------------------------------------------------------

def _header(name: str, description: str, *, required: bool = True, schema: dict | None = None) -> dict:
    return {"in": "header", "name": name, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _out(description: str, *, required: bool = True, schema: dict | None = None) -> dict:
    return {"description": description, "required": required, "schema": schema or {"type": "string"}}


_COUNT = {"type": "integer", "minimum": 0}
TUS_RESUMABLE = _header("Tus-Resumable", "The tus version spoken: 1.0.0 (else 412 `tus_version_unsupported`).",
                        schema={"type": "string", "enum": [TUS_VERSION]})
UPLOAD_LENGTH = _header("Upload-Length", "The whole file's size in bytes.", schema=_COUNT)
UPLOAD_METADATA = _header("Upload-Metadata", "tus metadata: comma-separated `key base64(value)` pairs; `sha256` "
                          "(hex SHA-256 of the whole file) is required, `filename` and `filetype` are kept.")
UPLOAD_OFFSET = _header("Upload-Offset", "Where these bytes go: the offset the server has (HEAD).", schema=_COUNT)
UPLOAD_CHECKSUM = _header("Upload-Checksum", "`sha256 <base64 digest>` of this request's bytes (460 on a mismatch).",
                          required=False)
_TUS_OUT = {"Tus-Resumable": _out("Always 1.0.0.")}
_EXPIRES = _out("When an unfinished upload expires (HTTP date).")
_OFFSET_OUT = _out("The bytes the server has.", schema=_COUNT)
_BYTES = {"required": True, "content": {OFFSET_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}}}
_ERROR = {"$ref": "#/components/responses/Error"}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


@blp.after_request
def tus_headers(response):
    response.headers["Tus-Resumable"] = TUS_VERSION
    # Browsers' tus clients read these across origins.
    response.headers["Access-Control-Expose-Headers"] = (
        "Location, Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, Tus-Resumable, Tus-Version, "
        "Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm")
    return response


def _require_tus() -> None:
    version = request.headers.get("Tus-Resumable")
    if version != TUS_VERSION:
        raise ApiError(412, f"send Tus-Resumable: {TUS_VERSION}", code="tus_version_unsupported",
                       headers={"Tus-Version": TUS_VERSION})


def _int_header(name: str, *, required: bool = True) -> int | None:
    value = request.headers.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"the {name} header is required", code="missing_header")
        return None
    if not value.isdigit():
        raise ApiError(400, f"{name} must be a non-negative integer", code="invalid_header")
    return int(value)


def _checksum() -> tuple[str, bytes] | None:
    header = request.headers.get("Upload-Checksum")
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise ApiError(400, "Upload-Checksum supports sha256 only", code="checksum_algorithm_unsupported")
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ApiError(400, "Upload-Checksum is not base64", code="invalid_header") from None
    if len(digest) != 32:
        raise ApiError(400, "Upload-Checksum is not a SHA-256 digest", code="invalid_header")
    return "sha256", digest


def _expires(upload) -> str:
    return format_datetime(upload.expires_at, usegmt=True)


def _receive(upload_id, offset: int) -> int:
    """Stream the request body into the upload; when it is whole, make the blob.

    The database transaction is ended before the body is read: the body may
    take minutes on a poor network, and no lock may be held meanwhile
    (SQLite's write lock above all)."""
    settings = upload_settings()
    principal = current_principal()
    upload = uploads.get_upload(db.session, settings, upload_id, user_id=principal.user_id, now=utcnow())
    db.session.expunge(upload)
    db.session.commit()
    request.max_content_length = settings.max_bytes + 1  # this body has the upload limit, not the JSON one
    read = piecewise_reader(request.stream, request.environ)
    try:
        new_offset = uploads.append(settings, upload, read, offset=offset,
                                    content_length=request.content_length, checksum=_checksum())
    except MEDIA_ERRORS as exc:
        raise as_http(exc) from exc
    except BodyInterrupted as exc:
        # The client is most likely gone; what arrived is kept and HEAD tells where to resume.
        kept = uploads.offset_of(settings, upload)
        UPLOAD_BYTES.inc(max(kept - offset, 0))
        raise ApiError(408, "the connection stopped before the body's end; the bytes received are kept",
                       code="upload_interrupted", details={"offset": kept},
                       headers={"Upload-Offset": str(kept)}) from exc
    UPLOAD_BYTES.inc(new_offset - offset)
    if new_offset < upload.length:
        return new_offset
    return _finish(upload_id)


def _finish(upload_id) -> int:
    """Make the blob from a fully received upload (after its last PATCH, or on a
    HEAD when an earlier attempt could not reach storage). A refused file is
    forgotten; a storage outage leaves the upload whole, to finish later.

    The upload's row is locked first: two requests finishing it at the same
    instant (its last PATCH on one host, a HEAD on another) take turns, and
    the second finds it finished, never assembling or freeing the staged bytes
    the first is reading."""
    settings = upload_settings()
    user_id = current_principal().user_id
    upload = uploads.get_upload(db.session, settings, upload_id, user_id=user_id, now=utcnow(), lock=True)
    if upload.completed_at is not None:  # a concurrent request finished it first
        return upload.length
    try:
        uploads.finish(db.session, media_storage(), settings, upload, now=utcnow())
    except MEDIA_ERRORS as exc:
        db.session.rollback()
        upload = uploads.get_upload(db.session, settings, upload_id, user_id=user_id, now=utcnow())
        uploads.abandon(db.session, settings, upload)  # a refused file leaves nothing behind
        db.session.commit()
        raise as_http(exc) from exc
    except StorageError as exc:
        db.session.rollback()
        raise ApiError(503, "the media store is unavailable; the upload is kept, retry shortly",
                       code="storage_unavailable", headers={"Retry-After": "10"}) from exc
    db.session.commit()
    uploads.discard_staging(settings, upload)
    return upload.length


@blp.route("/", strict_slashes=False)
@raw_body
class Uploads(MethodView):
    @blp.doc(responses={"204": {"description": "The server's tus capabilities.", "headers": {
        **_TUS_OUT,
        "Tus-Version": _out("The tus versions spoken: 1.0.0."),
        "Tus-Extension": _out(f"The extensions: {TUS_EXTENSIONS}."),
        "Tus-Max-Size": _out("The largest upload in bytes.", schema=_COUNT),
        "Tus-Checksum-Algorithm": _out("Checksum algorithms: sha256."),
        "Access-Control-Allow-Methods": _out("For browsers' CORS preflight."),
        "Access-Control-Allow-Headers": _out("For browsers' CORS preflight."),
    }}})
    def options(self):
        """tus discovery: protocol version, extensions, limits.

        Public on purpose: it reveals only the protocol's capabilities, and
        browsers send it as a CORS preflight without credentials."""
        settings = upload_settings()
        return Response(status=204, headers={
            "Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS, "Tus-Max-Size": str(settings.max_bytes),
            "Tus-Checksum-Algorithm": "sha256",
            "Access-Control-Allow-Methods": "POST, HEAD, PATCH, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, Tus-Resumable, Upload-Length, "
                                            "Upload-Metadata, Upload-Offset, Upload-Checksum, X-Request-ID",
        })

    @requires()
    @blp.doc(parameters=[TUS_RESUMABLE, UPLOAD_LENGTH, UPLOAD_METADATA, UPLOAD_CHECKSUM],
             requestBody={**_BYTES, "required": False,
                          "description": "creation-with-upload: the first bytes, with Content-Type "
                                         f"{OFFSET_CONTENT_TYPE}."},
             responses={"201": {"description": "Created; Location names the upload.", "headers": {
                 **_TUS_OUT, "Location": _out("The upload's URL."), "Upload-Expires": _EXPIRES,
                 "Upload-Offset": {**_OFFSET_OUT, "required": False,
                                   "description": "With creation-with-upload: the bytes the server has."}}},
                 "400": _ERROR, "412": _ERROR, "413": _ERROR, "429": _ERROR})
    def post(self):
        """Create an upload (tus creation; with a body, creation-with-upload)."""
        _require_tus()
        if request.headers.get("Upload-Defer-Length"):
            raise ApiError(400, "Upload-Defer-Length is not supported: send Upload-Length", code="defer_unsupported")
        length = _int_header("Upload-Length")
        settings = upload_settings()
        try:
            metadata = uploads.parse_metadata(request.headers.get("Upload-Metadata"))
            upload = uploads.create_upload(db.session, settings, user_id=current_principal().user_id, length=length,
                                           metadata=metadata, now=utcnow())
        except MEDIA_ERRORS as exc:
            raise as_http(exc) from exc
        db.session.commit()
        upload_id, expires = upload.id, _expires(upload)
        headers = {"Location": url_for("uploads.UploadById", upload_id=upload_id, _external=True),
                   "Upload-Expires": expires}
        has_body = request.content_length or request.headers.get("Transfer-Encoding")
        if has_body and request.mimetype == OFFSET_CONTENT_TYPE:
            headers["Upload-Offset"] = str(_receive(upload_id, 0))
        return Response(status=201, headers=headers)


@blp.route("/<uuid:upload_id>")
@raw_body
class UploadById(MethodView):
    @requires()
    @blp.doc(parameters=[TUS_RESUMABLE],
             responses={"200": {"description": "Upload-Offset says how much the server has.", "headers": {
                 **_TUS_OUT, "Upload-Offset": _OFFSET_OUT, "Upload-Length": _out("The whole size.", schema=_COUNT),
                 "Upload-Expires": _EXPIRES, "Cache-Control": _out("no-store"),
                 "Upload-Metadata": _out("The metadata given at creation.", required=False)}},
                 "404": {"description": "No such upload (HEAD answers carry no body)."},
                 "410": {"description": "The upload expired (HEAD answers carry no body)."},
                 "412": {"description": "Tus-Resumable missing or another version."}})
    def head(self, upload_id):
        """Where to resume: the upload's offset (tus core)."""
        _require_tus()
        settings = upload_settings()
        try:
            upload = uploads.get_upload(db.session, settings, upload_id, user_id=current_principal().user_id,
                                        now=utcnow())
        except DomainError as exc:
            raise as_http(exc) from exc
        offset = uploads.offset_of(settings, upload)
        if offset == upload.length and upload.completed_at is None:
            _finish(upload_id)  # the last PATCH could not reach storage: finish before saying "all here"
            upload = uploads.get_upload(db.session, settings, upload_id, user_id=current_principal().user_id,
                                        now=utcnow())
        headers = {"Upload-Offset": str(offset), "Upload-Length": str(upload.length),
                   "Cache-Control": "no-store", "Upload-Expires": _expires(upload)}
        if upload.upload_metadata:
            headers["Upload-Metadata"] = uploads.encode_metadata(upload.upload_metadata)
        return Response(status=200, headers=headers)

    @requires()
    @blp.doc(parameters=[TUS_RESUMABLE, UPLOAD_OFFSET, UPLOAD_CHECKSUM], requestBody=_BYTES,
             responses={"204": {"description": "Bytes appended; Upload-Offset is the new offset.",
                                "headers": {**_TUS_OUT, "Upload-Offset": _OFFSET_OUT}},
                        "408": {"description": "The body stopped coming (no byte for the read timeout, or past the "
                                               "body deadline): `upload_interrupted`; the bytes received are kept and "
                                               "Upload-Offset says where to resume.",
                                "content": _ERROR_CONTENT},
                        "409": _ERROR, "412": _ERROR, "413": _ERROR, "415": _ERROR, "460": _ERROR})
    def patch(self, upload_id):
        """Append bytes at Upload-Offset (tus core; checksum with sha256)."""
        return _append(upload_id)

    @requires()
    @blp.doc(parameters=[TUS_RESUMABLE], responses={"204": {"description": "Terminated.", "headers": _TUS_OUT}})
    def delete(self, upload_id):
        """Abandon an upload and free its bytes (tus termination)."""
        return _terminate(upload_id)

    @requires()
    @blp.doc(parameters=[{"in": "header", "name": "X-HTTP-Method-Override", "required": True,
                          "schema": {"type": "string", "enum": ["PATCH", "DELETE"]}},
                         TUS_RESUMABLE, {**UPLOAD_OFFSET, "required": False}, UPLOAD_CHECKSUM],
             requestBody={**_BYTES, "required": False, "description": "With PATCH: the bytes to append."},
             responses={"204": {"description": "As PATCH or DELETE.", "headers": _TUS_OUT}})
    def post(self, upload_id):
        """PATCH or DELETE for clients behind proxies that allow only POST (X-HTTP-Method-Override)."""
        override = request.headers.get("X-HTTP-Method-Override", "").upper()
        if override == "PATCH":
            return _append(upload_id)
        if override == "DELETE":
            return _terminate(upload_id)
        raise ApiError(405, "POST here needs X-HTTP-Method-Override: PATCH or DELETE", code="method_not_allowed",
                       headers={"Allow": "HEAD, PATCH, DELETE, POST"})


def _append(upload_id):
    _require_tus()
    if request.mimetype != OFFSET_CONTENT_TYPE:
        raise ApiError(415, f"PATCH takes {OFFSET_CONTENT_TYPE}", code="unsupported_media_type")
    offset = _int_header("Upload-Offset")
    try:
        new_offset = _receive(upload_id, offset)
    except DomainError as exc:
        raise as_http(exc) from exc
    return Response(status=204, headers={"Upload-Offset": str(new_offset)})


def _terminate(upload_id):
    _require_tus()
    settings = upload_settings()
    try:
        upload = uploads.get_upload(db.session, settings, upload_id, user_id=current_principal().user_id,
                                    now=utcnow())
    except DomainError as exc:
        raise as_http(exc) from exc
    if upload.completed_at is None:
        uploads.abandon(db.session, settings, upload)
        db.session.commit()
    return Response(status=204)
