"""The customer's side of a signing link: read the one report the link opens,
sign it once. Authenticated by the link's token (``X-Signing-Token`` header,
or ``token`` in the query for images), not by a bearer token: the customer
has no account. The token is never in a path, so it never reaches the logs."""

from __future__ import annotations

import functools

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from media import report as reports
from media import signatures
from media.models import Blob, Photo
from schemas.media import SignatureSchema, SigningReportSchema, SigningSubmitSchema
from server.api.blobs import serve_variant
from server.api.errors import ApiError
from server.api.media_support import as_http
from server.db import utcnow
from server.exceptions import DomainError
from server.extensions import db
from server.jobs.models import Job

blp = Blueprint("signing", __name__, url_prefix="/api/v1/signing",
                description="Customer signing links (authenticated by the link's token)")

SIGNING_STATUS = {"signing_link_used": 410, "signing_link_expired": 410, "signing_link_revoked": 410}


def link_token() -> str | None:
    return request.headers.get("X-Signing-Token") or request.args.get("token")


def signing_errors(view):
    """Signing-link errors as the one error body, with 410 for a spent or expired link."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not link_token():  # before the body is parsed: authentication comes first
            raise ApiError(401, "a signing-link token is required (X-Signing-Token)", code="missing_signing_token")
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            if exc.code in SIGNING_STATUS:
                raise ApiError(SIGNING_STATUS[exc.code], exc.message, code=exc.code) from exc
            raise as_http(exc) from exc
    return wrapper


def no_store(response_headers: dict | None = None) -> dict:
    return {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", **(response_headers or {})}


def signing_view(session, link) -> dict:
    job = session.get(Job, link.job_id)
    report = reports.canonical_report(session, job)
    return {"report": report, "report_sha256": reports.report_sha256(report),
            "display": reports.report_display(session, job), "expires_at": link.expires_at}


@blp.route("/report")
class SigningReport(MethodView):
    @signing_errors
    @blp.response(200, SigningReportSchema)
    @blp.doc(security=[{"signingToken": []}])
    def get(self):
        """The report this link opens for signing."""
        link = signatures.open_link(db.session, link_token(), now=utcnow())
        return signing_view(db.session, link), 200, no_store()


@blp.route("/signature")
class SigningSubmit(MethodView):
    @signing_errors
    @blp.arguments(SigningSubmitSchema)
    @blp.response(201, SignatureSchema)
    @blp.doc(security=[{"signingToken": []}])
    def post(self, data):
        """Sign the report: once; refused after use or expiry, or if the report changed meanwhile."""
        from server.api.signatures import dump_signature

        signature = signatures.sign_with_link(db.session, link_token(), data, now=utcnow())
        db.session.commit()
        return dump_signature(signature), 201, no_store()


@blp.route("/photos/<uuid:photo_id>")
class SigningPhoto(MethodView):
    @signing_errors
    @blp.doc(security=[{"signingToken": []}],
             parameters=[{"in": "query", "name": "token", "required": False, "schema": {"type": "string"},
                          "description": "The link's token, for <img> tags that cannot send headers."}],
             responses={"200": {"description": "The customer copy: no GPS position."}})
    def get(self, photo_id):
        """A photo of the report being signed, as customers may see it (no GPS)."""
        link = signatures.open_link(db.session, link_token(), now=utcnow())
        blob = db.session.scalar(select(Blob).join(Photo, Photo.blob_sha256 == Blob.sha256)
                                 .where(Photo.id == photo_id, Photo.job_id == link.job_id))
        if blob is None:
            raise ApiError(404, "no such photo", code="photo_not_found")
        db.session.commit()
        return serve_variant(blob, "customer")
