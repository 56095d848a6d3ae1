"""A job's report as signed: the canonical report, the customer's signature,
whether it still matches, its images, and signing links for customers."""

from __future__ import annotations

from flask import Response, current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from media import report as reports
from media import signature_render, signatures
from schemas.base import BaseSchema
from schemas.media import (
    SignatureCreateSchema,
    SignatureSchema,
    SignatureStatusSchema,
    SigningLinkCreateSchema,
    SigningLinkSchema,
)
from server.accounts.models import Role
from server.api.jobs import get_visible_job
from server.api.security import current_principal, requires
from server.db import utcnow
from server.exceptions import NotFound
from server.extensions import db
from server.notifications import events

blp = Blueprint("signatures", __name__, url_prefix="/api/v1/jobs", description="Work reports and signatures")

READERS = (Role.admin, Role.dispatcher, Role.technician)


class CanonicalReportSchema(BaseSchema):
    report = fields.Dict(required=True, metadata={"description": "The canonical report (see README)."})
    report_sha256 = fields.String(required=True)
    canonical_json = fields.String(required=True, metadata={"description": "The exact bytes that are hashed."})


def dump_signature(signature) -> dict:
    return {
        "id": signature.id, "job_id": signature.job_id, "signer_name": signature.signer_name,
        "signer_role": signature.signer_role, "signed_at_device": signature.signed_at_device,
        "received_at": signature.received_at, "latitude": signature.latitude, "longitude": signature.longitude,
        "report_sha256": signature.report_sha256, "signed_via": signature.signed_via,
        "stroke_count": len(signature.strokes), "point_count": sum(len(s) for s in signature.strokes),
    }


@blp.route("/<uuid:job_id>/report")
class JobReport(MethodView):
    @requires(*READERS)
    @blp.response(200, CanonicalReportSchema)
    def get(self, job_id):
        """The job's report in canonical form and its SHA-256: what a signature binds."""
        job = get_visible_job(job_id)
        report = reports.canonical_report(db.session, job)
        return {"report": report, "report_sha256": reports.report_sha256(report),
                "canonical_json": reports.canonical_bytes(report).decode()}


@blp.route("/<uuid:job_id>/signature")
class JobSignature(MethodView):
    @requires(*READERS)
    @blp.response(200, SignatureStatusSchema)
    def get(self, job_id):
        """The customer's signature and whether it still matches the report (and if not, what changed)."""
        job = get_visible_job(job_id)
        status = signatures.signature_status(db.session, job)
        return {"signature": dump_signature(status.signature), "valid": status.valid,
                "signed_report_sha256": status.signed_report_sha256,
                "current_report_sha256": status.current_report_sha256, "changes": status.changes,
                "changes_known": status.changes_known,
                "image_png_url": url_for("signatures.JobSignaturePng", job_id=job.id),
                "image_svg_url": url_for("signatures.JobSignatureSvg", job_id=job.id)}

    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.arguments(SignatureCreateSchema)
    @blp.response(201, SignatureSchema)
    def post(self, data, job_id):
        """Record the customer's signature taken on the handheld (sync does the same)."""
        job = get_visible_job(job_id)
        signature = signatures.record_signature(db.session, job, data, now=utcnow())
        db.session.commit()
        return dump_signature(signature)


def _latest(job_id):
    job = get_visible_job(job_id)
    signature = signatures.latest_signature(db.session, job)
    if signature is None:
        raise NotFound("this job has no signature yet", code="signature_not_found")
    return signature


@blp.route("/<uuid:job_id>/signature.png")
class JobSignaturePng(MethodView):
    @requires(*READERS)
    @blp.doc(responses={"200": {"description": "PNG image", "content": {"image/png": {}}}})
    def get(self, job_id):
        """The signature drawn from its strokes, as PNG."""
        signature = _latest(job_id)
        return Response(signature_render.render_png(signature.strokes), content_type="image/png",
                        headers={"ETag": f'"{signature.id}-png"', "Cache-Control": "private, max-age=3600"})


@blp.route("/<uuid:job_id>/signature.svg")
class JobSignatureSvg(MethodView):
    @requires(*READERS)
    @blp.doc(responses={"200": {"description": "SVG image", "content": {"image/svg+xml": {}}}})
    def get(self, job_id):
        """The signature drawn from its strokes, as SVG."""
        signature = _latest(job_id)
        svg = signature_render.render_svg(signature.strokes, title=f"Signature of {signature.signer_name}")
        return Response(svg, content_type="image/svg+xml; charset=utf-8",
                        headers={"ETag": f'"{signature.id}-svg"', "Cache-Control": "private, max-age=3600",
                                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@blp.route("/<uuid:job_id>/signing-links")
class JobSigningLinks(MethodView):
    @requires(Role.admin, Role.dispatcher, Role.technician)
    @blp.arguments(SigningLinkCreateSchema)
    @blp.response(201, SigningLinkSchema)
    def post(self, data, job_id):
        """Make a single-use, expiring link for the customer to sign this job's report."""
        job = get_visible_job(job_id)
        ttl = data.get("ttl_seconds") or current_app.config["SIGNING_LINK_TTL_SECONDS"]
        now = utcnow()
        link, token = signatures.create_link(db.session, job, created_by_id=current_principal().user_id,
                                             now=now, ttl_seconds=ttl)
        url = url_for("signing_page.page", token=token, _external=True)
        events.signing_link(db.session, job, job.ticket, url, now=now)  # to the customer, with the link
        db.session.commit()
        return {"id": link.id, "job_id": job.id, "token": token, "expires_at": link.expires_at, "url": url}
